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
8.5 ms).  So jitnet runs SciPy's BLAS single-threaded (``jitnet.runtime``,
through threadpoolctl, on the first product; NumPy's own BLAS is a separate
library and is left alone) and parallelises products itself on Numba's pool, one
single-threaded GEMM per task, so the one pool does all the work and nothing
spins idle.  Big products are cut by output rows (``_bmm_rows``), by output
columns when there are few rows (``_bmm_cols``), or along the inner dimension
when the output is small (``_bmm_split_k``): the three GEMM shapes of a
convolution (forward, input gradient, weight gradient) each get the split
that keeps both threads busy.
Integer matrices (no BLAS) use NumPy's matmul.

Where the time goes at 1024 x 1024 float32 (issue 18; process CPU time, which a
loaded machine distorts far less than wall time): SciPy's and NumPy's OpenBLAS
builds are equally fast on one thread (both 0.3.3x, SkylakeX kernels; 21.6 vs
21.9 ms).  NumPy's two-threaded GEMM costs no more CPU than one thread (its
threads share one packed copy of B), while two single-threaded half products
(``_bmm_rows``) cost ~8% more (23.4 ms: each task packs all of B): that is the
1.06-1.08x a quiet machine shows.  Worse ratios come from load: with Numba's
``omp`` threading layer, GNU OpenMP's workers busy-wait after each parallel
region, and when other processes hold the cores an empty ``prange`` of 2 took
8-16 ms instead of 0.01 ms (``OMP_WAIT_POLICY=passive``: 0.009 ms; the
``workqueue`` layer: 0.08 ms), which turns a 0.5 ms product into 7 ms.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import prange

from ... import runtime
from .._jit import kernel

PARALLEL_FLOPS = 1 << 21
"""Products below this many multiply-adds run on one thread: one BLAS call takes
~20 us there, and waking the thread pool costs ~10 us."""

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
        # one np.dot per layout combination: a variable holding either a C or an
        # F array would be typed 'A' (any layout), which np.dot copies first
        if trans_a and trans_b:
            np.dot(np.ascontiguousarray(a[i][:, r0:r1].T), b[i].T, out[i, r0:r1])
        elif trans_a:
            np.dot(np.ascontiguousarray(a[i][:, r0:r1].T), b[i], out[i, r0:r1])
        elif trans_b:
            np.dot(a[i, r0:r1], b[i].T, out[i, r0:r1])
        else:
            np.dot(a[i, r0:r1], b[i], out[i, r0:r1])


# Explicit loops instead of ``out[i][:, c0:c1] = tmp``: Numba compiles an array-to-slice
# assignment with a shape check whose error message is built from the shapes at run time,
# and that string formatting cost seconds of compile time (bench/compile_profile.py).

@kernel(inline="always")
def _put_cols(dst, src, c0):
    """dst[:, c0:c0 + src.shape[1]] = src."""
    for r in range(src.shape[0]):
        for j in range(src.shape[1]):
            dst[r, c0 + j] = src[r, j]


@kernel(parallel=True)
def _bmm_cols(a, b, out, trans_a, trans_b, block):
    """``prange`` over (matrix, block of ``block`` output columns): few rows, many columns.

    The shape of a convolution's forward GEMM, W (C_out, taps) @ cols (taps,
    N*H*W), where row blocks would leave each thread a handful of rows.  The
    column block of op(b) is contiguous with ``trans_b`` (rows of b) and packed
    into a contiguous copy otherwise (block x K floats, cache-sized); each
    task's product goes to a small temporary, then into its columns of out.
    """
    nb, m, n = out.shape
    nblk = (n + block - 1) // block
    for t in prange(nb * nblk):
        i = t // nblk
        c0 = (t % nblk) * block
        c1 = min(n, c0 + block)
        if trans_a and trans_b:
            _put_cols(out[i], np.dot(a[i].T, b[i, c0:c1].T), c0)
        elif trans_a:
            _put_cols(out[i], np.dot(a[i].T, np.ascontiguousarray(b[i][:, c0:c1])), c0)
        elif trans_b:
            _put_cols(out[i], np.dot(a[i], b[i, c0:c1].T), c0)
        else:
            _put_cols(out[i], np.dot(a[i], np.ascontiguousarray(b[i][:, c0:c1])), c0)


@kernel(parallel=True)
def _bmm_split_k(a, b, out, trans_a, trans_b, chunks):
    """Small output, long inner dimension: ``prange`` over (matrix, chunk of K).

    The shape of a convolution's weight gradient, G (C_out, N*H*W) @ cols^T
    (N*H*W, taps): K is huge, the output tiny, so neither rows nor columns
    split well.  Each task multiplies one K-chunk into its own partial
    product (operands packed contiguous where they are strided); the
    partials are summed at the end.
    """
    nb, m, n = out.shape
    kk = a.shape[1] if trans_a else a.shape[2]
    step = (kk + chunks - 1) // chunks
    part = np.zeros((nb * chunks, m, n), dtype=out.dtype)
    for t in prange(nb * chunks):
        i = t // chunks
        k0 = min(kk, (t % chunks) * step)
        k1 = min(kk, k0 + step)
        if k0 >= k1:
            continue
        if trans_a and trans_b:
            np.dot(a[i, k0:k1].T, np.ascontiguousarray(b[i][:, k0:k1]).T, part[t])
        elif trans_a:
            np.dot(a[i, k0:k1].T, b[i, k0:k1], part[t])
        elif trans_b:
            np.dot(np.ascontiguousarray(a[i][:, k0:k1]),
                   np.ascontiguousarray(b[i][:, k0:k1]).T, part[t])
        else:
            np.dot(np.ascontiguousarray(a[i][:, k0:k1]), b[i, k0:k1], part[t])
    for i in range(nb):
        for r in range(m):
            for j in range(n):
                acc = part[i * chunks, r, j]
                for c in range(1, chunks):
                    acc += part[i * chunks + c, r, j]
                out[i, r, j] = acc


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
    if not runtime._state["applied"]:
        runtime.apply_cpu_settings()  # BLAS to one thread, the allocator (jitnet.runtime)
    kk = a.shape[1] if trans_a else a.shape[2]
    out = np.empty((a.shape[0], m, n), dtype=a.dtype)
    if a.shape[0] * m * n * kk < PARALLEL_FLOPS or (threads := numba.get_num_threads()) == 1:
        _bmm(a, b, out, trans_a, trans_b)
    # Which split: measured on the GEMMs of LeNet-5 and the digits CNN (2 cores).
    elif kk >= 4 * max(m, n) and m < 64:  # a small output with a long inner dimension
        chunks = min(4 * threads, max(threads, kk // 6144))  # chunks of ~6k terms: in cache
        _bmm_split_k(a, b, out, trans_a, trans_b, chunks)
    elif (m >= 64 and (n < 4 * m or m >= 128)) or m >= 8 * threads and m >= n:
        _bmm_rows(a, b, out, trans_a, trans_b, threads)  # enough rows for every thread
    else:  # few rows, many columns: blocks of op(b) of ~64 KiB, packed while in cache
        block = min(4096, max(128, (16384 // kk + 63) // 64 * 64))
        _bmm_cols(a, b, out, trans_a, trans_b, block)
    return out
