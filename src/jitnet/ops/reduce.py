"""Reductions: sum, mean, prod, max, min, amax, amin, argmax, argmin, var, std, logsumexp,
norm.

``dim`` may be None (all dims), an int or a tuple; ``keepdim`` keeps reduced
dims with size 1.  Gradients are broadcast back over the reduced dims.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as dt
from .. import return_types
from ..autograd import Function
from ..kernels import opcodes as oc
from ..tensor import Tensor
from . import elementwise as ew
from ._checks import norm_dim, norm_dims

# kept for code that imports it; results use jitnet.return_types


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
    """Product over ``axes``; the gradient is exact with zeros (PyTorch's rule): with no zero
    in a slice d/dx_i = prod / x_i, with one zero only that element gets the product of the
    others, with two or more every element gets 0."""

    @staticmethod
    def forward(ctx, x, axes, keepdim, out_dtype):
        k = ctx.k
        ctx.x, ctx.axes = x, axes
        out = k.reduce(oc.PROD, x, axes, True, out_dtype) if axes else k.copy(x)
        if out_dtype is not None and out.dtype != out_dtype:
            out = k.astype(out, out_dtype)
        ctx.keep_shape = out.shape
        return out if keepdim or not axes else k.reshape(
            out, tuple(s for i, s in enumerate(x.shape) if i not in axes))

    @staticmethod
    def backward(ctx, g):
        k, x, axes = ctx.k, ctx.x, ctx.axes
        g = k.reshape(g, ctx.keep_shape)
        if not axes:
            return g, None, None, None
        zero = k.binary("eq", x, 0)
        xz = k.where(zero, 1.0, x)                      # the zeros replaced by 1
        nonzero_prod = k.reduce(oc.PROD, xz, axes, True)
        zeros = k.reduce(oc.SUM, k.astype(zero, x.dtype), axes, True)
        others = k.binary("div", nonzero_prod, xz)     # prod of the others where no zero
        lone = k.where(k.binary("logical_and", zero, k.binary("eq", zeros, 1)), nonzero_prod, 0.0)
        dx = k.where(k.binary("eq", zeros, 0), others, lone)
        return k.binary("mul", dx, g), None, None, None


def prod(input: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Product of all elements, or along the single int ``dim`` (PyTorch takes no tuple).

    Bool and integer inputs multiply to int64, as in PyTorch (accumulated in float64:
    exact up to 2**53; PyTorch wraps around on int64 overflow).  The gradient is exact
    where inputs are zero.
    """
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, (int, np.integer))):
        raise TypeError(f"prod: dim must be an int (PyTorch's prod takes no tuple of dims), "
                        f"got {dim!r}")
    if dtype is not None:
        input = ew.cast(input, dtype)
    axes = norm_dims(dim, input.ndim, "prod")
    out_dtype = None if input.dtype.is_floating_point else dt.int64.np
    return Prod.apply(input, axes, keepdim, out_dtype)


def _nan_or_eq(k, x, out):
    """x == out, counting a NaN equal to a NaN result (max()/min() send NaN's gradient there)."""
    eq = k.binary("eq", x, out)
    if x.dtype.kind != "f":
        return eq
    xnan = k.binary("ne", x, x)
    onan = k.binary("ne", out, out)
    return k.binary("logical_or", eq, k.binary("logical_and", xnan, onan))


class MaxMinAll(Function):
    """max()/min() over all elements; the gradient is shared evenly among ties, and goes to
    the NaNs when the result is NaN (PyTorch)."""

    @staticmethod
    def forward(ctx, x, op):
        axes = tuple(range(x.ndim))
        out = ctx.k.reduce(op, x, axes, False) if axes else ctx.k.copy(x)
        ctx.x, ctx.out = x, out
        return out

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        mask = k.astype(_nan_or_eq(k, ctx.x, ctx.out), g.dtype)
        count = k.reduce(oc.SUM, mask, tuple(range(mask.ndim)), False) if mask.ndim else 1
        return k.binary("mul", mask, k.binary("div", g, count)), None


