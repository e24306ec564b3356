"""Pooling CPU kernels: max pooling (with argmax) and average pooling, forward and backward.

Every kernel sees the input as P = N*C independent planes, a C-contiguous
(P, H, W) array, and runs ``prange`` over planes: a task owns one input
plane and its output plane, so the backward scatters (overlapping windows add
into the same input pixel) never race.

Max pooling keeps, per output pixel, the flat index ``ih*W + iw`` of the
winner inside its plane (PyTorch's ``return_indices`` convention); backward
adds each upstream gradient at that index.  NaN wins like in PyTorch.

Average pooling serves ``avg_pool2d`` (every padding / ceil_mode /
count_include_pad / divisor_override combination) and
``adaptive_avg_pool2d`` with one pair of kernels: ``_window`` gives each
output index its clipped input range and the divisor, in PyTorch's formulas.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import PARALLEL_MIN, kernel


@kernel(inline="always")
def _taps(start, dil, size, k):
    """Kernel taps t in [lo, hi) with 0 <= start + t*dil < size."""
    lo = 0 if start >= 0 else (dil - 1 - start) // dil
    hi = (size - 1 - start) // dil + 1
    hi = max(0, min(hi, k))
    return min(lo, hi), hi


@kernel(inline="always")
def _max_task(x, y, idx, p, kh, kw, sh, sw, ph, pw, dh, dw):
    h, w = x.shape[1], x.shape[2]
    oh, ow = y.shape[1], y.shape[2]
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


@kernel
def _max_serial(x, y, idx, kh, kw, sh, sw, ph, pw, dh, dw):
    for p in range(x.shape[0]):
        _max_task(x, y, idx, p, kh, kw, sh, sw, ph, pw, dh, dw)


@kernel(parallel=True)
def _max_parallel(x, y, idx, kh, kw, sh, sw, ph, pw, dh, dw):
    for p in prange(x.shape[0]):
        _max_task(x, y, idx, p, kh, kw, sh, sw, ph, pw, dh, dw)


def _planes(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x)
    return x.reshape(-1, x.shape[-2], x.shape[-1])


def max_pool2d_fwd(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int,
                   dh: int, dw: int, oh: int, ow: int) -> tuple[np.ndarray, np.ndarray]:
    """Max over each (dilated) window of NCHW ``x``: returns (out, argmax), both (N, C, oh, ow).

    ``argmax`` (int64) is the flat index ``ih*W + iw`` of the winner in its
    plane.  Padding is implicit -inf; a window that holds no input pixel (possible
    with dilation) gives -inf and index -1.  Parallel over planes.
    """
    xp = _planes(x)
    y = np.empty((xp.shape[0], oh, ow), dtype=x.dtype)
    idx = np.empty((xp.shape[0], oh, ow), dtype=np.int64)
    run = _max_parallel if xp.size >= PARALLEL_MIN else _max_serial
    run(xp, y, idx, kh, kw, sh, sw, ph, pw, dh, dw)
    shape = x.shape[:-2] + (oh, ow)
    return y.reshape(shape), idx.reshape(shape)


@kernel(inline="always")
def _max_bwd_task(g, idx, dx, p):
    dx[p, :] = 0
    for r in range(g.shape[1]):
        q = idx[p, r]
        if 0 <= q < dx.shape[1]:  # -1 marks a window with no input pixel
            dx[p, q] += g[p, r]


@kernel
def _max_bwd_serial(g, idx, dx):
    for p in range(g.shape[0]):
        _max_bwd_task(g, idx, dx, p)


@kernel(parallel=True)
def _max_bwd_parallel(g, idx, dx):
    for p in prange(g.shape[0]):
        _max_bwd_task(g, idx, dx, p)


def max_pool2d_bwd(g: np.ndarray, idx: np.ndarray, h: int, w: int) -> np.ndarray:
    """Input gradient of max pooling: each g[n, c, i, j] added at its argmax; new (N, C, h, w).

    Parallel over planes (a plane's windows may overlap; one task owns it).
    """
    lead = g.shape[:-2]
    g2 = np.ascontiguousarray(g).reshape(-1, g.shape[-2] * g.shape[-1])
    i2 = np.ascontiguousarray(idx).reshape(g2.shape)
    dx = np.empty((g2.shape[0], h * w), dtype=g.dtype)
    run = _max_bwd_parallel if dx.size >= PARALLEL_MIN else _max_bwd_serial
    run(g2, i2, dx)
    return dx.reshape(lead + (h, w))


@kernel(inline="always")
def _window(i, size, n_out, k, s, p, adaptive):
    """Clipped input range [lo, hi) of output index i on one axis, and its padded extent.

    Adaptive: [floor(i*size/n_out), ceil((i+1)*size/n_out)).  Otherwise
    PyTorch's avg_pool: the window [i*s - p, i*s - p + k) cut at size + p
    (the extent, counting padding), then clipped to the input.
    """
    if adaptive:
        lo = (i * size) // n_out
        hi = ((i + 1) * size + n_out - 1) // n_out
        return lo, hi, hi - lo
    lo = i * s - p
    hi = min(lo + k, size + p)
    extent = hi - lo
    return max(lo, 0), min(hi, size), extent


@kernel(inline="always")
def _divisor(h0, h1, eh, w0, w1, ew, count_include_pad, divisor_override):
    if divisor_override > 0:
        return divisor_override
    if count_include_pad:
        return eh * ew
    return (h1 - h0) * (w1 - w0)


@kernel(inline="always")
def _avg_task(x, y, p, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override, adaptive):
    h, w = x.shape[1], x.shape[2]
    oh, ow = y.shape[1], y.shape[2]
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


@kernel
def _avg_serial(x, y, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override, adaptive):
    for p in range(x.shape[0]):
        _avg_task(x, y, p, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override, adaptive)


@kernel(parallel=True)
def _avg_parallel(x, y, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override, adaptive):
    for p in prange(x.shape[0]):
        _avg_task(x, y, p, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override, adaptive)


def avg_pool2d_fwd(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int,
                   oh: int, ow: int, count_include_pad: bool, divisor_override: int,
                   adaptive: bool) -> np.ndarray:
    """Mean over each window of NCHW ``x`` -> new (N, C, oh, ow).

    ``adaptive=True`` is ``adaptive_avg_pool2d`` (kernel/stride/padding
    ignored; windows from the sizes alone).  ``divisor_override`` > 0 replaces
    the divisor.  Parallel over planes; sums accumulate in float64.
    """
    xp = _planes(x)
    y = np.empty((xp.shape[0], oh, ow), dtype=x.dtype)
    run = _avg_parallel if xp.size >= PARALLEL_MIN else _avg_serial
    run(xp, y, kh, kw, sh, sw, ph, pw, bool(count_include_pad), int(divisor_override),
        bool(adaptive))
    return y.reshape(x.shape[:-2] + (oh, ow))


@kernel(inline="always")
def _avg_bwd_task(g, dx, p, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override,
                  adaptive):
    h, w = dx.shape[1], dx.shape[2]
    oh, ow = g.shape[1], g.shape[2]
    dx[p, :, :] = 0
    for i in range(oh):
        h0, h1, eh = _window(i, h, oh, kh, sh, ph, adaptive)
        for j in range(ow):
            w0, w1, ew = _window(j, w, ow, kw, sw, pw, adaptive)
            v = g[p, i, j] / _divisor(h0, h1, eh, w0, w1, ew, count_include_pad,
                                      divisor_override)
            for ih in range(h0, h1):
                for iw in range(w0, w1):
                    dx[p, ih, iw] += v


@kernel
def _avg_bwd_serial(g, dx, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override,
                    adaptive):
    for p in range(g.shape[0]):
        _avg_bwd_task(g, dx, p, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override,
                      adaptive)


@kernel(parallel=True)
def _avg_bwd_parallel(g, dx, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override,
                      adaptive):
    for p in prange(g.shape[0]):
        _avg_bwd_task(g, dx, p, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override,
                      adaptive)


def avg_pool2d_bwd(g: np.ndarray, h: int, w: int, kh: int, kw: int, sh: int, sw: int,
                   ph: int, pw: int, count_include_pad: bool, divisor_override: int,
                   adaptive: bool) -> np.ndarray:
    """Input gradient of ``avg_pool2d_fwd`` (same arguments): new (N, C, h, w).

    Each g[n, c, i, j] / divisor is spread over its window.  Parallel over planes.
    """
    gp = _planes(g)
    dx = np.empty((gp.shape[0], h, w), dtype=g.dtype)
    run = _avg_bwd_parallel if dx.size >= PARALLEL_MIN else _avg_bwd_serial
    run(gp, dx, kh, kw, sh, sw, ph, pw, bool(count_include_pad), int(divisor_override),
        bool(adaptive))
    return dx.reshape(g.shape[:-2] + (h, w))
