"""Array plumbing on the CPU: creation, casts, views, gathers and scatters.

These move or copy data rather than compute on it, so NumPy serves them
directly (its views are free and its copies are memcpy-speed).  The CUDA table
exports the same names with device-array implementations.
"""
from __future__ import annotations

import numpy as np

from .._indexing import torch_split as _torch_split

_PLACEHOLDERS: dict = {}


def placeholder(dtype, shape: tuple = (1,), fill: float = 0) -> np.ndarray:
    """A cached array standing for an absent optional argument of a kernel (a bias, a
    weight, an unused optimizer state, an input a pass does not read), so the kernel keeps
    one compiled signature.  Shared by every caller: kernels never write to it."""
    key = (np.dtype(dtype), shape, fill)
    a = _PLACEHOLDERS.get(key)
    if a is None:
        a = _PLACEHOLDERS[key] = np.full(shape, fill, dtype=dtype)
    return a


def empty(shape, dtype) -> np.ndarray:
    return np.empty(shape, dtype=dtype)


def full(shape, value, dtype) -> np.ndarray:
    return np.full(shape, value, dtype=dtype)


def from_host(a: np.ndarray) -> np.ndarray:
    """Host array -> this device's array (the identity on the CPU)."""
    return a


def to_host(x: np.ndarray) -> np.ndarray:
    """This device's array -> host NumPy array (the identity on the CPU)."""
    return x


def astype(x: np.ndarray, dtype) -> np.ndarray:
    return x.astype(dtype)


def copy(x: np.ndarray) -> np.ndarray:
    return np.array(x, copy=True, order="C")


def contiguous(x: np.ndarray) -> np.ndarray:
    # not np.ascontiguousarray: it turns a 0-d array into a 1-d one
    return x if x.flags.c_contiguous else x.copy(order="C")


def reshape(x: np.ndarray, shape) -> np.ndarray:
    return x.reshape(shape)  # the method: np.reshape adds two Python-level wrappers per call


def view(x: np.ndarray, shape):
    """Reshape without copying, or None when the strides do not allow it."""
    v = x.view()
    try:
        v.shape = shape
    except AttributeError:
        return None
    return v


def permute(x: np.ndarray, dims) -> np.ndarray:
    return np.transpose(x, dims)


def broadcast_to(x: np.ndarray, shape) -> np.ndarray:
    """x broadcast to ``shape`` as a view, writable when x is (PyTorch's ``expand`` views
    write through to their base; the op layer refuses writes where two elements would
    share memory, see ``ops.shape.overlapping``)."""
    out = np.broadcast_to(x, shape)
    if x.flags.writeable:
        out = np.lib.stride_tricks.as_strided(x, out.shape, out.strides, writeable=True)
    return out


def _view_index(index):
    """``index`` with a trailing Ellipsis when it is all ints: ``x[1]`` of a 1-D array is
    then a 0-d view, not a copied scalar (PyTorch's ``x[1]`` writes through)."""
    if isinstance(index, tuple):
        if all(isinstance(it, (int, np.integer)) and not isinstance(it, (bool, np.bool_))
               for it in index):
            return index + (Ellipsis,)
        return index
    if isinstance(index, (int, np.integer)) and not isinstance(index, (bool, np.bool_)):
        return (index, Ellipsis)
    return index


def getitem(x: np.ndarray, index) -> np.ndarray:
    """x[index] with PyTorch's rules: a view for basic indices, a copy for advanced ones."""
    split = _torch_split(index, x.ndim)
    if split is not None:
        return np.asarray(x[split[0]][split[1]])
    return np.asarray(x[_view_index(index)])


def _leading_range(index, length: int):
    """(start, stop) when ``index`` selects the rows [start, stop) of the first axis and
    everything of the others (``x[a:b]``, ``x[a:b, ...]``, ``x[i]``), else None."""
    first, rest = (index[0], index[1:]) if isinstance(index, tuple) and index else (index, ())
    if not all(it is Ellipsis or it == slice(None) for it in rest):
        return None
    if isinstance(first, slice):
        start, stop, step = first.indices(length)
        return (start, max(start, stop)) if step == 1 else None
    if isinstance(first, (int, np.integer)) and not isinstance(first, (bool, np.bool_)):
        row = int(first) % length if length else 0
        return row, row + 1
    return None


