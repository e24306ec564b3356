"""Elementwise ops: arithmetic with broadcasting, rounding division, unary math, atan2 and
hypot, comparisons, where, casts (bitwise ops: ``ops/logic.py``; lerp, addmm, addcmul,
addcdiv: ``ops/composite.py``).

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
from ._checks import broadcast_shape, is_scalar, result_dtype


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
    """a ** b with at least one tensor exponent (tensor ** scalar is the unary POW).

    Integers to negative integer powers follow PyTorch: 1 ** -n = 1, (-1) ** -n = +-1,
    anything else 0 (NumPy raises).  Gradients as PyTorch's at a = 0: the base gets 0 where
    b == 0, the exponent gets 0 where a == 0 and b >= 0.
    """

    @staticmethod
    def forward(ctx, a, b):
        k = ctx.k
        out_dtype = result_dtype(a, b)
        ctx.a, ctx.b = a, b
        if out_dtype.kind in "iu" and not is_scalar(b):
            out = _int_pow(k, a, b, out_dtype)
        else:
            out = k.binary("pow", a, b, out_dtype)
        ctx.out = out
        return out

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        a, b, out = ctx.a, ctx.b, ctx.out
        ga = gb = None
        if need[0]:  # b * a^(b-1), 0 where b == 0
            b1 = b - 1 if is_scalar(b) else k.binary("sub", b, 1)
            ga = k.binary("mul", g, k.binary("mul", b, k.binary("pow", a, b1)))
            if not is_scalar(b):
                ga = k.where(k.binary("eq", b, 0), 0, ga)
            elif b == 0:
                ga = k.full(g.shape, 0, g.dtype)
        if need[1]:  # a^b * log(a), 0 where a == 0 and b >= 0
            if is_scalar(a):
                log_a = math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan)
            else:  # the log of an integer base is taken in the result's float dtype
                log_a = k.unary(oc.LOG, a if a.dtype == out.dtype else k.astype(a, out.dtype))
            gb = k.binary("mul", g, k.binary("mul", out, log_a))
            if is_scalar(a):
                if a == 0:
                    gb = k.where(k.binary("ge", b, 0), 0, gb)
            else:
                zero = k.binary("logical_and", k.binary("eq", a, 0), k.binary("ge", b, 0))
                gb = k.where(zero, 0, gb)
        return ga, gb


def _int_pow(k, a, b, dtype):
    """a ** b for integers with PyTorch's meaning of negative exponents (b an array)."""
    out = k.binary("pow", a, k.binary("maximum", b, 0, b.dtype), dtype)
    odd = k.binary("ne", k.binary("remainder", b, 2, b.dtype), 0)
    if is_scalar(a):
        neg_val = 1 if a == 1 else (k.where(odd, -1, 1) if a == -1 else 0)
    else:
        neg_val = k.where(k.binary("eq", a, 1), 1,
                          k.where(k.binary("eq", a, -1), k.where(odd, -1, 1), 0))
    out = k.where(k.binary("lt", b, 0), neg_val, out)
    return out if out.dtype == dtype else k.astype(out, dtype)


class MaxMin(Function):
    """maximum / minimum; ties split the gradient in half, as PyTorch does.

    As PyTorch, a NaN on either side makes every comparison false, so both sides
    get the whole gradient.
    """

    @staticmethod
    def forward(ctx, a, b, name):
        ctx.a, ctx.b, ctx.which = a, b, name
        return ctx.k.binary(name, a, b, result_dtype(a, b))

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        a_loses, b_loses = ("lt", "gt") if ctx.which == "maximum" else ("gt", "lt")
        shared = k.where(k.binary("eq", ctx.a, ctx.b), k.binary("mul", g, 0.5), g)
        ga = k.where(k.binary(a_loses, ctx.a, ctx.b), 0, shared)
        gb = k.where(k.binary(b_loses, ctx.a, ctx.b), 0, shared)
        return ga, gb, None


class Unary(Function):
    """y = f(x; p0, p1) for one of the op codes in ``kernels.opcodes``; one class, many ops."""

    @staticmethod
    def forward(ctx, x, op, p0=0.0, p1=0.0):
        ctx.label = _UNARY_LABEL[op]  # set here, so the profiler names the forward too
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
    return Unary.apply(x, op, p0, p1)


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


def _is_bool(x) -> bool:
    return isinstance(x, Tensor) and x.dtype is dt.bool_


def _is_float(x) -> bool:
    if isinstance(x, Tensor):
        return x.dtype.is_floating_point
    return isinstance(x, (float, np.floating))


