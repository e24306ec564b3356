"""Elementwise ops: arithmetic with broadcasting, unary math, comparisons, where, casts.

Each binary Function's backward returns gradients in the broadcast shape; the
autograd engine sums them back to each input's shape.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as dt
from ..autograd import Function, no_grad
from ..kernels import opcodes as oc
from ..tensor import Tensor, _finish
from ._util import broadcast_shape, is_scalar, result_dtype


def _operand(op: str, x):
    """Tensors and scalars pass through; arrays and lists become tensors."""
    if isinstance(x, Tensor) or is_scalar(x):
        return x
    if isinstance(x, (np.ndarray, list, tuple)):
        from ..tensor import tensor

        return tensor(x)
    raise TypeError(f"{op}: unsupported operand of type {type(x).__name__}")


def _check(op: str, a, b) -> None:
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        sa, sb = a._data.shape, b._data.shape  # raw tuples: no Size objects per op
        if sa != sb:
            broadcast_shape(op, sa, sb)


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return ctx.k.binary("add", a, b, result_dtype(a, b))

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return ctx.k.binary("sub", a, b, result_dtype(a, b))

    @staticmethod
    def backward(ctx, g):
        return g, ctx.k.unary(oc.NEG, g) if ctx.needs_input_grad[1] else None


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return ctx.k.binary("mul", a, b, result_dtype(a, b))

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        return (k.binary("mul", g, ctx.b) if need[0] else None,
                k.binary("mul", g, ctx.a) if need[1] else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        out_dtype = result_dtype(a, b)
        if out_dtype.kind != "f":  # true division of integers gives the default float
            out_dtype = dt.default_float.np
        ctx.b = b
        ctx.out = ctx.k.binary("div", a, b, out_dtype)
        return ctx.out

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        ga = k.binary("div", g, ctx.b) if need[0] else None
        gb = None
        if need[1]:  # d(a/b)/db = -out / b
            gb = k.unary(oc.NEG, k.binary("div", k.binary("mul", g, ctx.out), ctx.b))
        return ga, gb


class Pow(Function):
    """a ** b with at least one tensor exponent (tensor ** scalar is the unary POW)."""

    @staticmethod
    def forward(ctx, a, b):
        out_dtype = result_dtype(a, b)
        ctx.a, ctx.b = a, b
        ctx.out = ctx.k.binary("pow", a, b, out_dtype)
        return ctx.out

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        ga = gb = None
        if need[0]:  # b * a^(b-1)
            ga = k.binary("mul", g, k.binary("mul", ctx.b, k.binary("pow", ctx.a, ctx.b - 1
                          if is_scalar(ctx.b) else k.binary("sub", ctx.b, 1))))
        if need[1]:  # a^b * log(a)
            log_a = math.log(ctx.a) if is_scalar(ctx.a) else k.unary(oc.LOG, ctx.a)
            gb = k.binary("mul", g, k.binary("mul", ctx.out, log_a))
        return ga, gb


class MaxMin(Function):
    """maximum / minimum; ties split the gradient in half, as PyTorch does."""

    @staticmethod
    def forward(ctx, a, b, name):
        ctx.a, ctx.b, ctx.which = a, b, name
        return ctx.k.binary(name, a, b, result_dtype(a, b))

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        a_wins = k.binary("gt", ctx.a, ctx.b) if ctx.which == "maximum" else \
            k.binary("lt", ctx.a, ctx.b)
        tie = k.binary("eq", ctx.a, ctx.b)
        half = k.binary("mul", g, 0.5)
        ga = k.where(a_wins, g, k.where(tie, half, 0))
        gb = k.where(a_wins, 0, k.where(tie, half, g))
        return ga, gb, None


class Unary(Function):
    """y = f(x; p0, p1) for one of the op codes in ``kernels.opcodes``; one class, many ops."""

    @staticmethod
    def forward(ctx, x, op, p0=0.0, p1=0.0):
        y = ctx.k.unary(op, x, p0, p1)
        ctx.x, ctx.y, ctx.op, ctx.p0, ctx.p1 = x, y, op, p0, p1
        return y

    @staticmethod
    def backward(ctx, g):
        return ctx.k.unary_bwd(ctx.op, ctx.x, ctx.y, g, ctx.p0, ctx.p1), None, None, None


_UNARY_LABEL = {code: name.capitalize() for name, code in oc.UNARY_NAMES.items()}


def unary(x: Tensor, op: int, p0: float = 0.0, p1: float = 0.0) -> Tensor:
    """Apply the unary op code ``op`` to a tensor (floats only where the op needs it)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{_UNARY_LABEL[op].lower()}: expected a Tensor, got {type(x).__name__}")
    if op in oc.FLOAT_ONLY and not x.dtype.is_floating_point:
        x = cast(x, dt.default_float)
    out = Unary.apply(x, op, p0, p1)
    if out.grad_fn is not None:
        out.grad_fn.label = _UNARY_LABEL[op]
    return out


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return ctx.k.astype(x, dtype.np)

    @staticmethod
    def backward(ctx, g):
        return ctx.k.astype(g, ctx.src), None


