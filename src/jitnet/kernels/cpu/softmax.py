"""Softmax family CPU kernels: softmax and log_softmax over any dim, forward and backward.

One family, two op codes (``SOFTMAX``, ``LOG_SOFTMAX``).  The wrapper views
the C-contiguous input as (A, n, B) without copying, ``n`` being the
softmax dim, A the dims before it and B those after:

- B == 1 (dim is last, the usual case): each of the A rows is contiguous;
  a work item is one row.
- B > 1 (e.g. dim=1 of NCHW): a work item is one a and a block of up to
  ``_BLOCK`` columns b, keeping the running max / sum of its columns in a small
  buffer, so every inner loop still walks contiguous memory.

Numerically stable: the max is subtracted before exp, so logits of +-1000
stay finite; sums accumulate in float64.  Parallel strategy: task kernels
(``tasks.run_tasks``), each task a contiguous run of work items.

Backward uses the forward output y:
softmax ``dx = y * (g - sum(g * y))``, log_softmax ``dx = g - exp(y) * sum(g)``.
"""
from __future__ import annotations

import math

import numpy as np

from .._jit import kernel
from ..opcodes import MAX, SOFTMAX, SUM
from .fastmath import exp_, is_single
from .reduce import _combine, _row
from .tasks import run_tasks, span, task, tasks_for

_BLOCK = 128


@kernel(inline="always")
def _fwd_row(op, x, y, a):
    n = x.shape[1]
    m = -math.inf
    for j in range(n):
        v = x[a, j, 0]
        if v > m or v != v:
            m = v
    s = 0.0
    if op == SOFTMAX:
        for j in range(n):
            e = math.exp(x[a, j, 0] - m)
            y[a, j, 0] = e
            s += e
        inv = 1.0 / s
        for j in range(n):
            y[a, j, 0] *= inv
    else:
        for j in range(n):
            s += math.exp(x[a, j, 0] - m)
        # (x - m) - log(s), not x - (m + log(s)): with m = -1e30 the latter rounds
        # log(s) away and gives 0 instead of -log(n) (PyTorch subtracts in this order)
        ls = math.log(s)
        for j in range(n):
            y[a, j, 0] = (x[a, j, 0] - m) - ls


@kernel(inline="always")
def _fwd_cols(op, x, y, a, b0, b1):
    n = x.shape[1]
    w = b1 - b0
    m = np.full(w, -math.inf)
    s = np.zeros(w)
    for j in range(n):
        for i in range(w):
            v = x[a, j, b0 + i]
            if v > m[i] or v != v:
                m[i] = v
    for j in range(n):
        for i in range(w):
            s[i] += math.exp(x[a, j, b0 + i] - m[i])
    if op == SOFTMAX:
        for j in range(n):
            for i in range(w):
                y[a, j, b0 + i] = math.exp(x[a, j, b0 + i] - m[i]) / s[i]
    else:
        for i in range(w):
            s[i] = math.log(s[i])
        for j in range(n):
            for i in range(w):
                y[a, j, b0 + i] = (x[a, j, b0 + i] - m[i]) - s[i]


@kernel(inline="always")
def _fwd_item(op, x, y, t):
    inner = x.shape[2]
    if inner == 1:
        _fwd_row(op, x, y, t)
    else:
        nb = (inner + _BLOCK - 1) // _BLOCK
        a = t // nb
        b0 = (t - a * nb) * _BLOCK
        _fwd_cols(op, x, y, a, b0, min(b0 + _BLOCK, inner))


@task
def _fwd_task(op, x, y, items, t, tasks):
    """Task t's share of the ``items`` work items (rows, or (a, column-block) pairs)."""
    lo, hi = span(t, tasks, items)
    for i in range(lo, hi):
        _fwd_item(op, x, y, i)


