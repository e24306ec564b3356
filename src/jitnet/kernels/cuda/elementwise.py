"""Elementwise CUDA kernels: unary maps with their gradients, binary ops with broadcasting, where.

The twin of ``kernels/cpu/elementwise.py``, formula for formula: the scalar
functions ``unary_scalar`` / ``unary_grad_scalar`` select the expression by
the same op codes (``kernels/opcodes.py``), and one kernel applies them, one
thread per element with a grid-stride loop.

Binary ops are a real kernel here (the CPU table uses NumPy's ufuncs):
``_binary_kernel`` computes each output element's offset in both operands
from the output coordinates and per-operand element strides, stride 0 along
broadcast dims; the wrapper first merges dims both operands walk alike
(``_arrays.collapse``), so same-shape operands take the one-dim fast path.
A Python scalar operand is passed by value, converted to the dtype NumPy
would compute in (``float32 tensor * 0.5`` computes in float32).

Differences from the CPU kernels, for the simulator's sake (it runs this
code as Python on NumPy scalars): ``safe_exp`` returns inf past float64's range
where Python's ``math.exp`` raises, and ``sign`` is an if-chain, not a
difference of bools.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from ..opcodes import (
    ABS,
    B_ADD,
    B_AND,
    B_DIV,
    B_EQ,
    B_FLOOR_DIVIDE,
    B_GE,
    B_GT,
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
    BINARY_NAMES,
    BOOL_RESULT,
    CLAMP,
    COS,
    EXP,
    GELU,
    LEAKY_RELU,
    LOG,
    NEG,
    POW,
    RECIPROCAL,
    RELU,
    SIGMOID,
    SIGN,
    SIN,
    SQRT,
    SQUARE,
    TANH,
)
from . import _arrays as A
from ._launch import launch

_INV_SQRT2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_EXP_MAX = 709.78  # exp overflows float64 just above this


@cuda.jit(device=True)
def safe_exp(x):
    """math.exp, inf past float64's range (as on the GPU; the simulator's math.exp raises)."""
    if x > _EXP_MAX:
        return math.inf
    return math.exp(x)


@cuda.jit(device=True)
def _sign(x):
    if x > 0:
        return 1
    if x < 0:
        return -1
    return 0


@cuda.jit(device=True)
def unary_scalar(op, x, p0, p1):
    """y = f(x) for op code ``op``; p0/p1 are the op's parameters (slope, exponent, bounds)."""
    if op == RELU:  # NaN passes through; negatives give +0.0 (x * 0 would give -0.0)
        return x if x > 0 or x != x else 0
    if op == SIGMOID:  # two branches so exp never overflows
        if x >= 0:
            return 1.0 / (1.0 + safe_exp(-x))
        e = safe_exp(x)
        return e / (1.0 + e)
    if op == TANH:
        return math.tanh(x)
    if op == EXP:
        return safe_exp(x)
    if op == LOG:
        return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)
    if op == SQRT:
        return math.sqrt(x) if x >= 0 else math.nan
    if op == NEG:
        return -x
    if op == ABS:
        return abs(x)
    if op == SIN:
        return math.sin(x)
    if op == COS:
        return math.cos(x)
    if op == LEAKY_RELU:
        return x if x > 0 else x * p0
    if op == GELU:  # exact form, PyTorch's default: x * Phi(x)
        return 0.5 * x * (1.0 + math.erf(x * _INV_SQRT2))
    if op == POW:
        return x ** p0
    if op == CLAMP:  # p0 = min, p1 = max (NaN means "no bound")
        if x < p0:
            return p0
        if x > p1:
            return p1
        return x
    if op == SIGN:
        return _sign(x)
    if op == SQUARE:
        return x * x
    if op == RECIPROCAL:
        return 1.0 / x
    return math.nan