def _no_bool_sub(a, b) -> None:
    """PyTorch refuses ``-`` on bool tensors and Python bools (a mask is inverted with ``~``)."""
    if _is_bool(a) and _is_bool(b):
        raise RuntimeError("sub: Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if _is_bool(a) or _is_bool(b) or isinstance(a, (bool, np.bool_)) or isinstance(
            b, (bool, np.bool_)):
        raise RuntimeError("sub: Subtraction, the `-` operator, with a bool tensor is not "
                           "supported. If you are trying to invert a mask, use the `~` or "
                           "`logical_not()` operator instead.")


def _with_alpha(op: str, fn, input, other, alpha) -> Tensor:
    """input <op> alpha * other; alpha takes no part in type promotion, as in PyTorch."""
    a, b = _operand(op, input), _operand(op, other)
    if fn is Sub:
        _no_bool_sub(a, b)
    if alpha != 1:
        if isinstance(alpha, (float, np.floating)) and not _is_float(a) and not _is_float(b):
            raise RuntimeError(f"{op}: For integral input tensors, argument alpha must not be a "
                               f"floating point number (got alpha={alpha})")
        _check(op, a, b)
        want = _dtype_of(a, b)
        b = b * alpha if is_scalar(b) else mul(b, alpha)
        out = _binary(fn, op, a, b)
        return out if want is None or out.dtype.np == want else cast(out, dt.to_dtype(want))
    return _binary(fn, op, a, b)


def _dtype_of(a, b):
    """PyTorch's result dtype of ``a op b`` (NumPy dtype), or None for two scalars."""
    ra, rb = getattr(a, "_data", a), getattr(b, "_data", b)
    if is_scalar(ra) and is_scalar(rb):
        return None
    return result_dtype(ra, rb)


def add(input, other, alpha=1) -> Tensor:
    """input + alpha * other, with broadcasting (alpha does not change the dtype)."""
    return _with_alpha("add", Add, input, other, alpha)


def sub(input, other, alpha=1) -> Tensor:
    """input - alpha * other, with broadcasting; bool tensors raise, as PyTorch."""
    return _with_alpha("sub", Sub, input, other, alpha)


def rsub(input, other) -> Tensor:
    """other - input (``2 - x``)."""
    _no_bool_sub(input, other)
    return _binary(Sub, "sub", other, input)


def mul(input, other) -> Tensor:
    """input * other, with broadcasting."""
    return _binary(Mul, "mul", input, other)


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """input / other: true division (integers give float32) or, with ``rounding_mode``
    'trunc' / 'floor', the quotient rounded toward zero / down in the promoted dtype."""
    if rounding_mode is None:
        return _binary(Div, "div", input, other)
    if rounding_mode == "trunc":
        return _rounded("div", "trunc", input, other)
    if rounding_mode == "floor":
        return _rounded("div", "floor_divide", input, other)
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                       f"found {rounding_mode!r}")


def true_divide(input, other) -> Tensor:
    """input / other (true division)."""
    return div(input, other)


def rdiv(input, other) -> Tensor:
    return _binary(Div, "div", other, input)


class RoundedDiv(Function):
    """floor_divide, div(rounding_mode='trunc'), remainder (sign of the divisor) and fmod
    (sign of the dividend).  The quotients have zero gradient, as PyTorch; remainder and fmod
    pass g to the dividend and -g * quotient to the divisor."""

    @staticmethod
    def forward(ctx, a, b, name):
        k = ctx.k
        dtype = result_dtype(a, b)
        ctx.a, ctx.b, ctx.name = a, b, name
        if name != "trunc":
            return k.binary(name, a, b, dtype)
        if dtype.kind == "f":
            return k.unary(oc.TRUNC, k.binary("div", a, b, dtype))
        # integers: exact, (a - fmod(a, b)) is a multiple of b
        return k.binary("floor_divide", k.binary("sub", a, k.binary("fmod", a, b, dtype), dtype),
                        b, dtype)

    @staticmethod
    def backward(ctx, g):
        k, need, name = ctx.k, ctx.needs_input_grad, ctx.name
        if name in ("floor_divide", "trunc"):
            zero = k.full(g.shape, 0, g.dtype)
            return zero if need[0] else None, zero if need[1] else None, None
        gb = None
        if need[1]:
            q = k.binary("div", ctx.a, ctx.b, g.dtype)
            q = k.unary(oc.FLOOR if name == "remainder" else oc.TRUNC, q)
            gb = k.unary(oc.NEG, k.binary("mul", g, q))
        return g if need[0] else None, gb, None


