"""tril / triu: the lower or upper triangle of the last two dims, as a ``where`` with a mask.

Their gradients come from ``where``.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _finish
from . import elementwise as ew


def _triangle(op: str, input: Tensor, diagonal: int, lower: bool) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape "
                           f"{tuple(input.shape)}")
    n, m = input.shape[-2:]
    # keep[i, j]: j - i <= diagonal for tril, j - i >= diagonal for triu
    offset = np.arange(m)[None, :] - np.arange(n)[:, None]
    keep = offset <= diagonal if lower else offset >= diagonal
    mask = _finish(keep, input.device, False)
    return ew.where(mask, input, ew.full_like_scalar(input, 0))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (entries above ``diagonal`` set to 0)."""
    return _triangle("tril", input, diagonal, True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (entries below ``diagonal`` set to 0)."""
    return _triangle("triu", input, diagonal, False)
