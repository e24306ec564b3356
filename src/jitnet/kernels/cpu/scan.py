"""Scan CPU kernels: the running sum (``cumsum``) or product (``cumprod``) along one dim,
the reverse sum, and cumprod's exact gradient.

Layout.  The wrapper views the input *without copying* (when it is
C-contiguous) as (A, L, B): A the product of the dims before the scanned one,
L its length, B the product of the dims after it.  One kernel covers every
case: for each a, ``out[a, l, :] = out[a, l - 1, :] + x[a, l, :]``, so the
inner loop runs along B through contiguous memory (it vectorises), and a scan
over the last dim is the case B == 1.  Parallel strategy: a task kernel
(``tasks.run_tasks``), each task a contiguous run of a's.

Accumulation is in float64 for float inputs (a float32 running sum of many
terms stays accurate, as PyTorch's CPU cumsum does) and in int64 for integers.
"""
from __future__ import annotations

import numpy as np

from .._jit import kernel
from .tasks import run_tasks, span, task, tasks_for


@kernel(inline="always")
def _scan_block(x, out, a, reverse, zero, mul):
    """Scan x[a] of shape (L, B) along L into out[a]; ``zero`` fixes the accumulator type
    and is its start (1 for a product); ``mul``: multiply instead of add."""
    n, b_n = x.shape[1], x.shape[2]
    acc = np.full(b_n, zero)
    for step in range(n):
        ell = n - 1 - step if reverse else step
        for b in range(b_n):
            if mul:
                acc[b] *= x[a, ell, b]
            else:
                acc[b] += x[a, ell, b]
            out[a, ell, b] = acc[b]


@task
def _scan_task(x, out, reverse, zero, mul, t, tasks):
    """x, out: (A, L, B) C-contiguous; out = running sum (product if ``mul``) of x along L
    (from the end if reverse), over task t's share of A (a task kernel, ``tasks.run_tasks``)."""
    lo, hi = span(t, tasks, x.shape[0])
    for a in range(lo, hi):
        _scan_block(x, out, a, reverse, zero, mul)


@kernel(inline="always")
def _cumprod_grad_column(x, y, g, dx, a, b):
    """dx[a, :, b] for y = cumprod(x) along L, exact with zeros (PyTorch's result).

    Before the first zero z: dx_k = sum_{j>=k} g_j y_j / x_k.  At z:
    dx_z = y_{z-1} * sum_{j>=z} g_j prod_{z<i<=j} x_i.  After z: 0.
    """
    n = x.shape[1]
    z = n
    for ell in range(n):
        if x[a, ell, b] == 0:
            z = ell
            break
    acc = 0.0
    for step in range(n):
        ell = n - 1 - step
        if ell < z:
            acc += g[a, ell, b] * y[a, ell, b]
            dx[a, ell, b] = acc / x[a, ell, b]
        else:
            dx[a, ell, b] = 0.0
    if z < n:
        p = 1.0
        s = 0.0
        for ell in range(z, n):
            if ell > z:
                p *= x[a, ell, b]
            s += g[a, ell, b] * p
        dx[a, z, b] = s * (y[a, z - 1, b] if z > 0 else 1.0)


@kernel
def _cumprod_grad(x, y, g, dx):
    """x, y, g, dx: (A, L, B) C-contiguous float arrays."""
    for a in range(x.shape[0]):
        for b in range(x.shape[2]):
            _cumprod_grad_column(x, y, g, dx, a, b)


def _tasks(x3: np.ndarray) -> int:
    """Tasks for a scan of (A, L, B) ``x3``: a task owns whole a's, so one when A < 2."""
    return tasks_for(x3.size) if x3.shape[0] >= 2 else 1


def cumsum(x: np.ndarray, axis: int, reverse: bool = False, out_dtype=None) -> np.ndarray:
    """Running sum of x along ``axis`` (from the last element backwards when ``reverse``).

    Any layout in (non-contiguous input is copied once); a new C-contiguous array of
    x's shape out, of dtype ``out_dtype`` or x's.  ``axis`` is normalised, x is not 0-d.
    """
    shape = x.shape
    a_n = int(np.prod(shape[:axis], dtype=np.int64))
    b_n = int(np.prod(shape[axis + 1:], dtype=np.int64))
    x3 = np.ascontiguousarray(x).reshape(a_n, shape[axis], b_n)
    out = np.empty(x3.shape, dtype=out_dtype or x.dtype)
    zero = 0.0 if out.dtype.kind == "f" else np.int64(0)
    run_tasks(_scan_task, (x3, out, bool(reverse), zero, False), _tasks(x3))
    return out.reshape(shape)


def _acb(x: np.ndarray, axis: int) -> np.ndarray:
    shape = x.shape
    a_n = int(np.prod(shape[:axis], dtype=np.int64))
    b_n = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return np.ascontiguousarray(x).reshape(a_n, shape[axis], b_n)


def cumprod(x: np.ndarray, axis: int, out_dtype=None) -> np.ndarray:
    """Running product of x along ``axis`` (x not 0-d); a new array of x's shape, of dtype
    ``out_dtype`` or x's (accumulated in float64 for floats, int64 for integers)."""
    x3 = _acb(x, axis)
    out = np.empty(x3.shape, dtype=out_dtype or x.dtype)
    one = 1.0 if out.dtype.kind == "f" else np.int64(1)
    run_tasks(_scan_task, (x3, out, False, one, True), _tasks(x3))
    return out.reshape(x.shape)


def cumprod_bwd(x: np.ndarray, y: np.ndarray, g: np.ndarray, axis: int) -> np.ndarray:
    """The input gradient of ``y = cumprod(x, axis)`` for the upstream ``g`` (float arrays of
    one shape), exact where x has zeros."""
    x3, y3, g3 = _acb(x, axis), _acb(y, axis), _acb(g, axis)
    dx = np.empty(x3.shape, dtype=g.dtype)
    _cumprod_grad(x3, y3, g3, dx)
    return dx.reshape(x.shape)
