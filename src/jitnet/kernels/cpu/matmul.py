"""Batched matrix multiply on the CPU: ``out[b] = op(a[b]) @ op(b[b])``.

Design, measured on 2 cores at 1024x1024 float32: a cache-blocked parallel Numba
loop would have to beat OpenBLAS, which reaches ~140-170 GFLOP/s here, so the
kernels call the BLAS that SciPy ships (``blas.gemm``) on 2-D blocks of the
operands, writing straight into the output (no temporaries).  Transposed
operands and row or column blocks are read in place: a transpose is a BLAS
flag, a block's row stride its leading dimension.

Threads.  OpenBLAS keeps its own pthread pool whose workers *spin* for about
0.1 s after every call; Numba's OpenMP workers spin too.  On a 2-core machine
the two pools then fight for the cores, and every parallel Numba kernel that
follows a GEMM runs several times slower (a LeNet step: 55 ms instead of
8.5 ms).  So jitnet runs SciPy's BLAS single-threaded (``jitnet.runtime``,
through threadpoolctl, on the first product; NumPy's own BLAS is a separate
library and is left alone) and parallelises products itself on Numba's pool, one
single-threaded GEMM per task, so the one pool does all the work and nothing
spins idle.  One task kernel (``_bmm_task``, ``tasks.run_tasks``) cuts a big product
into blocks: whole matrices when the batch is large, else output rows, output columns
when there are few rows, or the inner dimension when the output is small: the
three GEMM shapes of a convolution (forward, input gradient, weight gradient)
each get the split that keeps both threads busy.
Integer matrices (no BLAS) use NumPy's matmul.

Where the time goes at 1024 x 1024 float32 (issue 18; process CPU time, which a
loaded machine distorts far less than wall time): SciPy's and NumPy's OpenBLAS
builds are equally fast on one thread (both 0.3.3x, SkylakeX kernels; 21.6 vs
21.9 ms).  NumPy's two-threaded GEMM costs no more CPU than one thread (its
threads share one packed copy of B), while two single-threaded half products
(row blocks) cost ~8% more (23.4 ms: each task packs all of B): that is the
1.06-1.08x a quiet machine shows.  Worse ratios come from load: with Numba's
``omp`` threading layer, GNU OpenMP's workers busy-wait after each parallel
region, and when other processes hold the cores an empty ``prange`` of 2 took
8-16 ms instead of 0.01 ms (``OMP_WAIT_POLICY=passive``: 0.009 ms; the
``workqueue`` layer: 0.08 ms), which turns a 0.5 ms product into 7 ms.
"""
from __future__ import annotations

import numpy as np

from ... import runtime
from .._jit import kernel
from .array import placeholder
from .blas import gemm
from .tasks import num_threads, run_tasks, span, task

PARALLEL_FLOPS = 1 << 21
"""Products below this many multiply-adds run on one thread: one BLAS call takes
~20 us there, and waking the thread pool costs ~10 us."""


@kernel(inline="always")
def _op_block(x, trans, r0, r1, c0, c1):
    """Rows r0:r1, columns c0:c1 of op(x) (x.T when ``trans``), as a view of x for ``gemm``
    with the same flag: rows of a transposed operand are columns of the stored one."""
    if trans:
        return x[c0:c1, r0:r1]
    return x[r0:r1, c0:c1]


