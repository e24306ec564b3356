"""Elementwise CUDA kernels: unary maps with their gradients, binary ops with broadcasting, where.

The twin of ``kernels/cpu/elementwise.py``: the formulas are the same functions
(``kernels/scalar/elementwise.py``: ``unary_fwd``, ``unary_grad``,
``binary_store``) compiled as device functions, selected by the same op codes
(``kernels/opcodes.py``); one kernel applies them, one thread per element with a
grid-stride loop.

Binary ops are a real kernel here (the CPU table uses NumPy's ufuncs):
``_binary_kernel`` computes each output element's offset in both operands
from the output coordinates and per-operand element strides, stride 0 along
broadcast dims; the wrapper first merges dims both operands walk alike
(``_memory.collapse``), so same-shape operands take the one-dim fast path.
A Python scalar operand is passed by value, converted to the dtype NumPy
would compute in (``float32 tensor * 0.5`` computes in float32).
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from ..opcodes import B_BITAND, B_BITOR, B_BITXOR, B_DIV, BINARY_NAMES, BOOL_RESULT
from ..scalar import elementwise as S
from . import _memory as A
from ._launch import device_fn, launch

safe_exp = device_fn(S.safe_exp)
unary_scalar = device_fn(S.unary_fwd)
unary_grad_scalar = device_fn(S.unary_grad)
_binary_store = device_fn(S.binary_store)
_bitwise_store = device_fn(S.bitwise_store)


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
def _operands(i, a, av, a_arr, b, bv, b_arr, shape, sa, sb, ndim):
    """(a[ia], b[ib]) for output element i: ia, ib from i's coordinates in ``shape`` and the
    element strides sa, sb (0 along broadcast dims); a scalar operand (flag False) is av / bv."""
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
    return x, y


@cuda.jit
def _binary_kernel(op, a, av, a_arr, b, bv, b_arr, out, n, shape, sa, sb, ndim):
    """out[i] = a[ia] <op> b[ib] with broadcasting (see ``_operands``); out flat C-contiguous.

    One thread per output element, grid-stride loop.
    """
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        x, y = _operands(i, a, av, a_arr, b, bv, b_arr, shape, sa, sb, ndim)
        _binary_store(op, x, y, out, i)


@cuda.jit
def _bitwise_kernel(op, a, av, a_arr, b, bv, b_arr, out, n, shape, sa, sb, ndim):
    """As ``_binary_kernel`` for the bitwise ops (integer and bool operands only)."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        x, y = _operands(i, a, av, a_arr, b, bv, b_arr, shape, sa, sb, ndim)
        _bitwise_store(op, x, y, out, i)


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
    launch(_kernel_for(op), out.size, op, a_, av, a_arr, b_, bv, b_arr, A.flat(out), out.size,
           A.pad(shape, 1), A.pad(sa), A.pad(sb), len(shape))
    return out


def _kernel_for(op: int):
    return _bitwise_kernel if op in (B_BITAND, B_BITOR, B_BITXOR) else _binary_kernel


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
    launch(_kernel_for(op), out.size, op, a_, av, a_arr, b_, bv, b_arr, A.flat(out), out.size,
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
