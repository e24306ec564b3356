"""Gradient clipping, in place on each parameter's ``.grad`` (``torch.nn.utils.clip_grad``)."""
from __future__ import annotations

import math
from collections.abc import Iterable

from ...autograd import no_grad
from ...ops import reduce as _reduce
from ...ops.elementwise import clamp
from ...tensor import Tensor, tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale all gradients together so that their joint ``norm_type``-norm is at most
    ``max_norm``; returns the norm before clipping (a 0-d float tensor).

    The gradients are multiplied by min(1, max_norm / (total_norm + 1e-6)) in
    place, as PyTorch.  ``norm_type`` may be ``inf``.  With
    ``error_if_nonfinite`` a NaN/inf total norm raises RuntimeError.
    """
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    if not grads:
        return tensor(0.0)
    with no_grad():
        if norm_type == math.inf:
            norms = [_reduce.amax(g.abs()) for g in grads]
            total = max(float(n.item()) for n in norms)
        else:
            # per-gradient norms combined on the host, as PyTorch's norm of norms
            norms = [float(_reduce.norm(g, norm_type).item()) for g in grads]
            total = sum(n ** norm_type for n in norms) ** (1.0 / norm_type)
        if error_if_nonfinite and not math.isfinite(total):
            raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} for "
                               "gradients from `parameters` is non-finite, so it cannot be "
                               "clipped. To disable this error and scale the gradients by the "
                               "non-finite norm anyway, set `error_if_nonfinite=False`")
        coef = max_norm / (total + 1e-6)
        if coef < 1.0:
            for g in grads:
                scaled = g * coef
                g._k().setitem(g._data, Ellipsis, scaled._data)
    return tensor(total, dtype=grads[0].dtype)


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float,
                     foreach=None) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    with no_grad():
        for g in _grads(parameters):
            clipped = clamp(g, -clip_value, clip_value)
            g._k().setitem(g._data, Ellipsis, clipped._data)
