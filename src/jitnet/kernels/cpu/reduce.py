"""Reduction CPU kernels: sum, prod, max, min, mean, argmax, argmin over any dims.

Layout.  The reduced dims of a C-contiguous input usually form a block at the
front, at the back, or both (``x.sum()``; a bias gradient summed over the
batch, (N, F) -> (F,); a per-channel sum over (N, C, H, W) -> (C,)).  The
wrapper merges neighbouring dims and views the input *without copying* as
(A, C, B): reduce over A and B, keep C.  Other patterns (a kept dim between
two reduced ones is fine, a reduced dim between two kept ones is not) are
transposed and copied into that form first.  Two kernels cover every case:

- B > 1, "rows": out[c] combines A contiguous rows x[a, c, :].  A task kernel
  (``tasks.run_tasks``): each task owns a contiguous run of channels c; a few
  long rows (``x.sum()``) are instead cut into one piece per task, the pieces'
  float64 partials then combined in one serial pass.
- B == 1, "columns": out[c] = combine over a of x[a, c]: the inner loop runs
  along c through contiguous memory into an accumulator row, which LLVM
  vectorises.  Each task owns a run of rows a; the tasks' float64 partial rows
  are combined in NumPy (``_combine_parts``).

Float sums accumulate in float64 (float32 sums of millions of terms stay
accurate), four lanes at a time so the adds pipeline; integer sums are exact
up to 2**53.  Max/min propagate NaN, as PyTorch does.
"""
from __future__ import annotations

import math

import numpy as np

from .._jit import kernel
from ..opcodes import ARGMAX, MAX, MEAN, MIN, PROD, SUM
from .tasks import run_tasks, span, task, tasks_for


@kernel(inline="always")
def _identity(op):
    """The value a reduction starts from (an empty sum is 0, an empty product 1)."""
    if op == PROD:
        return 1.0
    if op == MAX:
        return -math.inf
    if op == MIN:
        return math.inf
    return 0.0


@kernel(inline="always")
def _combine(op, acc, v):
    """One step of the reduction: ``acc`` (float64) combined with the element ``v``."""
    if op == MAX:  # a NaN, once met, wins
        return v * 1.0 if (v > acc or v != v) else acc
    if op == MIN:
        return v * 1.0 if (v < acc or v != v) else acc
    if op == PROD:
        return acc * v
    return acc + v


@kernel(inline="always")
def _row(op, row):
    """Combine one contiguous 1-D row with op code ``op`` (MEAN sums here; callers divide)."""
    n = row.shape[0]
    if op == SUM or op == MEAN:
        # four independent float64 accumulators: the adds overlap instead of
        # waiting on each other (float adds are never reordered by LLVM), 3x
        # faster than one accumulator on long rows
        a0 = a1 = a2 = a3 = 0.0
        m = n - n % 4
        for i in range(0, m, 4):
            a0 += row[i]
            a1 += row[i + 1]
            a2 += row[i + 2]
            a3 += row[i + 3]
        for i in range(m, n):
            a0 += row[i]
        return (a0 + a1) + (a2 + a3)
    acc = _identity(op)
    for i in range(n):
        acc = _combine(op, acc, row[i])
    return acc


@kernel(inline="always")
def _argrow(op, row):
    """Index of the first max (op ARGMAX) or min (ARGMIN) of a row; a NaN counts as the max.
    An empty row (the op layer refuses those, as PyTorch) gives 0 without reading."""
    if row.shape[0] == 0:
        return 0
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


@kernel(inline="always")
def _finish(op, acc, count):
    if op == MEAN:
        return acc / count if count > 0 else math.nan
    return acc


@task
def _rows_task(op, x, out, t, tasks):
    """x: (A, C, B) C-contiguous; out[c] = combine over a, b of x[a, c, b], for task t's
    share of the channels c."""
    a_n, c_n, b_n = x.shape
    lo, hi = span(t, tasks, c_n)
    for c in range(lo, hi):
        acc = _identity(op)
        for a in range(a_n):
            acc = _combine(op, acc, _row(op, x[a, c]))
        out[c] = _finish(op, acc, a_n * b_n)


@task
def _split_task(op, x, part, t, tasks):
    """x: (C, B), a few long rows: part[c, t] = row c's piece t of ``tasks`` combined (sums
    for MEAN); ``_combine_parts`` over the tasks finishes them."""
    inner = SUM if op == MEAN else op
    lo, hi = span(t, tasks, x.shape[1])
    for r in range(x.shape[0]):
        part[r, t] = _row(inner, x[r, lo:hi])


@task
def _cols_task(op, x, part, t, tasks):
    """x: (A, C) C-contiguous; part[t, c] = combine over task t's rows a of x[a, c], in
    float64: the inner loop walks a contiguous row."""
    lo, hi = span(t, tasks, x.shape[0])
    # a local accumulator, copied out at the end: LLVM then knows it aliases no row of x,
    # and the loop over a row vectorises without run-time overlap tests (measured 1.4x)
    acc = np.empty(x.shape[1])
    for j in range(acc.shape[0]):
        acc[j] = _identity(op)
    if op == SUM or op == MEAN:
        # unswitched: with the op known inside the loop LLVM vectorises it (a bias gradient
        # (2048, 512) -> (512,): 0.105 ms on one thread, np.sum's speed, against 0.46 ms
        # with the op tested per element)
        for a in range(lo, hi):
            row = x[a]
            for j in range(row.shape[0]):
                acc[j] += row[j]
    else:
        for a in range(lo, hi):
            row = x[a]
            for j in range(row.shape[0]):
                acc[j] = _combine(op, acc[j], row[j])
    out = part[t]
    for j in range(acc.shape[0]):
        out[j] = acc[j]


