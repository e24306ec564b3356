"""Batched matrix multiply on the CPU: ``out[b] = op(a[b]) @ op(b[b])``.

Design, measured on 2 cores at 1024x1024 float32: a cache-blocked parallel Numba
loop would have to beat OpenBLAS, which reaches ~140-170 GFLOP/s here; Numba's
own ``np.dot`` inside ``@njit`` calls the BLAS that SciPy ships and reaches the
same speed, so the kernels call ``np.dot`` on 2-D slices, writing straight
into the output (no temporaries).  Transposed operands are read in place:
``a[i].T`` of a C-contiguous slice is F-contiguous, which BLAS takes as a flag.

Threads.  OpenBLAS keeps its own pthread pool whose workers *spin* for about
0.1 s after every call; Numba's OpenMP workers spin too.  On a 2-core machine
the two pools then fight for the cores, and every parallel Numba kernel that
follows a GEMM runs several times slower (a LeNet step: 55 ms instead of
8.5 ms).  So jitnet runs SciPy's BLAS single-threaded (``_blas_one_thread``,
once, on the first product; NumPy's own BLAS is a separate library and is
left alone) and parallelises products itself on Numba's pool: big products
are cut into blocks of output rows, one single-threaded GEMM per block
(``_bmm_rows``), so the one pool does all the work and nothing spins idle.
Integer matrices (no BLAS) use NumPy's matmul.
"""
from __future__ import annotations

import ctypes

import numba
import numpy as np
from numba import prange

from .._jit import kernel

PARALLEL_FLOPS = 1 << 21
"""Products below this many multiply-adds run on one thread: one BLAS call takes
~20 us there, and waking the thread pool costs ~10 us."""

_blas_ready = False


def _blas_one_thread() -> None:
    """Make SciPy's BLAS (the one Numba's ``np.dot`` calls) single-threaded, if it says how."""
    global _blas_ready
    _blas_ready = True
    try:
        from scipy.linalg import cython_blas

        lib = ctypes.CDLL(cython_blas.__file__)  # dlsym also searches its BLAS dependency
    except (ImportError, OSError):
        return
    for name in ("scipy_openblas_set_num_threads", "openblas_set_num_threads",
                 "scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_"):
        fn = getattr(lib, name, None)
        if fn is not None:
            fn(1)
            return


@kernel
def _bmm(a, b, out, trans_a, trans_b):
    """One thread: a loop over the batch, one BLAS call per matrix."""
    for i in range(out.shape[0]):
        if trans_a and trans_b:
            np.dot(a[i].T, b[i].T, out[i])
        elif trans_a:
            np.dot(a[i].T, b[i], out[i])
        elif trans_b:
            np.dot(a[i], b[i].T, out[i])
        else:
            np.dot(a[i], b[i], out[i])


@kernel(parallel=True)
def _bmm_rows(a, b, out, trans_a, trans_b, blocks):
    """``prange`` over (matrix, block of output rows); each task is one single-threaded GEMM.

    A row block of op(a) is a contiguous slice of a, except with ``trans_a``,
    where it is a column block of a (strided): that one is copied, K x rows
    floats, small next to the 2 x rows x N x K flops it feeds.
    """
    nb, m, n = out.shape
    step = (m + blocks - 1) // blocks
    for t in prange(nb * blocks):
        i = t // blocks
        r0 = (t % blocks) * step
        r1 = min(m, r0 + step)
        if r0 >= r1:
            continue
        if trans_a:
            ab = np.ascontiguousarray(a[i][:, r0:r1].T)
        else:
            ab = a[i, r0:r1]
        if trans_b:
            np.dot(ab, b[i].T, out[i, r0:r1])
        else:
            np.dot(ab, b[i], out[i, r0:r1])


def bmm(a: np.ndarray, b: np.ndarray, trans_a: bool = False, trans_b: bool = False) -> np.ndarray:
    """Batched product of 3-D arrays of one float dtype.

    a: (B, M, K), or (B, K, M) with ``trans_a``; b: (B, K, N), or (B, N, K) with
    ``trans_b``.  Returns a new C-contiguous (B, M, N) array.
    """
    a = np.ascontiguousarray(a)
    b = np.ascontiguousarray(b)
    m = a.shape[2] if trans_a else a.shape[1]
    n = b.shape[1] if trans_b else b.shape[2]
    if a.dtype.kind != "f" or a.shape[1] == 0 or a.shape[2] == 0:
        at = a.transpose(0, 2, 1) if trans_a else a
        bt = b.transpose(0, 2, 1) if trans_b else b
        return np.ascontiguousarray(np.matmul(at, bt))
    if not _blas_ready:
        _blas_one_thread()
    kk = a.shape[1] if trans_a else a.shape[2]
    out = np.empty((a.shape[0], m, n), dtype=a.dtype)
    threads = numba.get_num_threads()
    if threads > 1 and a.shape[0] * m * n * kk >= PARALLEL_FLOPS and m >= 8 * threads:
        _bmm_rows(a, b, out, trans_a, trans_b, threads)
    else:
        _bmm(a, b, out, trans_a, trans_b)
    return out
