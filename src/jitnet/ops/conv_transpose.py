"""Transposed 2-D convolution as the adjoint of ``conv2d``: the same kernels, run backwards.

``conv_transpose2d(x, W)`` is the input gradient of a ``conv2d`` whose input has
the transposed output's shape, evaluated at upstream gradient ``x``.  So it is
run by conv2d's own kernels (``kernels/*/conv.py``), no new loop nest; the
transposed weight (C_in, C_out/groups, kh, kw) is exactly that conv2d's weight
(O = C_in output channels over C = C_out inputs):

Forward:  out  = conv2d_bwd(grad=x, W), its dx alone  col2im(W^T @ x), chunked
Backward: dx   = conv2d_fwd(g, W)                    conv2d's forward
          dW   = x @ im2col(g)^T                     from the same cols (``wgrad_of=x``)
          db   = sum(g over N, OH, OW)               in the same pass

Both passes are conv2d's chunked kernels (per cache-sized chunk of images, each
thread its own images): the forward folds W^T @ x into the output chunk by
chunk, the backward unfolds each chunk of g once and multiplies it twice, while
it is in cache, into dx's images and into the task's partial dW.

The geometry is conv2d's ``Window2d`` with the roles of input and output
swapped: (n, c, h, w) is the *transposed output* (N, C_out, OH, OW) and
(oh, ow) the transposed input's (H, W).  Setting (oh, ow) explicitly (rather
than from conv2d's size formula) is what makes ``output_padding`` free: the
extra bottom/right rows are simply never read by any tap.
"""
from __future__ import annotations

from ..autograd import Function
from ..kernels import opcodes as oc
from ..tensor import Tensor
from ._nn_args import check_same_dtype, check_tensor, pair, spatial_input, window2d


class ConvTranspose2d(Function):
    @staticmethod
    def forward(ctx, x, w, b, g):
        k = ctx.k
        # conv2d's dx at grad = x, the bias as col2im's start value (no pass of its own)
        out = k.conv2d_bwd(x, None, w, g, True, False, b, False)[0]
        ctx.x, ctx.w, ctx.g = x, w, g
        return out

    @staticmethod
    def backward(ctx, grad):
        k, need, g, w = ctx.k, ctx.needs_input_grad, ctx.g, ctx.w
        gx = gw = gb = None
        if need[1]:  # one unfold of grad serves all three (conv2d_fwd's wgrad_of)
            gx, gw, gb = k.conv2d_fwd(grad, w, None, g, wgrad_of=ctx.x)
        elif need[0]:
            gx = k.conv2d_fwd(grad, w, None, g)
        gx = gx if need[0] else None
        if need[2] and gb is None:
            gb = k.reduce(oc.SUM, grad, (0, 2, 3), False)
        gb = gb if need[2] else None
        return gx, gw, gb, None


