"""Index lookups: ``embedding`` (rows of a weight matrix, differentiable) and ``one_hot``."""
from __future__ import annotations

from .. import dtypes as dt
from ..autograd import Function
from ..tensor import Tensor
from ._nn_args import check_float, check_tensor


def _indices(op: str, idx: Tensor, high: int | None):
    """Host copy of integer indices, checked to lie in [0, high) (high None: only >= 0)."""
    if idx.dtype.is_floating_point or idx.dtype is dt.bool_:
        raise TypeError(f"{op}: expected integer indices, got {idx.dtype}")
    host = idx._k().to_host(idx._data)
    if host.size:
        lo, hi = int(host.min()), int(host.max())
        if lo < 0 or (high is not None and hi >= high):
            bad = lo if lo < 0 else hi
            raise IndexError(f"{op}: index {bad} is out of range [0, {high})" if high is not None
                             else f"{op}: class values must be non-negative, got {bad}")
    return host


class Embedding(Function):
    @staticmethod
    def forward(ctx, weight, idx, padding_idx):
        ctx.idx, ctx.shape, ctx.dtype, ctx.pad = idx, weight.shape, weight.dtype, padding_idx
        return ctx.k.getitem(weight, (idx,))

    @staticmethod
    def backward(ctx, g):
        gw = ctx.k.index_add(ctx.shape, ctx.dtype, (ctx.idx,), g)
        if ctx.pad is not None:  # the padding row never learns
            ctx.k.setitem(gw, ctx.pad, 0)
        return gw, None, None


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (V, D) picked by integer ``input`` (any shape) -> input.shape + (D,).

    The row at ``padding_idx`` gets no gradient.  ``max_norm``,
    ``scale_grad_by_freq`` and ``sparse`` are not supported (NotImplementedError).
    """
    op = "embedding"
    check_tensor(input, "input", op)
    check_tensor(weight, "weight", op)
    check_float(weight, "weight", op)
    for name, val, default in (("max_norm", max_norm, None),
                               ("scale_grad_by_freq", scale_grad_by_freq, False),
                               ("sparse", sparse, False)):
        if val != default:
            raise NotImplementedError(f"{op}: {name}={val!r} is not supported")
    if weight.ndim != 2:
        raise ValueError(f"{op}: expected 2-D weight (num_embeddings, embedding_dim), got shape "
                         f"{tuple(weight.shape)}")
    v = weight.shape[0]
    if padding_idx is not None:
        if not -v <= padding_idx < v:
            raise ValueError(f"{op}: padding_idx {padding_idx} must be within [-{v}, {v})")
        padding_idx %= v
    host = _indices(op, input, v)
    idx = weight._k().from_host(host.astype("int64", copy=False))
    return Embedding.apply(weight, idx, padding_idx)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape tensor.shape + (num_classes,) with a 1 at each value's index;
    ``num_classes=-1`` means max(tensor) + 1.  Values must lie in [0, num_classes)."""
    op = "one_hot"
    check_tensor(tensor, "tensor", op)
    host = _indices(op, tensor, None)
    if num_classes == -1:
        if host.size == 0:
            raise ValueError(f"{op}: can not infer the number of classes from an empty tensor")
        num_classes = int(host.max()) + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"{op}: num_classes must be a positive int or -1, got {num_classes!r}")
    if host.size and int(host.max()) >= num_classes:
        raise IndexError(f"{op}: class values must be smaller than num_classes ({num_classes}), "
                         f"got {int(host.max())}")
    k = tensor._k()
    idx = k.from_host(host.astype("int64", copy=False).reshape(host.shape + (1,)))
    ones = k.full(host.shape + (1,), 1, dt.int64.np)
    out = k.put_along_add(host.shape + (num_classes,), dt.int64.np, idx, ones, host.ndim)
    return Tensor(out, tensor.device)
