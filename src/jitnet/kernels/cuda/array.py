"""Array plumbing on the GPU: creation, transfers, casts, layout changes, gathers and scatters.

Numba's device arrays cannot transpose, broadcast or fancy-index, so one
kernel does all the moving: ``_strided_copy`` walks an output shape and
reads the source at ``soff + sum_d c_d * sstr[d]`` (c: the coordinates),
writing to ``doff + sum_d c_d * dstr[d]``.  With the right strides it is a
permute (source strides permuted), a broadcast (stride 0), a slice, a
concatenation (destination offset), a cast (the store converts) or a fill
(a scalar source).  Indexing with arrays lives in ``_index.py``.

Every array returned is C-contiguous (see ``_memory.py``); ``reshape`` and
``view`` are therefore always free.  Differs from the CPU table: ``getitem``
returns a copy, not a view (writing into ``x[i]`` does not change x; use
``x[i] = v``), and ``broadcast_to`` materialises its result.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from . import _errors, _index
from . import _memory as A
from ._launch import launch


@cuda.jit
def _strided_copy(src, sval, from_scalar, soff, sstr, dst, doff, dstr, shape, ndim, n):
    """dst[doff + c.dstr] = src[soff + c.sstr] (or ``sval``) for every coordinate c of ``shape``.

    src, dst: flat arrays; shape/strides: MAXDIM-tuples, ``ndim`` of them used.
    One thread per element, grid-stride loop; the store converts the dtype.
    """
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for i in range(start, n, step):
        rem = i
        so = soff
        do = doff
        for d in range(ndim - 1, -1, -1):
            c = rem % shape[d]
            rem //= shape[d]
            so += c * sstr[d]
            do += c * dstr[d]
        if from_scalar:
            dst[do] = sval
        else:
            dst[do] = src[so]


def strided_copy(src, soff: int, sstr, dst, doff: int, dstr, shape) -> None:
    """Copy ``shape`` elements from flat-addressed src to dst (see ``_strided_copy``)."""
    n = math.prod(shape)
    shp, ss, ds = A.collapse(shape, sstr, dstr)
    launch(_strided_copy, n, A.flat(src), A.typed_scalar(0, src.dtype), False, soff, A.pad(ss),
           A.flat(dst), doff, A.pad(ds), A.pad(shp, 1), len(shp), n)


def _fill(dst, value) -> None:
    n = dst.size
    launch(_strided_copy, n, A.dummy(dst.dtype), A.typed_scalar(value, dst.dtype), True, 0,
           A.pad(()), A.flat(dst), 0, A.pad((1,)), A.pad((n,), 1), 1, n)


# ---------------------------------------------------------------- creation and transfers

def empty(shape, dtype):
    return A.empty(shape, dtype)


def full(shape, value, dtype):
    out = A.empty(shape, dtype)
    _fill(out, value)
    return out


def from_host(a: np.ndarray):
    """Host array -> a new device array (a host -> device copy)."""
    return A.to_device(np.asarray(a))


def to_host(x) -> np.ndarray:
    """Device array -> a new host NumPy array (a device -> host copy, which synchronises).

    Errors that kernels deferred (a bad class label, see ``_errors.py``) are raised here.
    """
    _errors.check()
    return x.copy_to_host()


# ---------------------------------------------------------------- casts and layout

def astype(x, dtype):
    out = A.empty(x.shape, dtype)
    strided_copy(x, 0, (1,), out, 0, (1,), (x.size,))
    return out


def copy(x):
    return astype(x, x.dtype)


def contiguous(x):
    if not A.is_contiguous(x):
        raise RuntimeError("contiguous: the CUDA table only makes C-contiguous arrays; got a "
                           "strided device array made elsewhere")
    return x


def reshape(x, shape):
    return A.reshape(x, shape)


def view(x, shape):
    """Reshape without copying: always possible, every CUDA array being C-contiguous."""
    return A.reshape(x, shape)


def permute(x, dims):
    """x with its dims reordered, materialised C-contiguous."""
    st = A.c_strides(x.shape)
    shape = tuple(x.shape[d] for d in dims)
    out = A.empty(shape, x.dtype)
    strided_copy(x, 0, tuple(st[d] for d in dims), out, 0, A.c_strides(shape), shape)
    return out


def broadcast_to(x, shape):
    """x broadcast to ``shape``, materialised (x itself when the shape already matches)."""
    shape = tuple(shape)
    if shape == tuple(x.shape):
        return x
    out = A.empty(shape, x.dtype)
    strided_copy(x, 0, A.broadcast_strides(x.shape, shape), out, 0, A.c_strides(shape), shape)
    return out


# ---------------------------------------------------------------- indexing

def getitem(x, index):
    """x[index] as a new array (ints, slices, None, Ellipsis, int/bool arrays; NumPy rules)."""
    return _index.gather(x, _index.plan(tuple(x.shape), index))


def index_add(shape, dtype, index, g):
    """zeros(shape)[index] += g, accumulating repeated indices (atomics); indexing's backward."""
    out = full(shape, 0, dtype)
    p = _index.plan(tuple(shape), index)
    if g.dtype != out.dtype:
        g = astype(g, out.dtype)
    _index.scatter_add(out, p, broadcast_to(g, p.shape))
    return out


