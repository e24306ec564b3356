"""int8 kernels on the GPU: per-row quantization and the int8 x int8 -> int32 tiled product.

The twin of ``kernels/cpu/quant.py`` (same names and signatures; formulas in
kernels/scalar/quant.py).  ``quantize_rows``: one thread per row, a max pass
then a quantize pass (rows are short next to the product that follows).
``int8_matmul``: the shared-memory tile scheme of ``matmul.py`` (one TILE x
TILE block of out per thread block, K walked in TILE steps, zero-filled edge
tiles), with int8 operands held as int32 in shared memory, an exact int32
accumulator, and the rescale by the row and column scales (and ``int8_linear``'s
bias) fused into the store.  Numba exposes no ``dp4a`` intrinsic, so the
multiply-adds are plain int32 ones.  Activations stay signed int8 here (the CPU
twin shifts them to uint8 for its vector instructions); the int32 sums, and so
the results, are the same.
"""
from __future__ import annotations

import numpy as np
from numba import cuda, int32

from ..scalar import quant as f
from . import _memory as A
from ._launch import TILE, device_fn, launch, launch_tiles

_row_scale = device_fn(f.row_scale)
_quantize = device_fn(f.quantize)
_rescale = device_fn(f.rescale)


@cuda.jit
def _quantize_kernel(x, q, scale, rows, cols):
    for m in range(cuda.grid(1), rows, cuda.gridsize(1)):
        amax = 0.0
        for k in range(cols):
            v = abs(x[m, k])
            if v > amax:
                amax = v
        s = _row_scale(amax)
        scale[m] = s
        inv = 1.0 / s
        for k in range(cols):
            q[m, k] = _quantize(x[m, k], inv)


def quantize_rows(x):
    """Symmetric int8 quantization of each row of a 2-D float array.

    Returns (q, scale): q int8 (M, K) and scale float32 (M,), x ~= q * scale[:, None].
    """
    m, k = x.shape
    q = A.empty((m, k), np.int8)
    scale = A.empty((m,), np.float32)
    launch(_quantize_kernel, m, x, q, scale, m, k)
    return q, scale


@cuda.jit
def _int8_matmul_kernel(a, sa, b, sb, bias, has_bias, out, m, n, k):
    """a: (M, K) int8; b: (N, K) int8; out: (M, N) float32 = (a @ b.T) * sa * sb (+ bias)."""
    ta = cuda.shared.array((TILE, TILE), dtype=int32)
    tb = cuda.shared.array((TILE, TILE), dtype=int32)
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    row = cuda.blockIdx.y * TILE + ty
    col = cuda.blockIdx.x * TILE + tx
    acc = int32(0)
    for k0 in range(0, k, TILE):
        ka = k0 + tx
        ta[ty, tx] = int32(a[row, ka]) if row < m and ka < k else int32(0)
        kb = k0 + ty
        tb[ty, tx] = int32(b[col, kb]) if col < n and kb < k else int32(0)
        cuda.syncthreads()
        for j in range(TILE):
            acc += ta[ty, j] * tb[j, tx]
        cuda.syncthreads()
    if row < m and col < n:
        v = _rescale(np.float32(acc), sa[row], sb[col])
        out[row, col] = v + bias[col] if has_bias else v


def _gemm(a, a_scale, b, b_scale, bias):
    m, k = a.shape
    n = b.shape[0]
    out = A.empty((m, n), np.float32)
    has_bias = bias is not None
    launch_tiles(_int8_matmul_kernel, 1, m, n, a, a_scale, b, b_scale,
                 bias if has_bias else b_scale, has_bias, out, m, n, k)
    return out


def int8_linear(x, weight, w_scale, bias):
    """The dynamic quantized Linear: ``dequant(quant(x) @ weight.T) + bias``.

    x: float (M, K), quantized per row at run time; weight: int8 (N, K); w_scale:
    float32 (N,); bias: float32 (N,) or None.  Returns a new float32 (M, N) array.
    """
    xq, x_scale = quantize_rows(x)
    return _gemm(xq, x_scale, weight, w_scale, bias)


def int8_matmul(a, a_scale, b, b_scale):
    """``(a @ b.T) * a_scale[:, None] * b_scale[None, :]`` with exact int32 sums.

    a: int8 (M, K); a_scale: float32 (M,); b: int8 (N, K); b_scale: float32 (N,).
    Returns a new float32 (M, N) array.
    """
    return _gemm(a, a_scale, b, b_scale, None)