class AmaxAmin(Function):
    """amax/amin over ``axes``: the gradient is split evenly among the tied maxima of each
    slice (PyTorch; a NaN result makes its slice's gradient NaN, as there)."""

    @staticmethod
    def forward(ctx, x, op, axes, keepdim):
        k = ctx.k
        out = k.reduce(op, x, axes, True) if axes else k.copy(x)
        ctx.x, ctx.out, ctx.axes = x, out, axes
        return out if keepdim or not axes else k.reshape(
            out, tuple(s for i, s in enumerate(x.shape) if i not in axes))

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        g = k.reshape(g, ctx.out.shape)
        mask = k.astype(k.binary("eq", ctx.x, ctx.out), g.dtype)
        count = k.reduce(oc.SUM, mask, ctx.axes, True) if ctx.axes else 1.0
        return k.binary("mul", mask, k.binary("div", g, count)), None, None, None


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


def _no_bool(name: str, input: Tensor) -> None:
    if input.dtype is dt.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")


def _nonempty(name: str, input: Tensor, axes, exc=IndexError) -> None:
    """PyTorch's errors for a reduction without identity over nothing: an empty input with no
    dim given, or a reduced dim of size 0 (other empty inputs give empty results)."""
    if axes is None:
        if input.numel() == 0:
            raise exc(f"{name}(): Expected reduction dim to be specified for input.numel() == 0 "
                      f"(shape {tuple(input.shape)})")
        return
    for a in axes:
        if input.shape[a] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size "
                             f"(shape {tuple(input.shape)})")


def _maxmin(name, op, input, dim, keepdim):
    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return ew.maximum(input, dim) if op == oc.MAX else ew.minimum(input, dim)
    if dim is None:
        _nonempty(name, input, None, RuntimeError)
        return MaxMinAll.apply(input, op)
    axis = norm_dim(dim, input.ndim, name)
    result = getattr(return_types, name)  # jitnet.return_types.max / .min
    if input.ndim == 0:
        return result(input, Tensor(input._k().full((), 0, dt.int64.np), input.device))
    _nonempty(name, input, (axis,))
    return result(*MaxMinDim.apply(input, op, axis, keepdim))


