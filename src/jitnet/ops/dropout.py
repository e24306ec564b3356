"""Dropout: zero elements (``dropout``) or whole channels (``dropout2d``) with probability p
and scale the survivors by 1 / (1 - p); the identity when not training.

The mask is drawn on the device by a counter-based hash (kernels/cpu/dropout.py)
from a seed taken from jitnet's seeded generator, so ``jn.manual_seed`` makes
it reproducible.  Differs from PyTorch: the same seed gives different masks.
"""
from __future__ import annotations

import math

from .. import random as _random
from ..autograd import Function
from ..tensor import Tensor
from ._nn_args import check_float, check_tensor


class Dropout(Function):
    @staticmethod
    def forward(ctx, x, rows, p):
        k = ctx.k
        mask = k.bernoulli_mask(rows, p, _random.next_seed())
        ctx.mask, ctx.scale = mask, (1.0 / (1.0 - p) if p < 1 else 0.0)
        return k.mask_scale(x, mask, ctx.scale)

    @staticmethod
    def backward(ctx, g):
        return ctx.k.mask_scale(g, ctx.mask, ctx.scale), None, None


def _check(op: str, input, p, inplace) -> None:
    check_tensor(input, "input", op)
    check_float(input, "input", op)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p!r}")
    if inplace:
        raise NotImplementedError(f"{op}: inplace=True is not supported; use the returned tensor")


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p``, scale the rest by 1/(1-p); identity when
    ``training`` is False or p == 0 (returns ``input`` itself)."""
    _check("dropout", input, p, inplace)
    if not training or p == 0 or input.numel() == 0:
        return input
    return Dropout.apply(input, input.numel(), float(p))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels: each (n, c) plane of (N, C, H, W) input (or each (n, c) row of
    (N, C, L) input, as PyTorch does for 3-D input) with probability ``p``."""
    _check("dropout2d", input, p, inplace)
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected 3-D (N, C, L) or 4-D (N, C, H, W) input, got "
                         f"shape {tuple(input.shape)}")
    if not training or p == 0 or input.numel() == 0:
        return input
    return Dropout.apply(input, math.prod(input.shape[:2]), float(p))
