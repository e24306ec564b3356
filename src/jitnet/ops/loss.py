"""Losses: cross_entropy, nll_loss (class labels) and the pointwise regression / binary losses.

cross_entropy is the hot path of classifier training: one fused forward
kernel (log-softmax + NLL + the reduction) and one backward kernel
(softmax - one-hot, scaled), see kernels/cpu/loss.py.  Every loss takes
``reduction`` = 'mean' | 'sum' | 'none' as PyTorch.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd import Function, is_grad_enabled
from ..kernels import opcodes as oc
from ..tensor import Tensor
from . import reduce as red
from . import shape as sh
from ._nn_args import check_float, check_same_dtype, check_tensor, reduction_code
from .elementwise import cast
from .softmax import log_softmax


class ClassLoss(Function):
    """Cross-entropy (op CROSS_ENTROPY) or NLL (op NLL) on (N, C, L) scores and (N, L) labels."""

    @staticmethod
    def forward(ctx, x, target, weight, op, ignore_index, eps, reduction, name):
        k = ctx.k
        n, c = x.shape[0], x.shape[1]
        length = math.prod(x.shape[2:])
        x3 = k.reshape(x, (n, c, length))
        t2 = k.reshape(target, (n, length))
        out, lse, wsum, bad = k.class_loss_fwd(op, x3, t2, weight, ignore_index, eps, reduction)
        if bad:
            host = k.to_host(target)
            wrong = host[(host != ignore_index) & ((host < 0) | (host >= c))]
            raise IndexError(f"{name}: target {int(wrong[0])} is out of bounds for {c} classes "
                             f"({bad} labels outside [0, {c - 1}])")
        ctx.saved = (x3, t2, weight, lse, wsum, op, ignore_index, eps, reduction, x.shape)
        if reduction == oc.REDUCE_NONE:
            out = k.reshape(out, target.shape)
        return out

    @staticmethod
    def backward(ctx, g):
        x3, t2, weight, lse, wsum, op, ignore_index, eps, reduction, shape = ctx.saved
        k = ctx.k
        gx = k.class_loss_bwd(op, x3, t2, weight, lse, wsum, g, ignore_index, eps, reduction)
        return k.reshape(gx, shape), None, None, None, None, None, None, None


def _no_grad_for(op: str, **tensors) -> None:
    for name, t in tensors.items():
        if t is not None and t.requires_grad and is_grad_enabled():
            raise NotImplementedError(f"{op}: gradients with respect to {name} are not "
                                      f"supported; pass {name}.detach()")


def _class_args(op: str, input, target, weight):
    """Validate (input, target, weight) of a class-label loss; returns input, target as batched."""
    check_tensor(input, "input", op)
    check_tensor(target, "target", op)
    check_float(input, "input", op)
    if input.ndim == 0:
        raise ValueError(f"{op}: expected input of shape (N, C) or (N, C, d1, ...), got a 0-d "
                         "tensor")
    if target.dtype.is_floating_point or target.dtype.name == "bool":
        raise TypeError(f"{op}: expected target of an integer dtype (class indices), got "
                        f"{target.dtype}")
    if input.device != target.device:
        raise RuntimeError(f"{op}: input is on {input.device} but target is on {target.device}")
    if input.ndim == 1:  # unbatched: (C,) scores, a 0-d label
        if target.ndim != 0:
            raise ValueError(f"{op}: for 1-D input (C,) expected a 0-d target, got shape "
                             f"{tuple(target.shape)}")
        input, target = input.unsqueeze(0), target.reshape(1)
    elif target.ndim >= 1 and target.shape[0] != input.shape[0]:
        raise ValueError(f"{op}: expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0]})")
    expect = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expect:
        raise ValueError(f"{op}: expected target of shape {expect} for input of shape "
                         f"{tuple(input.shape)}, got {tuple(target.shape)}")
    c = input.shape[1]
    if weight is not None:
        check_same_dtype(op, input, weight=weight)
        if tuple(weight.shape) != (c,):
            raise ValueError(f"{op}: expected weight of shape ({c},) (one per class), got "
                             f"{tuple(weight.shape)}")
        _no_grad_for(op, weight=weight)
    if c == 0:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} has no classes")
    return input, target


def _class_loss(op_code, name, input, target, weight, ignore_index, reduction, eps):
    unbatched = input.ndim == 1
    x, t = _class_args(name, input, target, weight)
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(f"{name}: ignore_index must be an int, got {ignore_index!r}")
    out = ClassLoss.apply(x, t, weight, op_code, ignore_index, eps, reduction, name)
    return out.reshape(()) if unbatched and reduction == oc.REDUCE_NONE else out


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits and class labels, log-softmax and NLL fused, as PyTorch.

    input: (N, C), (N, C, d1, ...) or unbatched (C,) float logits; target:
    integer labels (N,), (N, d1, ...) or () in [0, C) or ``ignore_index``, or
    class probabilities of input's shape (float).  ``weight`` (C,) rescales
    each class; 'mean' divides by the summed weights of the non-ignored targets.
    ``label_smoothing`` mixes the one-hot target with the uniform distribution.
    """
    name = "cross_entropy"
    code = reduction_code(reduction, name, size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if isinstance(target, Tensor) and target.dtype.is_floating_point and isinstance(
            input, Tensor) and tuple(target.shape) == tuple(input.shape):
        return _soft_cross_entropy(input, target, weight, code, float(label_smoothing))
    return _class_loss(oc.CROSS_ENTROPY, name, input, target, weight, ignore_index, code,
                       float(label_smoothing))


def _soft_cross_entropy(input, target, weight, code, eps):
    """Class-probability targets: -sum_c w_c * y_c * log_softmax(x)_c, averaged over samples."""
    name = "cross_entropy"
    check_float(input, "input", name)
    check_same_dtype(name, input, target=target, weight=weight)
    dim = 0 if input.ndim == 1 else 1
    c = input.shape[dim]
    if eps > 0:
        target = target * (1.0 - eps) + eps / c
    logp = log_softmax(input, dim)
    if weight is not None:
        if tuple(weight.shape) != (c,):
            raise ValueError(f"{name}: expected weight of shape ({c},), got {tuple(weight.shape)}")
        shape = (c,) + (1,) * (input.ndim - dim - 1)
        logp = logp * weight.reshape(shape)
    per_sample = -(logp * target).sum(dim)
    if code == oc.REDUCE_NONE:
        return per_sample
    if code == oc.REDUCE_SUM:
        return per_sample.sum()
    n = per_sample.numel()
    return per_sample.sum() / float(n) if n else per_sample.sum() * math.nan


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class labels under log-probabilities ``input``: -input[n, t_n]
    (times weight[t_n]); shapes and reductions as ``cross_entropy``."""
    code = reduction_code(reduction, "nll_loss", size_average, reduce)
    return _class_loss(oc.NLL, "nll_loss", input, target, weight, ignore_index, code, 0.0)


class PointwiseLoss(Function):
    @staticmethod
    def forward(ctx, x, y, w, pw, op, p0, reduction, name):
        out, bad = ctx.k.pointwise_loss_fwd(op, x, y, w, pw, p0, reduction)
        if bad:
            raise ValueError(f"{name}: all elements of input should be between 0 and 1 "
                             f"({bad} are not)")
        ctx.saved = (x, y, w, pw, op, p0, reduction)
        return out

    @staticmethod
    def backward(ctx, g):
        x, y, w, pw, op, p0, reduction = ctx.saved
        gx, gy = ctx.k.pointwise_loss_bwd(op, x, y, w, pw, p0, g, reduction,
                                          ctx.needs_input_grad[1])
        return gx, gy, None, None, None, None, None, None


def _pair_args(name, input, target, same_shape):
    check_tensor(input, "input", name)
    check_tensor(target, "target", name)
    check_float(input, "input", name)
    if input.device != target.device:
        raise RuntimeError(f"{name}: input is on {input.device} but target is on {target.device}")
    if target.dtype is not input.dtype:
        target = cast(target, input.dtype)
    if tuple(target.shape) != tuple(input.shape):
        if same_shape:
            raise ValueError(f"{name}: using a target size {tuple(target.shape)} that is "
                             f"different to the input size {tuple(input.shape)} is not "
                             "supported; please ensure they have the same size")
        warnings.warn(f"{name}: using a target size {tuple(target.shape)} that is different "
                      f"to the input size {tuple(input.shape)}; they will be broadcast",
                      UserWarning, stacklevel=3)
        try:
            shape = tuple(np.broadcast_shapes(tuple(input.shape), tuple(target.shape)))
        except ValueError:
            raise ValueError(f"{name}: target size {tuple(target.shape)} and input size "
                             f"{tuple(input.shape)} cannot be broadcast together") from None
        input, target = sh.expand(input, shape), sh.expand(target, shape)
    return input, target


def _pointwise(op, name, input, target, reduction, p0=0.0, weight=None, pos_weight=None,
               same_shape=False, weight_mean="sum"):
    code = reduction_code(reduction, name)
    x, y = _pair_args(name, input, target, same_shape)
    if weight is not None and op in (oc.MSE, oc.L1, oc.HUBER):
        # PyTorch composes these: loss * weight, 'mean' = sum / sum(weight) (mse, l1) or the
        # plain mean (huber); compose the same way so the weight gets a gradient too
        check_same_dtype(name, x, weight=weight)
        if tuple(weight.shape) != tuple(input.shape):
            raise ValueError(f"{name}: weights and input must have the same size, got "
                             f"{tuple(weight.shape)} and {tuple(input.shape)}")
        loss = PointwiseLoss.apply(x, y, None, None, op, p0, oc.REDUCE_NONE, name) * weight
        if code == oc.REDUCE_NONE:
            return loss
        if code == oc.REDUCE_SUM:
            return red.sum(loss)
        return red.sum(loss) / red.sum(weight) if weight_mean == "sum" else red.mean(loss)
    extras = {}
    for label, t in (("weight", weight), ("pos_weight", pos_weight)):
        if t is None:
            extras[label] = None
            continue
        check_same_dtype(name, x, **{label: t})
        _no_grad_for(name, **{label: t})
        try:
            extras[label] = sh.expand(t, tuple(x.shape))
        except RuntimeError:
            raise ValueError(f"{name}: {label} of shape {tuple(t.shape)} cannot be broadcast to "
                             f"the input shape {tuple(x.shape)}") from None
    return PointwiseLoss.apply(x, y, extras["weight"], extras["pos_weight"], op, float(p0), code,
                               name)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Squared error (x - y)^2; a target of another shape is broadcast (with a warning)."""
    reduction_code(reduction, "mse_loss", size_average, reduce)
    return _pointwise(oc.MSE, "mse_loss", input, target, reduction, weight=weight)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Absolute error |x - y| (gradient sign(x - y), 0 at 0)."""
    reduction_code(reduction, "l1_loss", size_average, reduce)
    return _pointwise(oc.L1, "l1_loss", input, target, reduction, weight=weight)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - beta/2 (d = x - y); beta=0 is l1_loss."""
    reduction_code(reduction, "smooth_l1_loss", size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    return _pointwise(oc.SMOOTH_L1, "smooth_l1_loss", input, target, reduction, beta)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - delta/2) (d = x - y)."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    return _pointwise(oc.HUBER, "huber_loss", input, target, reduction, delta, weight=weight,
                      weight_mean="mean")


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x in [0, 1] (logs clamped at -100,
    as PyTorch); target and input have one shape; ``weight`` broadcasts to it."""
    reduction_code(reduction, "binary_cross_entropy", size_average, reduce)
    return _pointwise(oc.BCE, "binary_cross_entropy", input, target, reduction, weight=weight,
                      same_shape=True)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable formula:
    w ((1 - y) x + (1 + (pos_weight - 1) y) softplus(-x)).  ``pos_weight`` (broadcast to the
    input, e.g. one per class) weighs the positive term."""
    reduction_code(reduction, "binary_cross_entropy_with_logits", size_average, reduce)
    return _pointwise(oc.BCE_LOGITS, "binary_cross_entropy_with_logits", input, target,
                      reduction, weight=weight, pos_weight=pos_weight, same_shape=True)
