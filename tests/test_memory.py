"""jitnet.runtime: process-wide settings (allocator, BLAS threads) are applied when first
needed, never at import, and reported."""
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

import jitnet as jn
from jitnet import runtime

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_keep_freed_memory_applies_on_linux():
    assert runtime.keep_freed_memory() is True
    big = np.ones(1 << 20, np.float32)  # 4 MiB: allocated and freed as usual afterwards
    assert big.sum() == 1 << 20


def test_keep_freed_memory_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("JITNET_KEEP_FREED_MEMORY", "0")
    assert runtime.keep_freed_memory() is False


_PROBE = """
import jitnet as jn
from jitnet import runtime
from threadpoolctl import threadpool_info
scipy_blas = lambda: [i["num_threads"] for i in threadpool_info()
                      if i["user_api"] == "blas" and "scipy.libs" in i["filepath"]]
before = (runtime._state["applied"], scipy_blas())
jn.ones(3, 4) @ jn.ones(4, 2)   # the first product applies the settings
import sys
print(before, (runtime._state["applied"], scipy_blas()), runtime.settings()["allocator"],
      "jitnet.testing" in sys.modules, sep=";")
"""


def test_nothing_is_set_at_import_and_everything_on_the_first_product():
    env = dict(os.environ, JITNET_KEEP_FREED_MEMORY="1")
    env.pop("OPENBLAS_NUM_THREADS", None)
    before, after, allocator, testing = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env,
        check=True).stdout.strip().split(";")
    assert before.startswith("(False, ")  # import: nothing applied
    if os.cpu_count() > 1:
        assert before != "(False, [1])"  # SciPy's BLAS at its default
    assert after in ("(True, [1])", "(True, [])")  # then one thread (if its wheel's BLAS)
    if GLIBC:
        assert allocator == "keep freed memory (JITNET_KEEP_FREED_MEMORY=1)"
    assert testing == "False"  # the simulator patches stay out of product code


def test_thread_count_is_numbas():
    import numba

    n = jn.get_num_threads()
    assert n == numba.get_num_threads()
    jn.set_num_threads(1)
    try:
        assert numba.get_num_threads() == 1
    finally:
        jn.set_num_threads(n)
    with pytest.raises(ValueError, match="set_num_threads: n must be a positive int"):
        jn.set_num_threads(0)
    with pytest.raises(ValueError, match="threads of Numba's pool"):
        jn.set_num_threads(numba.config.NUMBA_NUM_THREADS + 1)