@task
def _bmm_task(a, b, out, trans_a, trans_b, row_blocks, col_blocks, k_chunks, part, t, tasks):
    """Task t of ``tasks``: its share of the (matrix, row block, column block, chunk of K)
    blocks, each one single-threaded GEMM on blocks of the operands used in place
    (``gemm`` takes a block's row stride as BLAS's leading dimension: nothing is packed).

    With ``k_chunks`` > 1 (a small output with a long inner dimension, the shape of
    a convolution's weight gradient) each chunk's product goes to its own slice of
    ``part`` (B * k_chunks, M, N), summed by the caller; otherwise each block is
    written to ``out`` and ``part`` is not touched.
    """
    nb, m, n = out.shape
    kk = a.shape[1] if trans_a else a.shape[2]
    rstep = (m + row_blocks - 1) // row_blocks
    cstep = (n + col_blocks - 1) // col_blocks
    kstep = (kk + k_chunks - 1) // k_chunks
    per = row_blocks * col_blocks * k_chunks
    lo, hi = span(t, tasks, nb * per)
    bad = 0
    for blk in range(lo, hi):
        i = blk // per
        rest = blk - i * per
        rb = rest // (col_blocks * k_chunks)
        rest -= rb * col_blocks * k_chunks
        cb = rest // k_chunks
        kc = rest - cb * k_chunks
        r0, c0, k0 = rb * rstep, cb * cstep, min(kk, kc * kstep)
        r1, c1, k1 = min(m, r0 + rstep), min(n, c0 + cstep), min(kk, k0 + kstep)
        if r0 >= r1 or c0 >= c1:
            continue
        dst = out[i] if k_chunks == 1 else part[i * k_chunks + kc]
        bad |= gemm(_op_block(a[i], trans_a, r0, r1, k0, k1),
                    _op_block(b[i], trans_b, k0, k1, c0, c1), dst[r0:r1, c0:c1], trans_a,
                    trans_b, 0.0)
    if bad:
        raise RuntimeError("bmm: BLAS refused an operand (shape or stride)")


def _blas_operand(x: np.ndarray, trans: bool) -> tuple[np.ndarray, bool]:
    """(x, trans) as BLAS can read every matrix of the 3-D ``x`` in place: as it is when its
    rows are unit-strided (the row stride is BLAS's leading dimension), as its transpose
    with the flag flipped when its columns are, else a C-contiguous copy.  Attention's
    per-head q, k and v are such views ((N*heads, L, head_dim) with a row stride of the
    whole embedding): copying them cost more than their products (0.4-0.9 ms a call)."""
    if x.flags.c_contiguous or x.dtype.kind != "f":
        return (x if x.flags.c_contiguous else np.ascontiguousarray(x)), trans
    it = x.itemsize
    s0, s1, s2 = x.strides
    if s2 == it and s1 >= max(1, x.shape[2]) * it and s0 >= 0:
        return x, trans
    if s1 == it and s2 >= max(1, x.shape[1]) * it and s0 >= 0:
        return x.transpose(0, 2, 1), not trans
    return np.ascontiguousarray(x), trans


def bmm(a: np.ndarray, b: np.ndarray, trans_a: bool = False, trans_b: bool = False) -> np.ndarray:
    """Batched product of 3-D arrays of one float dtype.

    a: (B, M, K), or (B, K, M) with ``trans_a``; b: (B, K, N), or (B, N, K) with
    ``trans_b``; either may be a strided view (read in place when BLAS can,
    ``_blas_operand``).  Returns a new C-contiguous (B, M, N) array.
    """
    a, trans_a = _blas_operand(a, trans_a)
    b, trans_b = _blas_operand(b, trans_b)
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
    threads = num_threads()
    nb = a.shape[0]
    if nb * m * n * kk < PARALLEL_FLOPS or threads == 1:
        no_part = placeholder(out.dtype, (1, 1, 1))  # K is not split: part is not touched
        run_tasks(_bmm_task, (a, b, out, trans_a, trans_b, 1, 1, 1, no_part), 1)
        return out
    # Which split: measured on the GEMMs of LeNet-5 and the digits CNN (2 cores).
    rows = cols = chunks = 1
    if nb >= 2 * threads:
        pass  # whole matrices per task: enough of them for every thread
    elif kk >= 4 * max(m, n) and m < 64:  # a small output with a long inner dimension
        chunks = min(4 * threads, max(threads, kk // 6144))  # chunks of ~6k terms: in cache
    elif (m >= 64 and (n < 4 * m or m >= 128)) or m >= 8 * threads and m >= n:
        rows = threads  # enough rows for every thread
    else:  # few rows, many columns: blocks of op(b) of ~64 KiB
        cols = -(-n // min(4096, max(128, (16384 // kk + 63) // 64 * 64)))
    part = (np.empty((nb * chunks, m, n), dtype=out.dtype) if chunks > 1
            else placeholder(out.dtype, (1, 1, 1)))
    run_tasks(_bmm_task, (a, b, out, trans_a, trans_b, rows, cols, chunks, part), threads)
    if chunks > 1:
        np.sum(part.reshape(nb, chunks, m, n), axis=1, out=out)
    return out