def _positive_int(value, name: str, op: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
    return value


def transposed_size(size: int, k: int, s: int, p: int, d: int, op_: int) -> int:
    """PyTorch's transposed output length: (size-1)*s - 2p + d*(k-1) + output_padding + 1."""
    return (size - 1) * s - 2 * p + d * (k - 1) + op_ + 1


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution ("deconvolution"), as ``torch.nn.functional.conv_transpose2d``.

    Shapes: input (N, C_in, H, W) or unbatched (C_in, H, W); weight
    (C_in, C_out/groups, kH, kW) (PyTorch's layout: in-channels first); bias
    (C_out,); output (N, C_out, OH, OW) with
    OH = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1.
    ``output_padding`` must be smaller than stride or dilation (PyTorch's rule).
    Computed as the adjoint of ``conv2d`` (see the module docstring); string
    padding ('same'/'valid') is refused, as in PyTorch.
    """
    return conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                          dilation, "conv_transpose2d")


def conv_transpose(input: Tensor, weight: Tensor, bias, stride, padding, output_padding,
                   groups: int, dilation, op: str) -> Tensor:
    """``conv_transpose2d`` with its errors naming ``op`` (conv_transpose1d runs through it)."""
    x, unbatched = spatial_input(input, op)
    check_tensor(weight, "weight", op)
    check_same_dtype(op, x, weight=weight, bias=bias)
    if weight.ndim != 4:
        raise ValueError(f"{op}: expected 4-D weight (C_in, C_out/groups, kH, kW), got shape "
                         f"{tuple(weight.shape)}")
    _positive_int(groups, "groups", op)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a pair, got {padding!r}")
    stride, padding = pair(stride, "stride", op), pair(padding, "padding", op)
    dilation, out_pad = pair(dilation, "dilation", op), pair(output_padding, "output_padding", op)
    if min(stride) < 1:
        raise ValueError(f"{op}: stride must be >= 1, got stride={stride}")
    if min(dilation) < 1:
        raise ValueError(f"{op}: dilation must be >= 1, got dilation={dilation}")
    if min(padding) < 0 or min(out_pad) < 0:
        raise ValueError(f"{op}: negative padding is not supported, got padding={padding}, "
                         f"output_padding={out_pad}")
    for a in range(2):
        if out_pad[a] >= stride[a] and out_pad[a] >= dilation[a]:
            raise ValueError(
                f"{op}: output padding must be smaller than either stride or dilation, but got "
                f"output_padding={out_pad}, stride={stride}, dilation={dilation}")
    n, c, h, w = x.shape
    c_in, cog, kh, kw = weight.shape
    if c_in != c:
        raise ValueError(f"{op}: weight of size {tuple(weight.shape)} expects input with {c_in} "
                         f"channels, but input of shape {tuple(input.shape)} has {c}")
    if c_in % groups:
        raise ValueError(f"{op}: in channels ({c_in}) must be divisible by groups ({groups})")
    c_out = cog * groups
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(f"{op}: expected bias of shape ({c_out},) for {c_out} output channels, "
                         f"got {tuple(bias.shape)}")
    if min(c_out, kh, kw) == 0 or n * c * h * w == 0:
        raise ValueError(f"{op}: empty input {tuple(x.shape)} or weight {tuple(weight.shape)}")
    oh = transposed_size(h, kh, stride[0], padding[0], dilation[0], out_pad[0])
    ow = transposed_size(w, kw, stride[1], padding[1], dilation[1], out_pad[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: given input of shape {tuple(input.shape)}, the output size "
                         f"({oh} x {ow}) is too small (padding={padding})")
    g = window2d((n, c_out, oh, ow), (kh, kw), stride, padding, dilation, (h, w), groups)
    out = ConvTranspose2d.apply(x, weight, bias, g)
    return out.squeeze(0) if unbatched else out


def output_padding_for(op: str, input_hw, output_size, stride, padding, kernel_size,
                       dilation) -> tuple:
    """The ``output_padding`` that makes a transposed conv produce ``output_size``.

    ``output_size`` lists the spatial sizes, optionally preceded by the batch and
    channel sizes (as PyTorch's ``ConvTranspose*d.forward(input, output_size)``);
    each must lie in [min, min + stride - 1] where min is the size with no
    output padding, else ValueError.
    """
    dims = len(input_hw)
    sizes = [int(s) for s in output_size]
    if len(sizes) in (dims + 1, dims + 2):
        sizes = sizes[-dims:]
    if len(sizes) != dims:
        raise ValueError(f"{op}: output_size must have {dims} or {dims + 2} elements (got "
                         f"{len(output_size)})")
    pads = []
    for a in range(dims):
        lo = transposed_size(input_hw[a], kernel_size[a], stride[a], padding[a], dilation[a], 0)
        hi = lo + stride[a] - 1
        if not lo <= sizes[a] <= hi:
            raise ValueError(f"{op}: requested an output size of {sizes}, but valid sizes range "
                             f"from {lo} to {hi} (for an input of {list(input_hw)})")
        pads.append(sizes[a] - lo)
    return tuple(pads)