@kernel(inline="always")
def _bwd_row(op, y, g, dx, a):
    n = y.shape[1]
    s = 0.0
    if op == SOFTMAX:
        for j in range(n):
            s += g[a, j, 0] * y[a, j, 0]
        for j in range(n):
            dx[a, j, 0] = y[a, j, 0] * (g[a, j, 0] - s)
    else:
        for j in range(n):
            s += g[a, j, 0]
        for j in range(n):
            dx[a, j, 0] = g[a, j, 0] - math.exp(y[a, j, 0]) * s


@kernel(inline="always")
def _bwd_cols(op, y, g, dx, a, b0, b1):
    n = y.shape[1]
    w = b1 - b0
    s = np.zeros(w)
    for j in range(n):
        for i in range(w):
            if op == SOFTMAX:
                s[i] += g[a, j, b0 + i] * y[a, j, b0 + i]
            else:
                s[i] += g[a, j, b0 + i]
    for j in range(n):
        for i in range(w):
            if op == SOFTMAX:
                dx[a, j, b0 + i] = y[a, j, b0 + i] * (g[a, j, b0 + i] - s[i])
            else:
                dx[a, j, b0 + i] = g[a, j, b0 + i] - math.exp(y[a, j, b0 + i]) * s[i]


@kernel(inline="always")
def _bwd_item(op, y, g, dx, t):
    inner = y.shape[2]
    if inner == 1:
        _bwd_row(op, y, g, dx, t)
    else:
        nb = (inner + _BLOCK - 1) // _BLOCK
        a = t // nb
        b0 = (t - a * nb) * _BLOCK
        _bwd_cols(op, y, g, dx, a, b0, min(b0 + _BLOCK, inner))


@task
def _bwd_task(op, y, g, dx, items, t, tasks):
    lo, hi = span(t, tasks, items)
    for i in range(lo, hi):
        _bwd_item(op, y, g, dx, i)