def setitem(x, index, value) -> None:
    """x[index] = value in place; value a number, a device array, or host data (copied up)."""
    p = _index.plan(tuple(x.shape), index)
    if isinstance(value, (int, float, bool, np.number, np.bool_)):
        _index.scatter_store(x, p, value=value)
        return
    if isinstance(value, (np.ndarray, list, tuple)):  # the user's host data
        value = A.to_device(np.asarray(value, dtype=x.dtype))
    _index.scatter_store(x, p, broadcast_to(value, p.shape))


# ---------------------------------------------------------------- joining

def concat(arrays, axis: int):
    """Join C-contiguous arrays along ``axis``: one strided copy into the output per input."""
    shape = list(arrays[0].shape)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    out = A.empty(shape, arrays[0].dtype)
    ost = A.c_strides(shape)
    start = 0
    for a in arrays:
        if a.size:
            strided_copy(a, 0, A.c_strides(a.shape), out, start * ost[axis], ost, tuple(a.shape))
        start += a.shape[axis]
    return out


def stack(arrays, axis: int):
    return concat([A.reshape(a, a.shape[:axis] + (1,) + a.shape[axis:]) for a in arrays], axis)


# ---------------------------------------------------------------- along an axis

@cuda.jit(device=True)
def _along_offset(i, shape, ndim, axis, idx, istr, x_axis_size, xstr):
    """Offset in x of element i of an ``idx``-shaped walk: idx's value replaces the axis
    coordinate; also returns the offset of i in idx.  -1 for an index out of range."""
    rem = i
    io = 0
    xo = 0
    for d in range(ndim - 1, -1, -1):
        c = rem % shape[d]
        rem //= shape[d]
        io += c * istr[d]
        if d != axis:
            xo += c * xstr[d]
    v = idx[io]
    if v < 0:
        v += x_axis_size
    if v < 0 or v >= x_axis_size:
        return -1
    return xo + v * xstr[axis]


@cuda.jit
def _take_along_kernel(x, idx, out, n, shape, ndim, axis, istr, x_axis_size, xstr):
    """out[c] = x[c with c[axis] = idx[c]]; one thread per output element."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for i in range(start, n, step):
        off = _along_offset(i, shape, ndim, axis, idx, istr, x_axis_size, xstr)
        if off >= 0:
            out[i] = x[off]
        else:
            out[i] = 0


@cuda.jit
def _put_along_kernel(x, idx, src, sval, from_scalar, n, shape, ndim, axis, istr, x_axis_size,
                      xstr):
    """x[c with c[axis] = idx[c]] = src[c] (or the scalar ``sval``); one value wins on repeats."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for i in range(start, n, step):
        off = _along_offset(i, shape, ndim, axis, idx, istr, x_axis_size, xstr)
        if off >= 0:
            if from_scalar:
                x[off] = sval
            else:
                x[off] = src[i]


