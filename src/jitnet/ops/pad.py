"""``pad``: constant padding of the last dims (negative amounts crop), as PyTorch's F.pad."""
from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor
from ._nn_util import check_tensor


class ConstantPad(Function):
    @staticmethod
    def forward(ctx, x, out_shape, dst, src, value):
        k = ctx.k
        out = k.full(out_shape, value, x.dtype)
        k.setitem(out, dst, k.getitem(x, src))
        ctx.shape, ctx.dtype, ctx.dst, ctx.src = x.shape, x.dtype, dst, src
        return out

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        gx = k.full(ctx.shape, 0, ctx.dtype)
        k.setitem(gx, ctx.src, k.getitem(g, ctx.dst))
        return gx, None, None, None, None


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad)//2 dims: ``pad = (left, right, top, bottom, ...)``, last dim first.

    Only mode='constant' (fill ``value``, default 0); negative amounts crop.
    'reflect', 'replicate' and 'circular' raise NotImplementedError.
    """
    op = "pad"
    check_tensor(input, "input", op)
    if mode != "constant":
        if mode in ("reflect", "replicate", "circular"):
            raise NotImplementedError(f"{op}: mode={mode!r} is not supported (only 'constant')")
        raise ValueError(f"{op}: unknown padding mode {mode!r}")
    pad = tuple(pad)
    if len(pad) % 2 or any(isinstance(p, bool) or not isinstance(p, int) for p in pad):
        raise ValueError(f"{op}: pad must be an even-length sequence of ints, got {pad}")
    if len(pad) // 2 > input.ndim:
        raise ValueError(f"{op}: padding of length {len(pad)} is too long for a "
                         f"{input.ndim}-D input")
    shape = list(input.shape)
    dst, src = [slice(None)] * input.ndim, [slice(None)] * input.ndim
    for i in range(len(pad) // 2):
        d = input.ndim - 1 - i
        before, after = pad[2 * i], pad[2 * i + 1]
        size = shape[d] + before + after
        if size < 0:
            raise ValueError(f"{op}: padding {pad} makes dim {d} of input {tuple(input.shape)} "
                             f"negative ({size})")
        # negative amounts crop the input; positive ones leave room in the output
        src[d] = slice(max(-before, 0), shape[d] - max(-after, 0))
        dst[d] = slice(max(before, 0), max(before, 0) + max(src[d].stop - src[d].start, 0))
        shape[d] = size
    fill = 0 if value is None else value
    return ConstantPad.apply(input, tuple(shape), tuple(dst), tuple(src), fill)