@cuda.jit(device=True)
def unary_grad_scalar(op, x, y, g, p0, p1):
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
        return g * _sign(x)
    if op == SIN:
        return g * math.cos(x)
    if op == COS:
        return -g * math.sin(x)
    if op == LEAKY_RELU:
        return g if x > 0 else g * p0
    if op == GELU:  # d/dx x*Phi(x) = Phi(x) + x*phi(x)
        cdf = 0.5 * (1.0 + math.erf(x * _INV_SQRT2))
        return g * (cdf + x * _INV_SQRT_2PI * safe_exp(-0.5 * x * x))
    if op == POW:
        return g * p0 * x ** (p0 - 1.0) if p0 != 0.0 else g * 0
    if op == CLAMP:  # PyTorch passes the gradient where min <= x <= max
        return g if (x >= p0 or math.isnan(p0)) and (x <= p1 or math.isnan(p1)) else g * 0
    if op == SIGN:
        return g * 0
    if op == SQUARE:
        return 2.0 * g * x
    if op == RECIPROCAL:
        return -g * y * y
    return math.nan


@cuda.jit
def _map_kernel(op, x, out, p0, p1, n):
    """out[i] = f(x[i]): flat arrays, one thread per element, grid-stride loop."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for i in range(start, n, step):
        out[i] = unary_scalar(op, x[i], p0, p1)


@cuda.jit
def _grad_kernel(op, x, y, g, out, p0, p1, n):
    """out[i] = g[i] * f'(x[i]): flat arrays of one size, one thread per element."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for i in range(start, n, step):
        out[i] = unary_grad_scalar(op, x[i], y[i], g[i], p0, p1)


def unary(op: int, x, p0: float = 0.0, p1: float = 0.0, out_dtype=None):
    """y = f(x) elementwise: a new array of x's shape (dtype ``out_dtype`` or x's)."""
    out = A.empty(x.shape, out_dtype or x.dtype)
    launch(_map_kernel, x.size, op, A.flat(A.numeric(x)), A.flat(out), float(p0), float(p1),
           x.size)
    return out


def unary_bwd(op: int, x, y, g, p0: float = 0.0, p1: float = 0.0):
    """dx = g * f'(x): x, y (the forward output) and g share one shape; returns g's dtype."""
    out = A.empty(g.shape, g.dtype)
    launch(_grad_kernel, g.size, op, A.flat(A.numeric(x)), A.flat(A.numeric(y)), A.flat(g),
           A.flat(out), float(p0), float(p1), g.size)
    return out


# ---------------------------------------------------------------- binary ops and where


@cuda.jit(device=True)
def _binary_store(op, x, y, out, i):
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


@cuda.jit
def _binary_kernel(op, a, av, a_arr, b, bv, b_arr, out, n, shape, sa, sb, ndim):
    """out[i] = a[ia] <op> b[ib] with broadcasting; a scalar operand (flag False) is av / bv.

    out is flat C-contiguous; ia, ib come from i's coordinates in ``shape`` and
    the element strides sa, sb (0 along broadcast dims).  One thread per output
    element, grid-stride loop.
    """
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for i in range(start, n, step):
        if ndim == 1:
            ia = i * sa[0]
            ib = i * sb[0]
        else:
            rem = i
            ia = 0
            ib = 0
            for d in range(ndim - 1, -1, -1):
                c = rem % shape[d]
                rem //= shape[d]
                ia += c * sa[d]
                ib += c * sb[d]
        x = a[ia] if a_arr else av
        y = b[ib] if b_arr else bv
        _binary_store(op, x, y, out, i)


