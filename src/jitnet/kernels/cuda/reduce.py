"""Reduction CUDA kernels: sum, prod, max, min, mean, argmax, argmin over any dims.

Layout, as on the CPU: the reduced dims of a C-contiguous input usually form a
block at the front, at the back, or both, so the wrapper views the input as
(A, C, B) -- reduce over A and B, keep C -- without copying; other patterns are
permuted into (1, C, B) first (one strided copy).

Parallel strategy: a *shared-memory tree per block*.  Block g owns channel
c (or, when a few channels hold many elements, a chunk ``p`` of one channel:
``parts`` blocks per channel); its threads stride through the elements
(consecutive threads read consecutive addresses when B > 1), each keeps a
running result, and ``block_combine`` halves the block's values pairwise in
shared memory until one is left.  With several parts a second pass reduces
the (C, parts) partial results the same way.  Accumulation is in float64
(float32 sums of millions of terms stay accurate) and max/min propagate NaN,
as the CPU kernels and PyTorch do.

argmax/argmin: one block per row of the input viewed as (rows, n) with the
reduced axis last; each thread keeps its best (value, index), then a tree over
pairs keeps the better one (a NaN counts as the max, ties go to the first).
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda, float64, int64

from ..cpu.reduce import _acb_shape, _keepdim_shape
from ..opcodes import ARGMAX, MAX, MEAN, MIN, PROD
from . import _memory as A
from ._launch import RED_THREADS, SIMULATOR, launch_blocks


@cuda.jit(device=True)
def _identity(op):
    """The value a reduction starts from (an empty sum is 0, an empty product 1)."""
    if op == PROD:
        return 1.0
    if op == MAX:
        return -math.inf
    if op == MIN:
        return math.inf
    return 0.0


@cuda.jit(device=True)
def combine(op, acc, v):
    """One step of the reduction: ``acc`` (float64) combined with the element ``v``."""
    if op == MAX:  # a NaN, once met, wins
        return v * 1.0 if (v > acc or v != v) else acc
    if op == MIN:
        return v * 1.0 if (v < acc or v != v) else acc
    if op == PROD:
        return acc * v
    return acc + v


@cuda.jit(device=True)
def block_combine(op, sh, value):
    """Combine one value per thread of the block; every thread gets the result.

    ``sh``: a shared float64 array of RED_THREADS entries, declared by the kernel.
    All threads of the block must call it (it synchronises them).
    """
    t = cuda.threadIdx.x
    sh[t] = value
    cuda.syncthreads()
    s = RED_THREADS // 2
    while s > 0:
        if t < s:
            sh[t] = combine(op, sh[t], sh[t + s])
        cuda.syncthreads()
        s //= 2
    r = sh[0]
    cuda.syncthreads()  # sh is free again for the next call
    return r


@cuda.jit
def _reduce_kernel(op, x, out, a_n, c_n, b_n, parts, final, count):
    """x: flat (A, C, B); out[c * parts + p] = combine of part p of channel c's A*B elements.

    ``final``: divide MEAN by ``count`` (NaN when 0); a first pass of two leaves sums.
    One block per (channel, part), block-stride loop; threads stride through the part.
    """
    sh = cuda.shared.array(RED_THREADS, float64)
    t = cuda.threadIdx.x
    m = a_n * b_n
    chunk = (m + parts - 1) // parts
    for g in range(cuda.blockIdx.x, c_n * parts, cuda.gridDim.x):
        c = g // parts
        lo = (g - c * parts) * chunk
        hi = min(m, lo + chunk)
        acc = _identity(op)
        for e in range(lo + t, hi, RED_THREADS):
            a = e // b_n
            acc = combine(op, acc, x[(a * c_n + c) * b_n + e - a * b_n])
        r = block_combine(op, sh, acc)
        if t == 0:
            if final and op == MEAN:
                out[g] = r / count if count > 0 else math.nan
            else:
                out[g] = r


_PER_BLOCK = RED_THREADS * (4 if SIMULATOR else 32)
"""Elements one block reduces before the wrapper splits a channel over several blocks."""


def _run(op, x3, out_dtype):
    a_n, c_n, b_n = x3.shape
    m = a_n * b_n
    parts = 1
    if c_n < (4 if SIMULATOR else 256) and m > _PER_BLOCK:
        parts = min((m + _PER_BLOCK - 1) // _PER_BLOCK, 8 if SIMULATOR else 1024)
    xf = A.flat(A.numeric(x3))
    out = A.empty((c_n,), out_dtype)
    if parts == 1:
        launch_blocks(_reduce_kernel, c_n, op, xf, out, a_n, c_n, b_n, 1, True, m)
        return out
    part = A.empty((c_n * parts,), np.float64)
    launch_blocks(_reduce_kernel, c_n * parts, op, xf, part, a_n, c_n, b_n, parts, False, m)
    launch_blocks(_reduce_kernel, c_n, op, part, out, 1, c_n, parts, 1, True, m)
    return out


def reduce(op: int, x, axes: tuple[int, ...], keepdim: bool, out_dtype=None):
    """Reduce x over ``axes`` (normalised, sorted, non-empty) with op code SUM/PROD/MAX/MIN/MEAN.

    Output dtype is ``out_dtype`` or x's; keepdim keeps reduced dims with size 1.
    """
    shape = tuple(x.shape)
    if len(axes) == len(shape):
        final = (1,) * len(shape) if keepdim else ()
        acb = (1, 1, x.size)
    else:
        final = _keepdim_shape(shape, axes) if keepdim else \
            tuple(s for d, s in enumerate(shape) if d not in axes)
        acb = _acb_shape(shape, axes)
    if acb is None:  # a reduced dim between kept ones: move the reduced dims last
        from .array import permute

        keep = [d for d in range(len(shape)) if d not in axes]
        xp = permute(x, keep + list(axes))
        c = math.prod(shape[d] for d in keep)
        acb = (1, c, x.size // c if c else 0)
        x = xp
    out = _run(op, A.reshape(x, acb), np.dtype(out_dtype or x.dtype))
    return A.reshape(out, final)


@cuda.jit(device=True)
def _better(op, v, i, bv, bi):
    """Is (value v, index i) a better arg-max/min than (bv, bi)?  Index -1 means none yet."""
    if i < 0:
        return False
    if bi < 0:
        return True
    vn = v != v
    bn = bv != bv
    if vn or bn:  # NaN is the max (and the min, as PyTorch): the first NaN wins
        return (vn and bn and i < bi) or (vn and not bn)
    if v == bv:
        return i < bi
    if op == ARGMAX:
        return v > bv
    return v < bv


@cuda.jit
def _argreduce_kernel(op, x, out, rows, n):
    """x: flat (rows, n); out[r] = index of the best element of row r.  One block per row."""
    shv = cuda.shared.array(RED_THREADS, float64)
    shi = cuda.shared.array(RED_THREADS, int64)
    t = cuda.threadIdx.x
    for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
        bv = 0.0
        bi = -1
        for j in range(t, n, RED_THREADS):
            v = x[r * n + j] * 1.0
            if _better(op, v, j, bv, bi):
                bv = v
                bi = j
        shv[t] = bv
        shi[t] = bi
        cuda.syncthreads()
        s = RED_THREADS // 2
        while s > 0:
            if t < s and _better(op, shv[t + s], shi[t + s], shv[t], shi[t]):
                shv[t] = shv[t + s]
                shi[t] = shi[t + s]
            cuda.syncthreads()
            s //= 2
        if t == 0:
            out[r] = shi[0]
        cuda.syncthreads()


def argreduce(op: int, x, axis: int | None, keepdim: bool):
    """int64 index of the max (ARGMAX) or min (ARGMIN) along ``axis`` (None: of the flattened x)."""
    shape = tuple(x.shape)
    if axis is None:
        rows, n = 1, x.size
        final = (1,) * len(shape) if keepdim else ()
    else:
        if axis != len(shape) - 1:
            from .array import permute

            x = permute(x, [d for d in range(len(shape)) if d != axis] + [axis])
        n = shape[axis]
        rows = x.size // n if n else 0
        final = _keepdim_shape(shape, (axis,)) if keepdim else \
            tuple(s for d, s in enumerate(shape) if d != axis)
    out = A.empty((rows,), np.int64)
    launch_blocks(_argreduce_kernel, rows, op, A.flat(A.numeric(x)), out, rows, n)
    return A.reshape(out, final)
