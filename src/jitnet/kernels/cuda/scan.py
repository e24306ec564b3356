"""Scan CUDA kernels: the running sum (``cumsum``) or product (``cumprod``) along one dim,
the reverse sum, and cumprod's exact gradient.

The twin of ``kernels/cpu/scan.py``: the input is seen as C-contiguous
(A, L, B) around the scanned dim.  Parallel strategy: one thread per column
(a, b), which walks its L elements in order (consecutive threads take
consecutive b, so their reads coalesce when B > 1).  Accumulation is in
float64 for floats and int64 for integers, as on the CPU.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from . import _memory as A
from ._launch import launch


@cuda.jit
def _scan_kernel(x, out, n, b_n, reverse, zero, columns, mul):
    """x, out: flat (A, L, B); thread per column (a, b); ``mul``: a running product."""
    for t in range(cuda.grid(1), columns, cuda.gridsize(1)):
        a = t // b_n
        base = a * n * b_n + t - a * b_n
        acc = zero
        for step in range(n):
            q = base + (n - 1 - step if reverse else step) * b_n
            if mul:
                acc *= x[q]
            else:
                acc += x[q]
            out[q] = acc


@cuda.jit
def _cumprod_grad_kernel(x, y, g, dx, n, b_n, columns):
    """Thread per column; the formula of the CPU twin (``_cumprod_grad_column``)."""
    for t in range(cuda.grid(1), columns, cuda.gridsize(1)):
        a = t // b_n
        base = a * n * b_n + t - a * b_n
        z = n
        for ell in range(n):
            if x[base + ell * b_n] == 0 and z == n:
                z = ell
        acc = 0.0
        for step in range(n):
            ell = n - 1 - step
            q = base + ell * b_n
            if ell < z:
                acc += g[q] * y[q]
                dx[q] = acc / x[q]
            else:
                dx[q] = 0.0
        if z < n:
            p = 1.0
            s = 0.0
            for ell in range(z, n):
                q = base + ell * b_n
                if ell > z:
                    p *= x[q]
                s += g[q] * p
            prev = y[base + (z - 1) * b_n] if z > 0 else 1.0
            dx[base + z * b_n] = s * prev


def cumsum(x, axis: int, reverse: bool = False, out_dtype=None):
    """Running sum of x along ``axis`` (from the end when ``reverse``); a new array of x's shape."""
    shape = tuple(x.shape)
    out = A.empty(shape, out_dtype or x.dtype)
    n = shape[axis]
    b_n = math.prod(shape[axis + 1:])
    columns = x.size // n if n else 0
    zero = 0.0 if out.dtype.kind == "f" else np.int64(0)
    launch(_scan_kernel, columns, A.flat(A.numeric(x)), A.flat(out), n, b_n, bool(reverse), zero,
           columns, False)
    return out


def cumprod(x, axis: int, out_dtype=None):
    """Running product of x along ``axis``; a new array of x's shape."""
    shape = tuple(x.shape)
    out = A.empty(shape, out_dtype or x.dtype)
    n = shape[axis]
    b_n = math.prod(shape[axis + 1:])
    columns = x.size // n if n else 0
    one = 1.0 if out.dtype.kind == "f" else np.int64(1)
    launch(_scan_kernel, columns, A.flat(A.numeric(x)), A.flat(out), n, b_n, False, one,
           columns, True)
    return out


def cumprod_bwd(x, y, g, axis: int):
    """The input gradient of ``y = cumprod(x, axis)`` (exact with zeros)."""
    shape = tuple(x.shape)
    dx = A.empty(shape, g.dtype)
    n = shape[axis]
    b_n = math.prod(shape[axis + 1:])
    columns = x.size // n if n else 0
    launch(_cumprod_grad_kernel, columns, A.flat(x), A.flat(y), A.flat(g), A.flat(dx), n, b_n,
           columns)
    return dx
