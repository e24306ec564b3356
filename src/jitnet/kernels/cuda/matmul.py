"""Batched matrix multiply on the GPU: ``out[b] = op(a[b]) @ op(b[b])``, shared-memory tiled.

One thread block computes one TILE x TILE tile of one output matrix, one
output element per thread.  The K dimension is walked in TILE-wide steps: the
block loads a TILE x TILE tile of op(a) and one of op(b) into shared memory
(each thread loads one element of each, zero outside the matrix, so partial
tiles at the edges need no special case), synchronises, and every thread
adds the TILE products of its row of the a-tile and column of the b-tile.
Each input element is read from global memory K/TILE times less often than
by a naive kernel.  Transposed operands (``trans_a``, ``trans_b``) are read
in place by swapping the index order of the load, so backward passes never
copy.  The accumulator has the inputs' dtype (``zero`` fixes its type).
The batch runs along the grid's z axis (a z-stride loop beyond 65535).
"""
from __future__ import annotations

from numba import cuda

from . import _memory as A
from ._launch import TILE, launch_tiles


@cuda.jit
def _bmm_kernel(a, b, out, trans_a, trans_b, m, n, k, zero):
    """a: (B, M, K) or (B, K, M) with trans_a; b: (B, K, N) or (B, N, K); out: (B, M, N)."""
    sa = cuda.shared.array((TILE, TILE), dtype=a.dtype)
    sb = cuda.shared.array((TILE, TILE), dtype=b.dtype)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    row = cuda.blockIdx.y * TILE + ty
    col = cuda.blockIdx.x * TILE + tx
    for z in range(cuda.blockIdx.z, out.shape[0], cuda.gridDim.z):
        acc = zero
        for k0 in range(0, k, TILE):
            ka = k0 + tx  # the a-tile element this thread loads: (row, ka)
            if row < m and ka < k:
                sa[ty, tx] = a[z, ka, row] if trans_a else a[z, row, ka]
            else:
                sa[ty, tx] = 0
            kb = k0 + ty  # the b-tile element: (kb, col)
            if kb < k and col < n:
                sb[ty, tx] = b[z, col, kb] if trans_b else b[z, kb, col]
            else:
                sb[ty, tx] = 0
            cuda.syncthreads()
            for j in range(TILE):
                acc += sa[ty, j] * sb[j, tx]
            cuda.syncthreads()
        if row < m and col < n:
            out[z, row, col] = acc


def bmm(a, b, trans_a: bool = False, trans_b: bool = False):
    """Batched product of 3-D arrays of one dtype.

    a: (B, M, K), or (B, K, M) with ``trans_a``; b: (B, K, N), or (B, N, K) with
    ``trans_b``.  Returns a new C-contiguous (B, M, N) array.
    """
    m = a.shape[2] if trans_a else a.shape[1]
    k = a.shape[1] if trans_a else a.shape[2]
    n = b.shape[1] if trans_b else b.shape[2]
    out = A.empty((a.shape[0], m, n), a.dtype)
    a, b = A.numeric(a), A.numeric(b)
    launch_tiles(_bmm_kernel, a.shape[0], m, n, a, b, A.numeric(out), bool(trans_a),
                 bool(trans_b), m, n, k, A.typed_scalar(0, a.dtype))
    return out