def _rounded(op: str, name: str, input, other) -> Tensor:
    a, b = _operand(op, input), _operand(op, other)
    _check(op, a, b)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{op}: expected a Tensor operand, got {type(input).__name__} and "
                        f"{type(other).__name__}")
    dtype = _dtype_of(a, b)
    if dtype.kind == "b":
        raise NotImplementedError(f"{op}: not implemented for bool operands")
    if dtype.kind in "biu" and _has_zero(b):  # NumPy would give 0; PyTorch raises
        raise RuntimeError(f"ZeroDivisionError ({op}: integer division by zero)")
    out = RoundedDiv.apply(a, b, name)
    if out.grad_fn is not None:
        out.grad_fn.label = {"trunc": "Div", "floor_divide": "FloorDivide"}.get(
            name, name.capitalize())
    return out


def _has_zero(b) -> bool:
    """Is the divisor (a scalar or a tensor) zero anywhere?  A tensor costs one host sync."""
    if is_scalar(b):
        return b == 0
    from .reduce import sum as _sum

    return _sum(compare("eq", b, 0)).item() > 0


def floor_divide(input, other) -> Tensor:
    """input // other, rounded down (Python's ``//``), in the promoted dtype; zero gradient."""
    return _rounded("floor_divide", "floor_divide", input, other)


def remainder(input, other) -> Tensor:
    """input - floor(input / other) * other: the sign of the divisor (Python's ``%``)."""
    return _rounded("remainder", "remainder", input, other)


def fmod(input, other) -> Tensor:
    """C's fmod: input - trunc(input / other) * other, the sign of the dividend."""
    return _rounded("fmod", "fmod", input, other)


def pow(input, exponent) -> Tensor:
    """input ** exponent; a scalar exponent runs the fused unary kernel.

    dtypes as PyTorch: bool ** int is int64, int ** float is float32; an integer
    tensor to a negative integer scalar power raises RuntimeError (a negative integer
    *tensor* exponent gives 1, +-1 or 0, as PyTorch).
    """
    if isinstance(input, Tensor) and is_scalar(exponent) and not isinstance(exponent, bool):
        if not input.dtype.is_floating_point:
            if isinstance(exponent, (float, np.floating)):
                input = cast(input, dt.default_float)
            elif exponent < 0:
                raise RuntimeError("pow: Integers to negative integer powers are not allowed.")
            elif input.dtype is dt.bool_:
                input = cast(input, dt.int64)
        if exponent == 2:
            return unary(input, oc.SQUARE)
        if exponent == 0.5 and input.dtype.is_floating_point:
            return unary(input, oc.SQRT)
        return unary(input, oc.POW, float(exponent))
    input, exponent = _operand("pow", input), _operand("pow", exponent)
    _no_bool_pow(input, exponent)
    return _binary(Pow, "pow", input, exponent)


def _no_bool_pow(a, b) -> None:
    """PyTorch has no bool ** bool (a bool tensor to an int power is int64, see ``pow``)."""
    if _is_bool(b) and _dtype_of(a, b) == np.bool_:
        raise NotImplementedError("pow: not implemented for bool operands")


def rpow(input, other) -> Tensor:
    _no_bool_pow(other, input)
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


