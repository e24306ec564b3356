"""Reductions: sum, mean, prod, max, min, argmax, argmin, var, std, logsumexp.

``dim`` may be None (all dims), an int or a tuple; ``keepdim`` keeps reduced
dims with size 1.  Gradients are broadcast back over the reduced dims.
"""
from __future__ import annotations

from collections import namedtuple

from .. import dtypes as dt
from .. import return_types
from ..autograd import Function
from ..kernels import opcodes as oc
from ..tensor import Tensor
from . import elementwise as ew
from ._util import norm_dim, norm_dims

# kept for code that imports it; results use jitnet.return_types
values_indices = namedtuple("values_indices", ["values", "indices"])


def _keep_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Reduce(Function):
    """sum / mean over ``axes``; backward broadcasts g (scaled by 1/n for mean)."""

    @staticmethod
    def forward(ctx, x, op, axes, keepdim, out_dtype):
        ctx.shape, ctx.axes, ctx.op = x.shape, axes, op
        ctx.label = "Mean" if op == oc.MEAN else "Sum"
        if not axes:  # reducing a 0-d tensor or over no dims
            out = ctx.k.copy(x)
            return out if out_dtype is None else ctx.k.astype(out, out_dtype)
        return ctx.k.reduce(op, x, axes, keepdim, out_dtype)

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        g = k.reshape(g, _keep_shape(ctx.shape, ctx.axes))
        if ctx.op == oc.MEAN:
            n = 1
            for a in ctx.axes:
                n *= ctx.shape[a]
            g = k.binary("div", g, float(n), g.dtype)
        return k.broadcast_to(g, ctx.shape), None, None, None, None


