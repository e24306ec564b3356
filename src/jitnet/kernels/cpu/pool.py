"""Pooling CPU kernels: max pooling (with argmax) and average pooling, forward and backward.

Every kernel sees the input as P = N*C independent planes, a C-contiguous
(P, H, W) array, and its task kernels (``tasks.run_tasks``) split the planes: a task owns its input
planes and their output planes, so the backward scatters (overlapping windows add
into the same input pixel) never race.

Max pooling keeps, per output pixel, the flat index ``ih*W + iw`` of the
winner inside its plane (PyTorch's ``return_indices`` convention); backward
adds each upstream gradient at that index.  NaN wins like in PyTorch.

The geometry arrives as one ``Window2d`` named tuple ``g`` (``ops/_nn_args.py``),
validated once in ``ops/``; the kernels read its fields by name.

Average pooling serves ``avg_pool2d`` (every padding / ceil_mode /
count_include_pad / divisor_override combination) and
``adaptive_avg_pool2d`` with one pair of kernels: ``window`` gives each
output index its clipped input range and the divisor, in PyTorch's formulas.
The window arithmetic (``taps``, ``window``, ``divisor``) is in
``kernels/scalar/pool.py``, shared with the CUDA twins.
"""
from __future__ import annotations

import numpy as np

from .._jit import kernel, scalar
from ..scalar import pool as f
from .tasks import run_tasks, span, task, tasks_for

_taps = scalar(f.taps)
_window = scalar(f.window)
_divisor = scalar(f.divisor)


@kernel(inline="always")
def _max_plane(x, y, idx, p, g):
    h, w, oh, ow = g.h, g.w, g.oh, g.ow
    kh, kw, sh, sw, ph, pw, dh, dw = g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw
    plane, out, arg_out = x[p], y[p], idx[p]
    span = (kw - 1) * dw
    for i in range(oh):
        hs = i * sh - ph
        ki0, ki1 = _taps(hs, dh, h, kh)
        for j in range(ow):
            ws = j * sw - pw
            if ws >= 0 and ws + span < w:  # interior window: every tap valid, no divisions
                kj0, kj1 = 0, kw
            else:
                kj0, kj1 = _taps(ws, dw, w, kw)
            if ki0 >= ki1 or kj0 >= kj1:
                # a window over padding only (dilation can skip every pixel): -inf, as
                # PyTorch, and index -1, which the backward skips; never read its taps
                out[i, j] = -np.inf
                arg_out[i, j] = -1
                continue
            ih = hs + ki0 * dh
            iw = ws + kj0 * dw
            best = plane[ih, iw]
            arg = ih * w + iw
            for ki in range(ki0, ki1):
                ih = hs + ki * dh
                row = plane[ih]
                for kj in range(kj0, kj1):
                    v = row[ws + kj * dw]
                    if v > best or v != v:  # NaN wins (the last one), as PyTorch
                        best = v
                        arg = ih * w + ws + kj * dw
            out[i, j] = best
            arg_out[i, j] = arg


@task
def _max_task(x, y, idx, g, t, tasks):
    lo, hi = span(t, tasks, x.shape[0])
    for p in range(lo, hi):
        _max_plane(x, y, idx, p, g)


def _planes(op: str, x: np.ndarray, shape: tuple) -> np.ndarray:
    """x, which must have the geometry's ``shape`` (else a kernel would read out of bounds),
    as C-contiguous (N*C, H, W) planes."""
    if x.shape != shape:
        raise ValueError(f"{op}: array of shape {x.shape} does not match the geometry, which "
                         f"expects {shape}")
    x = np.ascontiguousarray(x)
    return x.reshape(-1, x.shape[-2], x.shape[-1])


def max_pool2d_fwd(x: np.ndarray, g) -> tuple[np.ndarray, np.ndarray]:
    """Max over each (dilated) window of NCHW ``x`` for the ``Window2d`` ``g``: returns
    (out, argmax), both (N, C, oh, ow).

    ``argmax`` (int64) is the flat index ``ih*W + iw`` of the winner in its
    plane.  Padding is implicit -inf; a window that holds no input pixel (possible
    with dilation) gives -inf and index -1.  Parallel over planes.
    """
    xp = _planes("max_pool2d_fwd", x, (g.n, g.c, g.h, g.w))
    y = np.empty((xp.shape[0], g.oh, g.ow), dtype=x.dtype)
    idx = np.empty((xp.shape[0], g.oh, g.ow), dtype=np.int64)
    run_tasks(_max_task, (xp, y, idx, g), tasks_for(xp.size))
    shape = (g.n, g.c, g.oh, g.ow)
    return y.reshape(shape), idx.reshape(shape)


@kernel(inline="always")
def _max_bwd_plane(g, idx, dx, p):
    dx[p, :] = 0
    for r in range(g.shape[1]):
        q = idx[p, r]
        if 0 <= q < dx.shape[1]:  # -1 marks a window with no input pixel
            dx[p, q] += g[p, r]