def neg(x: Tensor) -> Tensor:
    """-x; bool tensors raise, as PyTorch."""
    if _is_bool(x):
        raise RuntimeError("neg: Negation, the `-` operator, on a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    return unary(x, oc.NEG)


def abs(x: Tensor) -> Tensor:  # noqa: A001
    """|x|; bool tensors raise NotImplementedError, as PyTorch (no bool kernel)."""
    if _is_bool(x):
        raise NotImplementedError("abs: not implemented for 'Bool' (PyTorch has no bool "
                                  "kernel); use the tensor itself or .int()")
    return unary(x, oc.ABS)


def exp(x: Tensor) -> Tensor:
    return unary(x, oc.EXP)


def log(x: Tensor) -> Tensor:
    return unary(x, oc.LOG)


def sqrt(x: Tensor) -> Tensor:
    return unary(x, oc.SQRT)


def rsqrt(x: Tensor) -> Tensor:
    """1 / sqrt(x) (inf at 0, NaN below)."""
    return unary(x, oc.RSQRT)


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
    """max(x, 0); bool tensors raise, as PyTorch."""
    if _is_bool(x):
        raise RuntimeError("relu: Boolean inputs not supported for relu")
    return unary(x, oc.RELU)


def sign(x: Tensor) -> Tensor:
    return unary(x, oc.SIGN)


def square(x: Tensor) -> Tensor:
    """x * x; a bool tensor squares to int64, as PyTorch's ``pow(x, 2)``."""
    if _is_bool(x):
        x = cast(x, dt.int64)
    return unary(x, oc.SQUARE)


def log1p(x: Tensor) -> Tensor:
    """log(1 + x), accurate for small x."""
    return unary(x, oc.LOG1P)


def expm1(x: Tensor) -> Tensor:
    """exp(x) - 1, accurate for small x."""
    return unary(x, oc.EXPM1)


def log2(x: Tensor) -> Tensor:
    """Base-2 logarithm."""
    return unary(x, oc.LOG2)


def log10(x: Tensor) -> Tensor:
    """Base-10 logarithm."""
    return unary(x, oc.LOG10)


def exp2(x: Tensor) -> Tensor:
    """2 ** x."""
    return unary(x, oc.EXP2)


def erf(x: Tensor) -> Tensor:
    """The error function, 2/sqrt(pi) * integral_0^x exp(-t^2) dt."""
    return unary(x, oc.ERF)


def erfinv(x: Tensor) -> Tensor:
    """Inverse of erf on (-1, 1); +-inf at +-1, NaN outside."""
    return unary(x, oc.ERFINV)


def _rounding(name: str, op: int, x: Tensor, p0: float = 0.0) -> Tensor:
    """floor / ceil / round / trunc: integer tensors come back unchanged (a copy), as PyTorch."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        return x.detach().clone()
    return unary(x, op, p0)


def floor(x: Tensor) -> Tensor:
    """Largest integer <= x (gradient 0)."""
    return _rounding("floor", oc.FLOOR, x)


def ceil(x: Tensor) -> Tensor:
    """Smallest integer >= x (gradient 0)."""
    return _rounding("ceil", oc.CEIL, x)


def trunc(x: Tensor) -> Tensor:
    """x rounded toward zero (gradient 0)."""
    return _rounding("trunc", oc.TRUNC, x)


def round(x: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """x rounded half to even, to ``decimals`` places (gradient 0), as ``torch.round``."""
    if isinstance(decimals, bool) or not isinstance(decimals, int):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    return _rounding("round", oc.ROUND, x, float(decimals))


def frac(x: Tensor) -> Tensor:
    """x - trunc(x), the sign of x (gradient 1); floats only, as PyTorch."""
    if isinstance(x, Tensor) and not x.dtype.is_floating_point:
        raise NotImplementedError(f"frac: not implemented for {x.dtype} (floating point only)")
    return unary(x, oc.FRAC)


class Atan2(Function):
    """atan2(a, b): the angle of the point (b, a), in the promoted float dtype."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return ctx.k.binary("atan2", a, b, _float_dtype(a, b))

    @staticmethod
    def backward(ctx, g):  # d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2)
        k, a, b = ctx.k, ctx.a, ctx.b
        den = k.binary("add", k.binary("mul", a, a, g.dtype), k.binary("mul", b, b, g.dtype))
        q = k.binary("div", g, den)
        ga = k.binary("mul", q, b, g.dtype) if ctx.needs_input_grad[0] else None
        gb = k.unary(oc.NEG, k.binary("mul", q, a, g.dtype)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Hypot(Function):
    """sqrt(a^2 + b^2) without overflow, in the promoted float dtype."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        ctx.out = ctx.k.binary("hypot", a, b, _float_dtype(a, b))
        return ctx.out

    @staticmethod
    def backward(ctx, g):  # d/da = a / out, d/db = b / out
        k, need = ctx.k, ctx.needs_input_grad
        q = k.binary("div", g, ctx.out)
        return (k.binary("mul", q, ctx.a, g.dtype) if need[0] else None,
                k.binary("mul", q, ctx.b, g.dtype) if need[1] else None)


def _float_dtype(a, b) -> np.dtype:
    d = result_dtype(a, b)
    return d if d.kind == "f" else dt.default_float.np


def atan2(input, other) -> Tensor:
    """Elementwise atan2(input, other) in (-pi, pi]; integer inputs give float32."""
    return _binary(Atan2, "atan2", input, other)


def hypot(input, other) -> Tensor:
    """Elementwise sqrt(input^2 + other^2)."""
    return _binary(Hypot, "hypot", input, other)


def clamp(x: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """Limit values to [min, max]; either bound may be None, a number or a tensor.

    When min > max every element becomes max, as PyTorch.  A float bound makes an
    integer tensor's result float32.
    """
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
    if not x.dtype.is_floating_point and (_is_float(min) or _is_float(max)):
        x = cast(x, dt.default_float)  # int.clamp(-1.0, 1.0) is float32, as PyTorch
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

