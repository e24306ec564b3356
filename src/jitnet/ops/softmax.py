"""Softmax family: softmax and log_softmax along any dim (kernels/{cpu,cuda}/softmax.py).

One forward and one backward kernel serve both, picked by op code; the
backward reuses the saved output, as PyTorch's does.
"""
from __future__ import annotations

import warnings

from .. import dtypes as dt
from ..autograd import Function
from ..kernels import opcodes as oc
from ..tensor import Tensor
from . import elementwise as ew
from ._checks import norm_dim
from ._nn_args import check_float, check_tensor


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, op, dim):
        y = ctx.k.softmax_fwd(op, x, dim)
        ctx.y, ctx.op, ctx.dim = y, op, dim
        return y

    @staticmethod
    def backward(ctx, g):
        return ctx.k.softmax_bwd(ctx.op, ctx.y, g, ctx.dim), None, None


def _implicit_dim(ndim: int, name: str) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=4)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax(name: str, op: int, input: Tensor, dim, dtype) -> Tensor:
    check_tensor(input, "input", name)
    if dtype is not None:
        input = ew.cast(input, dt.to_dtype(dtype))
    check_float(input, "input", name)
    if dim is None:
        dim = _implicit_dim(input.ndim, name)
    return Softmax.apply(input, op, norm_dim(dim, input.ndim, name))


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``; stable (the max is subtracted first).

    ``dtype`` casts the input first.  ``dim=None`` picks PyTorch's legacy
    implicit dim with a warning.
    """
    return _softmax("softmax", oc.SOFTMAX, input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """x - logsumexp(x) along ``dim``; finite for logits of any magnitude."""
    return _softmax("log_softmax", oc.LOG_SOFTMAX, input, dim, dtype)
