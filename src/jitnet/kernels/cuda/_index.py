"""Indexing on the device: ``x[index]``, ``x[index] = v`` and indexing's backward.

NumPy's indexing rules, reduced to one formula per output element.  An index
(ints, slices, None, Ellipsis, integer and bool arrays) turns, on the host,
into a ``Plan``:

- ``base``: the flat offset in x of the output's first element;
- ``shape`` / ``strides``: the output's shape, and for each output dim the
  step it takes through x (0 for a new axis and for the advanced dims);
- the advanced block: output dims ``[adv_lo, adv_hi)`` hold the broadcast
  shape of the integer index arrays, stacked as a (K, J) int64 device array
  ``adv`` (K arrays, J = the block's size), one per indexed dim of x with
  that dim's stride and size (``kstr``, ``ksize``).

Output element i then lives at
``base + sum_d c_d * strides[d] + sum_k adv[k, j] * kstr[k]`` in x, where c
are i's coordinates and j the flat index of its coordinates in the block.
Three kernels use it: gather (getitem), scatter-add with atomics (the
gradient, where repeated indices accumulate) and scatter-store (setitem).

As PyTorch: ints are applied first (each drops its dim, like a basic index);
then when the advanced indices sit next to each other among the remaining
items their dims replace them in place, otherwise they go first.  (NumPy
differs: it counts an int next to an array as a 0-d array.)  Bool arrays
become the integer arrays of their nonzero positions (computed on the host:
only host masks reach here, the op layer copies index tensors to the host to
check their bounds).
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

from . import _memory as A
from ._launch import launch


class Plan:
    __slots__ = ("base", "shape", "strides", "adv_lo", "adv_hi", "adv", "k", "kstr", "ksize")

    def args(self):
        """The kernel arguments that describe the index."""
        return (self.base, A.pad(self.shape, 1), A.pad(self.strides), len(self.shape),
                self.adv_lo, self.adv_hi, self.adv, self.k, A.pad(self.kstr), A.pad(self.ksize))


def _is_device(a) -> bool:
    return hasattr(a, "copy_to_host")


def _expand(shape, items):
    """Ellipsis -> slices; bool arrays -> int arrays of their nonzero positions."""
    out = []
    consumed = 0
    for it in items:
        if isinstance(it, np.ndarray) and it.dtype == np.bool_:
            consumed += max(it.ndim, 1)
        elif it is not None and it is not Ellipsis:
            consumed += 1
    seen_ellipsis = False
    for it in items:
        if it is Ellipsis:
            if seen_ellipsis:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen_ellipsis = True
            out.extend([slice(None)] * (len(shape) - consumed))
        elif isinstance(it, (bool, np.bool_)):
            raise NotImplementedError("getitem: a bool scalar index is not supported on CUDA")
        elif isinstance(it, np.ndarray) and it.dtype == np.bool_:
            out.extend(np.nonzero(it) if it.ndim else [np.nonzero(np.atleast_1d(it))[0]])
        else:
            out.append(it)
    return out


def plan(shape: tuple, index) -> Plan:
    """The Plan of ``x[index]`` for x of ``shape`` (index already checked by the op layer)."""
    items = _expand(shape, index if isinstance(index, tuple) else (index,))
    cst = A.c_strides(shape)
    p = Plan()
    base, dim = 0, 0
    dims = []  # ("b", length, stride) or ("adv",), a placeholder for the advanced block
    adv, adv_pos = [], []
    pos = -1  # position among the items that are not ints (PyTorch's adjacency rule)
    for it in items:
        if not isinstance(it, (int, np.integer)):
            pos += 1
        if it is None:
            dims.append(("b", 1, 0))
            continue
        if isinstance(it, slice):
            start, stop, step = it.indices(shape[dim])
            dims.append(("b", len(range(start, stop, step)), cst[dim] * step))
            base += start * cst[dim] if len(range(start, stop, step)) else 0
        elif isinstance(it, (int, np.integer)):
            base += (int(it) % shape[dim]) * cst[dim]
        else:
            a = it if _is_device(it) else np.asarray(it, dtype=np.int64)
            if not adv:
                dims.append(("adv",))
            adv.append((a, cst[dim], shape[dim]))
            adv_pos.append(pos)
        dim += 1
    dims.extend(("b", shape[d], cst[d]) for d in range(dim, len(shape)))
    p.base = base
    if not adv:
        p.shape = tuple(d[1] for d in dims)
        p.strides = tuple(d[2] for d in dims)
        p.adv_lo = p.adv_hi = p.k = 0
        p.adv, p.kstr, p.ksize = A.dummy(np.int64).reshape((1, 1)), (), ()
        return p
    bshape = tuple(np.broadcast_shapes(*[tuple(a.shape) for a, _, _ in adv]))
    adjacent = adv_pos == list(range(adv_pos[0], adv_pos[0] + len(adv_pos)))
    at = dims.index(("adv",))
    rest = dims[:at] + dims[at + 1:]
    if not adjacent:
        at = 0
    block = [("b", s, 0) for s in bshape]
    full = rest[:at] + block + rest[at:]
    p.shape = tuple(d[1] for d in full)
    p.strides = tuple(d[2] for d in full)
    p.adv_lo, p.adv_hi = at, at + len(bshape)
    p.k = len(adv)
    p.kstr = tuple(s for _, s, _ in adv)
    p.ksize = tuple(n for _, _, n in adv)
    p.adv = _stack(adv, bshape)
    return p


def _stack(adv, bshape):
    """The K index arrays broadcast to ``bshape`` as one (K, J) int64 device array."""
    j = math.prod(bshape)
    if all(not _is_device(a) for a, _, _ in adv):  # the user's host arrays: one copy up
        host = np.empty((len(adv), j), dtype=np.int64)
        for k, (a, _, _) in enumerate(adv):
            host[k] = np.broadcast_to(a, bshape).reshape(-1)
        return A.to_device(host)
    if len(adv) == 1 and tuple(adv[0][0].shape) == bshape and adv[0][0].dtype == np.int64:
        return A.reshape(adv[0][0], (1, j))  # one device index array: a free view
    from .array import astype, broadcast_to, concat

    rows = []
    for a, _, _ in adv:
        d = a if _is_device(a) else A.to_device(np.asarray(a, dtype=np.int64))
        if d.dtype != np.int64:
            d = astype(d, np.int64)
        rows.append(A.reshape(broadcast_to(d, bshape), (1, j)))
    return concat(rows, 0)


@cuda.jit(device=True)
def _offset(i, base, shape, strides, ndim, adv_lo, adv_hi, adv, nk, kstr, ksize):
    """Flat offset in x of output element i, or -1 where an index is out of range."""
    rem = i
    off = base
    j = 0
    jmul = 1
    for d in range(ndim - 1, -1, -1):
        c = rem % shape[d]
        rem //= shape[d]
        if d >= adv_lo and d < adv_hi:
            j += c * jmul
            jmul *= shape[d]
        else:
            off += c * strides[d]
    for k in range(nk):
        v = adv[k, j]
        if v < 0:
            v += ksize[k]
        if v < 0 or v >= ksize[k]:  # checked by the op; never touch memory out of bounds
            return -1
        off += v * kstr[k]
    return off


@cuda.jit
def _gather_kernel(x, y, n, base, shape, strides, ndim, adv_lo, adv_hi, adv, nk, kstr, ksize):
    """y[i] = x[offset(i)] (0 for an out-of-range index); x, y flat; one thread per y element."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for i in range(start, n, step):
        off = _offset(i, base, shape, strides, ndim, adv_lo, adv_hi, adv, nk, kstr, ksize)
        if off >= 0:
            y[i] = x[off]
        else:
            y[i] = 0


