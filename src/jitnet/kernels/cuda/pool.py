"""Pooling CUDA kernels: max pooling (with argmax) and average pooling, forward and backward.

The twin of ``kernels/cpu/pool.py``: the input is seen as P = N*C planes
(P, H, W), max pooling keeps the flat index ``ih*W + iw`` of each window's
winner in its plane (NaN wins, the last one, as on the CPU and in PyTorch),
and ``_taps`` / ``_window`` / ``_divisor`` are the CPU's formulas.

Parallel strategy: the forward kernels run one thread per output pixel.
The backward kernels run one thread per *upstream gradient* element and add
into the input gradient with ``cuda.atomic.add``: windows overlap when the
stride is smaller than the kernel, so several threads may add into one
pixel (max pooling: at its saved argmax; average pooling: over its window).
"""
from __future__ import annotations

import math

from numba import cuda

from . import _arrays as A
from ._launch import launch


@cuda.jit(device=True)
def _taps(start, dil, size, k):
    """Kernel taps t in [lo, hi) with 0 <= start + t*dil < size."""
    lo = 0 if start >= 0 else (dil - 1 - start) // dil
    hi = (size - 1 - start) // dil + 1
    hi = max(0, min(hi, k))
    return min(lo, hi), hi


@cuda.jit
def _max_kernel(x, y, idx, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, total):
    """y, idx: flat (P, oh, ow); x: flat (P, H, W).  Thread per output pixel."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for e in range(start, total, step):
        j = e % ow
        t = e // ow
        i = t % oh
        base = (t // oh) * h * w
        hs = i * sh - ph
        ws = j * sw - pw
        ki0, ki1 = _taps(hs, dh, h, kh)
        kj0, kj1 = _taps(ws, dw, w, kw)
        if ki0 >= ki1 or kj0 >= kj1:  # padding only: -inf and index -1, as on the CPU
            y[e] = -math.inf
            idx[e] = -1
            continue
        arg = (hs + ki0 * dh) * w + ws + kj0 * dw
        best = x[base + arg]
        for ki in range(ki0, ki1):
            ih = hs + ki * dh
            for kj in range(kj0, kj1):
                q = ih * w + ws + kj * dw
                v = x[base + q]
                if v > best or v != v:
                    best = v
                    arg = q
        y[e] = best
        idx[e] = arg


def max_pool2d_fwd(x, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int, dh: int, dw: int,
                   oh: int, ow: int):
    """Max over each (dilated) window of NCHW ``x``: returns (out, argmax), both (N, C, oh, ow).

    ``argmax`` (int64) is the flat index ``ih*W + iw`` of the winner in its plane.
    """
    shape = tuple(x.shape[:-2]) + (oh, ow)
    y = A.empty(shape, x.dtype)
    idx = A.empty(shape, "int64")
    h, w = x.shape[-2], x.shape[-1]
    launch(_max_kernel, y.size, A.flat(x), A.flat(y), A.flat(idx), h, w, oh, ow, kh, kw, sh, sw,
           ph, pw, dh, dw, y.size)
    return y, idx


@cuda.jit
def _max_bwd_kernel(g, idx, dx, plane_in, plane_out, total):
    """dx[p, idx] += g[p, r] atomically (windows may overlap).  Thread per g element."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for e in range(start, total, step):
        q = idx[e]
        if q >= 0 and q < plane_in:  # -1 marks a window with no input pixel
            cuda.atomic.add(dx, (e // plane_out) * plane_in + q, g[e])


def max_pool2d_bwd(g, idx, h: int, w: int):
    """Input gradient of max pooling: each g[n, c, i, j] added at its argmax; new (N, C, h, w)."""
    from .array import full

    dx = full(tuple(g.shape[:-2]) + (h, w), 0, g.dtype)
    launch(_max_bwd_kernel, g.size, A.flat(g), A.flat(idx), A.flat(dx), h * w,
           g.shape[-2] * g.shape[-1], g.size)
    return dx


@cuda.jit(device=True)
def _window(i, size, n_out, k, s, p, adaptive):
    """Clipped input range [lo, hi) of output index i on one axis, and its padded extent."""
    if adaptive:
        lo = (i * size) // n_out
        hi = ((i + 1) * size + n_out - 1) // n_out
        return lo, hi, hi - lo
    lo = i * s - p
    hi = min(lo + k, size + p)
    extent = hi - lo
    return max(lo, 0), min(hi, size), extent


@cuda.jit(device=True)
def _divisor(h0, h1, eh, w0, w1, ew, count_include_pad, divisor_override):
    if divisor_override > 0:
        return divisor_override
    if count_include_pad:
        return eh * ew
    return (h1 - h0) * (w1 - w0)


@cuda.jit
def _avg_kernel(x, y, h, w, oh, ow, kh, kw, sh, sw, ph, pw, count_include_pad,
                divisor_override, adaptive, total):
    """y[p, i, j] = mean of x over window (i, j) of plane p (float64 sum).  Thread per output."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for e in range(start, total, step):
        j = e % ow
        t = e // ow
        i = t % oh
        base = (t // oh) * h * w
        h0, h1, eh = _window(i, h, oh, kh, sh, ph, adaptive)
        w0, w1, ew = _window(j, w, ow, kw, sw, pw, adaptive)
        acc = 0.0
        for ih in range(h0, h1):
            for iw in range(w0, w1):
                acc += x[base + ih * w + iw]
        y[e] = acc / _divisor(h0, h1, eh, w0, w1, ew, count_include_pad, divisor_override)


def avg_pool2d_fwd(x, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int, oh: int, ow: int,
                   count_include_pad: bool, divisor_override: int, adaptive: bool):
    """Mean over each window of NCHW ``x`` -> new (N, C, oh, ow) (arguments as the CPU twin)."""
    y = A.empty(tuple(x.shape[:-2]) + (oh, ow), x.dtype)
    h, w = x.shape[-2], x.shape[-1]
    launch(_avg_kernel, y.size, A.flat(x), A.flat(y), h, w, oh, ow, kh, kw, sh, sw, ph, pw,
           bool(count_include_pad), int(divisor_override), bool(adaptive), y.size)
    return y


@cuda.jit
def _avg_bwd_kernel(g, dx, h, w, oh, ow, kh, kw, sh, sw, ph, pw, count_include_pad,
                    divisor_override, adaptive, total):
    """Spread g[p, i, j] / divisor over window (i, j) of dx with atomics.  Thread per g element."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for e in range(start, total, step):
        j = e % ow
        t = e // ow
        i = t % oh
        base = (t // oh) * h * w
        h0, h1, eh = _window(i, h, oh, kh, sh, ph, adaptive)
        w0, w1, ew = _window(j, w, ow, kw, sw, pw, adaptive)
        v = g[e] / _divisor(h0, h1, eh, w0, w1, ew, count_include_pad, divisor_override)
        for ih in range(h0, h1):
            for iw in range(w0, w1):
                cuda.atomic.add(dx, base + ih * w + iw, v)


def avg_pool2d_bwd(g, h: int, w: int, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int,
                   count_include_pad: bool, divisor_override: int, adaptive: bool):
    """Input gradient of ``avg_pool2d_fwd`` (same arguments): new (N, C, h, w)."""
    from .array import full

    dx = full(tuple(g.shape[:-2]) + (h, w), 0, g.dtype)
    oh, ow = g.shape[-2], g.shape[-1]
    launch(_avg_bwd_kernel, g.size, A.flat(g), A.flat(dx), h, w, oh, ow, kh, kw, sh, sw, ph, pw,
           bool(count_include_pad), int(divisor_override), bool(adaptive), g.size)
    return dx
