"""Scan CUDA kernels: the running sum along one dim (``cumsum``) and its reverse.

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

from . import _arrays as A
from ._launch import launch


@cuda.jit
def _scan_kernel(x, out, n, b_n, reverse, zero, columns):
    """x, out: flat (A, L, B); thread per column (a, b)."""
    for t in range(cuda.grid(1), columns, cuda.gridsize(1)):
        a = t // b_n
        base = a * n * b_n + t - a * b_n
        acc = zero
        for step in range(n):
            q = base + (n - 1 - step if reverse else step) * b_n
            acc += x[q]
            out[q] = acc


def cumsum(x, axis: int, reverse: bool = False, out_dtype=None):
    """Running sum of x along ``axis`` (from the end when ``reverse``); a new array of x's shape."""
    shape = tuple(x.shape)
    out = A.empty(shape, out_dtype or x.dtype)
    n = shape[axis]
    b_n = math.prod(shape[axis + 1:])
    columns = x.size // n if n else 0
    zero = 0.0 if out.dtype.kind == "f" else np.int64(0)
    launch(_scan_kernel, columns, A.flat(A.numeric(x)), A.flat(out), n, b_n, bool(reverse), zero,
           columns)
    return out
