"""dtype objects (``jn.float32`` ...) and PyTorch's type-promotion rules.

A ``DType`` wraps a NumPy dtype: tensors store NumPy-typed buffers, the DType
is what users see and compare (``x.dtype == jn.float32``).  Promotion follows
PyTorch, not NumPy: categories rank bool < integer < floating; within a
category the wider type wins; a Python scalar only lifts the category (an int
tensor times 2.5 is float32, the default dtype, where NumPy would say float64).
"""
from __future__ import annotations

import numpy as np


class DType:
    """A tensor element type.  ``np`` is the NumPy dtype that stores it."""

    __slots__ = ("name", "np", "is_floating_point", "itemsize", "_rank")

    def __init__(self, name: str, np_dtype, rank: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = self.np.kind == "f"
        self.itemsize = self.np.itemsize
        self._rank = rank

    def __repr__(self) -> str:
        return f"jitnet.{self.name}"

    def __reduce__(self):
        return (to_dtype, (self.name,))


bool_ = DType("bool", np.bool_, 0)
uint8 = DType("uint8", np.uint8, 1)
int8 = DType("int8", np.int8, 1)  # quantized weights (jitnet.quantization)
int32 = DType("int32", np.int32, 2)
int64 = DType("int64", np.int64, 3)
float32 = DType("float32", np.float32, 4)
float64 = DType("float64", np.float64, 5)

_BY_NP = {d.np: d for d in (bool_, uint8, int8, int32, int64, float32, float64)}
_BY_NAME = {d.name: d for d in _BY_NP.values()}
_BY_NAME.update(float=float32, double=float64, long=int64, int=int32)

default_float = float32


def to_dtype(spec) -> DType:
    """Resolve a DType, NumPy dtype, Python type or name to a ``DType``."""
    if isinstance(spec, DType):
        return spec
    if isinstance(spec, str):
        if spec in _BY_NAME:
            return _BY_NAME[spec]
        raise TypeError(f"unknown dtype {spec!r}; expected one of {sorted(_BY_NAME)}")
    if spec is float:
        return default_float
    if spec is int:
        return int64
    if spec is bool:
        return bool_
    try:
        npd = np.dtype(spec)
    except TypeError:
        raise TypeError(f"unknown dtype {spec!r}") from None
    if npd in _BY_NP:
        return _BY_NP[npd]
    if npd.kind == "f":  # float16 and friends are stored as float32
        return float32
    if npd.kind in "iu":
        return int64
    raise TypeError(f"jitnet has no dtype for NumPy dtype {npd}")


def category(d: DType) -> int:
    """0 for bool, 1 for integers, 2 for floating point."""
    return 2 if d.is_floating_point else (0 if d is bool_ else 1)


def promote(a: DType, b: DType) -> DType:
    """Result dtype of a binary op between two tensors (PyTorch rules)."""
    if a is b:
        return a
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    return a if a._rank >= b._rank else b


def promote_dims(dim: DType, zero: DType) -> DType:
    """Result dtype of a dimensioned tensor (``dim``) with a 0-d one (``zero``), as PyTorch.

    Dimensioned tensors have priority over 0-d ones: a 0-d operand only matters
    when it lifts the category (an int32 vector plus a 0-d int64 stays int32; a
    float32 vector plus a 0-d float64 stays float32; an int32 vector plus a 0-d
    float64 is float64).
    """
    if dim.is_floating_point:
        return dim
    if dim is bool_ or zero.is_floating_point:
        return promote(dim, zero)
    return dim


def promote_scalar(t: DType, scalar) -> DType:
    """Result dtype of ``tensor op python_scalar``: the scalar only lifts the category."""
    if isinstance(scalar, bool):
        return t
    if isinstance(scalar, (int, np.integer)):
        return int64 if t is bool_ else t
    if isinstance(scalar, (float, np.floating)):
        return t if t.is_floating_point else default_float
    raise TypeError(f"unsupported scalar operand of type {type(scalar).__name__}")