@cuda.jit
def _scatter_add_kernel(x, y, n, base, shape, strides, ndim, adv_lo, adv_hi, adv, nk, kstr,
                        ksize):
    """x[offset(i)] += y[i] with ``cuda.atomic.add``: repeated indices accumulate."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for i in range(start, n, step):
        off = _offset(i, base, shape, strides, ndim, adv_lo, adv_hi, adv, nk, kstr, ksize)
        if off >= 0:
            cuda.atomic.add(x, off, y[i])


@cuda.jit
def _scatter_store_kernel(x, y, sval, from_scalar, n, base, shape, strides, ndim, adv_lo,
                          adv_hi, adv, nk, kstr, ksize):
    """x[offset(i)] = y[i], or the scalar ``sval``; with repeated indices one value wins."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for i in range(start, n, step):
        off = _offset(i, base, shape, strides, ndim, adv_lo, adv_hi, adv, nk, kstr, ksize)
        if off >= 0:
            if from_scalar:
                x[off] = sval
            else:
                x[off] = y[i]


def gather(x, p: Plan):
    """A new array x[index] of shape ``p.shape``."""
    out = A.empty(p.shape, x.dtype)
    launch(_gather_kernel, out.size, A.flat(x), A.flat(out), out.size, *p.args())
    return out


def scatter_add(x, p: Plan, y) -> None:
    """x[index] += y in place, accumulating repeated indices (y has shape ``p.shape``)."""
    launch(_scatter_add_kernel, y.size, A.flat(x), A.flat(y), y.size, *p.args())


def scatter_store(x, p: Plan, y=None, value=None) -> None:
    """x[index] = y (shape ``p.shape``) or = the scalar ``value``, in place."""
    n = math.prod(p.shape)
    if y is None:
        y, sval, from_scalar = A.dummy(x.dtype), A.typed_scalar(value, x.dtype), True
    else:
        y, sval, from_scalar = A.flat(y), A.typed_scalar(0, y.dtype), False
    launch(_scatter_store_kernel, n, A.flat(x), y, sval, from_scalar, n, *p.args())
