"""Process-wide runtime settings, in one place: jitnet's threads, BLAS's threads, the allocator.

``import jitnet`` changes nothing in the process.  The settings below are
applied when first needed -- by the first CPU matrix product (``bmm``), the
first kernel whose speed depends on them -- or explicitly by
``apply_cpu_settings()``; ``jitnet info`` (``settings()``) reports them.

- **jitnet's threads**: Numba's thread pool runs every parallel CPU kernel.
  ``jitnet.set_num_threads(n)`` / ``jitnet.get_num_threads()`` are Numba's;
  ``NUMBA_NUM_THREADS`` sets the pool's size before start-up.
- **BLAS's threads**: the BLAS library the matrix-product kernels call
  (``kernels/cpu/blas_library``: SciPy's OpenBLAS, or MKL with the ``mkl``
  extra, bound to its sequential layer) runs on one thread; SciPy's is set so
  through ``threadpoolctl``.  jitnet splits large products over its own threads, one
  single-threaded GEMM per task; OpenBLAS's own pool would otherwise spin next
  to Numba's and take turns with it (measured: 2x slower products on 2 cores).
  NumPy's BLAS, a separate library in the wheels, is left alone.
- **The allocator** (glibc only): ``JITNET_KEEP_FREED_MEMORY=1`` (the default)
  keeps big freed blocks in the heap for reuse, instead of returning each one
  to the OS (``keep_freed_memory``); ``0`` leaves glibc's defaults.
"""
from __future__ import annotations

import ctypes
import os
import sys

from .kernels.cpu import blas_library

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)

_state: dict = {"applied": False, "allocator": "not applied yet", "blas": "not applied yet"}


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for jitnet's parallel CPU kernels (Numba's ``set_num_threads``;
    at most ``NUMBA_NUM_THREADS``, the pool's size)."""
    import numba

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive int, got {n!r}")
    if n > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(f"set_num_threads: n={n} is more than the {numba.config.NUMBA_NUM_THREADS}"
                         " threads of Numba's pool (set NUMBA_NUM_THREADS before starting)")
    numba.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads jitnet's parallel CPU kernels use (Numba's)."""
    import numba

    return numba.get_num_threads()


def keep_freed_memory() -> bool:
    """Make glibc keep big freed blocks for reuse instead of returning them to the OS.

    By default glibc maps every allocation of 128 KiB or more with ``mmap``
    and unmaps it on ``free``.  A training step allocates its activations,
    im2col buffers and gradients afresh every step, so each one costs page
    faults on first touch and, on free, an ``munmap`` whose TLB shootdown
    interrupts every core our threads run on (freeing one 192 KB gradient
    took 1.6 ms on a 2-core VM).  Raising the mmap threshold to its maximum
    (32 MiB) and the trim threshold to 256 MiB keeps freed blocks in the heap,
    and the next step reuses them: a LeNet-5 step went from 16 ms to 6 ms.
    The cost: memory that arrays free stays reserved by the process (up to its
    peak) instead of going back to the OS.  ``JITNET_KEEP_FREED_MEMORY=0``
    turns it off.  Returns whether it applied (False off glibc).
    """
    if os.environ.get("JITNET_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith(
            "linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's libc
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    ok = mallopt(_M_MMAP_THRESHOLD, 32 << 20) == 1
    return mallopt(_M_TRIM_THRESHOLD, 256 << 20) == 1 and ok


def _blas_one_thread() -> str:
    """Set SciPy's BLAS to one thread with threadpoolctl; says what it did."""
    try:
        from scipy.linalg import cython_blas  # noqa: F401  (loads SciPy's BLAS)
        from threadpoolctl import ThreadpoolController
    except ImportError as exc:
        return f"left as is ({exc.name} is not installed)"
    blas = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]

    def folder(lib) -> str:
        return os.path.basename(os.path.dirname(lib.filepath))

    # SciPy's wheels ship their BLAS in scipy.libs (NumPy's own is in numpy.libs); a
    # conda SciPy links a shared BLAS, which then is the one Numba calls
    ours = [lib for lib in blas if folder(lib) == "scipy.libs"] or \
        [lib for lib in blas if folder(lib) != "numpy.libs"]
    for lib in ours:
        lib.set_num_threads(1)
    names = ", ".join(os.path.basename(lib.filepath) for lib in ours)
    return f"1 thread ({names})" if ours else "left as is (no BLAS found)"


def apply_cpu_settings() -> None:
    """Apply the allocator and BLAS settings (once; later calls do nothing)."""
    if _state["applied"]:
        return
    _state["applied"] = True
    if keep_freed_memory():
        _state["allocator"] = "keep freed memory (JITNET_KEEP_FREED_MEMORY=1)"
    elif os.environ.get("JITNET_KEEP_FREED_MEMORY", "1") == "0":
        _state["allocator"] = "glibc defaults (JITNET_KEEP_FREED_MEMORY=0)"
    else:
        _state["allocator"] = "system defaults (not glibc)"
    _state["blas"] = _blas_one_thread()


def settings() -> dict[str, str]:
    """What is set now: jitnet's threads, SciPy's BLAS threads, the allocator."""
    import numba

    return {"threads": f"{numba.get_num_threads()} of {numba.config.NUMBA_NUM_THREADS} "
                       "(jitnet.set_num_threads)",
            "blas": f"{blas_library.name()}; SciPy's BLAS: {_state['blas']}",
            "allocator": _state["allocator"]}