def cast(x: Tensor, dtype) -> Tensor:
    """x converted to ``dtype``; differentiable between float dtypes."""
    dtype = dt.to_dtype(dtype)
    if dtype.np == x._data.dtype:
        return x
    if not dtype.is_floating_point:
        with no_grad():
            return Cast.apply(x, dtype)
    return Cast.apply(x, dtype)


def _binary(fn, op: str, a, b) -> Tensor:
    a, b = _operand(op, a), _operand(op, b)
    _check(op, a, b)
    return fn.apply(a, b)


def add(input, other, alpha=1) -> Tensor:
    """input + alpha * other, with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Add, "add", input, other)


def sub(input, other, alpha=1) -> Tensor:
    """input - alpha * other, with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Sub, "sub", input, other)


def rsub(input, other) -> Tensor:
    """other - input (``2 - x``)."""
    return _binary(Sub, "sub", other, input)


def mul(input, other) -> Tensor:
    """input * other, with broadcasting."""
    return _binary(Mul, "mul", input, other)


def div(input, other) -> Tensor:
    """input / other (true division: integer inputs give float32)."""
    return _binary(Div, "div", input, other)


def rdiv(input, other) -> Tensor:
    return _binary(Div, "div", other, input)


def pow(input, exponent) -> Tensor:
    """input ** exponent; a scalar exponent runs the fused unary kernel."""
    if isinstance(input, Tensor) and is_scalar(exponent) and not isinstance(exponent, bool):
        if exponent == 2:
            return unary(input, oc.SQUARE)
        if exponent == 0.5 and input.dtype.is_floating_point:
            return unary(input, oc.SQRT)
        if input.dtype.is_floating_point or (float(exponent).is_integer() and exponent >= 0):
            return unary(input, oc.POW, float(exponent))
        return unary(cast(input, dt.default_float), oc.POW, float(exponent))
    return _binary(Pow, "pow", input, exponent)


def rpow(input, other) -> Tensor:
    return _binary(Pow, "pow", other, input)


def _maxmin(name: str, input, other) -> Tensor:
    a, b = _operand(name, input), _operand(name, other)
    if not isinstance(b, Tensor):
        raise TypeError(f"{name}: expected a Tensor for other, got {type(other).__name__}")
    _check(name, a, b)
    out = MaxMin.apply(a, b, name)
    if out.grad_fn is not None:
        out.grad_fn.label = name.capitalize()
    return out


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise max of two tensors (ties split the gradient, as in PyTorch)."""
    return _maxmin("maximum", input, other)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise min of two tensors."""
    return _maxmin("minimum", input, other)


def compare(name: str, a, b) -> Tensor:
    """Comparisons and logical ops: bool tensors, never recorded on the tape."""
    a, b = _operand(name, a), _operand(name, b)
    _check(name, a, b)
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.device != b.device:
        raise RuntimeError(
            f"{name}: expected all tensors on the same device, got {a.device} and {b.device}"
        )
    t = a if isinstance(a, Tensor) else b
    raw = t._k().binary(name, getattr(a, "_data", a), getattr(b, "_data", b))
    return Tensor(raw, t.device)


