"""2-D convolution (``conv2d``): argument checks here, the arithmetic in the kernel tables.

``k.conv2d_fwd`` / ``k.conv2d_bwd`` run im2col + GEMM: the whole batch at once
(``kernels/conv_gemm.py``, the textbook layout, on CUDA and for small CPU
batches) or one cache-sized chunk of images at a time (``kernels/cpu/conv.py``).
Nothing but the inputs is kept for the backward pass, which rebuilds the
im2col matrix it needs.
"""
from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor
from ._nn_args import check_same_dtype, check_tensor, pair, spatial_input, window2d


class Conv2d(Function):
    @staticmethod
    def forward(ctx, x, w, b, g):
        k = ctx.k
        ctx.x, ctx.w, ctx.g = x, w, g
        if g.n == 0:  # an empty batch: an empty result, as PyTorch
            return k.empty((0, w.shape[0], g.oh, g.ow), x.dtype)
        return k.conv2d_fwd(x, w, b, g)

    @staticmethod
    def backward(ctx, grad):
        k, need, g, w = ctx.k, ctx.needs_input_grad, ctx.g, ctx.w
        if g.n == 0:  # no terms: zero weight and bias gradients
            gw = k.full(w.shape, 0, w.dtype) if need[1] else None
            gb = k.full((w.shape[0],), 0, w.dtype) if need[2] else None
            return (k.empty(ctx.x.shape, w.dtype) if need[0] else None), gw, gb, None
        gx, gw, gb = k.conv2d_bwd(grad, ctx.x, w, g, need[0], need[1], None, need[2])
        return gx, gw, gb, None


def _padding(padding, kernel, dilation, stride, op):
    """Top/left padding and the total per axis, from an int, a pair, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding != "same":
            raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', "
                             f"got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                             f"(stride={stride})")
        total = tuple(d * (kk - 1) for d, kk in zip(dilation, kernel))
        return tuple(t // 2 for t in total), total  # the odd pixel goes bottom/right, as torch
    p = pair(padding, "padding", op)
    if p[0] < 0 or p[1] < 0:
        raise ValueError(f"{op}: negative padding is not supported, got padding={p}")
    return p, (2 * p[0], 2 * p[1])


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation over NCHW input, as ``torch.nn.functional.conv2d``.

    Shapes: input (N, C_in, H, W) or unbatched (C_in, H, W); weight
    (C_out, C_in/groups, kH, kW); bias (C_out,); output (N, C_out, H_out, W_out)
    with H_out = (H + 2*pad - dilation*(kH - 1) - 1) // stride + 1.
    ``stride``/``padding``/``dilation`` are ints or pairs; ``padding`` may be
    'valid' or 'same' (stride 1 only; an odd total pads one more at the
    bottom/right, as PyTorch).  Input, weight and bias share one float dtype.
    """
    op = "conv2d"
    x, unbatched = spatial_input(input, op)
    check_tensor(weight, "weight", op)
    check_same_dtype(op, x, weight=weight, bias=bias)
    if weight.ndim != 4:
        raise ValueError(f"{op}: expected 4-D weight (C_out, C_in/groups, kH, kW), got shape "
                         f"{tuple(weight.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    stride, dilation = pair(stride, "stride", op), pair(dilation, "dilation", op)
    if min(stride) < 1:
        raise ValueError(f"{op}: stride must be >= 1, got stride={stride}")
    if min(dilation) < 1:
        raise ValueError(f"{op}: dilation must be >= 1, got dilation={dilation}")
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    if cg * groups != c:
        raise ValueError(
            f"{op}: given groups={groups}, weight of size {tuple(weight.shape)} expects input with "
            f"{cg * groups} channels, but input of shape {tuple(input.shape)} has {c}"
        )
    if o % groups:
        raise ValueError(f"{op}: out channels ({o}) must be divisible by groups ({groups})")
    if bias is not None and tuple(bias.shape) != (o,):
        raise ValueError(f"{op}: expected bias of shape ({o},) for {o} output channels, got "
                         f"{tuple(bias.shape)}")
    (ph, pw), (tot_h, tot_w) = _padding(padding, (kh, kw), dilation, stride, op)
    eff_h, eff_w = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    if eff_h > h + tot_h or eff_w > w + tot_w:
        raise ValueError(
            f"{op}: padded input size per channel ({h + tot_h} x {w + tot_w}) is smaller than "
            f"the (dilated) kernel size ({eff_h} x {eff_w})"
        )
    if min(o, kh, kw) == 0 or c * h * w == 0:  # an empty batch (n == 0) is fine, as PyTorch
        raise ValueError(f"{op}: empty input {tuple(x.shape)} or weight {tuple(weight.shape)}")
    out_hw = ((h + tot_h - eff_h) // stride[0] + 1, (w + tot_w - eff_w) // stride[1] + 1)
    g = window2d(x.shape, (kh, kw), stride, (ph, pw), dilation, out_hw, groups)
    out = Conv2d.apply(x, weight, bias, g)
    return out.squeeze(0) if unbatched else out