@cuda.jit
def _where_kernel(cond, a, av, a_arr, b, bv, b_arr, out, n, shape, sc, sa, sb, ndim):
    """out[i] = a if cond else b, the three broadcast (strides sc, sa, sb), as _binary_kernel."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for i in range(start, n, step):
        rem = i
        ic = 0
        ia = 0
        ib = 0
        for d in range(ndim - 1, -1, -1):
            c = rem % shape[d]
            rem //= shape[d]
            ic += c * sc[d]
            ia += c * sa[d]
            ib += c * sb[d]
        if cond[ic] != 0:
            if a_arr:
                out[i] = a[ia]
            else:
                out[i] = av
        elif b_arr:
            out[i] = b[ib]
        else:
            out[i] = bv


def _compute_dtype(*operands) -> np.dtype:
    """NumPy's result dtype (NEP 50: Python scalars are 'weak', they adopt the array's type)."""
    return np.result_type(*[o.dtype if A.is_device_array(o) else o for o in operands])


def _operand(x, dtype, out_shape):
    """(array, scalar value, is-array flag, element strides) of one kernel operand."""
    if A.is_device_array(x):
        x = A.numeric(x)
        return (A.flat(x), A.typed_scalar(0, x.dtype), True,
                A.broadcast_strides(x.shape, out_shape))
    dtype = np.dtype(np.uint8) if dtype == np.bool_ else np.dtype(dtype)
    return A.dummy(dtype), A.typed_scalar(x, dtype), False, (0,) * len(out_shape)


def _shape(x) -> tuple:
    return tuple(x.shape) if A.is_device_array(x) else ()


def binary(name: str, a, b, dtype=None):
    """``a <name> b`` with NumPy broadcasting; ``dtype`` is the result dtype (arithmetic ops).

    Without ``dtype``: bool for comparisons and logical ops, a float for true
    division of integers, else NumPy's result type.
    """
    op = BINARY_NAMES[name]
    comp = _compute_dtype(a, b)
    if dtype is None:
        if op in BOOL_RESULT:
            dtype = np.bool_
        elif op == B_DIV and comp.kind in "biu":
            dtype = np.float64
        else:
            dtype = comp
    out_shape = tuple(np.broadcast_shapes(_shape(a), _shape(b)))
    out = A.empty(out_shape, dtype)
    a_, av, a_arr, sa = _operand(a, comp, out_shape)
    b_, bv, b_arr, sb = _operand(b, comp, out_shape)
    shape, sa, sb = A.collapse(out_shape, sa, sb)
    launch(_binary_kernel, out.size, op, a_, av, a_arr, b_, bv, b_arr, A.flat(out), out.size,
           A.pad(shape, 1), A.pad(sa), A.pad(sb), len(shape))
    return out


def binary_into(name: str, out, other) -> None:
    """out = out <name> other in place (other broadcasts to out; the store casts to out's dtype).

    Each thread reads out[i] before writing it, so reading and writing one array is safe.
    """
    op = BINARY_NAMES[name]
    comp = _compute_dtype(out, other)
    out_shape = tuple(out.shape)
    a_, av, a_arr, sa = _operand(out, comp, out_shape)
    b_, bv, b_arr, sb = _operand(other, comp, out_shape)
    shape, sa, sb = A.collapse(out_shape, sa, sb)
    launch(_binary_kernel, out.size, op, a_, av, a_arr, b_, bv, b_arr, A.flat(out), out.size,
           A.pad(shape, 1), A.pad(sa), A.pad(sb), len(shape))


def where(cond, a, b):
    """cond ? a : b with broadcasting of all three; dtype as NumPy's ``where``."""
    dtype = _compute_dtype(a, b)
    out_shape = tuple(np.broadcast_shapes(tuple(cond.shape), _shape(a), _shape(b)))
    out = A.empty(out_shape, dtype)
    c_, _, _, sc = _operand(cond, np.bool_, out_shape)
    a_, av, a_arr, sa = _operand(a, dtype, out_shape)
    b_, bv, b_arr, sb = _operand(b, dtype, out_shape)
    shape, sc, sa, sb = A.collapse(out_shape, sc, sa, sb)
    launch(_where_kernel, out.size, c_, a_, av, a_arr, b_, bv, b_arr, A.flat(out), out.size,
           A.pad(shape, 1), A.pad(sc), A.pad(sa), A.pad(sb), len(shape))
    return out
