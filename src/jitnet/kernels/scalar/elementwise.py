"""Elementwise formulas, once for both devices: unary maps with their derivatives, binary ops.

``unary_fwd(op, x, p0, p1)`` is y = f(x) for a unary op code of
``kernels/opcodes.py`` (p0, p1: the op's parameters, e.g. a slope, an
exponent, clamp bounds); ``unary_grad(op, x, y, g, p0, p1)`` beside it is
g * f'(x), from the input x or the output y, whichever is cheaper.
``binary_store(op, x, y, out, i)`` stores ``x <op> y`` into ``out[i]`` (the
CUDA binary kernel; the CPU table serves binary ops with NumPy's ufuncs), and
``bitwise_store`` the same for the integer-only bitwise ops.

Leaf functions (see the package docstring): every helper expression is written
inline, and every ``math`` call that raises in plain Python (the CUDA simulator)
where Numba returns inf or nan is guarded: ``exp`` past float64's range,
``log`` of a non-positive number, ``sin``/``cos`` of an infinity, ``floor`` of
inf or NaN (Numba's ``math.floor`` is integer-valued, so rounding only calls it
below 2**52, where every float is already an integer).
"""
from __future__ import annotations

import math

from ..opcodes import (
    ABS,
    B_ADD,
    B_AND,
    B_ATAN2,
    B_BITAND,
    B_BITOR,
    B_BITXOR,
    B_DIV,
    B_EQ,
    B_FLOOR_DIVIDE,
    B_FMOD,
    B_GE,
    B_GT,
    B_HYPOT,
    B_LE,
    B_LT,
    B_MAXIMUM,
    B_MINIMUM,
    B_MUL,
    B_NE,
    B_OR,
    B_POW,
    B_REMAINDER,
    B_SUB,
    B_XOR,
    CEIL,
    CLAMP,
    COS,
    ELU,
    ERF,
    ERFINV,
    EXP,
    EXP2,
    EXPM1,
    FLOOR,
    FRAC,
    GELU,
    HARDTANH,
    LEAKY_RELU,
    LOG,
    LOG1P,
    LOG2,
    LOG10,
    MISH,
    NEG,
    POW,
    RECIPROCAL,
    RELU,
    ROUND,
    RSQRT,
    SIGMOID,
    SIGN,
    SILU,
    SIN,
    SOFTPLUS,
    SQRT,
    SQUARE,
    TANH,
    TRUNC,
)

EXP_MAX = 709.78
"""exp overflows float64 just above this."""
INV_SQRT2 = 0.7071067811865476
INV_SQRT_2PI = 0.3989422804014327
TWO_OVER_SQRT_PI = 1.1283791670955126
SQRT_PI_OVER_2 = 0.886226925452758
LN2 = 0.6931471805599453
LN10 = 2.302585092994046
INTEGRAL = 4503599627370496.0
"""2**52: every float64 at least this large in magnitude is an integer."""


def safe_exp(x):
    """math.exp, inf past float64's range (Numba's behaviour; plain Python raises)."""
    if x > EXP_MAX:
        return math.inf
    return math.exp(x)


