"""Vector and matrix helpers built on ``matmul`` and ``where``: dot, mv, outer, tril, triu.

Their gradients come from the ops they are made of.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _finish
from . import elementwise as ew
from .linalg import matmul
from .shape import unsqueeze


def _need(op: str, t, ndim: int, name: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if t.ndim != ndim:
        raise RuntimeError(f"{op}: {name} must be {ndim}-D, got shape {tuple(t.shape)}")


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same length (a 0-d tensor)."""
    _need("dot", input, 1, "input")
    _need("dot", tensor, 1, "tensor")
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(f"dot: inconsistent tensor size, expected tensor [{input.shape[0]}] "
                           f"and src [{tensor.shape[0]}] to have the same number of elements")
    return matmul(input, tensor)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """(n, m) matrix times (m,) vector -> (n,)."""
    _need("mv", input, 2, "input")
    _need("mv", vec, 1, "vec")
    return matmul(input, vec)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """(n,) x (m,) -> (n, m) with out[i, j] = input[i] * vec2[j]."""
    _need("outer", input, 1, "input")
    _need("outer", vec2, 1, "vec2")
    return ew.mul(unsqueeze(input, 1), unsqueeze(vec2, 0))


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
