"""Elementwise CPU kernels: unary maps with their gradients, binary ops, where.

Unary maps (relu, exp, gelu, ...) are Numba kernels: one scalar function
``unary_scalar(op, x, p0, p1)`` holds every forward formula and
``unary_grad_scalar`` every derivative, right beside each other, and two loop
kernels (serial, parallel) apply them to a flat contiguous array.

Binary ops with broadcasting (add, mul, comparisons) and ``where`` are served
by NumPy's ufuncs behind the same table: a broadcast add is memory-bound and
NumPy's vectorised loops are already optimal for it, at ~1 us per call.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import PARALLEL_MIN, kernel
from ..opcodes import (
    ABS,
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

_INV_SQRT2 = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


@kernel(inline="always")
def unary_scalar(op, x, p0, p1):
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
        return math.exp(x)
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
        return (x > 0) - (x < 0)
    if op == SQUARE:
        return x * x
    if op == RECIPROCAL:
        return 1.0 / x
    return math.nan


@kernel(inline="always")
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
        return g * ((x > 0) - (x < 0))
    if op == SIN:
        return g * math.cos(x)
    if op == COS:
        return -g * math.sin(x)
    if op == LEAKY_RELU:
        return g if x > 0 else g * p0
    if op == GELU:  # d/dx x*Phi(x) = Phi(x) + x*phi(x)
        cdf = 0.5 * (1.0 + math.erf(x * _INV_SQRT2))
        return g * (cdf + x * _INV_SQRT_2PI * math.exp(-0.5 * x * x))
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


# Loop unswitching.  ``op`` is a run-time argument, and LLVM does not hoist a
# 17-way if-chain out of the loop by itself: the loop then tests the op code on
# every element and cannot vectorise (relu on 2 Mi float32: 11 ms, against
# 0.2 ms for the same loop with the op known).  So the loop body is inlined (at
# Numba IR level) a second time with the op code RELU as a *constant*: LLVM
# folds the chain away and emits a SIMD loop.  Only relu gets this: it runs
# after nearly every layer, and each specialisation costs ~1 s of first-run
# compile time; for the other ops the math (exp, erf) dominates anyway.
#
# Parallel kernels cut the array into chunks and run the serial kernel on each
# chunk in a ``prange``: one parallel loop to compile instead of one per
# specialisation, and the fast relu loop serves both.

_CHUNK = 1 << 14  # elements per parallel task: 64 KiB of float32, well above the task overhead


@kernel(inline="always")
def _map_loop(op, x, out, p0, p1):
    for i in range(x.size):
        out[i] = unary_scalar(op, x[i], p0, p1)


@kernel(inline="always")
def _grad_loop(op, x, y, g, out, p0, p1):
    for i in range(x.size):
        out[i] = unary_grad_scalar(op, x[i], y[i], g[i], p0, p1)


@kernel
def _map_serial(op, x, out, p0, p1):
    """out[i] = f(x[i]); x and out flat and C-contiguous."""
    if op == RELU:
        _map_loop(RELU, x, out, p0, p1)
    else:
        _map_loop(op, x, out, p0, p1)


@kernel(parallel=True)
def _map_parallel(op, x, out, p0, p1):
    """As ``_map_serial``; ``prange`` over chunks of ``_CHUNK`` elements."""
    n = x.size
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        lo = c * _CHUNK
        hi = min(n, lo + _CHUNK)
        _map_serial(op, x[lo:hi], out[lo:hi], p0, p1)


@kernel
def _grad_serial(op, x, y, g, out, p0, p1):
    """out[i] = g[i] * f'(x[i]) (from x or y = f(x)); all flat and C-contiguous."""
    if op == RELU:
        _grad_loop(RELU, x, y, g, out, p0, p1)
    else:
        _grad_loop(op, x, y, g, out, p0, p1)


@kernel(parallel=True)
def _grad_parallel(op, x, y, g, out, p0, p1):
    """As ``_grad_serial``; ``prange`` over chunks of ``_CHUNK`` elements."""
    n = x.size
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        lo = c * _CHUNK
        hi = min(n, lo + _CHUNK)
        _grad_serial(op, x[lo:hi], y[lo:hi], g[lo:hi], out[lo:hi], p0, p1)


# The wrappers run once per op, so they stay lean: the loops take flat
# C-contiguous arrays, a free view for contiguous input (the common case) and
# one copy otherwise (a single layout also means a single compiled variant).


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1) if x.flags.c_contiguous else np.ascontiguousarray(x).reshape(-1)


def unary(op: int, x: np.ndarray, p0: float = 0.0, p1: float = 0.0, out_dtype=None) -> np.ndarray:
    """y = f(x) elementwise; any layout in, a new C-contiguous array of x's shape out."""
    xf = _flat(x)
    out = np.empty(xf.size, dtype=out_dtype or x.dtype)
    run = _map_parallel if xf.size >= PARALLEL_MIN else _map_serial
    run(op, xf, out, float(p0), float(p1))
    return out.reshape(x.shape)


def unary_bwd(op: int, x: np.ndarray, y: np.ndarray, g: np.ndarray,
              p0: float = 0.0, p1: float = 0.0) -> np.ndarray:
    """dx = g * f'(x): x, y (the forward output) and g share one shape; returns g's dtype."""
    gf = _flat(g)
    out = np.empty(gf.size, dtype=g.dtype)
    run = _grad_parallel if gf.size >= PARALLEL_MIN else _grad_serial
    run(op, _flat(x), _flat(y), gf, out, float(p0), float(p1))
    return out.reshape(g.shape)


BINARY_UFUNCS = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
    "pow": np.power, "maximum": np.maximum, "minimum": np.minimum,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or,
    "logical_xor": np.logical_xor, "floor_divide": np.floor_divide, "remainder": np.remainder,
}


def binary(name: str, a, b, dtype=None) -> np.ndarray:
    """``a <name> b`` with NumPy broadcasting; ``dtype`` is the result dtype (arithmetic ops)."""
    out = BINARY_UFUNCS[name](a, b)
    if dtype is not None and out.dtype is not dtype and out.dtype != dtype:
        out = out.astype(dtype)
    # a ufunc on 0-d arrays returns a NumPy scalar, not an array
    return out if type(out) is np.ndarray else np.asarray(out)


def where(cond: np.ndarray, a, b) -> np.ndarray:
    """cond ? a : b with broadcasting."""
    return np.asarray(np.where(cond, a, b))

