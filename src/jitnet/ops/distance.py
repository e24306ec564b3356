"""Norms between vectors: ``F.normalize``, ``F.cosine_similarity``, ``cdist``.

All three are composed from differentiable ops (``norm``, broadcasting
arithmetic, ``clamp``), so their gradients come from those; ``norm``'s
gradient is 0 at the origin, so coincident points give finite gradients.
"""
from __future__ import annotations

from ..tensor import Tensor
from ._checks import broadcast_shape
from ._nn_args import check_tensor
from .elementwise import clamp
from .reduce import norm, sum


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out=None) -> Tensor:
    """``input / max(norm(input, p, dim, keepdim=True), eps)``: unit p-norm slices along dim
    (PyTorch's ``F.normalize``; ``out=`` is not supported)."""
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported by jitnet")
    check_tensor(input, "input", "normalize")
    return input / clamp(norm(input, p, dim, keepdim=True), min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between x1 and x2 (broadcast together) along ``dim``:
    ``sum((x1 / max(|x1|, eps)) * (x2 / max(|x2|, eps)), dim)``, PyTorch's formula."""
    op = "cosine_similarity"
    check_tensor(x1, "x1", op)
    check_tensor(x2, "x2", op)
    broadcast_shape(op, tuple(x1.shape), tuple(x2.shape))
    n1 = clamp(norm(x1, 2, dim, keepdim=True), min=eps)
    n2 = clamp(norm(x2, 2, dim, keepdim=True), min=eps)
    return sum((x1 / n1) * (x2 / n2), dim)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """Pairwise p-norm distances: (*, P, M) and (*, R, M) -> (*, P, R), batch dims broadcast.

    Computed directly as ``norm(x1[..., :, None, :] - x2[..., None, :, :], p, -1)``
    (exact; memory P*R*M; PyTorch's matrix-product shortcut for p=2 is not
    used, so ``compute_mode`` changes nothing).
    """
    op = "cdist"
    check_tensor(x1, "x1", op)
    check_tensor(x2, "x2", op)
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"{op}: only supports at least 2D tensors, X1 got: {x1.ndim}D, "
                           f"X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"{op}: X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if not x1.dtype.is_floating_point or not x2.dtype.is_floating_point:
        raise RuntimeError(f"{op}: only supports floating-point dtypes, X1 got: "
                           f"{x1.dtype.name}, X2 got: {x2.dtype.name}")
    if p < 0:
        raise RuntimeError(f"{op}: only supports non-negative p values, got {p}")
    broadcast_shape(op, tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    return norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1)
