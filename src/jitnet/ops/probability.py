"""Ops on probability distributions: ``F.kl_div`` and ``F.softmin``.

Composed from differentiable ops (log, exp, softmax, reductions).
"""
from __future__ import annotations

from .. import dtypes as dt
from ..tensor import Tensor
from . import elementwise as ew
from ._checks import broadcast_shape
from ._nn_args import check_tensor
from .reduce import mean, sum
from .softmax import softmax

_REDUCTIONS = ("none", "mean", "batchmean", "sum")


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence of ``target`` from ``input`` (log-probabilities).

    Pointwise ``target * (log(target) - input)`` (0 where target is 0), or with
    ``log_target=True`` ``exp(target) * (target - input)``; then ``reduction``:
    'mean' (over all elements, PyTorch's default, which it warns about),
    'batchmean' (sum / input.size(0): the mathematical KL), 'sum' or 'none'.
    The legacy ``size_average``/``reduce`` arguments are not supported.
    """
    op = "kl_div"
    check_tensor(input, "input", op)
    check_tensor(target, "target", op)
    if size_average is not None or reduce is not None:
        raise NotImplementedError(f"{op}: size_average= and reduce= are deprecated in PyTorch "
                                  f"and not supported by jitnet; use reduction=")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction; expected "
                         f"one of {_REDUCTIONS}")
    for name, t in (("input", input), ("target", target)):
        if not t.dtype.is_floating_point:
            raise RuntimeError(f"{op}: expected a floating point {name}, got {t.dtype.name}")
    broadcast_shape(op, tuple(input.shape), tuple(target.shape))
    if log_target:
        point = ew.exp(target) * (target - input)
    else:
        # xlogy(t, t) without log(0): the masked log's gradient stays finite
        zero = ew.compare("eq", target, 0)
        safe = ew.where(zero, 1.0, target)
        point = target * ew.log(safe) - target * input
    if reduction == "none":
        return point
    if reduction == "sum":
        return sum(point)
    if reduction == "batchmean":
        n = input.shape[0] if input.ndim else 1
        return sum(point) / float(n)
    return mean(point)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-input, dim)``: weights that favour the smallest entries."""
    check_tensor(input, "input", "softmin")
    if dtype is not None:
        input = ew.cast(input, dt.to_dtype(dtype))
    return softmax(-input, dim)
