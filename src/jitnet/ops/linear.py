"""``linear``: y = x W^T + b as one GEMM with the bias added in place (no broadcast pass).

Both GEMM operands are read in place: W (out, in) is used transposed through
bmm's ``trans_b`` flag, so neither the forward nor the backward copies W.
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..kernels import opcodes as oc
from ..tensor import Tensor
from ._nn_args import check_float, check_same_dtype, check_tensor


def project(k, x, w):
    """``x @ w^T`` as one GEMM: x (*, in), w (out, in) -> ``(y (m, out), x3, w3)``, m the
    product of x's leading dims, with the (1, m, in) / (1, out, in) views that
    ``project_grads`` takes.  Also the recurrent layers' input projection (``ops/rnn.py``)."""
    o, kin = w.shape
    m = math.prod(x.shape[:-1])
    x3 = k.reshape(x, (1, m, kin))
    w3 = k.reshape(w, (1, o, kin))
    return k.reshape(k.bmm(x3, w3, trans_b=True), (m, o)), x3, w3


def project_grads(k, g, x3, w3, x_shape, need_x: bool, need_w: bool):
    """The gradients ``(dx (x_shape), dw (out, in))`` of ``project`` for the upstream g
    (any shape of m * out elements); each None when not needed."""
    g3 = k.reshape(g, (1, x3.shape[1], w3.shape[1]))
    gx = k.reshape(k.bmm(g3, w3), x_shape) if need_x else None
    gw = k.reshape(k.bmm(g3, x3, trans_a=True), w3.shape[1:]) if need_w else None
    return gx, gw


class Linear(Function):
    @staticmethod
    def forward(ctx, x, w, b):
        k = ctx.k
        y, ctx.x3, ctx.w3 = project(k, x, w)
        if b is not None:
            y = k.bias_add(y, b)
        ctx.x_shape = x.shape
        return k.reshape(y, x.shape[:-1] + (w.shape[0],))

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        g3 = k.reshape(g, (1, ctx.x3.shape[1], ctx.w3.shape[1]))
        gx, gw = project_grads(k, g3, ctx.x3, ctx.w3, ctx.x_shape, need[0], need[1])
        return gx, gw, (_bias_grad(k, g3) if need[2] else None)


BIG_BIAS_GRAD = 1 << 18
"""Elements of a (rows, out) gradient from which the bias gradient is a column-sum
reduction rather than a GEMV."""


def _bias_grad(k, g3):
    """Column sums of the (1, rows, out) gradient.  A big one by the column-sum reduction,
    one pass over g (BLAS's GEMV with a row of ones packed all of g first: 0.43 ms against
    0.06 ms for (2048, 512)); a small one as that GEMV, through the product kernel every
    linear layer has compiled already (the reduction kernel would add ~0.6 s to a first
    run's compile, for microseconds)."""
    if g3.size >= BIG_BIAS_GRAD:
        return k.reduce(oc.SUM, k.reshape(g3, g3.shape[1:]), (0,), False)
    return k.reshape(k.bmm(k.full((1, 1, g3.shape[1]), 1, g3.dtype), g3), (g3.shape[2],))


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight.T + bias, as ``torch.nn.functional.linear``.

    Shapes: input (*, in_features); weight (out_features, in_features); bias
    (out_features,); output (*, out_features).  All share one float dtype.
    """
    op = "linear"
    check_tensor(input, "input", op)
    check_tensor(weight, "weight", op)
    check_float(input, "input", op)
    check_same_dtype(op, input, weight=weight, bias=bias)
    if weight.ndim != 2:
        raise ValueError(f"{op}: expected 2-D weight (out_features, in_features), got shape "
                         f"{tuple(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} does not match weight of "
                         f"shape {tuple(weight.shape)} (expected last dim {weight.shape[1]})")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"{op}: expected bias of shape ({weight.shape[0]},), got "
                         f"{tuple(bias.shape)}")
    return Linear.apply(input, weight, bias)
