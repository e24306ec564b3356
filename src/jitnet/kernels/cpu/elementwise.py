"""Elementwise CPU kernels: unary maps with their gradients, binary ops, where.

Unary maps (relu, exp, gelu, ...) are Numba kernels: the formulas live once in
``kernels/scalar/elementwise.py`` (``unary_fwd`` every forward formula,
``unary_grad`` every derivative, shared with the CUDA kernels), inlined here
into two loop kernels (serial, parallel) over a flat contiguous array.

Binary ops with broadcasting (add, mul, comparisons) and ``where`` are served
by NumPy's ufuncs behind the same table: a broadcast add is memory-bound and
NumPy's vectorised loops are already optimal for it, at ~1 us per call.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import PARALLEL_MIN, kernel, scalar
from ..opcodes import RELU
from ..scalar import elementwise as S

unary_scalar = scalar(S.unary_fwd)
unary_grad_scalar = scalar(S.unary_grad)


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
    "fmod": np.fmod, "atan2": np.arctan2, "hypot": np.hypot, "bitwise_and": np.bitwise_and,
    "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor,
}


_QUIET = frozenset({"div", "floor_divide", "remainder", "fmod", "pow"})


def binary(name: str, a, b, dtype=None) -> np.ndarray:
    """``a <name> b`` with NumPy broadcasting; ``dtype`` is the result dtype (arithmetic ops)."""
    if name in _QUIET:  # x / 0, x // 0, 0 ** -1: inf or NaN as PyTorch, without NumPy's warning
        with np.errstate(divide="ignore", invalid="ignore"):
            out = BINARY_UFUNCS[name](a, b)
    else:
        out = BINARY_UFUNCS[name](a, b)
    if dtype is not None and out.dtype is not dtype and out.dtype != dtype:
        out = out.astype(dtype)
    # a ufunc on 0-d arrays returns a NumPy scalar, not an array
    return out if type(out) is np.ndarray else np.asarray(out)


def where(cond: np.ndarray, a, b) -> np.ndarray:
    """cond ? a : b with broadcasting."""
    return np.asarray(np.where(cond, a, b))

