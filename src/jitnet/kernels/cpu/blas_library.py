"""Which BLAS library the CPU GEMM (``blas.gemm``) calls: SciPy's OpenBLAS or Intel MKL.

Every compiled kernel calls two external symbols, ``jitnet_sgemm`` and
``jitnet_dgemm``, with the Fortran BLAS calling convention (every argument a
pointer, 32-bit integers: the LP64 interface that SciPy's ``cython_blas`` and
MKL's ``sgemm_`` share).  ``bind()`` points them at a library's functions with
``llvmlite.binding.add_symbol`` before any kernel is linked.  A kernel in the
on-disk cache names the symbol, not an address, so the library can change between
runs without recompiling anything.

``JITNET_BLAS`` chooses:

- ``auto`` (the default): MKL on an Intel CPU when the ``mkl`` wheel is installed
  (``pip install "jitnet[mkl]"``), else SciPy's BLAS;
- ``mkl``: MKL; when it cannot be loaded, a RuntimeWarning naming what is missing
  and SciPy's BLAS (this runs at import, which must not fail);
- ``scipy``: the OpenBLAS that SciPy's wheels ship (always there: SciPy is a
  dependency).

Why MKL is worth offering: PyTorch's CPU wheels use it, and on the small-inner-
dimension products of recurrent and attention layers it is faster than OpenBLAS
on one thread (measured on 2 Sapphire Rapids cores, float32: 2048x64 @ 64x512
682 vs 965 us; 64x128 @ 128x512 47 vs 62 us).  MKL is set to its *sequential*
threading layer before its first call: jitnet runs one single-threaded GEMM per
task on Numba's threads (``cpu/matmul.py``), and a second thread pool would spin
beside Numba's.  Set that way, a process that also uses the same ``libmkl_rt``
for something else (a NumPy built against it) runs that sequentially too.

Why ``auto`` takes MKL on Intel CPUs only: on AMD's, MKL runs its AVX2 code paths
while OpenBLAS runs its AVX-512 (SkylakeX) kernels.  Measured on one core of an AMD
EPYC Zen 5 (family 26), float32, MKL 2026.2 against SciPy's OpenBLAS 0.3.30:
2048x64 @ 64x512 1195 vs 574 us, 64x128 @ 128x512 81 vs 47 us, 512x2048 @ 2048x128
2326 vs 1139 us, 1024^3 18.4 vs 9.0 ms: half the speed, and an LSTM training step
(seq 32, batch 64, 64 -> 128) 7.5 ms against 4.8.
"""
from __future__ import annotations

import ctypes
import os
import sys
import warnings

_MKL_THREADING_SEQUENTIAL = 1  # mkl_service.h: MKL_THREADING_INTEL 0, SEQUENTIAL 1, ...
_MKL_INTERFACE_LP64 = 0

_bound: dict = {}


def _capsule_address(capsule) -> int:
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, (ctypes.py_object, ctypes.c_char_p)
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, (ctypes.py_object,)
    return get(capsule, get_name(capsule))


def _scipy() -> tuple[str, int, int]:
    from scipy.linalg import cython_blas

    api = cython_blas.__pyx_capi__
    return "scipy (OpenBLAS)", _capsule_address(api["sgemm"]), _capsule_address(api["dgemm"])


def _mkl_path() -> str | None:
    """libmkl_rt from the installed ``mkl`` wheel, or None."""
    from importlib import metadata

    try:
        dist = metadata.distribution("mkl")
    except metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name.startswith("libmkl_rt.so") or file.name in ("mkl_rt.2.dll",
                                                                  "libmkl_rt.2.dylib"):
            path = os.path.realpath(dist.locate_file(file))
            if os.path.exists(path):
                return path
    return None


def _mkl() -> tuple[str, int, int]:
    path = _mkl_path()
    if path is None:
        raise RuntimeError("JITNET_BLAS=mkl: the mkl wheel is not installed "
                           "(pip install \"jitnet[mkl]\")")
    lib = ctypes.CDLL(path)
    lib.MKL_Set_Threading_Layer.argtypes = (ctypes.c_int,)
    lib.MKL_Set_Interface_Layer.argtypes = (ctypes.c_int,)
    lib.MKL_Set_Threading_Layer(_MKL_THREADING_SEQUENTIAL)
    lib.MKL_Set_Interface_Layer(_MKL_INTERFACE_LP64)
    version = ctypes.create_string_buffer(256)
    lib.MKL_Get_Version_String(version, len(version))
    text = version.value.decode(errors="replace").split()
    release = text[text.index("Version") + 1].split("-")[0] if "Version" in text[:-1] else "?"
    return (f"mkl {release} (sequential)", ctypes.cast(lib.sgemm_, ctypes.c_void_p).value,
            ctypes.cast(lib.dgemm_, ctypes.c_void_p).value)


def choice() -> str:
    """``JITNET_BLAS`` (``auto``, ``mkl`` or ``scipy``); another value warns and means
    ``auto`` (this runs at import: an exception would make ``import jitnet`` fail)."""
    value = os.environ.get("JITNET_BLAS", "auto").strip().lower() or "auto"
    if value not in ("auto", "mkl", "scipy"):
        warnings.warn(f"JITNET_BLAS must be auto, mkl or scipy, got {value!r}: using auto",
                      RuntimeWarning, stacklevel=2)
        return "auto"
    return value


def cpu_vendor() -> str:
    """The CPU's vendor string (``GenuineIntel``, ``AuthenticAMD``...) from /proc/cpuinfo,
    or '' where there is none to read (not Linux, a sandbox hiding it)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return ""


def bind() -> str:
    """Point ``jitnet_sgemm``/``jitnet_dgemm`` at the chosen library (once per process);
    returns its name, as ``jitnet info`` shows it."""
    if "name" in _bound:
        return _bound["name"]
    from llvmlite import binding

    want = choice()
    use_mkl = want == "mkl" or (want == "auto" and sys.platform.startswith("linux")
                                and cpu_vendor() == "GenuineIntel" and _mkl_path() is not None)
    try:
        name, sgemm, dgemm = _mkl() if use_mkl else _scipy()
    except (OSError, RuntimeError, AttributeError) as exc:
        if not use_mkl:
            raise
        warnings.warn(f"{exc}; using SciPy's BLAS", RuntimeWarning, stacklevel=2)
        name, sgemm, dgemm = _scipy()
    binding.add_symbol("jitnet_sgemm", sgemm)
    binding.add_symbol("jitnet_dgemm", dgemm)
    _bound["name"] = name
    return name


def name() -> str:
    """The bound library's name ('not bound yet' before the first kernel import)."""
    return _bound.get("name", "not bound yet")