def index_add(shape, dtype, index, g: np.ndarray) -> np.ndarray:
    """zeros(shape)[index] += g, accumulating repeated indices (indexing's backward)."""
    split = _torch_split(index, len(shape))
    if split is not None:
        out = np.zeros(shape, dtype=dtype)
        np.add.at(out[split[0]], split[1], g)  # out[ints] is a view: the adds reach out
        return out
    # A basic index selects each element once: a plain store (np.add.at is ~20x slower,
    # and += would read the zeros back).  Rows [a, b) of the first axis (y[:L] of an
    # LSTM's output) need only the other rows zeroed, not the whole array first.
    rows = _leading_range(index, shape[0]) if shape else None
    if rows is None:
        out = np.zeros(shape, dtype=dtype)
    else:
        out = np.empty(shape, dtype=dtype)
        out[:rows[0]] = 0
        out[rows[1]:] = 0
    out[_view_index(index)] = g
    return out


def setitem(x: np.ndarray, index, value) -> None:
    """x[index] = value in place (PyTorch's placement of advanced indices, see getitem)."""
    split = _torch_split(index, x.ndim)
    if split is not None:
        x[split[0]][split[1]] = value
    else:
        x[index] = value


def concat(arrays, axis: int) -> np.ndarray:
    return np.concatenate(arrays, axis=axis)


def stack(arrays, axis: int) -> np.ndarray:
    return np.stack(arrays, axis=axis)


def take_along(x: np.ndarray, idx: np.ndarray, axis: int) -> np.ndarray:
    return np.take_along_axis(x, idx, axis=axis)


def put_along_add(shape, dtype, idx: np.ndarray, g: np.ndarray, axis: int) -> np.ndarray:
    """zeros(shape) with g added at ``idx`` along ``axis`` (take_along's backward)."""
    out = np.zeros(shape, dtype=dtype)
    np.add.at(out, _along_index(idx, axis), g)
    return out


def _along_index(idx: np.ndarray, axis: int):
    grids = list(np.indices(idx.shape, sparse=True))
    grids[axis] = idx
    return tuple(grids)


# ---------------------------------------------------------------- sorting and in-place
# (NumPy serves these too: a stable sort and a ufunc with ``out=`` are already
# optimal; the CUDA table implements the same names on device arrays.)

def argsort(x: np.ndarray, axis: int, descending: bool = False) -> np.ndarray:
    """int64 indices that stably sort x along ``axis`` (x at least 1-D).

    NaN sorts as the largest value (first when descending), as in PyTorch.
    Descending keeps equal elements in their original order: the axis is
    reversed, sorted ascending, and the result reversed and mapped back.
    """
    if not descending:
        return np.argsort(x, axis=axis, kind="stable").astype(np.int64, copy=False)
    n = x.shape[axis]
    idx = np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
    return (n - 1 - idx).astype(np.int64, copy=False)


def binary_(name: str, out: np.ndarray, other) -> np.ndarray:
    """``out <name>= other`` in place (``name`` as in ``binary``); other broadcasts to out.

    The result is cast to out's dtype (the op layer has checked the cast is
    allowed).  Overlapping ``out`` and ``other`` are fine: NumPy buffers them.
    """
    from .elementwise import BINARY_UFUNCS

    BINARY_UFUNCS[name](out, other, out=out, casting="unsafe")
    return out


def put_along(x: np.ndarray, idx: np.ndarray, src, axis: int) -> None:
    """x[..., idx, ...] = src along ``axis`` in place (scatter); idx may be smaller than x
    in the other dims; src is a scalar or has idx's shape.  Duplicate indices: one value wins (as
    in PyTorch, which does not say which)."""
    x[_along_index(idx, axis)] = src
