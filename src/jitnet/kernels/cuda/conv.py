"""Convolution CUDA kernels: im2col / col2im, and the two reorders around the GEMM.

The same layout as ``kernels/cpu/conv.py`` (read its docstring): ``cols`` is a
C-contiguous (C*kh*kw, N*oh*ow) matrix, one row per (channel, tap), one
column per output pixel of the whole batch, so the forward pass and both
gradients are one ``bmm`` each.  Here every kernel runs one thread per
element it writes (grid-stride loop):

- ``im2col``: one thread per cols entry; consecutive threads write
  consecutive output pixels of one tap row (coalesced stores).
- ``col2im``: one thread per *input* pixel, which gathers the kh*kw column
  entries that read it (a gather, not a scatter: no atomics, deterministic).
- ``gemm_to_nchw`` / ``nchw_to_gemm``: index permutations, the bias added on
  the way; the bias gradient is a per-channel ``reduce``.

``conv2d_fwd`` / ``conv2d_bwd`` run the whole-batch composition of these
(``kernels/conv_gemm.py``, shared with the CPU table's small-batch case).
"""
from __future__ import annotations

from numba import cuda

from ..opcodes import SUM
from . import _memory as A
from ._launch import launch
from .reduce import reduce


@cuda.jit
def _im2col_kernel(x, cols, g, total):
    """x: flat NCHW; cols: flat (C*kh*kw, N*oh*ow).  Thread per cols element."""
    n_img, c_in, h, w, kh, kw, sh, sw = g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw
    ph, pw, dh, dw, oh, ow = g.ph, g.pw, g.dh, g.dw, g.oh, g.ow
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    length = oh * ow
    ncols = n_img * length
    for e in range(start, total, step):
        row = e // ncols
        col = e - row * ncols
        c = row // (kh * kw)
        r = row - c * (kh * kw)
        ki = r // kw
        kj = r - ki * kw
        n = col // length
        p = col - n * length
        i = p // ow
        j = p - i * ow
        ih = i * sh - ph + ki * dh
        iw = j * sw - pw + kj * dw
        if ih >= 0 and ih < h and iw >= 0 and iw < w:
            cols[e] = x[((n * c_in + c) * h + ih) * w + iw]
        else:
            cols[e] = 0


def _check(op: str, a, shape: tuple) -> None:
    """The array a kernel reads matches the geometry (else it would read out of bounds)."""
    if tuple(a.shape) != shape:
        raise ValueError(f"{op}: array of shape {tuple(a.shape)} does not match the geometry, "
                         f"which expects {shape}")


def im2col(x, g):
    """Unfold NCHW ``x`` into ``cols`` (C*kh*kw, N*oh*ow) for the ``Window2d`` ``g``; 0 where
    a tap falls in the padding."""
    _check("im2col", x, (g.n, g.c, g.h, g.w))
    cols = A.empty((g.c * g.kh * g.kw, g.n * g.oh * g.ow), x.dtype)
    launch(_im2col_kernel, cols.size, A.flat(x), A.flat(cols), g, cols.size)
    return cols


@cuda.jit
def _col2im_kernel(cols, dx, g, init, has_init, total):
    """dx[n, c, ih, iw] = init[c] + the cols entries of every tap whose window reads that
    pixel.

    Tap (ki, kj) reads (ih, iw) from output pixel (i, j) with i*sh = ih + ph - ki*dh
    (and the same along w): only taps where that division is exact and in range count.
    """
    n_img, c_in, h, w, kh, kw, sh, sw = g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw
    ph, pw, dh, dw, oh, ow = g.ph, g.pw, g.dh, g.dw, g.oh, g.ow
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    length = oh * ow
    ncols = n_img * length
    for e in range(start, total, step):
        iw = e % w
        t = e // w
        ih = t % h
        t //= h
        c = t % c_in
        n = t // c_in
        acc = init[c] if has_init else cols[0] * 0
        for ki in range(kh):
            hi = ih + ph - ki * dh
            if hi < 0 or hi % sh != 0:
                continue
            i = hi // sh
            if i >= oh:
                continue
            for kj in range(kw):
                wi = iw + pw - kj * dw
                if wi < 0 or wi % sw != 0:
                    continue
                j = wi // sw
                if j >= ow:
                    continue
                acc += cols[((c * kh + ki) * kw + kj) * ncols + n * length + i * ow + j]
        dx[e] = acc


