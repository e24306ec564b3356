"""Repeating and reversing: ``repeat``, ``tile``, ``repeat_interleave``, ``flip``.

``repeat`` and ``repeat_interleave`` are built from ``reshape``/``expand``, so
their gradients (sums over the copies) come from those ops' backward.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._checks import norm_dim, norm_dims
from .shape import _sizes, clone, contiguous, expand, flatten, reshape, unsqueeze


def repeat(input: Tensor, *sizes) -> Tensor:
    """``input`` tiled ``sizes[d]`` times along each dim (extra leading sizes add dims).

    ``x.repeat(2, 3)`` of a (4, 5) tensor is (8, 15).  Like PyTorch (and unlike
    NumPy's ``repeat``): whole copies of the tensor, side by side.
    """
    sizes = _sizes(sizes, "repeat")
    if len(sizes) < input.ndim:
        raise RuntimeError(
            f"repeat: number of dimensions of repeat dims ({len(sizes)}) can not be smaller "
            f"than number of dimensions of tensor ({input.ndim})"
        )
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - input.ndim) + tuple(input.shape)
    pairs = [v for s in shape for v in (1, s)]        # (1, s0, 1, s1, ...)
    wide = [v for r, s in zip(sizes, shape) for v in (r, s)]  # (r0, s0, r1, s1, ...)
    out = reshape(expand(reshape(input, pairs), wide), tuple(r * s for r, s in zip(sizes, shape)))
    # a new contiguous tensor, as in PyTorch: the reshape may have kept the expand's stride-0
    # view (``ones(2, 4).repeat(2, 1, 1)``) or, with every size 1, a view of the input
    return clone(out) if all(r == 1 for r in sizes) else contiguous(out)


def tile(input: Tensor, dims) -> Tensor:
    """``repeat`` with fewer sizes than dims allowed (they are padded with leading 1s)."""
    dims = _sizes((dims,) if isinstance(dims, int) else tuple(dims), "tile")
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def repeat_interleave(input: Tensor, repeats, dim: int | None = None) -> Tensor:
    """Each element repeated ``repeats`` times in place along ``dim`` (flattened when None).

    ``repeats`` is an int or a 1-D int tensor with one count per entry of ``dim``.
    """
    from .index import index_select

    if dim is None:
        input, dim = flatten(input), 0
    if input.ndim == 0:
        input = input.reshape(1)
    axis = norm_dim(dim, input.ndim, "repeat_interleave")
    if isinstance(repeats, Tensor) and repeats.numel() == 1 and repeats.ndim <= 1:
        repeats = int(repeats.item())
    if isinstance(repeats, (int, np.integer)) and not isinstance(repeats, bool):
        if repeats < 0:
            raise RuntimeError(f"repeat_interleave: repeats must be non-negative, got {repeats}")
        wide = list(input.shape)
        wide.insert(axis + 1, int(repeats))
        return flatten(expand(unsqueeze(input, axis + 1), wide), axis, axis + 1)
    if not isinstance(repeats, Tensor) or repeats.dtype.is_floating_point or repeats.ndim != 1:
        raise TypeError("repeat_interleave: repeats must be an int or a 1-D integer tensor")
    counts = repeats._k().to_host(repeats._data)
    if counts.shape[0] != input.shape[axis] or (counts < 0).any():
        raise RuntimeError(
            f"repeat_interleave: repeats must have the same size as input along dim "
            f"({input.shape[axis]}) and be non-negative, got {counts.tolist()}"
        )
    idx = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
    return index_select(input, axis, Tensor(input._k().from_host(idx), input.device))


class Flip(Function):
    """Reverse the order along some axes (a copy, as in PyTorch); backward flips g back."""

    @staticmethod
    def forward(ctx, x, key):
        ctx.key = key
        # a copy, never x's memory: over size-1 dims the reversed view is already contiguous
        return ctx.k.copy(ctx.k.getitem(x, key))

    @staticmethod
    def backward(ctx, g):
        return ctx.k.getitem(g, ctx.key), None


def flip(input: Tensor, dims) -> Tensor:
    """``input`` with the order of entries reversed along each dim in ``dims``."""
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    axes = norm_dims(dims, input.ndim, "flip")
    if not axes:
        return input.clone()
    key = tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(input.ndim))
    return Flip.apply(input, key)