@task
def _argreduce_task(op, x, out, t, tasks):
    lo, hi = span(t, tasks, x.shape[0])
    for r in range(lo, hi):
        out[r] = _argrow(op, x[r])


def _combine_parts(op: int, part: np.ndarray, count: int) -> np.ndarray:
    """The tasks' (tasks, C) float64 partial results combined over the tasks and finished
    (a mean divided; NaN wins a max or min, as in the kernels).  NumPy: a few rows."""
    if op == MAX:
        return part.max(axis=0)
    if op == MIN:
        return part.min(axis=0)
    if op == PROD:
        return part.prod(axis=0)
    total = part.sum(axis=0)
    if op == MEAN:
        return total / count if count > 0 else np.full(total.shape, np.nan)
    return total


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


def _acb_shape(shape: tuple, axes: tuple[int, ...]):
    """(A, C, B) with A, B the products of the leading and trailing reduced dims and C of
    the kept dims between them; None when a reduced dim sits between two kept ones."""
    a = c = b = 1
    stage = 0  # 0: leading reduced dims, 1: kept block, 2: trailing reduced dims
    for d, s in enumerate(shape):
        if d in axes:
            if stage == 0:
                a *= s
            else:
                stage = 2
                b *= s
        elif stage == 2:
            return None
        else:
            stage = 1
            c *= s
    if stage == 0:  # everything reduced: one long row
        return 1, 1, a
    return a, c, b


def _keepdim_shape(shape, axes):
    return tuple(1 if d in axes else s for d, s in enumerate(shape))




def reduce(op: int, x: np.ndarray, axes: tuple[int, ...], keepdim: bool,
           out_dtype=None) -> np.ndarray:
    """Reduce x over ``axes`` (normalised, sorted, non-empty) with op code SUM/PROD/MAX/MIN/MEAN.

    Output dtype is ``out_dtype`` or x's; keepdim keeps reduced dims with size 1.
    """
    shape = x.shape
    if len(axes) == len(shape):  # x.sum(), x.mean(): the most common case, made short
        final = (1,) * len(shape) if keepdim else ()
        acb = (1, 1, x.size)
    else:
        final = _keepdim_shape(shape, axes) if keepdim else \
            tuple([s for d, s in enumerate(shape) if d not in axes])
        acb = _acb_shape(shape, axes)
    if acb is not None:
        x3 = x.reshape(acb)  # a view when x is C-contiguous (the common case)
        if not x3.flags.c_contiguous:
            x3 = np.ascontiguousarray(x3)
    else:
        rows2d, _ = _as_rows(x, axes)
        x3 = rows2d.reshape(1, rows2d.shape[0], rows2d.shape[1])
    a_n, c_n, b_n = x3.shape
    out = np.empty(c_n, dtype=out_dtype or x.dtype)
    tasks = tasks_for(x3.size)
    if b_n == 1:  # reduce leading dims only: vectorise along the kept ones
        x2 = x3.reshape(a_n, c_n)
        # tasks own runs of rows (each row a vectorised pass into the task's partials),
        # not blocks of columns: a column-block parfor did not vectorise and measured 3-8x
        # slower than one thread
        part = np.empty((tasks, c_n))
        run_tasks(_cols_task, (op, x2, part), tasks)
        out[:] = _combine_parts(op, part, a_n)
    elif tasks > 1 and c_n < 8 and a_n == 1:  # a few long rows: each task a piece of every row
        _split(op, x3.reshape(c_n, b_n), out, tasks)
    else:
        run_tasks(_rows_task, (op, x3, out), tasks)
    return out.reshape(final)


def _split(op: int, x2: np.ndarray, out: np.ndarray, tasks: int) -> None:
    """out[c] = op over the long row x2[c], each of ``tasks`` tasks reducing a piece of every
    row into float64 partials, then combined over the tasks (and divided, for MEAN)."""
    part = np.empty((x2.shape[0], tasks))
    run_tasks(_split_task, (op, x2, part), tasks)
    out[...] = _combine_parts(op, part.T, x2.shape[1])


def argreduce(op: int, x: np.ndarray, axis: int | None, keepdim: bool) -> np.ndarray:
    """int64 index of the max (ARGMAX) or min (ARGMIN) along ``axis`` (None: of the flattened x)."""
    if axis is None:
        rows2d, kept = np.ascontiguousarray(x).reshape(1, -1), ()
        final = (1,) * x.ndim if keepdim else ()
    else:
        rows2d, kept = _as_rows(x, (axis,))
        final = _keepdim_shape(x.shape, (axis,)) if keepdim else kept
    out = np.empty(rows2d.shape[0], dtype=np.int64)
    run_tasks(_argreduce_task, (op, rows2d, out), tasks_for(rows2d.size))
    return out.reshape(final)
