"""The BLAS library behind every CPU GEMM (kernels/cpu/blas_library.py): SciPy's or MKL's."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from jitnet.kernels.cpu import blas, blas_library

# Each library in its own process (a process binds one), sharing the test's kernel cache:
# the cached kernels name the symbol, not the library.
_PRODUCTS = r"""
import json, sys
import numpy as np
from jitnet.kernels.cpu import blas_library
from jitnet.kernels.cpu.matmul import bmm
rng = np.random.default_rng(0)
errors = []
for dtype in (np.float32, np.float64):
    for ta in (False, True):
        for tb in (False, True):
            # strided blocks of bigger matrices: BLAS reads them with their row stride
            a = rng.standard_normal((3, 70, 90)).astype(dtype)[:, 3:60, 5:81]
            b = rng.standard_normal((3, 90, 50)).astype(dtype)[:, 2:78, 1:41]
            # a transposed operand arrives stored as its transpose, with the flag
            op_a = np.ascontiguousarray(a.transpose(0, 2, 1)) if ta else a
            op_b = np.ascontiguousarray(b.transpose(0, 2, 1)) if tb else b
            out = bmm(op_a, op_b, ta, tb)
            want = np.matmul(a.astype(np.float64), b.astype(np.float64))
            errors.append(float(np.abs(out - want).max() / np.abs(want).max()))
print(json.dumps({"name": blas_library.name(), "errors": errors}))
"""


def _products(which: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _PRODUCTS], capture_output=True, text=True,
                         env=dict(os.environ, JITNET_BLAS=which), timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _has_mkl() -> bool:
    return blas_library._mkl_path() is not None


@pytest.mark.parametrize("which", ["scipy", pytest.param("mkl", marks=pytest.mark.skipif(
    not _has_mkl(), reason="the mkl wheel is not installed (jitnet[mkl])"))])
def test_each_library_computes_the_products(which):
    """Transposed operands and strided blocks, float32 and float64, against float64 NumPy."""
    got = _products(which)
    assert got["name"].startswith(which), got["name"]
    assert len(got["errors"]) == 8
    assert max(got["errors"][:4]) < 1e-5  # float32
    assert max(got["errors"][4:]) < 1e-13  # float64


def test_auto_prefers_mkl_on_intel_when_installed():
    """MKL on an Intel CPU (where it is fastest), SciPy's OpenBLAS elsewhere: on AMD CPUs
    MKL runs its AVX2 paths at half OpenBLAS's AVX-512 speed."""
    got = _products("auto")
    intel = blas_library.cpu_vendor() == "GenuineIntel"
    assert got["name"].startswith("mkl" if _has_mkl() and intel and sys.platform.startswith(
        "linux") else "scipy")


def test_cpu_vendor_reads_proc_cpuinfo():
    vendor = blas_library.cpu_vendor()
    """The first vendor_id line's value, or '' where there is no /proc/cpuinfo."""
    if not os.path.exists("/proc/cpuinfo"):
        assert vendor == ""
        return
    with open("/proc/cpuinfo") as f:
        lines = [line for line in f if line.startswith("vendor_id")]
    assert vendor == (lines[0].split(":", 1)[1].strip() if lines else "")


def test_a_bad_choice_warns_and_means_auto(monkeypatch):
    monkeypatch.setenv("JITNET_BLAS", "openblas64")
    with pytest.warns(RuntimeWarning, match="JITNET_BLAS must be auto, mkl or scipy"):
        assert blas_library.choice() == "auto"


def test_mkl_asked_for_but_absent_warns_and_runs_on_scipy():
    """Import never fails on the setting: the CLI still starts and says which BLAS runs."""
    code = ("import warnings, jitnet.kernels.cpu.blas_library as b\n"
            "b._mkl_path = lambda: None; b._bound.clear()\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    print(b.bind(), '|', w[0].message)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, JITNET_BLAS="mkl"), timeout=300)
    assert out.returncode == 0, out.stderr
    name, message = out.stdout.strip().split(" | ")
    assert name.startswith("scipy") and 'jitnet[mkl]' in message


def test_jitnet_info_names_the_library():
    out = subprocess.run([sys.executable, "-m", "jitnet", "info"], capture_output=True,
                         text=True, env=dict(os.environ, JITNET_BLAS="scipy"), timeout=300)
    assert out.returncode == 0, out.stderr
    assert any(line.startswith("blas") and "scipy (OpenBLAS)" in line
               for line in out.stdout.splitlines()), out.stdout


def test_mkl_asked_for_but_absent_names_the_extra(monkeypatch):
    monkeypatch.setattr(blas_library, "_mkl_path", lambda: None)
    with pytest.raises(RuntimeError, match=r"jitnet\[mkl\]"):
        blas_library._mkl()


def test_sizes_past_32_bit_integers_are_refused_not_wrapped():
    """BLAS's LP64 integers are 32-bit: a 2**31-row product returns status 3 before any
    call (zero row strides: the operands take no memory)."""
    rows = 2**31
    a = np.lib.stride_tricks.as_strided(np.ones(4, np.float32), (rows, 4), (0, 4))
    b = np.ones((4, 2), np.float32)
    c = np.lib.stride_tricks.as_strided(np.zeros(2, np.float32), (rows, 2), (0, 4))
    assert blas.gemm(a, b, c, False, False, 0.0) == 3
