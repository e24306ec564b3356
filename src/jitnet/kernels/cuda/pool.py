"""Pooling CUDA kernels: max pooling (with argmax) and average pooling, forward and backward.

The twin of ``kernels/cpu/pool.py``: the input is seen as P = N*C planes
(P, H, W), max pooling keeps the flat index ``ih*W + iw`` of each window's
winner in its plane (NaN wins, the last one, as on the CPU and in PyTorch),
and the window arithmetic is the CPU's, from ``kernels/scalar/pool.py``.  The
geometry arrives as one ``Window2d`` named tuple ``g`` (``ops/_nn_args.py``).

Parallel strategy: the forward kernels run one thread per output pixel.
The backward kernels run one thread per *upstream gradient* element and add
into the input gradient with ``cuda.atomic.add``: windows overlap when the
stride is smaller than the kernel, so several threads may add into one
pixel (max pooling: at its saved argmax; average pooling: over its window).
"""
from __future__ import annotations

import math

from numba import cuda

from ..scalar import pool as f
from . import _memory as A
from ._launch import device_fn, launch

_taps = device_fn(f.taps)
_window = device_fn(f.window)
_divisor = device_fn(f.divisor)


@cuda.jit
def _max_kernel(x, y, idx, g, total):
    """y, idx: flat (P, oh, ow); x: flat (P, H, W).  Thread per output pixel."""
    h, w, oh, ow = g.h, g.w, g.oh, g.ow
    kh, kw, sh, sw, ph, pw, dh, dw = g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw
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


def _check(op: str, a, shape: tuple) -> None:
    """The array a kernel reads matches the geometry (else it would read out of bounds)."""
    if tuple(a.shape) != shape:
        raise ValueError(f"{op}: array of shape {tuple(a.shape)} does not match the geometry, "
                         f"which expects {shape}")


def max_pool2d_fwd(x, g):
    """Max over each (dilated) window of NCHW ``x`` for the ``Window2d`` ``g``: returns
    (out, argmax), both (N, C, oh, ow).

    ``argmax`` (int64) is the flat index ``ih*W + iw`` of the winner in its plane.
    """
    _check("max_pool2d_fwd", x, (g.n, g.c, g.h, g.w))
    shape = (g.n, g.c, g.oh, g.ow)
    y = A.empty(shape, x.dtype)
    idx = A.empty(shape, "int64")
    launch(_max_kernel, y.size, A.flat(x), A.flat(y), A.flat(idx), g, y.size)
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


def max_pool2d_bwd(grad, idx, g):
    """Input gradient of max pooling: each grad[n, c, i, j] added at its argmax; new
    (N, C, H, W)."""
    from .array import full

    _check("max_pool2d_bwd", grad, (g.n, g.c, g.oh, g.ow))
    _check("max_pool2d_bwd", idx, (g.n, g.c, g.oh, g.ow))
    dx = full((g.n, g.c, g.h, g.w), 0, grad.dtype)
    launch(_max_bwd_kernel, grad.size, A.flat(grad), A.flat(idx), A.flat(dx), g.h * g.w,
           g.oh * g.ow, grad.size)
    return dx


@cuda.jit
def _avg_kernel(x, y, g, count_include_pad, divisor_override, adaptive, total):
    """y[p, i, j] = mean of x over window (i, j) of plane p (float64 sum).  Thread per output."""
    h, w, oh, ow = g.h, g.w, g.oh, g.ow
    kh, kw, sh, sw, ph, pw = g.kh, g.kw, g.sh, g.sw, g.ph, g.pw
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


def avg_pool2d_fwd(x, g, count_include_pad: bool, divisor_override: int, adaptive: bool):
    """Mean over each window of NCHW ``x`` -> new (N, C, oh, ow) (arguments as the CPU twin)."""
    _check("avg_pool2d_fwd", x, (g.n, g.c, g.h, g.w))
    y = A.empty((g.n, g.c, g.oh, g.ow), x.dtype)
    launch(_avg_kernel, y.size, A.flat(x), A.flat(y), g, bool(count_include_pad),
           int(divisor_override), bool(adaptive), y.size)
    return y


@cuda.jit
def _avg_bwd_kernel(gy, dx, g, count_include_pad, divisor_override, adaptive, total):
    """Spread gy[p, i, j] / divisor over window (i, j) of dx with atomics.  Thread per gy
    element."""
    h, w, oh, ow = g.h, g.w, g.oh, g.ow
    kh, kw, sh, sw, ph, pw = g.kh, g.kw, g.sh, g.sw, g.ph, g.pw
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for e in range(start, total, step):
        j = e % ow
        t = e // ow
        i = t % oh
        base = (t // oh) * h * w
        h0, h1, eh = _window(i, h, oh, kh, sh, ph, adaptive)
        w0, w1, ew = _window(j, w, ow, kw, sw, pw, adaptive)
        v = gy[e] / _divisor(h0, h1, eh, w0, w1, ew, count_include_pad, divisor_override)
        for ih in range(h0, h1):
            for iw in range(w0, w1):
                cuda.atomic.add(dx, base + ih * w + iw, v)


def avg_pool2d_bwd(grad, g, count_include_pad: bool, divisor_override: int, adaptive: bool):
    """Input gradient of ``avg_pool2d_fwd`` (same arguments): new (N, C, H, W)."""
    from .array import full

    _check("avg_pool2d_bwd", grad, (g.n, g.c, g.oh, g.ow))
    dx = full((g.n, g.c, g.h, g.w), 0, grad.dtype)
    launch(_avg_bwd_kernel, grad.size, A.flat(grad), A.flat(dx), g, bool(count_include_pad),
           int(divisor_override), bool(adaptive), grad.size)
    return dx