def sum(input: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:  # noqa: A001
    """Sum over ``dim``; bool and integer inputs sum to int64, as in PyTorch."""
    axes = norm_dims(dim, input.ndim, "sum")
    if dtype is not None:
        out_dtype = dt.to_dtype(dtype).np
    else:
        out_dtype = None if input.dtype.is_floating_point else dt.int64.np
    return Reduce.apply(input, oc.SUM, axes, keepdim, out_dtype)


def mean(input: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Arithmetic mean over ``dim``; integer input needs ``dtype=`` (PyTorch refuses it too)."""
    if dtype is not None:
        input = ew.cast(input, dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be floating point, "
            f"got {input.dtype}"
        )
    axes = norm_dims(dim, input.ndim, "mean")
    return Reduce.apply(input, oc.MEAN, axes, keepdim, None)


class Prod(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.x, ctx.axes = x, axes
        ctx.out = ctx.k.reduce(oc.PROD, x, axes, True, None) if axes else ctx.k.copy(x)
        return ctx.out if keepdim or not axes else ctx.k.reshape(
            ctx.out, tuple(s for i, s in enumerate(x.shape) if i not in axes))

    @staticmethod
    def backward(ctx, g):  # d prod / dx_i = prod / x_i (inputs with zeros: use a masked form)
        k = ctx.k
        g = k.reshape(g, ctx.out.shape)
        return k.binary("div", k.binary("mul", g, ctx.out), ctx.x), None, None


def prod(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Product over ``dim`` (a single dim or all). Gradient assumes no zero inputs."""
    axes = norm_dims(dim, input.ndim, "prod")
    return Prod.apply(input, axes, keepdim)


class MaxMinAll(Function):
    """max()/min() over all elements; the gradient is shared evenly among ties (PyTorch)."""

    @staticmethod
    def forward(ctx, x, op):
        axes = tuple(range(x.ndim))
        out = ctx.k.reduce(op, x, axes, False) if axes else ctx.k.copy(x)
        ctx.x, ctx.out = x, out
        return out

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        mask = k.astype(k.binary("eq", ctx.x, ctx.out), g.dtype)
        count = k.reduce(oc.SUM, mask, tuple(range(mask.ndim)), False) if mask.ndim else 1
        return k.binary("mul", mask, k.binary("div", g, count)), None


class MaxMinDim(Function):
    """max/min along one dim: returns (values, indices); backward scatters to the argmax."""

    @staticmethod
    def forward(ctx, x, op, axis, keepdim):
        arg_op = oc.ARGMAX if op == oc.MAX else oc.ARGMIN
        idx = ctx.k.argreduce(arg_op, x, axis, True)
        vals = ctx.k.take_along(x, idx, axis)
        ctx.shape, ctx.dtype, ctx.idx, ctx.axis = x.shape, x.dtype, idx, axis
        if not keepdim:
            squeezed = tuple(s for i, s in enumerate(x.shape) if i != axis)
            vals, idx = ctx.k.reshape(vals, squeezed), ctx.k.reshape(idx, squeezed)
        return vals, idx

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        g = k.reshape(g, ctx.idx.shape)
        return k.put_along_add(ctx.shape, ctx.dtype, ctx.idx, g, ctx.axis), None, None, None


def _maxmin(name, op, input, dim, keepdim):
    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return ew.maximum(input, dim) if op == oc.MAX else ew.minimum(input, dim)
    if input.numel() == 0:
        raise RuntimeError(f"{name}: the input is empty (shape {tuple(input.shape)}); "
                           "the reduction has no identity")
    if dim is None:
        return MaxMinAll.apply(input, op)
    axis = norm_dim(dim, input.ndim, name)
    result = getattr(return_types, name)  # jitnet.return_types.max / .min
    if input.ndim == 0:
        return result(input, Tensor(input._k().full((), 0, dt.int64.np), input.device))
    return result(*MaxMinDim.apply(input, op, axis, keepdim))


def max(input: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    """max of all elements, or ``(values, indices)`` along ``dim``, as in PyTorch."""
    return _maxmin("max", oc.MAX, input, dim, keepdim)


def min(input: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    """min of all elements, or ``(values, indices)`` along ``dim``."""
    return _maxmin("min", oc.MIN, input, dim, keepdim)


def amax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return max(input)
    return max(input, dim, keepdim).values


def _arg(name, op, input, dim, keepdim):
    if input.numel() == 0:
        raise RuntimeError(f"{name}: the input is empty (shape {tuple(input.shape)})")
    axis = None if dim is None or input.ndim == 0 else norm_dim(dim, input.ndim, name)
    return Tensor(input._k().argreduce(op, input._data, axis, keepdim), input.device)


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the first maximum, of the flattened input when ``dim`` is None."""
    return _arg("argmax", oc.ARGMAX, input, dim, keepdim)


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the first minimum."""
    return _arg("argmin", oc.ARGMIN, input, dim, keepdim)


def var(input: Tensor, dim=None, unbiased: bool = True, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance over ``dim``; unbiased (divides by n - 1) by default, as PyTorch."""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"var: input dtype must be floating point, got {input.dtype}")
    ddof = (1 if unbiased else 0) if correction is None else correction
    axes = norm_dims(dim, input.ndim, "var")
    n = 1
    for a in axes:
        n *= input.shape[a]
    centered = input - mean(input, axes, keepdim=True)
    return sum(centered * centered, axes, keepdim) / float(builtins_max(n - ddof, 0))


def std(input: Tensor, dim=None, unbiased: bool = True, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Standard deviation: ``sqrt(var(...))``."""
    return ew.sqrt(var(input, dim, unbiased, keepdim, correction=correction))


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim``, stable for large inputs."""
    m = amax(input.detach(), dim, keepdim=True)
    out = ew.log(sum(ew.exp(input - m), dim, keepdim=True)) + m
    return out if keepdim else out.squeeze(dim)


def norm(input: Tensor, p=2, dim=None, keepdim: bool = False) -> Tensor:
    """Vector p-norm over ``dim`` (all elements when None)."""
    if p == 2:
        return ew.sqrt(sum(input * input, dim, keepdim))
    if p == 1:
        return sum(ew.abs(input), dim, keepdim)
    if p == float("inf"):
        return amax(ew.abs(input), dim, keepdim)
    return sum(ew.abs(input) ** float(p), dim, keepdim) ** (1.0 / p)


import builtins  # noqa: E402

builtins_max = builtins.max
