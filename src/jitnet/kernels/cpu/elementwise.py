"""Elementwise CPU kernels: unary maps with their gradients, binary ops, where.

Unary maps (relu, exp, gelu, ...) are Numba kernels: the formulas live once in
``kernels/scalar/elementwise.py`` (``unary_fwd`` every forward formula,
``unary_grad`` every derivative, shared with the CUDA kernels), inlined here
into task kernels over a flat contiguous array, one pair per op, compiled on the op's first call.

Binary ops with broadcasting (add, mul, comparisons) and ``where`` are served
by NumPy's ufuncs behind the same table: a broadcast add is memory-bound and
NumPy's vectorised loops are already optimal for it, at ~1 us per call.
"""
from __future__ import annotations

import threading

import numpy as np

from .._partial import fixed_scalar, instantiate
from ..opcodes import UNARY_NAMES
from ..scalar import elementwise as S
from .tasks import forking, run_tasks, span, tasks_for

# One kernel per op.  ``unary_fwd`` / ``unary_grad`` are op-code switches (one
# source for both devices); each op's CPU kernels are instantiated from the two
# loop templates below with the switch folded to that op's branch
# (``_partial.fix_args``), on the op's first call.  Type inference then sees one
# formula instead of 35 (a first relu compiles in ~0.5 s instead of 6 s), and
# with the op known LLVM vectorises every loop, not only relu's.
#
# The loops are task kernels (``tasks.run_tasks``): task t of ``tasks`` maps its
# contiguous share of the array, so one compile serves the serial call and every
# thread of a parallel one.

# free name of the templates, bound per instance by ``_partial.instantiate``
fwd = grad = None


def _map_loop(x, out, p0, p1, t, tasks):
    """out[i] = f(x[i]) over task t's share; x and out flat and C-contiguous (f: the op's
    ``fwd``)."""
    lo, hi = span(t, tasks, x.size)
    xs, os = x[lo:hi], out[lo:hi]  # indexed from 0: no negative-index wrap, so LLVM vectorises
    for i in range(xs.size):
        os[i] = fwd(xs[i], p0, p1)


def _grad_loop(x, y, g, out, p0, p1, t, tasks):
    """out[i] = g[i] * f'(x[i]) (from x or y = f(x)) over task t's share; all flat and
    C-contiguous."""
    lo, hi = span(t, tasks, x.size)
    xs, ys, gs, os = x[lo:hi], y[lo:hi], g[lo:hi], out[lo:hi]
    for i in range(xs.size):
        os[i] = grad(xs[i], ys[i], gs[i], p0, p1)


_OP_NAMES = {code: name for name, code in reversed(list(UNARY_NAMES.items()))}
_made: dict = {}
_making = threading.Lock()


def op_kernels(op: int) -> tuple:
    """(map, grad) task kernels of unary op code ``op``, made on first use (``_map_relu``,
    ``_grad_relu``, ...)."""
    ks = _made.get(op)
    if ks is None:
        with _making:
            ks = _made.get(op)
            if ks is None:
                name = _OP_NAMES.get(op, str(op))
                recipe = (f"{__name__}:op_kernels", op)
                m = instantiate(forking(_map_loop), f"_map_{name}", recipe=recipe,
                                fwd=fixed_scalar(S.unary_fwd, op=op))
                g = instantiate(forking(_grad_loop), f"_grad_{name}", recipe=recipe,
                                grad=fixed_scalar(S.unary_grad, op=op))
                ks = (m, g)
                _made[op] = ks
    return ks


# The wrappers run once per op, so they stay lean: the loops take flat
# C-contiguous arrays, a free view for contiguous input (the common case) and
# one copy otherwise (a single layout also means a single compiled variant).


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1) if x.flags.c_contiguous else np.ascontiguousarray(x).reshape(-1)


def unary(op: int, x: np.ndarray, p0: float = 0.0, p1: float = 0.0, out_dtype=None) -> np.ndarray:
    """y = f(x) elementwise; any layout in, a new C-contiguous array of x's shape out."""
    xf = _flat(x)
    out = np.empty(xf.size, dtype=out_dtype or x.dtype)
    run_tasks(op_kernels(op)[0], (xf, out, float(p0), float(p1)), tasks_for(xf.size))
    return out.reshape(x.shape)


def unary_bwd(op: int, x: np.ndarray, y: np.ndarray, g: np.ndarray,
              p0: float = 0.0, p1: float = 0.0) -> np.ndarray:
    """dx = g * f'(x): x, y (the forward output) and g share one shape; returns g's dtype."""
    gf = _flat(g)
    out = np.empty(gf.size, dtype=g.dtype)
    run_tasks(op_kernels(op)[1], (_flat(x), _flat(y), gf, out, float(p0), float(p1)),
              tasks_for(gf.size))
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