def unary_fwd(op, x, p0, p1):
    """y = f(x) for op code ``op``; p0/p1 are the op's parameters (slope, exponent, bounds)."""
    if op == RELU:  # NaN passes through; negatives give +0.0 (x * 0 would give -0.0)
        return x if x > 0 or x != x else 0
    if op == SIGMOID:  # two branches so exp never overflows
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    if op == TANH:
        return math.tanh(x)
    if op == EXP:
        return math.inf if x > EXP_MAX else math.exp(x)
    if op == LOG:
        return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)
    if op == SQRT:
        return math.sqrt(x) if x >= 0 else math.nan
    if op == NEG:
        return -x
    if op == ABS:
        return abs(x)
    if op == SIN:
        return math.sin(x) if abs(x) < math.inf else math.nan
    if op == COS:
        return math.cos(x) if abs(x) < math.inf else math.nan
    if op == LEAKY_RELU:
        return x if x > 0 else x * p0
    if op == GELU:  # exact form, PyTorch's default: x * Phi(x)
        return 0.5 * x * (1.0 + math.erf(x * INV_SQRT2))
    if op == POW:
        return x ** p0
    if op == CLAMP:  # p0 = min, p1 = max (NaN means "no bound"); max wins when min > max
        if x < p0:
            x = p0
        if x > p1:
            return p1
        return x
    if op == SIGN:
        if x > 0:
            return 1
        if x < 0:
            return -1
        return 0  # NaN too, as PyTorch
    if op == SQUARE:
        return x * x
    if op == RECIPROCAL:
        return 1.0 / x
    if op == LOG1P:
        return math.log1p(x) if x > -1.0 else (-math.inf if x == -1.0 else math.nan)
    if op == EXPM1:
        return math.inf if x > EXP_MAX else math.expm1(x)
    if op == LOG2:
        return math.log(x) / LN2 if x > 0 else (-math.inf if x == 0 else math.nan)
    if op == LOG10:
        return math.log10(x) if x > 0 else (-math.inf if x == 0 else math.nan)
    if op == EXP2:
        return math.inf if x * LN2 > EXP_MAX else math.exp(x * LN2)
    if op == RSQRT:
        if x > 0:
            return 1.0 / math.sqrt(x)
        return math.copysign(math.inf, x) if x == 0 else math.nan  # rsqrt(-0.0) = -inf
    if op == FLOOR or op == CEIL or op == TRUNC or op == FRAC or op == ROUND:
        v = x * 1.0
        ten = 1.0
        if op == ROUND and p0 != 0:  # p0 = decimals, as PyTorch: nearbyint(x * 10^d) / 10^d
            ten = 10.0 ** abs(p0)
            v = v * ten if p0 > 0 else v / ten
        if not abs(v) < INTEGRAL:  # already integral, or inf / NaN
            if op == FRAC:
                return v - v if v == v else v
            return x * 1.0
        f = math.floor(v) * 1.0
        if op == FLOOR:
            r = f
        elif op == CEIL:
            r = f if f == v else f + 1.0
        elif op == ROUND:  # half to even
            d = v - f
            r = f
            if d > 0.5 or (d == 0.5 and math.floor(f * 0.5) * 2.0 != f):
                r = f + 1.0
            if p0 != 0:
                r = r / ten if p0 > 0 else r * ten
        else:  # trunc towards zero; frac = x - trunc(x)
            r = f if v >= 0 or f == v else f + 1.0
            if op == FRAC:
                return v - r
        return r
    if op == ERF:
        return math.erf(x)
    if op == ERFINV:  # Giles' single-precision start, refined by two Newton steps on erf
        if not abs(x) < 1.0:
            if x == 1.0:
                return math.inf
            if x == -1.0:
                return -math.inf
            return math.nan
        w = -math.log((1.0 - x) * (1.0 + x))
        if w < 5.0:
            w = w - 2.5
            p = 2.81022636e-08
            p = 3.43273939e-07 + p * w
            p = -3.5233877e-06 + p * w
            p = -4.39150654e-06 + p * w
            p = 0.00021858087 + p * w
            p = -0.00125372503 + p * w
            p = -0.00417768164 + p * w
            p = 0.246640727 + p * w
            p = 1.50140941 + p * w
        else:
            w = math.sqrt(w) - 3.0
            p = -0.000200214257
            p = 0.000100950558 + p * w
            p = 0.00134934322 + p * w
            p = -0.00367342844 + p * w
            p = 0.00573950773 + p * w
            p = -0.0076224613 + p * w
            p = 0.00943887047 + p * w
            p = 1.00167406 + p * w
            p = 2.83297682 + p * w
        r = p * x
        for _ in range(2):
            r = r - (math.erf(r) - x) / (TWO_OVER_SQRT_PI * math.exp(-r * r))
        return r
    if op == SOFTPLUS:  # p0 = beta, p1 = threshold: linear once beta * x > threshold
        bx = x * p0
        if bx > p1:
            return x * 1.0
        return (math.log1p(math.exp(bx)) if bx <= EXP_MAX else bx) / p0
    if op == MISH:  # x * tanh(softplus(x))
        sp = math.log1p(math.exp(x)) if x <= 20.0 else x * 1.0
        return x * math.tanh(sp)
    if op == SILU:
        if x >= 0:
            return x / (1.0 + math.exp(-x))
        e = math.exp(x)
        return x * e / (1.0 + e)
    if op == HARDTANH:  # p0 = min_val, p1 = max_val
        if x < p0:
            return p0
        if x > p1:
            return p1
        return x
    if op == ELU:  # p0 = alpha, p1 = scale (1 for elu, SELU's constant for selu)
        if x > 0:
            return p1 * x
        return p1 * p0 * math.expm1(x)
    return math.nan


