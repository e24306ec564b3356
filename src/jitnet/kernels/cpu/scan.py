"""Scan CPU kernels: the running sum along one dim (``cumsum``) and its reverse.

Layout.  The wrapper views the input *without copying* (when it is
C-contiguous) as (A, L, B): A the product of the dims before the scanned one,
L its length, B the product of the dims after it.  One kernel covers every
case: for each a, ``out[a, l, :] = out[a, l - 1, :] + x[a, l, :]``, so the
inner loop runs along B through contiguous memory (it vectorises), and a scan
over the last dim is the case B == 1.

Accumulation is in float64 for float inputs (a float32 running sum of many
terms stays accurate, as PyTorch's CPU cumsum does) and in int64 for integers.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import PARALLEL_MIN, kernel


@kernel(inline="always")
def _scan_block(x, out, a, reverse, zero):
    """Scan x[a] of shape (L, B) along L into out[a]; ``zero`` fixes the accumulator type."""
    n, b_n = x.shape[1], x.shape[2]
    acc = np.full(b_n, zero)
    for step in range(n):
        ell = n - 1 - step if reverse else step
        for b in range(b_n):
            acc[b] += x[a, ell, b]
            out[a, ell, b] = acc[b]


@kernel
def _scan_serial(x, out, reverse, zero):
    """x, out: (A, L, B) C-contiguous; out = running sum of x along L (from the end if reverse)."""
    for a in range(x.shape[0]):
        _scan_block(x, out, a, reverse, zero)


@kernel(parallel=True)
def _scan_parallel(x, out, reverse, zero):
    """As ``_scan_serial``, one a per task (``prange`` over A)."""
    for a in prange(x.shape[0]):
        _scan_block(x, out, a, reverse, zero)


def cumsum(x: np.ndarray, axis: int, reverse: bool = False, out_dtype=None) -> np.ndarray:
    """Running sum of x along ``axis`` (from the last element backwards when ``reverse``).

    Any layout in (non-contiguous input is copied once); a new C-contiguous array of
    x's shape out, of dtype ``out_dtype`` or x's.  ``axis`` is normalised, x is not 0-d.
    """
    shape = x.shape
    a_n = int(np.prod(shape[:axis], dtype=np.int64))
    b_n = int(np.prod(shape[axis + 1:], dtype=np.int64))
    x3 = np.ascontiguousarray(x).reshape(a_n, shape[axis], b_n)
    out = np.empty(x3.shape, dtype=out_dtype or x.dtype)
    zero = 0.0 if out.dtype.kind == "f" else np.int64(0)
    run = _scan_parallel if x3.size >= PARALLEL_MIN and a_n >= 2 else _scan_serial
    run(x3, out, bool(reverse), zero)
    return out.reshape(shape)