@task
def _max_bwd_task(g, idx, dx, t, tasks):
    lo, hi = span(t, tasks, g.shape[0])
    for p in range(lo, hi):
        _max_bwd_plane(g, idx, dx, p)


def max_pool2d_bwd(grad: np.ndarray, idx: np.ndarray, g) -> np.ndarray:
    """Input gradient of max pooling: each grad[n, c, i, j] added at its argmax; new
    (N, C, H, W).  Parallel over planes (a plane's windows may overlap; one task owns it).
    """
    out_shape = (g.n, g.c, g.oh, g.ow)
    g2 = _planes("max_pool2d_bwd", grad, out_shape).reshape(g.n * g.c, g.oh * g.ow)
    i2 = _planes("max_pool2d_bwd", idx, out_shape).reshape(g2.shape)
    dx = np.empty((g2.shape[0], g.h * g.w), dtype=grad.dtype)
    run_tasks(_max_bwd_task, (g2, i2, dx), tasks_for(dx.size))
    return dx.reshape(g.n, g.c, g.h, g.w)


@kernel(inline="always")
def _avg_plane(x, y, p, g, count_include_pad, divisor_override, adaptive):
    h, w, oh, ow = g.h, g.w, g.oh, g.ow
    kh, kw, sh, sw, ph, pw = g.kh, g.kw, g.sh, g.sw, g.ph, g.pw
    for i in range(oh):
        h0, h1, eh = _window(i, h, oh, kh, sh, ph, adaptive)
        for j in range(ow):
            w0, w1, ew = _window(j, w, ow, kw, sw, pw, adaptive)
            acc = 0.0
            for ih in range(h0, h1):
                for iw in range(w0, w1):
                    acc += x[p, ih, iw]
            y[p, i, j] = acc / _divisor(h0, h1, eh, w0, w1, ew, count_include_pad,
                                        divisor_override)


@task
def _avg_task(x, y, g, count_include_pad, divisor_override, adaptive, t, tasks):
    lo, hi = span(t, tasks, x.shape[0])
    for p in range(lo, hi):
        _avg_plane(x, y, p, g, count_include_pad, divisor_override, adaptive)


def avg_pool2d_fwd(x: np.ndarray, g, count_include_pad: bool, divisor_override: int,
                   adaptive: bool) -> np.ndarray:
    """Mean over each window of NCHW ``x`` for the ``Window2d`` ``g`` -> new (N, C, oh, ow).

    ``adaptive=True`` is ``adaptive_avg_pool2d`` (kernel/stride/padding
    ignored; windows from the sizes alone).  ``divisor_override`` > 0 replaces
    the divisor.  Parallel over planes; sums accumulate in float64.
    """
    xp = _planes("avg_pool2d_fwd", x, (g.n, g.c, g.h, g.w))
    y = np.empty((xp.shape[0], g.oh, g.ow), dtype=x.dtype)
    run_tasks(_avg_task, (xp, y, g, bool(count_include_pad), int(divisor_override),
                          bool(adaptive)), tasks_for(xp.size))
    return y.reshape(g.n, g.c, g.oh, g.ow)


@kernel(inline="always")
def _avg_bwd_plane(gy, dx, p, g, count_include_pad, divisor_override, adaptive):
    h, w, oh, ow = g.h, g.w, g.oh, g.ow
    kh, kw, sh, sw, ph, pw = g.kh, g.kw, g.sh, g.sw, g.ph, g.pw
    dx[p, :, :] = 0
    for i in range(oh):
        h0, h1, eh = _window(i, h, oh, kh, sh, ph, adaptive)
        for j in range(ow):
            w0, w1, ew = _window(j, w, ow, kw, sw, pw, adaptive)
            v = gy[p, i, j] / _divisor(h0, h1, eh, w0, w1, ew, count_include_pad,
                                      divisor_override)
            for ih in range(h0, h1):
                for iw in range(w0, w1):
                    dx[p, ih, iw] += v


@task
def _avg_bwd_task(gy, dx, g, count_include_pad, divisor_override, adaptive, t, tasks):
    lo, hi = span(t, tasks, gy.shape[0])
    for p in range(lo, hi):
        _avg_bwd_plane(gy, dx, p, g, count_include_pad, divisor_override, adaptive)


def avg_pool2d_bwd(grad: np.ndarray, g, count_include_pad: bool, divisor_override: int,
                   adaptive: bool) -> np.ndarray:
    """Input gradient of ``avg_pool2d_fwd`` (same arguments): new (N, C, H, W).

    Each grad[n, c, i, j] / divisor is spread over its window.  Parallel over planes.
    """
    gp = _planes("avg_pool2d_bwd", grad, (g.n, g.c, g.oh, g.ow))
    dx = np.empty((gp.shape[0], g.h, g.w), dtype=grad.dtype)
    run_tasks(_avg_bwd_task, (gp, dx, g, bool(count_include_pad), int(divisor_override),
                              bool(adaptive)), tasks_for(dx.size))
    return dx.reshape(g.n, g.c, g.h, g.w)
