"""Resampling CPU kernels (``interpolate``): a weighted gather along one axis, and its adjoint.

``ops/upsample.py`` resizes one spatial axis at a time.  It views the tensor
as a C-contiguous (P, n, Q) array (P = the dims before the axis, Q = those
after) and computes, on the host and in PyTorch's formulas, T source taps per
output index: ``idx`` (T, n_out) int64 and ``wts`` (T, n_out) (T = 1 for
nearest with weight 1, T = 2 for linear).  Then

    forward   y[p, j, q]  = sum_t wts[t, j] * x[p, idx[t, j], q]
    backward  gx[p, i, q] = sum_t sum_{j in [lo[t, i], hi[t, i])} wts[t, j] * g[p, j, q]

Backward is written as a gather, not a scatter: every tap's ``idx[t]`` is
non-decreasing in j (the ops layer checks it), so the outputs that read input
i form one range [lo, hi) per tap.  Each task then owns what it writes: no
races when parallel, no atomics on CUDA, and the same summation order on both
devices.  There is no per-element formula to share with CUDA beyond this
weighted sum; the index and weight formulas live once, on the host.
Parallel strategy: a task kernel (``tasks.run_tasks``), each task a contiguous
run of the P planes.
"""
from __future__ import annotations

import numpy as np

from .._jit import kernel
from .tasks import run_tasks, span, task, tasks_for

# Q > 1: rows are indexed inside one (n, Q) plane, so the inner loop over Q vectorises.
# Q == 1 (resizing the last axis): the plane is one row, indexed flat; the 2-D form paid a
# loop of length 1 per output (measured ~2-3x slower there, on a loaded machine).

@kernel(inline="always")
def _fwd_plane(x, y, idx, wts, p):
    taps, n_out = idx.shape
    q_len = x.shape[2]
    xp, yp = x[p], y[p]
    if q_len == 1:
        xr, yr = xp[:, 0], yp[:, 0]
        for j in range(n_out):
            acc = wts[0, j] * xr[idx[0, j]]
            for t in range(1, taps):
                acc += wts[t, j] * xr[idx[t, j]]
            yr[j] = acc
        return
    for j in range(n_out):
        i0, w0 = idx[0, j], wts[0, j]
        for q in range(q_len):
            yp[j, q] = w0 * xp[i0, q]
        for t in range(1, taps):
            it, wt = idx[t, j], wts[t, j]
            for q in range(q_len):
                yp[j, q] += wt * xp[it, q]


@task
def _fwd_task(x, y, idx, wts, t, tasks):
    lo, hi = span(t, tasks, x.shape[0])
    for p in range(lo, hi):
        _fwd_plane(x, y, idx, wts, p)


@kernel(inline="always")
def _bwd_plane(g, gx, lo, hi, wts, p):
    taps, n_in = lo.shape
    q_len = g.shape[2]
    gp, op = g[p], gx[p]
    if q_len == 1:
        gr, orow = gp[:, 0], op[:, 0]
        for i in range(n_in):
            acc = gr[0] * 0
            for t in range(taps):
                for j in range(lo[t, i], hi[t, i]):
                    acc += wts[t, j] * gr[j]
            orow[i] = acc
        return
    for i in range(n_in):
        for q in range(q_len):
            op[i, q] = 0
        for t in range(taps):
            for j in range(lo[t, i], hi[t, i]):
                wt = wts[t, j]
                for q in range(q_len):
                    op[i, q] += wt * gp[j, q]


@task
def _bwd_task(g, gx, lo, hi, wts, t, tasks):
    p0, p1 = span(t, tasks, g.shape[0])
    for p in range(p0, p1):
        _bwd_plane(g, gx, lo, hi, wts, p)


def _check(op: str, ok: bool, *arrays) -> None:
    """The arrays a kernel reads agree in shape (else it would index out of bounds); the
    index values themselves are checked in ``ops/upsample.py``, where they are built."""
    if not ok:
        raise ValueError(f"{op}: arrays of shapes {[a.shape for a in arrays]} do not match")


def resample_fwd(x: np.ndarray, idx: np.ndarray, wts: np.ndarray) -> np.ndarray:
    """(P, n_in, Q) ``x`` -> (P, n_out, Q): y[p, j, q] = sum_t wts[t, j] * x[p, idx[t, j], q].

    ``idx`` (T, n_out) int64 in [0, n_in) and ``wts`` (T, n_out) of x's dtype
    (the ops layer builds both).
    """
    _check("resample_fwd", x.ndim == 3 and idx.ndim == 2 and wts.shape == idx.shape,
           x, idx, wts)
    x = np.ascontiguousarray(x)
    y = np.empty((x.shape[0], idx.shape[1], x.shape[2]), dtype=x.dtype)
    run_tasks(_fwd_task, (x, y, np.ascontiguousarray(idx),
                          np.ascontiguousarray(wts, dtype=x.dtype)), tasks_for(y.size))
    return y


def resample_bwd(g: np.ndarray, lo: np.ndarray, hi: np.ndarray, wts: np.ndarray) -> np.ndarray:
    """The adjoint of ``resample_fwd``: (P, n_out, Q) gradient -> (P, n_in, Q), where
    outputs [lo[t, i], hi[t, i]) read input i through tap t (``lo``/``hi``: (T, n_in) int64)."""
    _check("resample_bwd", g.ndim == 3 and lo.ndim == 2 and hi.shape == lo.shape and
           wts.shape == (lo.shape[0], g.shape[1]), g, lo, hi, wts)
    g = np.ascontiguousarray(g)
    gx = np.empty((g.shape[0], lo.shape[1], g.shape[2]), dtype=g.dtype)
    run_tasks(_bwd_task, (g, gx, np.ascontiguousarray(lo), np.ascontiguousarray(hi),
                          np.ascontiguousarray(wts, dtype=g.dtype)), tasks_for(g.size))
    return gx
