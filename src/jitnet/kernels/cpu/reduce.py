"""Reduction CPU kernels: sum, prod, max, min, mean, argmax, argmin over any dims.

Every reduction is a *row* reduction: the wrapper moves the reduced dims to the
end and views the input as a C-contiguous (rows, n) matrix, so one kernel
serves every ``dim``/``keepdim`` combination.  Parallel strategy: ``prange``
over rows when there are many; a few long rows (``x.sum()`` of a big tensor)
are split into chunks reduced in parallel, then combined.  Float sums
accumulate in float64 (so float32 sums of millions of terms stay accurate);
integer sums are exact up to 2**53.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import PARALLEL_MIN, kernel
from ..opcodes import ARGMAX, MAX, MEAN, MIN, PROD, SUM

_CHUNKS = 64


@kernel(inline="always")
def _row(op, row):
    """Reduce one contiguous 1-D row with op code ``op`` (NaN propagates through max/min)."""
    n = row.shape[0]
    if op == MAX or op == MIN:
        acc = row[0] * 1.0
        for i in range(1, n):
            v = row[i]
            if math.isnan(v):
                return v * 1.0
            if (op == MAX and v > acc) or (op == MIN and v < acc):
                acc = v * 1.0
        if math.isnan(acc):
            return acc
        return acc
    if op == PROD:
        acc = 1.0
        for i in range(n):
            acc *= row[i]
        return acc
    acc = 0.0
    for i in range(n):
        acc += row[i]
    if op == MEAN:
        return acc / n if n > 0 else math.nan
    return acc


@kernel(inline="always")
def _argrow(op, row):
    """Index of the first max (op ARGMAX) or min (ARGMIN) of a row; a NaN counts as the max."""
    best = row[0]
    arg = 0
    if math.isnan(best):
        return 0
    for i in range(1, row.shape[0]):
        v = row[i]
        if math.isnan(v):
            return i
        if (op == ARGMAX and v > best) or (op != ARGMAX and v < best):
            best = v
            arg = i
    return arg


@kernel
def _reduce_serial(op, x, out):
    for r in range(x.shape[0]):
        out[r] = _row(op, x[r])


@kernel(parallel=True)
def _reduce_parallel(op, x, out):
    for r in prange(x.shape[0]):
        out[r] = _row(op, x[r])


@kernel(parallel=True)
def _reduce_split(op, x, out, chunks):
    """Few long rows: each row is cut into ``chunks`` pieces reduced by separate threads."""
    rows, n = x.shape
    step = (n + chunks - 1) // chunks
    inner = SUM if op == MEAN else op
    part = np.empty((rows, chunks))
    for t in prange(rows * chunks):
        r = t // chunks
        lo = (t % chunks) * step
        hi = min(n, lo + step)
        part[r, t % chunks] = _row(inner, x[r, lo:hi])
    for r in range(rows):
        acc = _row(inner, part[r])
        out[r] = acc / n if op == MEAN else acc


@kernel
def _argreduce_serial(op, x, out):
    for r in range(x.shape[0]):
        out[r] = _argrow(op, x[r])


@kernel(parallel=True)
def _argreduce_parallel(op, x, out):
    for r in prange(x.shape[0]):
        out[r] = _argrow(op, x[r])


def _as_rows(x: np.ndarray, axes: tuple[int, ...]):
    """Move ``axes`` last and view x as a contiguous (rows, n) matrix; also return kept shape."""
    keep = [d for d in range(x.ndim) if d not in axes]
    order = keep + list(axes)
    if order != list(range(x.ndim)):
        x = x.transpose(order)
    kept_shape = tuple(x.shape[: len(keep)])
    rows = math.prod(kept_shape)
    n = math.prod(x.shape[len(keep):])
    return np.ascontiguousarray(x).reshape(rows, n), kept_shape


def _keepdim_shape(shape, axes):
    return tuple(1 if d in axes else s for d, s in enumerate(shape))


def reduce(op: int, x: np.ndarray, axes: tuple[int, ...], keepdim: bool,
           out_dtype=None) -> np.ndarray:
    """Reduce x over ``axes`` (normalised, sorted, non-empty) with op code SUM/PROD/MAX/MIN/MEAN.

    Output dtype is ``out_dtype`` or x's; keepdim keeps reduced dims with size 1.
    """
    rows2d, kept_shape = _as_rows(x, axes)
    out = np.empty(rows2d.shape[0], dtype=out_dtype or x.dtype)
    rows, n = rows2d.shape
    if rows * n < PARALLEL_MIN:
        _reduce_serial(op, rows2d, out)
    elif rows >= 8:
        _reduce_parallel(op, rows2d, out)
    else:
        _reduce_split(op, rows2d, out, min(_CHUNKS, n))
    return out.reshape(_keepdim_shape(x.shape, axes) if keepdim else kept_shape)


def argreduce(op: int, x: np.ndarray, axis: int | None, keepdim: bool) -> np.ndarray:
    """int64 index of the max (ARGMAX) or min (ARGMIN) along ``axis`` (None: of the flattened x)."""
    if axis is None:
        rows2d, kept = np.ascontiguousarray(x).reshape(1, -1), ()
        final = (1,) * x.ndim if keepdim else ()
    else:
        rows2d, kept = _as_rows(x, (axis,))
        final = _keepdim_shape(x.shape, (axis,)) if keepdim else kept
    out = np.empty(rows2d.shape[0], dtype=np.int64)
    run = _argreduce_parallel if rows2d.size >= PARALLEL_MIN else _argreduce_serial
    run(op, rows2d, out)
    return out.reshape(final)
