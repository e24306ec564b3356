"""Normalisation: ``batch_norm`` over (N, C), (N, C, L) or (N, C, H, W) input, ``layer_norm``
over trailing dims and ``group_norm`` over channel groups.

Each is one fused forward kernel (statistics, running-statistics update,
normalise and affine) and one fused backward kernel (dx, dweight, dbias), see
kernels/cpu/norm.py; layer norm is the one-group case of the group norm kernels.
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..tensor import Tensor
from ._nn_args import check_float, check_same_dtype, check_tensor


class BatchNorm(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        k = ctx.k
        x3 = k.reshape(x, (x.shape[0], x.shape[1], math.prod(x.shape[2:])))
        y, mean, invstd = k.batch_norm_fwd(x3, weight, bias, running_mean, running_var,
                                           training, momentum, eps)
        ctx.saved = (x3, weight, mean, invstd, training, x.shape)
        return k.reshape(y, x.shape)

    @staticmethod
    def backward(ctx, g):
        x3, weight, mean, invstd, training, shape = ctx.saved
        k, need = ctx.k, ctx.needs_input_grad
        dx, dw, db = k.batch_norm_bwd(x3, k.reshape(g, x3.shape), weight, mean, invstd, training)
        return (k.reshape(dx, shape) if need[0] else None, dw if need[1] else None,
                db if need[2] else None, None, None, None, None, None)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) of ``input`` to zero mean and unit variance, then
    scale by ``weight`` and shift by ``bias``, as ``torch.nn.functional.batch_norm``.

    Input: (N, C), (N, C, L) or (N, C, H, W); every other argument is (C,) or None.
    training=True: statistics of this batch (biased variance), and the running
    statistics, when given, are updated IN PLACE with ``momentum`` (running_var
    gets the unbiased variance).  training=False: the running statistics are
    used (they must be given).
    """
    op = "batch_norm"
    check_tensor(input, "input", op)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected input of shape (N, C), (N, C, L) or (N, C, H, W), "
                         f"got shape {tuple(input.shape)}")
    check_float(input, "input", op)
    params = dict(running_mean=running_mean, running_var=running_var, weight=weight, bias=bias)
    check_same_dtype(op, input, **params)
    c = input.shape[1]
    for name, t in params.items():
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"{op}: expected {name} of shape ({c},) for input with {c} "
                             f"channels, got {tuple(t.shape)}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: running_mean and running_var must both be given or both None")
    for name in ("running_mean", "running_var"):
        t = params[name]
        if t is not None and (t.requires_grad or not t.is_contiguous()):
            raise ValueError(f"{op}: {name} must be a contiguous buffer that does not require "
                             "grad (it is updated in place)")
    if not training and running_mean is None:
        raise ValueError(f"{op}: running_mean and running_var must be given in evaluation mode "
                         "(training=False)")
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)):
        raise TypeError(f"{op}: momentum must be a number, got {momentum!r} (the cumulative "
                        "average of momentum=None is kept by the BatchNorm modules)")
    if eps <= 0:
        raise ValueError(f"{op}: eps must be > 0, got {eps}")
    if training and input.numel() // max(c, 1) <= 1:
        raise ValueError(f"{op}: expected more than 1 value per channel when training, got "
                         f"input size {tuple(input.shape)}")
    return BatchNorm.apply(input, weight, bias, running_mean, running_var, bool(training),
                           float(momentum), float(eps))


class GroupNorm(Function):
    """Row normalisation shared by group_norm and layer_norm (kernels group_norm_fwd/bwd)."""

    @staticmethod
    def forward(ctx, x, weight, bias, rows, groups, channels_per_group, eps):
        k = ctx.k
        x2 = k.reshape(k.contiguous(x), (rows, x.size // rows if rows else 0))
        y, mean, invstd = k.group_norm_fwd(x2, groups, channels_per_group, weight, bias, eps)
        ctx.saved = (x2, weight, mean, invstd, groups, channels_per_group, x.shape)
        return k.reshape(y, x.shape)

    @staticmethod
    def backward(ctx, g):
        x2, weight, mean, invstd, groups, cpg, shape = ctx.saved
        k, need = ctx.k, ctx.needs_input_grad
        dx, dw, db = k.group_norm_bwd(x2, k.reshape(k.contiguous(g), x2.shape), groups, cpg,
                                      weight, mean, invstd, bool(need[1] or need[2]))
        return (k.reshape(dx, shape) if need[0] else None,
                k.reshape(dw, weight.shape) if need[1] else None,
                k.reshape(db, ctx.inputs[2].shape) if need[2] else None,
                None, None, None, None)


def _check_eps(op: str, eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or eps <= 0:
        raise ValueError(f"{op}: eps must be a number > 0, got {eps!r}")
    return float(eps)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing dims ``normalized_shape`` of ``input`` (zero mean, unit
    biased variance, statistics in float64), then ``* weight + bias`` elementwise, as
    ``torch.nn.functional.layer_norm``.

    input (*, *normalized_shape); weight and bias of shape normalized_shape or None.
    One fused kernel forward and one backward (``group_norm_fwd/bwd`` with one group).
    """
    op = "layer_norm"
    check_tensor(input, "input", op)
    check_float(input, "input", op)
    if isinstance(normalized_shape, int) and not isinstance(normalized_shape, bool):
        normalized_shape = (normalized_shape,)
    try:
        shape = tuple(int(s) for s in normalized_shape)
    except TypeError:
        raise TypeError(f"{op}: normalized_shape must be an int or a sequence of ints, got "
                        f"{normalized_shape!r}") from None
    if not shape or any(s <= 0 for s in shape):
        raise ValueError(f"{op}: normalized_shape must be non-empty with positive sizes, got "
                         f"{list(shape)}")
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise ValueError(f"{op}: Given normalized_shape={list(shape)}, expected input with "
                         f"shape [*, {', '.join(map(str, shape))}], but got input of size "
                         f"{list(input.shape)}")
    check_same_dtype(op, input, weight=weight, bias=bias)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"{op}: expected {name} of shape {shape} (normalized_shape), got "
                             f"{tuple(t.shape)}")
    m = math.prod(shape)
    return GroupNorm.apply(input, weight, bias, input.numel() // m, 1, m, _check_eps(op, eps))


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Split the C channels of (N, C, *) ``input`` into ``num_groups`` groups, normalise each
    (n, group) over its channels and positions (statistics in float64), then scale and
    shift per channel by ``weight``/``bias`` ((C,) or None), as
    ``torch.nn.functional.group_norm``."""
    op = "group_norm"
    check_tensor(input, "input", op)
    check_float(input, "input", op)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected input of shape (N, C, *), got shape "
                         f"{tuple(input.shape)}")
    if isinstance(num_groups, bool) or not isinstance(num_groups, int) or num_groups <= 0:
        raise ValueError(f"{op}: num_groups must be a positive int, got {num_groups!r}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise ValueError(f"{op}: Expected number of channels in input to be divisible by "
                         f"num_groups, but got input of shape {tuple(input.shape)} and "
                         f"num_groups={num_groups}")
    check_same_dtype(op, input, weight=weight, bias=bias)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"{op}: expected {name} of shape ({c},) for input with {c} "
                             f"channels, got {tuple(t.shape)}")
    return GroupNorm.apply(input, weight, bias, n * num_groups, num_groups, c // num_groups,
                           _check_eps(op, eps))