def _view3(x: np.ndarray, dim: int) -> tuple[np.ndarray, int]:
    """x as a C-contiguous (A, n, B) array around ``dim``, and the number of work items."""
    x = np.ascontiguousarray(x)
    a = math.prod(x.shape[:dim])
    b = math.prod(x.shape[dim + 1:])
    x3 = x.reshape(a, x.shape[dim] if x.ndim else 1, b)
    return x3, a if b == 1 else a * ((b + _BLOCK - 1) // _BLOCK)


def softmax_fwd(op: int, x: np.ndarray, dim: int) -> np.ndarray:
    """softmax (op SOFTMAX) or log_softmax (LOG_SOFTMAX) of float ``x`` along ``dim`` (>= 0).

    Returns a new C-contiguous array of x's shape and dtype.
    """
    x3, items = _view3(x, dim)
    y = np.empty(x3.shape, dtype=x.dtype)
    if y.size:
        run_tasks(_fwd_task, (op, x3, y, items), tasks_for(y.size) if items > 1 else 1)
    return y.reshape(x.shape)


def softmax_bwd(op: int, y: np.ndarray, g: np.ndarray, dim: int) -> np.ndarray:
    """Input gradient of ``softmax_fwd`` from its output ``y`` and the upstream ``g``."""
    y3, items = _view3(y, dim)
    g3, _ = _view3(g, dim)
    dx = np.empty(y3.shape, dtype=g.dtype)
    if dx.size:
        run_tasks(_bwd_task, (op, y3, g3, dx, items), tasks_for(dx.size) if items > 1 else 1)
    return dx.reshape(y.shape)


# ---------------------------------------------------------------- attention's row softmax
#
# y = softmax(scale * x + mask) over the last dim of (B, L, S) attention scores,
# with an optional additive float mask (Bm, L, S), Bm = 1 (shared) or B, and an
# optional causal mask (key j > query i is left out, PyTorch's top-left tril).
# A fully masked row gives NaN, as PyTorch's math path.  Backward from y:
# dx = scale * y * (g - sum(g * y)).  Parallel strategy: task kernels, each task a
# contiguous run of the B*L rows.


@kernel(inline="always")
def _row_max(row):
    """Max of a non-empty 1-D row (NaN if any), with four running maxima: one is a chain of
    dependent compare-and-selects, four pipeline."""
    n = row.shape[0]
    m0 = m1 = m2 = m3 = row[0]
    q = n - n % 4
    for j in range(0, q, 4):
        m0 = _combine(MAX, m0, row[j])  # reduce's max: a NaN, once met, wins
        m1 = _combine(MAX, m1, row[j + 1])
        m2 = _combine(MAX, m2, row[j + 2])
        m3 = _combine(MAX, m3, row[j + 3])
    for j in range(q, n):
        m0 = _combine(MAX, m0, row[j])
    return _combine(MAX, _combine(MAX, m0, m1), _combine(MAX, m2, m3))


@kernel(inline="always")
def _attn_fwd_row(x, scale, mask, has_mask, causal, y, r):
    queries, keys = x.shape[1], x.shape[2]
    b = r // queries
    i = r - b * queries
    # 1-D views indexed from 0 (no wrap-around test per access) and an exp made of
    # arithmetic for float32: the exp loop vectorises (fastmath.py)
    # no mask: the (1, 1, 1) stand-in's only row, never read (and no view past its end)
    xr, yr = x[b, i], y[b, i]
    mr = mask[b if mask.shape[0] > 1 else 0, i if has_mask else 0]
    fast = is_single(x)
    stop = min(i + 1, keys) if causal else keys
    for j in range(stop):
        yr[j] = xr[j] * scale + (mr[j] if has_mask else 0.0)
    m = _row_max(yr[:stop])
    for j in range(stop):
        yr[j] = exp_(yr[j] - m, fast)
    inv = 1.0 / _row(SUM, yr[:stop])
    for j in range(stop):
        yr[j] *= inv
    for j in range(stop, keys):
        yr[j] = 0.0


@task
def _attn_fwd_task(x, scale, mask, has_mask, causal, y, t, tasks):
    lo, hi = span(t, tasks, x.shape[0] * x.shape[1])
    for r in range(lo, hi):
        _attn_fwd_row(x, scale, mask, has_mask, causal, y, r)


@kernel(inline="always")
def _attn_bwd_row(y, g, scale, dx, r):
    queries, keys = y.shape[1], y.shape[2]
    b = r // queries
    i = r - b * queries
    s = 0.0
    for j in range(keys):
        s += g[b, i, j] * y[b, i, j]
    for j in range(keys):
        dx[b, i, j] = scale * y[b, i, j] * (g[b, i, j] - s)


@task
def _attn_bwd_task(y, g, scale, dx, t, tasks):
    lo, hi = span(t, tasks, y.shape[0] * y.shape[1])
    for r in range(lo, hi):
        _attn_bwd_row(y, g, scale, dx, r)


def attn_softmax_fwd(x: np.ndarray, scale: float, mask, causal: bool) -> np.ndarray:
    """softmax(scale * x + mask) over the last dim of (B, L, S) ``x``, causal if asked.

    ``mask``: None or an additive (Bm, L, S) array of x's dtype, Bm 1 or B.
    """
    x = np.ascontiguousarray(x)
    has_mask = mask is not None
    m = np.ascontiguousarray(mask, x.dtype) if has_mask else np.zeros((1, 1, 1), x.dtype)
    y = np.empty(x.shape, dtype=x.dtype)
    if y.size:
        run_tasks(_attn_fwd_task, (x, float(scale), m, has_mask, bool(causal), y),
                  tasks_for(y.size))
    return y


def attn_softmax_bwd(y: np.ndarray, g: np.ndarray, scale: float) -> np.ndarray:
    """Gradient of ``attn_softmax_fwd`` w.r.t. x, from its output ``y`` and upstream ``g``."""
    g = np.ascontiguousarray(g, y.dtype)
    dx = np.empty(y.shape, dtype=y.dtype)
    if dx.size:
        run_tasks(_attn_bwd_task, (y, g, float(scale), dx), tasks_for(dx.size))
    return dx
