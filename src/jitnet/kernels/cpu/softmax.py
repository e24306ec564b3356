"""Softmax family CPU kernels: softmax and log_softmax over any dim, forward and backward.

One family, two op codes (``SOFTMAX``, ``LOG_SOFTMAX``).  The wrapper views
the C-contiguous input as (A, n, B) without copying, ``n`` being the
softmax dim, A the dims before it and B those after:

- B == 1 (dim is last, the usual case): each of the A rows is contiguous;
  a task handles one row.
- B > 1 (e.g. dim=1 of NCHW): a task handles one a and a block of up to
  ``_BLOCK`` columns b, keeping the running max / sum of its columns in a small
  buffer, so every inner loop still walks contiguous memory.

Numerically stable: the max is subtracted before exp, so logits of +-1000
stay finite; sums accumulate in float64.  Parallel strategy: ``prange`` over
tasks (rows, or (a, column-block) pairs).

Backward uses the forward output y:
softmax ``dx = y * (g - sum(g * y))``, log_softmax ``dx = g - exp(y) * sum(g)``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import PARALLEL_MIN, kernel
from ..opcodes import SOFTMAX

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
def _fwd_task(op, x, y, t):
    inner = x.shape[2]
    if inner == 1:
        _fwd_row(op, x, y, t)
    else:
        nb = (inner + _BLOCK - 1) // _BLOCK
        a = t // nb
        b0 = (t - a * nb) * _BLOCK
        _fwd_cols(op, x, y, a, b0, min(b0 + _BLOCK, inner))


@kernel
def _fwd_serial(op, x, y, tasks):
    for t in range(tasks):
        _fwd_task(op, x, y, t)


@kernel(parallel=True)
def _fwd_parallel(op, x, y, tasks):
    for t in prange(tasks):
        _fwd_task(op, x, y, t)


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
def _bwd_task(op, y, g, dx, t):
    inner = y.shape[2]
    if inner == 1:
        _bwd_row(op, y, g, dx, t)
    else:
        nb = (inner + _BLOCK - 1) // _BLOCK
        a = t // nb
        b0 = (t - a * nb) * _BLOCK
        _bwd_cols(op, y, g, dx, a, b0, min(b0 + _BLOCK, inner))


@kernel
def _bwd_serial(op, y, g, dx, tasks):
    for t in range(tasks):
        _bwd_task(op, y, g, dx, t)


@kernel(parallel=True)
def _bwd_parallel(op, y, g, dx, tasks):
    for t in prange(tasks):
        _bwd_task(op, y, g, dx, t)


def _view3(x: np.ndarray, dim: int) -> tuple[np.ndarray, int]:
    """x as a C-contiguous (A, n, B) array around ``dim``, and the number of tasks."""
    x = np.ascontiguousarray(x)
    a = math.prod(x.shape[:dim])
    b = math.prod(x.shape[dim + 1:])
    x3 = x.reshape(a, x.shape[dim] if x.ndim else 1, b)
    return x3, a if b == 1 else a * ((b + _BLOCK - 1) // _BLOCK)


def softmax_fwd(op: int, x: np.ndarray, dim: int) -> np.ndarray:
    """softmax (op SOFTMAX) or log_softmax (LOG_SOFTMAX) of float ``x`` along ``dim`` (>= 0).

    Returns a new C-contiguous array of x's shape and dtype.
    """
    x3, tasks = _view3(x, dim)
    y = np.empty(x3.shape, dtype=x.dtype)
    if y.size:
        run = _fwd_parallel if y.size >= PARALLEL_MIN and tasks > 1 else _fwd_serial
        run(op, x3, y, tasks)
    return y.reshape(x.shape)


def softmax_bwd(op: int, y: np.ndarray, g: np.ndarray, dim: int) -> np.ndarray:
    """Input gradient of ``softmax_fwd`` from its output ``y`` and the upstream ``g``."""
    y3, tasks = _view3(y, dim)
    g3, _ = _view3(g, dim)
    dx = np.empty(y3.shape, dtype=g.dtype)
    if dx.size:
        run = _bwd_parallel if dx.size >= PARALLEL_MIN and tasks > 1 else _bwd_serial
        run(op, y3, g3, dx, tasks)
    return dx.reshape(y.shape)
