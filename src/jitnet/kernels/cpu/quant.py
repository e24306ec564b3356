"""int8 kernels on the CPU: per-row quantization and an int8 x int8 -> int32 matrix product.

``quantize_rows`` turns float rows into int8 rows with one scale per row
(dynamic quantization of activations, run at every forward; also how weights
are quantized per output channel, once).  ``int8_matmul(a, sa, b, sb)`` computes
``out[m, n] = (sum_k a[m, k] * b[n, k]) * sa[m] * sb[n]``: both operands are
row-major with K contiguous (b is a Linear weight as stored, (out, in)), the sum
is exact in int32, and the one rescale is the last step.

The innermost loop is one dot product: a single int32 reduction over
contiguous int8 widened to int32, which LLVM vectorises into multiply-adds of
16-bit pairs (``vpmaddwd``, checked in the assembly; the same loop with 4 or 16
accumulators was several times slower, as was one whose sum Numba let widen to
int64).  int8 products summed over K < 2**17 terms cannot overflow int32.  Around it the product is
cache-blocked (``ROWS`` x ``COLS``), and blocks of rows are split over Numba's
threads.  Formulas: kernels/scalar/quant.py.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import PARALLEL_MIN, kernel, scalar
from ..scalar import quant as f

_row_scale = scalar(f.row_scale)
_quantize = scalar(f.quantize)
_rescale = scalar(f.rescale)

ROWS, COLS = 16, 64
"""The product's cache block: ROWS rows of a (16 KiB at K = 1024) against COLS rows of b
(64 KiB), both in L2 while the block is computed; a thread takes ROWS rows of out."""


@kernel(inline="always")
def _quantize_row(x, q, scale, m):
    amax = 0.0
    for k in range(x.shape[1]):
        v = abs(x[m, k])
        if v > amax:
            amax = v
    s = _row_scale(amax)
    scale[m] = s
    inv = 1.0 / s
    for k in range(x.shape[1]):
        q[m, k] = np.int8(_quantize(x[m, k], inv))


@kernel
def _quantize_rows_serial(x, q, scale):
    for m in range(x.shape[0]):
        _quantize_row(x, q, scale, m)


@kernel(parallel=True)
def _quantize_rows_parallel(x, q, scale):
    for m in prange(x.shape[0]):
        _quantize_row(x, q, scale, m)


def quantize_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantization of each row of a 2-D float array.

    Returns (q, scale): q int8 (M, K) and scale float32 (M,), x ~= q * scale[:, None].
    """
    x = np.ascontiguousarray(x)
    q = np.empty(x.shape, np.int8)
    scale = np.empty(x.shape[0], np.float32)
    if x.size >= PARALLEL_MIN:
        _quantize_rows_parallel(x, q, scale)
    else:
        _quantize_rows_serial(x, q, scale)
    return q, scale


@kernel(inline="always")
def _gemm_rows(a, sa, b, sb, out, m0):
    """Rows m0 .. m0+ROWS of out (fewer at the end), all columns, COLS columns at a time."""
    kk = a.shape[1]
    nn = b.shape[0]
    m1 = min(a.shape[0], m0 + ROWS)
    for n0 in range(0, nn, COLS):
        n1 = min(nn, n0 + COLS)
        for m in range(m0, m1):
            for n in range(n0, n1):
                acc = np.int32(0)
                for k in range(kk):
                    # Numba widens int32 * int32 to int64; the explicit int32 keeps the
                    # sum 32-bit, which is what lets LLVM use vpmaddwd (3x faster)
                    acc = np.int32(acc + np.int32(a[m, k]) * np.int32(b[n, k]))
                out[m, n] = _rescale(np.float32(acc), sa[m], sb[n])


@kernel
def _int8_matmul_serial(a, sa, b, sb, out):
    for m0 in range(0, a.shape[0], ROWS):
        _gemm_rows(a, sa, b, sb, out, m0)


@kernel(parallel=True)
def _int8_matmul_parallel(a, sa, b, sb, out):
    for t in prange((a.shape[0] + ROWS - 1) // ROWS):
        _gemm_rows(a, sa, b, sb, out, t * ROWS)


def int8_matmul(a: np.ndarray, a_scale: np.ndarray, b: np.ndarray,
                b_scale: np.ndarray) -> np.ndarray:
    """``(a @ b.T) * a_scale[:, None] * b_scale[None, :]`` with exact int32 sums.

    a: int8 (M, K); a_scale: float32 (M,); b: int8 (N, K); b_scale: float32 (N,).
    Returns a new float32 (M, N) array.
    """
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    out = np.empty((a.shape[0], b.shape[0]), np.float32)
    if a.shape[0] * b.shape[0] * a.shape[1] >= 1 << 21 and a.shape[0] > ROWS:
        _int8_matmul_parallel(a, a_scale, b, b_scale, out)
    else:
        _int8_matmul_serial(a, a_scale, b, b_scale, out)
    return out
