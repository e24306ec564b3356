"""Tests and logic on tensors: comparisons as functions, ``all``/``any``, ``isnan`` ...,
and the bitwise ops (``&``, ``|``, ``^``, ``~``: bitwise on integers, logical on bools).

None is recorded on the tape; all but the bitwise ops on integers return bool tensors.
They are built on the comparison and binary kernels and integer sums, so every device has
them.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..tensor import Tensor
from . import elementwise as ew
from . import reduce as rd
from ._checks import norm_dims, result_dtype


def eq(input, other) -> Tensor:
    """input == other elementwise (bool, with broadcasting)."""
    return ew.compare("eq", input, other)


def ne(input, other) -> Tensor:
    return ew.compare("ne", input, other)


def lt(input, other) -> Tensor:
    return ew.compare("lt", input, other)


def le(input, other) -> Tensor:
    return ew.compare("le", input, other)


def gt(input, other) -> Tensor:
    return ew.compare("gt", input, other)


def ge(input, other) -> Tensor:
    return ew.compare("ge", input, other)


def logical_and(input, other) -> Tensor:
    return ew.compare("logical_and", input, other)


def logical_or(input, other) -> Tensor:
    return ew.compare("logical_or", input, other)


def logical_xor(input, other) -> Tensor:
    return ew.compare("logical_xor", input, other)


def bitwise(name: str, input, other) -> Tensor:
    """Bitwise and / or / xor of integer or bool tensors (on bools: the logical op).

    Floating-point operands raise NotImplementedError, as PyTorch.  Never recorded on the tape.
    """
    a, b = ew._operand(name, input), ew._operand(name, other)
    ew._check(name, a, b)
    for x in (a, b):
        if ew._is_float(x):
            got = x.dtype if isinstance(x, Tensor) else type(x).__name__
            raise NotImplementedError(f"{name}: not implemented for {got} (integer and bool "
                                      "operands only)")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{name}: expected a Tensor operand")
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.device != b.device:
        raise RuntimeError(
            f"{name}: expected all tensors on the same device, got {a.device} and {b.device}"
        )
    t = a if isinstance(a, Tensor) else b
    ra, rb = getattr(a, "_data", a), getattr(b, "_data", b)
    return Tensor(t._k().binary(name, ra, rb, result_dtype(ra, rb)), t.device)


def bitwise_and(input, other) -> Tensor:
    """input & other elementwise (integers and bools)."""
    return bitwise("bitwise_and", input, other)


def bitwise_or(input, other) -> Tensor:
    """input | other elementwise (integers and bools)."""
    return bitwise("bitwise_or", input, other)


def bitwise_xor(input, other) -> Tensor:
    """input ^ other elementwise (integers and bools)."""
    return bitwise("bitwise_xor", input, other)


def bitwise_not(input: Tensor) -> Tensor:
    """~input: every bit flipped (integers), logical not (bools)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bitwise_not: expected a Tensor, got {type(input).__name__}")
    if input.dtype is dt.bool_:
        return ew.compare("eq", input, False)
    if input.dtype.is_floating_point:
        raise NotImplementedError(f"bitwise_not: not implemented for {input.dtype} (integer "
                                  "and bool tensors only)")
    ones = np.array(-1).astype(input.dtype.np)[()]  # all bits set in input's dtype
    return bitwise("bitwise_xor", input, ones)


def logical_not(input: Tensor) -> Tensor:
    """True where input is zero (False)."""
    return ew.compare("eq", input, 0 if input.dtype is not dt.bool_ else False)


def _truth(op: str, input) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    return input if input.dtype is dt.bool_ else ew.compare("ne", input, 0)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True when every element (along ``dim``) is nonzero; ``all`` of nothing is True."""
    b = _truth("all", input)
    axes = norm_dims(dim, b.ndim, "all")
    n = 1
    for a in axes:
        n *= b.shape[a]
    return ew.compare("eq", rd.sum(b, dim, keepdim), n)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True when some element (along ``dim``) is nonzero; ``any`` of nothing is False."""
    b = _truth("any", input)
    norm_dims(dim, b.ndim, "any")
    return ew.compare("gt", rd.sum(b, dim, keepdim), 0)


def isnan(input: Tensor) -> Tensor:
    """True where the element is NaN (NaN is the only value unequal to itself)."""
    return ew.compare("ne", input, input)


def isinf(input: Tensor) -> Tensor:
    """True where the element is +inf or -inf."""
    if not input.dtype.is_floating_point:
        return ew.compare("ne", input, input)  # all False, input's shape
    return ew.compare("eq", ew.abs(input.detach()), float("inf"))


def isfinite(input: Tensor) -> Tensor:
    """True where the element is neither NaN nor infinite."""
    if not input.dtype.is_floating_point:
        return ew.compare("eq", input, input)  # all True, input's shape
    return ew.compare("lt", ew.abs(input.detach()), float("inf"))  # False for NaN too


def isclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """Elementwise |input - other| <= atol + rtol * |other| (bool, broadcast).

    Equal infinities are close; NaN is close to NaN only with ``equal_nan``.  Both
    tensors must share a dtype (RuntimeError otherwise, as PyTorch); bools compare equal.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"isclose: expected a Tensor, got {type(input).__name__}")
    if isinstance(other, Tensor) and other.dtype is not input.dtype:
        raise RuntimeError(f"isclose: {input.dtype} did not match {other.dtype} (both tensors "
                           "must have one dtype)")
    if input.dtype is dt.bool_:  # PyTorch: equality
        return ew.compare("eq", input, other)
    a = input.detach()
    b = other.detach() if isinstance(other, Tensor) else ew.full_like_scalar(a, other)
    if not a.dtype.is_floating_point:  # integers: the tolerance test in float64
        a, b = ew.cast(a, dt.float64), ew.cast(b, dt.float64)
    with np.errstate(invalid="ignore"):  # inf - inf is NaN: not close; equality covers it
        err = ew.abs(a - b)
        close = logical_and(isfinite(err), ew.compare("le", err, atol + rtol * ew.abs(b)))
    out = logical_or(close, ew.compare("eq", a, b))
    if equal_nan:
        out = logical_or(out, logical_and(isnan(a), isnan(b)))
    return out


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """Number (int64) of nonzero elements, over ``dim`` or all."""
    return rd.sum(_truth("count_nonzero", input), dim)
