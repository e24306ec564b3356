"""Batch normalisation: ``batch_norm`` over (N, C), (N, C, L) or (N, C, H, W) input.

One fused forward kernel (statistics, running-statistics update, normalise
and affine) and one fused backward kernel (dx, dweight, dbias), see
kernels/cpu/norm.py.
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..tensor import Tensor
from ._nn_util import check_float, check_same_dtype, check_tensor


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
