"""Scans: ``cumsum`` and ``cumprod``, the running sum and product along one dim.

The gradient of a running sum is the running sum of the gradient taken from
the other end: ``dx[i] = sum_{j >= i} g[j]``, the same kernel run in reverse.
"""
from __future__ import annotations

from .. import dtypes as dt
from ..autograd import Function
from ..tensor import Tensor
from ._checks import norm_dim


class Cumsum(Function):
    @staticmethod
    def forward(ctx, x, axis, out_dtype):
        ctx.axis = axis
        return ctx.k.cumsum(x, axis, False, out_dtype)

    @staticmethod
    def backward(ctx, g):
        return ctx.k.cumsum(g, ctx.axis, True), None, None


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along ``dim``: ``out[i] = input[0] + ... + input[i]``.

    Bool and integer inputs sum to int64, as in PyTorch; ``dtype=`` casts the
    input first.  Float sums accumulate in float64.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"cumsum: expected a Tensor, got {type(input).__name__}")
    if dtype is not None:
        input = input.to(dt.to_dtype(dtype))
    if input.ndim == 0:
        norm_dim(dim, 0, "cumsum")
        return cumsum(input.reshape(1), 0).reshape(())
    axis = norm_dim(dim, input.ndim, "cumsum")
    out_dtype = None if input.dtype.is_floating_point else dt.int64.np
    return Cumsum.apply(input, axis, out_dtype)


class Cumprod(Function):
    @staticmethod
    def forward(ctx, x, axis, out_dtype):
        y = ctx.k.cumprod(x, axis, out_dtype)
        ctx.x, ctx.y, ctx.axis = x, y, axis
        return y

    @staticmethod
    def backward(ctx, g):
        return ctx.k.cumprod_bwd(ctx.x, ctx.y, g, ctx.axis), None, None


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running product along ``dim``: ``out[i] = input[0] * ... * input[i]``.

    Bool and integer inputs multiply to int64, as in PyTorch; ``dtype=`` casts
    the input first.  The gradient is exact where inputs are zero (it does not
    divide by them).
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"cumprod: expected a Tensor, got {type(input).__name__}")
    if dtype is not None:
        input = input.to(dt.to_dtype(dtype))
    if input.ndim == 0:
        norm_dim(dim, 0, "cumprod")
        return cumprod(input.reshape(1), 0).reshape(())
    axis = norm_dim(dim, input.ndim, "cumprod")
    out_dtype = None if input.dtype.is_floating_point else dt.int64.np
    return Cumprod.apply(input, axis, out_dtype)
