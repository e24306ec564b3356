"""The CPU kernel cache is invalidated when a formula in kernels/scalar/ changes.

Numba stamps a cached kernel with its own source file only; ``kernels._jit``
adds a hash of the ``kernels/scalar`` sources to the stamp.
"""
import importlib.util
import shutil
import sys

import numba
import pytest

from jitnet.kernels import _jit
from jitnet.kernels.opcodes import RELU


def test_stamp_changes_with_a_scalar_file(tmp_path):
    d = tmp_path / "scalar"
    shutil.copytree(_jit.SCALAR_DIR, d, ignore=shutil.ignore_patterns("__pycache__"))
    before = _jit.scalar_stamp(d)
    assert before == _jit.scalar_stamp(_jit.SCALAR_DIR)
    f = d / "elementwise.py"
    f.write_text(f.read_text() + "\n# an edited formula\n")
    assert _jit.scalar_stamp(d) != before
    (d / "new_family.py").write_text("X = 1\n")
    assert _jit.scalar_stamp(d) != _jit.scalar_stamp(tmp_path / "nothing-here")


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_cached_kernel_reloads_until_the_scalar_stamp_changes(cache_dir, monkeypatch):
    src = cache_dir / "tiny_kernel_mod.py"
    src.write_text("from jitnet.kernels._jit import kernel\n\n\n@kernel\n"
                   "def twice(x):\n    return 2 * x\n")
    first = _load(src, "tiny_kernel_mod_a").twice
    assert first(3) == 6 and sum(first.stats.cache_misses.values()) == 1

    again = _load(src, "tiny_kernel_mod_b").twice  # a new process would see this
    assert again(3) == 6
    assert sum(again.stats.cache_hits.values()) == 1

    # a formula file changed: same kernel source, different scalar stamp -> recompiled
    monkeypatch.setattr(_jit, "_scalar_stamp", lambda: "edited")
    edited = _load(src, "tiny_kernel_mod_c").twice
    assert edited(3) == 6
    assert sum(edited.stats.cache_hits.values()) == 0
    assert sum(edited.stats.cache_misses.values()) == 1


def test_kernels_use_the_salted_cache():
    from jitnet.kernels.cpu import elementwise

    cache = elementwise.op_kernels(RELU)[0]._cache
    assert isinstance(cache, _jit.ScalarAwareCache)
    stamp = cache._impl.locator.get_source_stamp()
    assert stamp[1] == _jit.scalar_stamp()


def test_an_index_naming_a_vanished_module_is_a_cache_miss(cache_dir):
    # an index written by an older jitnet whose pickled signatures name a class that has
    # since moved: Numba unpickles before it compares stamps, so this used to raise
    # ModuleNotFoundError on the first call after an upgrade
    gone = cache_dir / "gone_mod.py"
    gone.write_text("class Geometry(tuple):\n    pass\n")
    src = cache_dir / "tiny_kernel_mod2.py"
    src.write_text("from jitnet.kernels._jit import kernel\n\n\n@kernel\n"
                   "def thrice(x):\n    return 3 * x\n")
    first = _load(src, "tiny_kernel_mod2_a").thrice
    assert first(2) == 6
    index = first._cache._cache_file._index_path
    geometry = _load(gone, "gone_mod").Geometry
    import pickle
    with open(index, "rb") as f:
        version = pickle.load(f)
    with open(index, "wb") as f:
        pickle.dump(version, f, protocol=-1)
        f.write(pickle.dumps(("stale", {geometry(): "x"}), protocol=-1))
    del sys.modules["gone_mod"]
    gone.unlink()
    again = _load(src, "tiny_kernel_mod2_b").thrice
    assert again(2) == 6
    assert sum(again.stats.cache_misses.values()) == 1


def test_per_op_kernels_reload_from_the_cache_in_a_new_process(tmp_path):
    # instances of one template (``_partial.instantiate``) each get their own cache files
    # and are loaded from them by the next process, not recompiled
    import subprocess
    import textwrap

    code = textwrap.dedent("""
        import numpy as np
        from jitnet.kernels.cpu import elementwise as E
        from jitnet.kernels.opcodes import RELU, EXP
        x = np.linspace(-2, 2, 64, dtype=np.float32)
        assert np.array_equal(E.unary(RELU, x), np.maximum(x, 0))
        assert np.allclose(E.unary(EXP, x), np.exp(x))
        ks = E.op_kernels(RELU)[0], E.op_kernels(EXP)[0]
        print(sum(sum(k.stats.cache_hits.values()) for k in ks),
              sum(sum(k.stats.cache_misses.values()) for k in ks))
    """)
    env = dict(__import__("os").environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    assert runs[0] == ["0", "2"]  # both compiled in the first process
    assert runs[1] == ["2", "0"]  # both loaded in the second