def col2im(cols, g, init=None):
    """Fold ``cols`` (C*kh*kw, N*oh*ow) back into a new (N, C, H, W) array, summing overlaps,
    each plane of channel c starting from ``init[c]`` (``init`` (C,), default 0).

    The adjoint of ``im2col`` (the input gradient of a convolution); ``cols`` is only read.
    """
    _check("col2im", cols, (g.c * g.kh * g.kw, g.n * g.oh * g.ow))
    dx = A.empty((g.n, g.c, g.h, g.w), cols.dtype)
    start, has_init = A.opt(None if init is None else A.flat(init), cols.dtype)
    launch(_col2im_kernel, dx.size, A.flat(cols), A.flat(dx), g, start, has_init, dx.size)
    return dx


@cuda.jit
def _to_nchw_kernel(y, out, bias, has_bias, n_img, o_ch, length, total):
    """out[n, o, l] = y[o, n*L + l] (+ bias[o]); flat arrays, thread per output element."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for e in range(start, total, step):
        t = e // length
        ell = e - t * length
        o = t % o_ch
        n = t // o_ch
        v = y[o * n_img * length + n * length + ell]
        if has_bias:
            out[e] = v + bias[o]
        else:
            out[e] = v


def gemm_to_nchw(y, n: int, bias):
    """(O, N*L) GEMM output -> new (N, O, L) array, adding ``bias[o]`` (if given) on the way."""
    o = y.shape[0]
    length = y.shape[1] // n
    out = A.empty((n, o, length), y.dtype)
    b, has_bias = A.opt(bias, y.dtype)
    launch(_to_nchw_kernel, out.size, A.flat(y), A.flat(out), A.flat(b), has_bias, n, o, length,
           out.size)
    return out


@cuda.jit
def _to_gemm_kernel(g, out, n_img, o_ch, length, total):
    """out[o, n*L + l] = g[n, o, l]; flat arrays, thread per output element."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    ncols = n_img * length
    for e in range(start, total, step):
        o = e // ncols
        col = e - o * ncols
        n = col // length
        ell = col - n * length
        out[e] = g[(n * o_ch + o) * length + ell]


def nchw_to_gemm(g):
    """(N, O, L) gradient -> ((O, N*L) copy for the GEMMs, per-channel sums (O,) = bias grad)."""
    n, o, length = g.shape
    out = A.empty((o, n * length), g.dtype)
    launch(_to_gemm_kernel, out.size, A.flat(g), A.flat(out), n, o, length, out.size)
    return out, reduce(SUM, g, (0, 2), False)


@cuda.jit
def _bias_add_kernel(y, bias, f, total):
    """y[r, j] += bias[j] in place; thread per element."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for e in range(start, total, step):
        y[e] += bias[e % f]


def bias_add(y, bias):
    """Add ``bias`` (F,) to every row of the C-contiguous (R, F) array ``y`` IN PLACE; returns y."""
    if bias.dtype != y.dtype:
        from .array import astype

        bias = astype(bias, y.dtype)
    launch(_bias_add_kernel, y.size, A.flat(y), A.flat(bias), y.shape[1], y.size)
    return y


def conv2d_fwd(x, w, b, g, wgrad_of=None):
    """2-D convolution -> new (N, O, OH, OW) array, with ``wgrad_of`` also the weight
    gradient for it: whole-batch im2col + ``bmm`` (``kernels/conv_gemm.py``)."""
    from .. import conv_gemm, cuda

    return conv_gemm.forward(cuda, x, w, b, g, wgrad_of)


def conv2d_bwd(grad, x, w, g, need_x: bool, need_w: bool, dx_init=None, need_b: bool = True):
    """Gradients of ``conv2d_fwd``: (dx or None, dw or None, db or None), ``dx_init`` (C,)
    added to dx's channels (``kernels/conv_gemm.py``)."""
    from .. import conv_gemm, cuda

    return conv_gemm.backward(cuda, grad, x, w, g, need_x, need_w, dx_init, need_b)
