"""2-D pooling: max_pool2d (with indices), avg_pool2d, adaptive_avg_pool2d.

Each op checks its arguments, computes the output size with PyTorch's formula
(including ``ceil_mode``) and runs one forward kernel; backward is one kernel
too.  Input is (N, C, H, W) or unbatched (C, H, W).
"""
from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor
from ._nn_args import Window2d, pair, spatial_input, window2d


class MaxPool2d(Function):
    @staticmethod
    def forward(ctx, x, g):
        y, idx = ctx.k.max_pool2d_fwd(x, g)
        ctx.idx, ctx.g = idx, g
        return y, idx

    @staticmethod
    def backward(ctx, grad):
        return ctx.k.max_pool2d_bwd(grad, ctx.idx, ctx.g), None


class AvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, g, count_include_pad, divisor, adaptive):
        ctx.g, ctx.opts = g, (count_include_pad, divisor, adaptive)
        return ctx.k.avg_pool2d_fwd(x, g, count_include_pad, divisor, adaptive)

    @staticmethod
    def backward(ctx, grad):
        return ctx.k.avg_pool2d_bwd(grad, ctx.g, *ctx.opts), None, None, None, None


def _out_size(size, k, pad, stride, dil, ceil_mode):
    """PyTorch's pooling_output_shape for one axis."""
    out = (size + 2 * pad - dil * (k - 1) - 1 + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:  # the last window must start inside
        out -= 1
    return out


def _pool_args(op, x, kernel_size, stride, padding, dilation, ceil_mode,
               max_pool) -> Window2d:
    """Check the arguments against PyTorch's rules; the window geometry for the kernels."""
    kernel = pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None or stride == () or stride == [] else pair(
        stride, "stride", op)
    padding, dilation = pair(padding, "padding", op), pair(dilation, "dilation", op)
    if min(kernel) < 1:
        raise ValueError(f"{op}: kernel_size must be >= 1, got {kernel}")
    if min(stride) < 1:
        raise ValueError(f"{op}: stride must be >= 1, got {stride}")
    if min(dilation) < 1:
        raise ValueError(f"{op}: dilation must be >= 1, got {dilation}")
    if min(padding) < 0:
        raise ValueError(f"{op}: padding must be >= 0, got {padding}")
    for p, kk, d in zip(padding, kernel, dilation):
        half = (d * (kk - 1) + 1) // 2 if max_pool else kk // 2
        if p > half:
            raise ValueError(
                f"{op}: padding should be at most half of the effective kernel size, got "
                f"padding={padding}, kernel_size={kernel}" +
                (f", dilation={dilation}" if max_pool else "")
            )
    h, w = x.shape[-2:]
    out_hw = tuple(_out_size(s, kk, p, st, d, ceil_mode)
                   for s, kk, p, st, d in zip((h, w), kernel, padding, stride, dilation))
    if min(out_hw) < 1:
        raise ValueError(
            f"{op}: input of shape {tuple(x.shape)} is too small for kernel_size={kernel}, "
            f"padding={padding}, dilation={dilation}: the output would be {out_hw}"
        )
    return window2d(x.shape, kernel, stride, padding, dilation, out_hw)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over (kH, kW) windows of (N, C, H, W) or (C, H, W) input, as PyTorch.

    ``stride`` defaults to ``kernel_size``; padding (implicit -inf) is at most
    half the effective kernel.  With ``return_indices`` also returns the
    int64 flat index ``h*W + w`` of each maximum in its plane.
    """
    op = "max_pool2d"
    x, unbatched = spatial_input(input, op)
    g = _pool_args(op, x, kernel_size, stride, padding, dilation, ceil_mode, True)
    y, idx = MaxPool2d.apply(x, g)
    if unbatched:
        y, idx = y.squeeze(0), idx.squeeze(0)
    return (y, idx) if return_indices else y


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over (kH, kW) windows, as PyTorch (zero padding counted unless
    ``count_include_pad=False``; ``divisor_override`` replaces the window size)."""
    op = "avg_pool2d"
    x, unbatched = spatial_input(input, op)
    g = _pool_args(op, x, kernel_size, stride, padding, 1, ceil_mode, False)
    if divisor_override is not None and (isinstance(divisor_override, bool) or not isinstance(
            divisor_override, int) or divisor_override < 1):
        raise ValueError(f"{op}: divisor_override must be a positive int, got "
                         f"{divisor_override!r}")
    y = AvgPool2d.apply(x, g, bool(count_include_pad), divisor_override or 0, False)
    return y.squeeze(0) if unbatched else y


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Mean over the windows that split H and W into ``output_size`` (int or pair; None keeps
    that input size) nearly equal parts: window i spans [floor(i*H/oh), ceil((i+1)*H/oh))."""
    op = "adaptive_avg_pool2d"
    x, unbatched = spatial_input(input, op)
    h, w = x.shape[-2:]
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        output_size = tuple(s if s is not None else d for s, d in zip(output_size, (h, w)))
    out_hw = pair(output_size, "output_size", op)
    if min(out_hw) < 1:
        raise ValueError(f"{op}: output_size must be >= 1, got {out_hw}")
    if min(h, w) < 1:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} has an empty plane")
    g = window2d(x.shape, (0, 0), (1, 1), (0, 0), (1, 1), out_hw)  # windows from sizes alone
    y = AvgPool2d.apply(x, g, True, 0, True)
    return y.squeeze(0) if unbatched else y
