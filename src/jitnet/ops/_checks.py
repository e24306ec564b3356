"""Validation helpers shared by the op families: dims, broadcasting, dtype promotion."""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt


def norm_dim(dim, ndim: int, op: str) -> int:
    """``dim`` in [-ndim, ndim) -> [0, ndim), or an IndexError naming ``op``."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"{op}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
            f"but got {dim})"
        )
    return int(dim) % n


def norm_dims(dim, ndim: int, op: str) -> tuple[int, ...]:
    """None -> all dims; int or tuple -> sorted unique normalised dims."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = sorted({norm_dim(d, ndim, op) for d in dims})
    if len(out) != len(dims):
        raise RuntimeError(f"{op}: dim {tuple(dims)} appears multiple times in the list of dims")
    return tuple(d for d in out if d < ndim) if ndim else ()


def broadcast_shape(op: str, a: tuple, b: tuple) -> tuple:
    """The broadcast of two shapes, or a ValueError naming the op and both shapes."""
    if a == b:
        return a
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        raise ValueError(
            f"{op}: shapes {tuple(a)} and {tuple(b)} cannot be broadcast together"
        ) from None


_pair_cache: dict = {}


def result_dtype(a, b) -> np.dtype:
    """PyTorch's promotion of two operands (raw arrays or Python scalars) as a NumPy dtype.

    Python scalars only lift the category; a 0-d array counts below a dimensioned one
    (``dtypes.promote_dims``).
    """
    if is_scalar(b):
        return dt.promote_scalar(dt.to_dtype(a.dtype), b).np
    if is_scalar(a):
        return dt.promote_scalar(dt.to_dtype(b.dtype), a).np
    za, zb = a.ndim == 0, b.ndim == 0
    key = (a.dtype, b.dtype, za, zb)
    r = _pair_cache.get(key)
    if r is None:
        da, db = dt.to_dtype(a.dtype), dt.to_dtype(b.dtype)
        if za != zb:  # a dimensioned tensor has priority over a 0-d one (PyTorch)
            r = dt.promote_dims(db, da) if za else dt.promote_dims(da, db)
        else:
            r = dt.promote(da, db)
        r = _pair_cache[key] = r.np
    return r


def is_scalar(x) -> bool:
    """Python or NumPy numbers (not arrays, not tensors)."""
    return isinstance(x, (int, float, bool, np.number, np.bool_))