def unary_grad(op, x, y, g, p0, p1):
    """dL/dx = g * f'(x) for op code ``op``, using input x or output y, whichever is cheaper."""
    if op == RELU:
        return g if x > 0 else g * 0
    if op == SIGMOID:
        return g * y * (1.0 - y)
    if op == TANH:
        return g * (1.0 - y * y)
    if op == EXP:
        return g * y
    if op == LOG:
        return g / x
    if op == SQRT:
        return g * 0.5 / y
    if op == NEG:
        return -g
    if op == ABS:
        if x > 0:
            return g
        if x < 0:
            return -g
        return g * 0
    if op == SIN:
        return g * math.cos(x) if abs(x) < math.inf else math.nan
    if op == COS:
        return -g * math.sin(x) if abs(x) < math.inf else math.nan
    if op == LEAKY_RELU:
        return g if x > 0 else g * p0
    if op == GELU:  # d/dx x*Phi(x) = Phi(x) + x*phi(x)
        cdf = 0.5 * (1.0 + math.erf(x * INV_SQRT2))
        return g * (cdf + x * INV_SQRT_2PI * math.exp(-0.5 * x * x))
    if op == POW:
        return g * p0 * x ** (p0 - 1.0) if p0 != 0.0 else g * 0
    if op == CLAMP:  # PyTorch passes the gradient where min <= x <= max
        return g if (x >= p0 or p0 != p0) and (x <= p1 or p1 != p1) else g * 0
    if op == SIGN:
        return g * 0
    if op == SQUARE:
        return 2.0 * g * x
    if op == RECIPROCAL:
        return -g * y * y
    if op == LOG1P:
        return g / (1.0 + x)
    if op == EXPM1:
        return g * (y + 1.0)
    if op == LOG2:
        return g / (x * LN2)
    if op == LOG10:
        return g / (x * LN10)
    if op == EXP2:
        return g * y * LN2
    if op == RSQRT:
        return -0.5 * g * y * y * y
    if op == FLOOR or op == CEIL or op == TRUNC or op == ROUND:
        return g * 0
    if op == FRAC:
        return g
    if op == ERF:
        return g * TWO_OVER_SQRT_PI * math.exp(-x * x)
    if op == ERFINV:
        return g * SQRT_PI_OVER_2 * (math.inf if y * y > EXP_MAX else math.exp(y * y))
    if op == SOFTPLUS or op == MISH or op == SILU:  # all three need s = sigmoid(z)
        z = x * p0 if op == SOFTPLUS else x * 1.0
        if op == SOFTPLUS and z > p1:  # softplus' linear region
            return g
        if z >= 0:
            s = 1.0 / (1.0 + math.exp(-z))
        else:
            e = math.exp(z)
            s = e / (1.0 + e)
        if op == SOFTPLUS:
            return g * s
        if op == SILU:
            return g * s * (1.0 + x * (1.0 - s))
        t = math.tanh(math.log1p(math.exp(x)) if x <= 20.0 else x * 1.0)
        return g * (t + x * s * (1.0 - t * t))
    if op == HARDTANH:  # PyTorch: zero at the bounds themselves
        return g if x > p0 and x < p1 else g * 0
    if op == ELU:
        if x > 0:
            return g * p1
        return g * p1 * p0 * math.exp(x)
    return math.nan


def binary_store(op, x, y, out, i):
    """out[i] = x <op> y; each branch stores its own result type (no unification to float)."""
    if op == B_ADD:
        out[i] = x + y
    elif op == B_SUB:
        out[i] = x - y
    elif op == B_MUL:
        out[i] = x * y
    elif op == B_DIV:
        out[i] = x / y
    elif op == B_POW:
        out[i] = x ** y
    elif op == B_MAXIMUM:  # NaN propagates, as NumPy and PyTorch
        out[i] = x if (x > y or x != x) else y
    elif op == B_MINIMUM:
        out[i] = x if (x < y or x != x) else y
    elif op == B_FLOOR_DIVIDE:
        out[i] = x // y
    elif op == B_REMAINDER:  # the sign of the divisor, as Python and NumPy
        out[i] = x % y
    elif op == B_FMOD:  # the sign of the dividend, as C's fmod
        r = x % y
        if r != 0 and (r < 0) != (x < 0):
            r = r - y
        out[i] = r
    elif op == B_ATAN2:
        out[i] = math.atan2(x, y)
    elif op == B_HYPOT:
        out[i] = math.hypot(x, y)
    elif op == B_EQ:
        out[i] = x == y
    elif op == B_NE:
        out[i] = x != y
    elif op == B_LT:
        out[i] = x < y
    elif op == B_LE:
        out[i] = x <= y
    elif op == B_GT:
        out[i] = x > y
    elif op == B_GE:
        out[i] = x >= y
    elif op == B_AND:
        out[i] = (x != 0) and (y != 0)
    elif op == B_OR:
        out[i] = (x != 0) or (y != 0)
    elif op == B_XOR:
        out[i] = (x != 0) != (y != 0)


def bitwise_store(op, x, y, out, i):
    """out[i] = x <op> y for the bitwise ops (integers and bools only, so a function apart:
    Numba types every branch, and ``&`` does not type for floats)."""
    if op == B_BITAND:
        out[i] = x & y
    elif op == B_BITOR:
        out[i] = x | y
    elif op == B_BITXOR:
        out[i] = x ^ y
