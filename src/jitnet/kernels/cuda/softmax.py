"""Softmax family CUDA kernels: softmax and log_softmax over any dim, forward and backward.

The twin of ``kernels/cpu/softmax.py``: one family, two op codes
(``SOFTMAX``, ``LOG_SOFTMAX``); the input is seen as C-contiguous (A, n, B)
around the softmax dim.  Parallel strategy: one thread per row (a, b), the n
elements of a row lying B apart, so consecutive threads (consecutive b) read
consecutive addresses when B > 1.  Numerically stable (the row max is
subtracted before exp); sums accumulate in float64.

Backward from the forward output y: softmax ``dx = y * (g - sum(g * y))``,
log_softmax ``dx = g - exp(y) * sum(g)``.
"""
from __future__ import annotations

import math

from numba import cuda

from ..opcodes import SOFTMAX
from . import _memory as A
from ._launch import launch
from .elementwise import safe_exp


@cuda.jit
def _fwd_kernel(op, x, y, n, inner, rows):
    """x, y: flat (A, n, B); thread per row r = (a, b)."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for r in range(start, rows, step):
        a = r // inner
        base = a * n * inner + r - a * inner
        m = -math.inf
        for j in range(n):
            v = x[base + j * inner]
            if v > m or v != v:
                m = v * 1.0
        s = 0.0
        if op == SOFTMAX:
            for j in range(n):
                e = safe_exp(x[base + j * inner] - m)
                y[base + j * inner] = e
                s += e
            inv = 1.0 / s
            for j in range(n):
                y[base + j * inner] *= inv
        else:
            for j in range(n):
                s += safe_exp(x[base + j * inner] - m)
            # (x - m) - log(s), not x - (m + log(s)): with m = -1e30 the latter rounds
            # log(s) away and gives 0 instead of -log(n) (PyTorch subtracts in this order)
            ls = math.log(s)
            for j in range(n):
                y[base + j * inner] = (x[base + j * inner] - m) - ls


@cuda.jit
def _bwd_kernel(op, y, g, dx, n, inner, rows):
    """Gradient of ``_fwd_kernel`` from its output y; thread per row."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for r in range(start, rows, step):
        a = r // inner
        base = a * n * inner + r - a * inner
        s = 0.0
        if op == SOFTMAX:
            for j in range(n):
                s += g[base + j * inner] * y[base + j * inner]
            for j in range(n):
                q = base + j * inner
                dx[q] = y[q] * (g[q] - s)
        else:
            for j in range(n):
                s += g[base + j * inner]
            for j in range(n):
                q = base + j * inner
                dx[q] = g[q] - safe_exp(y[q]) * s


def _geometry(shape, dim):
    n = shape[dim] if len(shape) else 1
    inner = 1
    for s in shape[dim + 1:]:
        inner *= s
    total = 1
    for s in shape:
        total *= s
    return n, inner, (total // n if n else 0)


def softmax_fwd(op: int, x, dim: int):
    """softmax (op SOFTMAX) or log_softmax (LOG_SOFTMAX) of float ``x`` along ``dim`` (>= 0)."""
    y = A.empty(x.shape, x.dtype)
    n, inner, rows = _geometry(tuple(x.shape), dim)
    launch(_fwd_kernel, rows, op, A.flat(x), A.flat(y), n, inner, rows)
    return y


def softmax_bwd(op: int, y, g, dim: int):
    """Input gradient of ``softmax_fwd`` from its output ``y`` and the upstream ``g``."""
    dx = A.empty(y.shape, g.dtype)
    n, inner, rows = _geometry(tuple(y.shape), dim)
    launch(_bwd_kernel, rows, op, A.flat(y), A.flat(g), A.flat(dx), n, inner, rows)
    return dx


# ---------------------------------------------------------------- attention's row softmax
# The twin of the CPU attn_softmax_fwd / attn_softmax_bwd (read it for the formulas):
# one thread per row of the (B, L, S) scores, grid-stride.


@cuda.jit
def _attn_fwd_kernel(x, scale, mask, has_mask, mask_batches, causal, y, batches, queries,
                     keys):
    rows = batches * queries
    for r in range(cuda.grid(1), rows, cuda.gridsize(1)):
        b = r // queries
        i = r - b * queries
        base = r * keys
        mbase = ((b if mask_batches > 1 else 0) * queries + i) * keys
        stop = min(i + 1, keys) if causal else keys
        m = -math.inf
        for j in range(stop):
            v = x[base + j] * scale
            if has_mask:
                v += mask[mbase + j]
            y[base + j] = v
            if v > m or v != v:
                m = v
        s = 0.0
        for j in range(stop):
            e = safe_exp(y[base + j] - m)
            y[base + j] = e
            s += e
        inv = 1.0 / s
        for j in range(stop):
            y[base + j] *= inv
        for j in range(stop, keys):
            y[base + j] = 0.0


@cuda.jit
def _attn_bwd_kernel(y, g, scale, dx, rows, keys):
    for r in range(cuda.grid(1), rows, cuda.gridsize(1)):
        base = r * keys
        s = 0.0
        for j in range(keys):
            s += g[base + j] * y[base + j]
        for j in range(keys):
            dx[base + j] = scale * y[base + j] * (g[base + j] - s)


def attn_softmax_fwd(x, scale: float, mask, causal: bool):
    """softmax(scale * x + mask) over the last dim of (B, L, S) ``x``; as the CPU twin."""
    batches, queries, keys = x.shape
    y = A.empty(x.shape, x.dtype)
    m, has_mask = A.opt(mask, x.dtype)
    launch(_attn_fwd_kernel, batches * queries, A.flat(x), float(scale), A.flat(m), has_mask,
           mask.shape[0] if has_mask else 1, bool(causal), A.flat(y), batches, queries, keys)
    return y


def attn_softmax_bwd(y, g, scale: float):
    """Gradient of ``attn_softmax_fwd`` w.r.t. x; as the CPU twin."""
    batches, queries, keys = y.shape
    dx = A.empty(y.shape, y.dtype)
    launch(_attn_bwd_kernel, batches * queries, A.flat(y), A.flat(g), float(scale), A.flat(dx),
           batches * queries, keys)
    return dx
