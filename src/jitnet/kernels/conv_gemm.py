"""The whole-batch im2col convolution, written once over any kernel table ``k``.

Forward:  cols = im2col(x)                       (C*kh*kw, N*L), L = OH*OW
          y    = W (O, C*kh*kw) @ cols           one GEMM (``k.bmm``, per group)
          out  = gemm_to_nchw(y) + bias          reorder to NCHW, bias in the same pass
Backward: G    = nchw_to_gemm(g)                 (O, N*L), and the bias grad sum(g)
          dW   = (cols @ G^T)^T                  one GEMM, the batch summed inside the GEMM
          dx   = col2im(W^T @ G)

This is the general case and the textbook one (the layout of ``cols`` is explained
in ``kernels/cpu/conv.py``).  The CUDA table runs it as is; the CPU table runs it
only for batches too small to split over its threads, and otherwise the same
algorithm one chunk of images at a time (``kernels/cpu/conv.py``,
``conv2d_fwd``), so that ``cols`` stays cache-sized instead of taking
C*kh*kw*N*L floats (151 MB for a 32-channel 3x3 layer on 128 32x32 images).

``cols`` is not kept for the backward pass: it is computed again there from
``x`` (a memory-speed copy, a few percent of the convolution), so a training
step holds one ``cols`` at a time instead of one per layer.
"""
from __future__ import annotations

from .opcodes import SUM


def forward(k, x, w, b, g, wgrad_of=None):
    """conv2d of NCHW ``x`` with ``w`` (O, C/groups, kh, kw), optional ``b`` (O,), geometry
    ``g`` (a ``Window2d``, n >= 1) -> new (N, O, OH, OW) array.

    With ``wgrad_of`` (N, O, OH, OW), an upstream gradient of this output: returns
    ``(out, dw, xsum)``, dw the weight gradient for it from the same unfold of x, xsum
    (C,) x summed over (N, H, W) (the transposed convolution's backward is this triple)."""
    o, taps = w.shape[0], g.c // g.groups * g.kh * g.kw
    length = g.n * g.oh * g.ow
    cols = k.reshape(k.im2col(x, g), (g.groups, taps, length))
    wm = k.reshape(w, (g.groups, o // g.groups, taps))
    y = k.bmm(wm, cols)
    out = k.reshape(k.gemm_to_nchw(k.reshape(y, (o, length)), g.n, b), (g.n, o, g.oh, g.ow))
    if wgrad_of is None:
        return out
    gm, _ = k.nchw_to_gemm(k.reshape(wgrad_of, (g.n, o, g.oh * g.ow)))
    gw = k.bmm(k.reshape(gm, (g.groups, o // g.groups, length)), cols, trans_b=True)
    return out, k.reshape(gw, tuple(w.shape)), k.reduce(SUM, x, (0, 2, 3), False)


def backward(k, grad, x, w, g, need_x: bool, need_w: bool, dx_init=None, need_b: bool = True):
    """Gradients of ``forward`` for the upstream ``grad`` (N, O, OH, OW): (dx or None,
    dw or None, db or None) where db = grad summed over (N, OH, OW) (None without
    ``need_b``); ``dx_init`` (C,) or None is added to every pixel of dx's channel c (the
    transposed convolution's bias)."""
    o, taps = w.shape[0], g.c // g.groups * g.kh * g.kw
    length = g.n * g.oh * g.ow
    wm = k.reshape(w, (g.groups, o // g.groups, taps))
    g2, gbias = k.nchw_to_gemm(k.reshape(grad, (g.n, o, g.oh * g.ow)))
    gm = k.reshape(g2, (g.groups, o // g.groups, length))
    gx = gw = None
    if need_w:
        # dW^T = cols @ G^T, then a small transpose: bmm splits its output rows over
        # threads, and C*kh*kw rows of cols split evenly where O rows of G (as few as
        # 6) would leave the product on one thread (measured 8.8 -> 4.9 ms, 64x32x16x16)
        cols = k.reshape(k.im2col(x, g), (g.groups, taps, length))
        gwt = k.bmm(cols, gm, trans_b=True)  # (groups, C/g*kh*kw, O/g)
        gw = k.reshape(k.contiguous(k.permute(gwt, (0, 2, 1))), w.shape)
    if need_x:
        gcols = k.bmm(wm, gm, trans_a=True)
        gx = k.col2im(k.reshape(gcols, (g.c * g.kh * g.kw, length)), g, dx_init)
    return gx, gw, (gbias if need_b else None)