def max(input: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    """max of all elements, or ``(values, indices)`` along ``dim``, as in PyTorch."""
    return _maxmin("max", oc.MAX, input, dim, keepdim)


def min(input: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    """min of all elements, or ``(values, indices)`` along ``dim``."""
    return _maxmin("min", oc.MIN, input, dim, keepdim)


def _amaxmin(name, op, input, dim, keepdim):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
    if dim is None or dim == ():
        dim = None  # amax(dim=()) reduces everything, as in PyTorch
    axes = norm_dims(dim, input.ndim, name)
    _nonempty(name, input, axes if input.ndim else ())
    return AmaxAmin.apply(input, op, axes, keepdim)


def amax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (None, an int or a tuple); ties share the gradient evenly."""
    return _amaxmin("amax", oc.MAX, input, dim, keepdim)


def amin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (None, an int or a tuple); ties share the gradient evenly."""
    return _amaxmin("amin", oc.MIN, input, dim, keepdim)


def _arg(name, op, input, dim, keepdim):
    _no_bool(name, input)
    if dim is None or input.ndim == 0:
        if dim is not None:
            norm_dim(dim, 0, name)
        _nonempty(name, input, None)
        axis = None
    else:
        axis = norm_dim(dim, input.ndim, name)
        _nonempty(name, input, (axis,))
    return Tensor(input._k().argreduce(op, input._data, axis, keepdim), input.device)


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the first maximum, of the flattened input when ``dim`` is None."""
    return _arg("argmax", oc.ARGMAX, input, dim, keepdim)


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the first minimum."""
    return _arg("argmin", oc.ARGMIN, input, dim, keepdim)


def var(input: Tensor, dim=None, unbiased: bool = True, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance over ``dim``; unbiased (divides by n - 1) by default, as PyTorch.

    Computed in float64 (float32 results are cast back): squares of float32 values
    beyond 1e19 would overflow, where PyTorch's accumulation does not.
    """
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"var: input dtype must be floating point, got {input.dtype}")
    ddof = (1 if unbiased else 0) if correction is None else correction
    axes = norm_dims(dim, input.ndim, "var")
    n = 1
    for a in axes:
        n *= input.shape[a]
    return ew.cast(_var64(input, axes, n - ddof, keepdim), input.dtype)


def _var64(input: Tensor, axes, dof: int, keepdim: bool) -> Tensor:
    x = ew.cast(input, dt.float64)
    centered = x - mean(x, axes, keepdim=True)
    return sum(centered * centered, axes, keepdim) / float(builtins_max(dof, 0))


def std(input: Tensor, dim=None, unbiased: bool = True, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Standard deviation: ``sqrt(var(...))``; its gradient is 0 where the std is 0 (one
    element with ``unbiased=False``, a constant slice), as in PyTorch."""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"std: input dtype must be floating point, got {input.dtype}")
    ddof = (1 if unbiased else 0) if correction is None else correction
    axes = norm_dims(dim, input.ndim, "std")
    n = 1
    for a in axes:
        n *= input.shape[a]
    return ew.cast(_SafeSqrt.apply(_var64(input, axes, n - ddof, keepdim)), input.dtype)


class _SafeSqrt(Function):
    """sqrt whose gradient is 0 (not inf) at 0: PyTorch's std and norm backward."""

    @staticmethod
    def forward(ctx, v):
        out = ctx.k.unary(oc.SQRT, v)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        d = k.binary("div", g, k.binary("mul", ctx.out, 2.0))
        return k.where(k.binary("eq", ctx.out, 0), 0.0, d)


def _float_input(name: str, input: Tensor) -> Tensor:
    """Bool and integer inputs promoted to the default float (PyTorch's logsumexp)."""
    return input if input.dtype.is_floating_point else ew.cast(input, dt.default_float)


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim`` (an int or a tuple), stable for large inputs.

    Rows of -inf give -inf and a +inf gives +inf (the shift by the row max skips
    infinite maxima, as PyTorch's does); an empty reduced dim gives -inf; bool and
    integer inputs give float32.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"logsumexp: expected a Tensor, got {type(input).__name__}")
    input = _float_input("logsumexp", input)
    axes = norm_dims(dim, input.ndim, "logsumexp")
    if not axes:  # a 0-d tensor (or no dims): log(exp(x)) = x
        return input.clone()
    return Logsumexp.apply(input, axes, keepdim)


class Logsumexp(Function):
    """log(sum(exp(x - m))) + m with m the slice max (0 where it is infinite or the slice
    empty); the gradient is softmax: g * exp(x - out) (NaN for all--inf rows, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        k = ctx.k
        if any(x.shape[a] == 0 for a in axes):
            m = k.full(tuple(1 if i in axes else s for i, s in enumerate(x.shape)), 0, x.dtype)
        else:
            m = k.reduce(oc.MAX, x, axes, True)
            m = k.where(k.binary("eq", k.unary(oc.ABS, m), math.inf), 0.0, m)
        s = k.reduce(oc.SUM, k.unary(oc.EXP, k.binary("sub", x, m)), axes, True)
        out = k.binary("add", k.unary(oc.LOG, s), m)
        ctx.x, ctx.out = x, out
        return out if keepdim else k.reshape(
            out, tuple(n for i, n in enumerate(x.shape) if i not in axes))

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        g = k.reshape(g, ctx.out.shape)
        return k.binary("mul", g, k.unary(oc.EXP, k.binary("sub", ctx.x, ctx.out))), None, None


def _drop(x: Tensor, axes) -> Tensor:
    return x.reshape(tuple(s for i, s in enumerate(x.shape) if i not in axes))


class _CountNonzero(Function):
    """The "0-norm": how many entries are nonzero, in x's dtype; its gradient is 0."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        k = ctx.k
        ctx.shape, ctx.dtype = x.shape, x.dtype
        nz = k.astype(k.binary("ne", x, 0), x.dtype)
        return k.reduce(oc.SUM, nz, axes, keepdim) if axes else nz

    @staticmethod
    def backward(ctx, g):
        return ctx.k.full(ctx.shape, 0, ctx.dtype), None, None


class _PNorm(Function):
    """(sum |x|^p)^(1/p) over ``axes`` for a finite p != 0; the gradient
    sign(x) |x|^(p-1) / norm^(p-1) is 0 where x is 0 (PyTorch: no NaN at the origin)."""

    @staticmethod
    def forward(ctx, x, p, axes, keepdim):
        k = ctx.k
        ax = k.unary(oc.ABS, x)
        if p == 1:
            s = k.reduce(oc.SUM, ax, axes, True)
            out = s
        elif p == 2:
            out = k.unary(oc.SQRT, k.reduce(oc.SUM, k.unary(oc.SQUARE, x), axes, True))
        else:
            out = k.unary(oc.POW, k.reduce(oc.SUM, k.unary(oc.POW, ax, p), axes, True), 1.0 / p)
        ctx.x, ctx.out, ctx.p, ctx.keep = x, out, p, out.shape
        return out if keepdim else k.reshape(
            out, tuple(s for i, s in enumerate(x.shape) if i not in axes))

    @staticmethod
    def backward(ctx, g):
        k, x, p = ctx.k, ctx.x, ctx.p
        g = k.reshape(g, ctx.keep)
        if p == 1:
            d = k.unary(oc.SIGN, x)
        elif p == 2:
            d = k.binary("div", x, ctx.out)
        else:
            ax = k.unary(oc.ABS, x)
            d = k.binary("mul", k.unary(oc.SIGN, x), k.binary(
                "div", k.unary(oc.POW, ax, p - 1.0), k.unary(oc.POW, ctx.out, p - 1.0)))
        d = k.where(k.binary("eq", x, 0), 0.0, d)
        return k.binary("mul", d, g), None, None, None


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Vector p-norm over ``dim`` (None: all elements; an int or a tuple of dims).

    ``p``: a number, ``inf``/``-inf`` (max/min of |x|, ties share the gradient)
    or 'fro' (= 2).  Float input only (PyTorch refuses integers too); the
    gradient is 0 at the origin.  Matrix norms ('nuc', p with 2 dims meaning
    a matrix norm) are not supported: p applies to the flattened dims.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"norm: expected a Tensor, got {type(input).__name__}")
    if dtype is not None:
        input = ew.cast(input, dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"norm: Expected a floating point tensor as input, got "
                           f"{input.dtype.name}")
    if p == "fro" and isinstance(dim, (tuple, list)) and len(dim) > 2:
        raise RuntimeError(f"norm: p='fro' is a matrix norm: dim must be an int or a 2-tuple, "
                           f"got {tuple(dim)} (PyTorch's rule)")
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str):
        raise NotImplementedError(f"norm: p={p!r} is not supported (numbers, inf, 'fro')")
    p = float(p)
    axes = norm_dims(dim, input.ndim, "norm")
    if p in (math.inf, -math.inf):
        if input.ndim and any(input.shape[a] == 0 for a in axes):
            raise RuntimeError(f"norm: cannot compute the {p} norm over an empty dim "
                               f"(input shape {tuple(input.shape)}): it has no identity")
        return _amaxmin("norm", oc.MAX if p > 0 else oc.MIN, ew.abs(input),
                        None if dim is None else axes, keepdim)
    if p == 0:  # the count of nonzeros; on the graph with a zero gradient, as in PyTorch
        return _CountNonzero.apply(input, axes, keepdim)
    if not axes:
        return ew.abs(input)
    return _PNorm.apply(input, p, axes, keepdim)


import builtins  # noqa: E402

builtins_max = builtins.max