def floor_divide(a, b) -> Tensor:
    return _no_grad_binary("floor_divide", a, b)


def remainder(a, b) -> Tensor:
    return _no_grad_binary("remainder", a, b)


def _no_grad_binary(name, a, b) -> Tensor:
    a, b = _operand(name, a), _operand(name, b)
    _check(name, a, b)
    t = a if isinstance(a, Tensor) else b
    ra, rb = getattr(a, "_data", a), getattr(b, "_data", b)
    return Tensor(t._k().binary(name, ra, rb, result_dtype(ra, rb)), t.device)


def neg(x: Tensor) -> Tensor:
    return unary(x, oc.NEG)


def abs(x: Tensor) -> Tensor:  # noqa: A001
    return unary(x, oc.ABS)


def exp(x: Tensor) -> Tensor:
    return unary(x, oc.EXP)


def log(x: Tensor) -> Tensor:
    return unary(x, oc.LOG)


def sqrt(x: Tensor) -> Tensor:
    return unary(x, oc.SQRT)


def rsqrt(x: Tensor) -> Tensor:
    return unary(unary(x, oc.SQRT), oc.RECIPROCAL)


def reciprocal(x: Tensor) -> Tensor:
    return unary(x, oc.RECIPROCAL)


def sin(x: Tensor) -> Tensor:
    return unary(x, oc.SIN)


def cos(x: Tensor) -> Tensor:
    return unary(x, oc.COS)


def tanh(x: Tensor) -> Tensor:
    return unary(x, oc.TANH)


def sigmoid(x: Tensor) -> Tensor:
    return unary(x, oc.SIGMOID)


def relu(x: Tensor) -> Tensor:
    return unary(x, oc.RELU)


def sign(x: Tensor) -> Tensor:
    return unary(x, oc.SIGN)


def square(x: Tensor) -> Tensor:
    return unary(x, oc.SQUARE)


def clamp(x: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """Limit values to [min, max]; either bound may be None, a number or a tensor."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min or max must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = x
        if min is not None:
            out = maximum(out, min if isinstance(min, Tensor) else full_like_scalar(x, min))
        if max is not None:
            out = minimum(out, max if isinstance(max, Tensor) else full_like_scalar(x, max))
        return out
    lo = math.nan if min is None else float(min)
    hi = math.nan if max is None else float(max)
    if not x.dtype.is_floating_point and (not float(lo if min is not None else 0).is_integer()
                                          or not float(hi if max is not None else 0).is_integer()):
        x = cast(x, dt.default_float)
    return unary(x, oc.CLAMP, lo, hi)


def full_like_scalar(x: Tensor, value) -> Tensor:
    from ..tensor import full

    return full((), value, x.dtype, x.device)


class Where(Function):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond
        out = ctx.k.where(cond, a, b)
        want = result_dtype(a, b)
        return out if out.dtype == want else ctx.k.astype(out, want)

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        return None, k.where(ctx.cond, g, 0), k.where(ctx.cond, 0, g)


def where(condition: Tensor, input, other) -> Tensor:
    """Elementwise ``input if condition else other`` with broadcasting of all three."""
    if not isinstance(condition, Tensor) or condition.dtype is not dt.bool_:
        got = condition.dtype if isinstance(condition, Tensor) else type(condition).__name__
        raise TypeError(f"where: condition must be a bool tensor, got {got}")
    a, b = _operand("where", input), _operand("where", other)
    shapes = [condition.shape] + [t.shape for t in (a, b) if isinstance(t, Tensor)]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(
            f"where: shapes {[tuple(s) for s in shapes]} cannot be broadcast together"
        ) from None
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = _finish(np.asarray(a, dtype=dt.promote_scalar(dt.bool_, a).np), condition.device,
                    False)
    return Where.apply(condition, a, b)

