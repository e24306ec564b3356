"""Splitting a tensor into pieces along one dim: ``split``, ``chunk``, ``unbind``.

Each piece is a view of the input (as in PyTorch) made by ``Narrow``, whose
backward writes the piece's gradient into a zero tensor of the input's shape.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._checks import norm_dim


class Narrow(Function):
    """x[..., start:stop, ...] along ``axis`` (a view); backward pads g with zeros."""

    @staticmethod
    def forward(ctx, x, axis, start, stop):
        ctx.shape, ctx.dtype = x.shape, x.dtype
        ctx.key = (slice(None),) * axis + (slice(start, stop),)
        return ctx.k.getitem(x, ctx.key)

    @staticmethod
    def backward(ctx, g):
        out = ctx.k.full(ctx.shape, 0, ctx.dtype)
        ctx.k.setitem(out, ctx.key, g)
        return out, None, None, None


def _input(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.ndim == 0:
        raise RuntimeError(f"{op}: expects at least a 1-dimensional tensor")
    return x


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The ``length`` entries of ``input`` from ``start`` along ``dim`` (a view)."""
    input = _input("narrow", input)
    axis = norm_dim(dim, input.ndim, "narrow")
    n = input.shape[axis]
    if start < 0:
        start += n
    if not (0 <= start <= n and 0 <= length <= n - start):
        raise IndexError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                         f"{axis} of size {n}")
    return Narrow.apply(input, axis, start, start + length)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the listed sizes.

    ``split(x, 2)`` on 5 rows gives 2, 2, 1 rows; ``split(x, [1, 4])`` gives 1
    and 4 rows and needs the sizes to add up to the dim's length.
    """
    tensor = _input("split", tensor)
    axis = norm_dim(dim, tensor.ndim, "split")
    n = tensor.shape[axis]
    s = split_size_or_sections
    if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
        if s <= 0 and not (s == 0 and n == 0):
            raise RuntimeError(f"split: split_size must be a positive int, got {s}")
        sizes = [min(s, n - i) for i in range(0, n, s)] if n else [0]
    elif isinstance(s, Sequence) and all(isinstance(v, (int, np.integer)) for v in s):
        sizes = [int(v) for v in s]
        if any(v < 0 for v in sizes) or sum(sizes) != n:
            raise RuntimeError(
                f"split: split_with_sizes expects split_sizes to sum exactly to {n} "
                f"(input tensor's size at dimension {axis}), but got split_sizes={sizes}"
            )
    else:
        raise TypeError(f"split: split_size_or_sections must be an int or a list of ints, "
                        f"got {s!r}")
    out, start = [], 0
    for size in sizes:
        out.append(Narrow.apply(tensor, axis, start, start + size))
        start += size
    return tuple(out)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """About ``chunks`` equal pieces along ``dim``: each of ceil(n / chunks) entries, the
    last smaller; fewer pieces when n does not fill them (as in PyTorch)."""
    input = _input("chunk", input)
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be a positive int, got {chunks!r}")
    n = input.shape[norm_dim(dim, input.ndim, "chunk")]
    if n == 0:  # PyTorch: ``chunks`` empty pieces
        return split(input, [0] * int(chunks), dim)
    return split(input, max(-(-n // int(chunks)), 1), dim)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices of ``input`` along ``dim``, each without that dim."""
    input = _input("unbind", input)
    axis = norm_dim(dim, input.ndim, "unbind")
    return tuple(p.squeeze(axis) for p in split(input, 1, axis)) if input.shape[axis] else ()