@cuda.jit
def _put_along_add_kernel(x, idx, src, n, shape, ndim, axis, istr, x_axis_size, xstr):
    """x[c with c[axis] = idx[c]] += src[c] with ``cuda.atomic.add``."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for i in range(start, n, step):
        off = _along_offset(i, shape, ndim, axis, idx, istr, x_axis_size, xstr)
        if off >= 0:
            cuda.atomic.add(x, off, src[i])


def _along_args(xshape, idx, shape, axis):
    """Walk ``shape``: idx read with broadcast strides, x addressed with its C strides."""
    xst = A.c_strides(xshape)
    xstr = tuple(0 if (d != axis and xshape[d] == 1 and shape[d] != 1) else xst[d]
                 for d in range(len(xshape)))
    istr = A.broadcast_strides(idx.shape, shape)
    return (A.pad(shape, 1), len(shape), axis, A.pad(istr), xshape[axis], A.pad(xstr))


def take_along(x, idx, axis: int):
    """np.take_along_axis on the device: idx (int64) broadcasts against x outside ``axis``."""
    other = [s for d, s in enumerate(np.broadcast_shapes(
        tuple(1 if d == axis else s for d, s in enumerate(x.shape)),
        tuple(1 if d == axis else s for d, s in enumerate(idx.shape))))]
    shape = tuple(idx.shape[axis] if d == axis else s for d, s in enumerate(other))
    out = A.empty(shape, x.dtype)
    n = out.size
    launch(_take_along_kernel, n, A.flat(x), A.flat(idx), A.flat(out), n,
           *_along_args(tuple(x.shape), idx, shape, axis))
    return out


def put_along_add(shape, dtype, idx, g, axis: int):
    """zeros(shape) with g (idx's shape) added at ``idx`` along ``axis`` (take_along's backward)."""
    out = full(shape, 0, dtype)
    if g.dtype != out.dtype:
        g = astype(g, out.dtype)
    g = broadcast_to(g, tuple(idx.shape))
    n = g.size
    launch(_put_along_add_kernel, n, A.flat(out), A.flat(idx), A.flat(g), n,
           *_along_args(tuple(shape), idx, tuple(idx.shape), axis))
    return out


def put_along(x, idx, src, axis: int) -> None:
    """x[..., idx, ...] = src along ``axis`` in place; src a number or idx's shape."""
    n = math.prod(idx.shape)
    if isinstance(src, (int, float, bool, np.number, np.bool_)):
        s, sval, from_scalar = A.dummy(x.dtype), A.typed_scalar(src, x.dtype), True
    else:
        s = A.flat(broadcast_to(src, tuple(idx.shape)))
        sval, from_scalar = A.typed_scalar(0, s.dtype), False
    launch(_put_along_kernel, n, A.flat(x), A.flat(idx), s, sval, from_scalar, n,
           *_along_args(tuple(x.shape), idx, tuple(idx.shape), axis))


# ---------------------------------------------------------------- sorting and in-place

@cuda.jit(device=True)
def _before(a, b, descending):
    """Does key a sort strictly before key b?  NaN is the largest (first when descending)."""
    if descending:
        return a > b or (a != a and b == b)
    return a < b or (b != b and a == a)


@cuda.jit
def _iota_kernel(idx, n, total):
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        idx[e] = e % n


@cuda.jit
def _merge_kernel(x, src, dst, n, width, descending, total):
    """One pass of a stable bottom-up merge sort of every row of x (rows of n keys).

    src holds each row's indices sorted within runs of ``width``; thread e takes
    element e, finds by binary search how many keys of the neighbouring run go
    before it (strictly before, for a left-run key: the left run wins ties, so
    the sort is stable), and writes its index to its place in the merged run.
    """
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        base = (e // n) * n
        j = e - base
        start = (j // (2 * width)) * 2 * width
        mid = min(start + width, n)
        end = min(start + 2 * width, n)
        key = x[base + src[e]]
        if j < mid:
            lo = mid
            hi = end
            while lo < hi:
                m = (lo + hi) // 2
                if _before(x[base + src[base + m]], key, descending):
                    lo = m + 1
                else:
                    hi = m
            dst[base + j + lo - mid] = src[e]
        else:
            lo = start
            hi = mid
            while lo < hi:
                m = (lo + hi) // 2
                if not _before(key, x[base + src[base + m]], descending):
                    lo = m + 1
                else:
                    hi = m
            dst[base + j - mid + lo] = src[e]


def argsort(x, axis: int, descending: bool = False):
    """int64 indices that stably sort x along ``axis`` (NaN last, first when descending).

    A bottom-up merge sort: log2(n) passes of ``_merge_kernel`` over all rows at once.
    """
    shape = tuple(x.shape)
    last = len(shape) - 1
    order = [d for d in range(len(shape)) if d != axis] + [axis]
    xr = x if axis == last else permute(x, order)
    n = shape[axis]
    total = x.size
    src = A.empty((total,), np.int64)
    launch(_iota_kernel, total, src, max(n, 1), total)
    dst = A.empty((total,), np.int64)
    xf = A.flat(A.numeric(xr))
    width = 1
    while width < n:
        launch(_merge_kernel, total, xf, src, dst, n, width, bool(descending), total)
        src, dst = dst, src
        width *= 2
    idx = A.reshape(src, tuple(xr.shape))
    if axis == last:
        return idx
    inverse = [order.index(d) for d in range(len(shape))]
    return permute(idx, inverse)


def binary_(name: str, out, other):
    """``out <name>= other`` in place; other (array or number) broadcasts to out; returns out."""
    from .elementwise import binary_into

    binary_into(name, out, other)
    return out
