"""Attention: ``scaled_dot_product_attention`` and the core that ``nn.MultiheadAttention``
shares with it.

The two matrix products stay in ``matmul``; between them the scaling, the
additive / causal masking and the row softmax are one fused kernel forward and
one backward (``attn_softmax_fwd/bwd`` in kernels/*/softmax.py), instead of a
multiply, an add, a mask fill and a softmax, each a pass over the (B, L, S)
scores.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as dt
from ..autograd import Function
from ..tensor import Tensor, zeros
from ._nn_args import check_float, check_tensor


class AttnSoftmax(Function):
    @staticmethod
    def forward(ctx, scores, mask, scale, causal):
        y = ctx.k.attn_softmax_fwd(scores, scale, mask, causal)
        ctx.y, ctx.scale = y, scale
        return y

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        g = k.contiguous(g)
        dx = k.attn_softmax_bwd(ctx.y, g, ctx.scale) if need[0] else None
        # a float mask that requires grad: it is added unscaled (a second pass, rare)
        dmask = k.attn_softmax_bwd(ctx.y, g, 1.0) if need[1] else None
        return dx, dmask, None, None


class HeadsAttention(Function):
    @staticmethod
    def forward(ctx, xq, xk, xv, mask, geometry, causal):
        out, w = ctx.k.mha_fwd(xq, xk, xv, *geometry, mask, causal)
        ctx.saved, ctx.geometry = (xq, xk, xv, w), geometry
        return out, w

    @staticmethod
    def backward(ctx, g):
        xq, xk, xv, w = ctx.saved
        grads = ctx.k.mha_bwd(xq, xk, xv, *ctx.geometry, w, ctx.k.contiguous(g))
        need = ctx.needs_input_grad
        return (*(d if n else None for d, n in zip(grads, need)), None, None, None)


def heads_attention(xq: Tensor, xk: Tensor | None, xv: Tensor | None, offsets: tuple,
                    heads: int, head_dim: int, batch_first: bool, mask: Tensor | None,
                    scale: float, causal: bool = False) -> tuple[Tensor, Tensor]:
    """Multi-head attention read in place from projections, as one node on the tape.

    ``xq`` (L, N, C) -- (N, L, C) with ``batch_first`` -- holds the queries of
    every head in the ``C_h = heads * head_dim`` columns from ``offsets[0]``;
    ``xk`` and ``xv`` (S, N, .) the keys and values from ``offsets[1]`` and
    ``offsets[2]``; None means "the same tensor as xq" (resp. xk): a self-attention
    projection (L, N, 3E) is passed once, with offsets (0, E, 2E), and gets one
    gradient.  ``mask``: None or additive (Bm, L, S), Bm 1 or N*heads (PyTorch's head
    order n * heads + h), not requiring grad.  Returns ``(out, weights)``: out
    (L, N, C_h) (or (N, L, C_h)), the heads concatenated as PyTorch's
    MultiheadAttention does before ``out_proj``; weights (N*heads, L, S), not
    differentiable (callers that return them use ``attention``).  No dropout.
    """
    if xk is xq or (xv is not None and (xv is xq or xv is xk)):  # one gradient per tensor
        raise ValueError("heads_attention: pass a tensor that serves twice once, with None "
                         "for its later roles")
    geometry = (tuple(int(o) for o in offsets), int(heads), int(head_dim), bool(batch_first),
                float(scale))
    return HeadsAttention.apply(xq, xk, xv, mask, geometry, bool(causal))


def attn_softmax(scores: Tensor, mask: Tensor | None, scale: float, causal: bool) -> Tensor:
    """softmax(scale * scores + mask) over the last dim of (B, L, S) ``scores``.

    ``mask``: None or an additive float (Bm, L, S) tensor of scores' dtype, Bm 1
    or B; ``causal`` leaves out key j > query i.  A float mask that requires
    grad gets one (summed over the batch when Bm = 1), as in PyTorch.
    """
    return AttnSoftmax.apply(scores, mask, float(scale), bool(causal))


def additive_mask(op: str, mask: Tensor, like: Tensor, true_means_keep: bool) -> Tensor:
    """A bool or float mask as an additive float mask of ``like``'s dtype (0 / -inf)."""
    check_tensor(mask, "attn_mask", op)
    if mask.dtype is dt.bool_:
        keep = mask if true_means_keep else ~mask
        return zeros(*mask.shape, dtype=like.dtype, device=like.device).masked_fill(
            ~keep, -math.inf)
    if not mask.dtype.is_floating_point:
        raise TypeError(f"{op}: only bool and floating types of masks are supported, got "
                        f"{mask.dtype}")
    if mask.dtype is not like.dtype:
        raise TypeError(f"{op}: a float mask must have the query's dtype {like.dtype}, got "
                        f"{mask.dtype}")
    if mask.device != like.device:
        raise RuntimeError(f"{op}: the mask is on {mask.device} but the query on {like.device}")
    return mask


def full_mask(mask: Tensor, queries: int, keys: int) -> Tensor:
    """An additive mask broadcastable to (Bm, L, S) as a C-contiguous (Bm, L, S) tensor."""
    mask = mask.reshape((1,) * (3 - mask.ndim) + tuple(mask.shape)) if mask.ndim < 3 else mask
    if tuple(mask.shape[1:]) != (queries, keys):
        mask = mask.expand(mask.shape[0], queries, keys)
    return mask.contiguous()


def attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, dropout_p: float,
              causal: bool, scale: float, training: bool = True) -> tuple[Tensor, Tensor]:
    """The attention core on (B, L, E), (B, S, E), (B, S, Ev) tensors (checked by the caller).

    ``mask``: None or additive float broadcastable to (B, L, S).  Returns
    ``(output (B, L, Ev), weights (B, L, S))``, the weights after dropout.
    """
    from .dropout import dropout

    if mask is not None:
        mask = full_mask(mask, q.shape[1], k.shape[1])
    weights = attn_softmax(q.matmul(k.transpose(1, 2)), mask, scale, causal)
    if dropout_p > 0.0 and training:
        weights = dropout(weights, dropout_p, True)
    return weights.matmul(v), weights


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value, as
    ``torch.nn.functional.scaled_dot_product_attention``.

    query (..., L, E), key (..., S, E), value (..., S, Ev), the same batch dims
    ``...``; output (..., L, Ev).  ``attn_mask`` broadcastable to (..., L, S):
    bool (True = take part in attention) or an additive float mask of the
    query's dtype.  ``is_causal``: query i attends keys j <= i (no attn_mask
    then).  ``scale`` defaults to 1/sqrt(E).  ``dropout_p`` drops attention
    weights (always, as PyTorch: pass 0.0 in evaluation).  ``enable_gqa`` is
    not supported.
    """
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        check_tensor(t, name, op)
        check_float(t, name, op)
        if t.ndim < 2:
            raise ValueError(f"{op}: {name} must have at least 2 dims (..., L, E), got shape "
                             f"{tuple(t.shape)}")
        if t.dtype is not query.dtype:
            raise TypeError(f"{op}: query is {query.dtype} but {name} is {t.dtype}")
    if enable_gqa:
        raise NotImplementedError(f"{op}: enable_gqa=True is not supported")
    batch = tuple(query.shape[:-2])
    if tuple(key.shape[:-2]) != batch or tuple(value.shape[:-2]) != batch:
        raise ValueError(f"{op}: query, key and value must share their batch dims, got "
                         f"shapes {tuple(query.shape)}, {tuple(key.shape)}, "
                         f"{tuple(value.shape)}")
    if key.shape[-1] != query.shape[-1]:
        raise ValueError(f"{op}: query and key must have the same embedding size, got "
                         f"{query.shape[-1]} and {key.shape[-1]}")
    if value.shape[-2] != key.shape[-2]:
        raise ValueError(f"{op}: key and value must have the same sequence length, got "
                         f"{key.shape[-2]} and {value.shape[-2]}")
    if isinstance(dropout_p, bool) or not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1], got {dropout_p!r}")
    queries, keys, e = query.shape[-2], key.shape[-2], query.shape[-1]
    mask = None
    if attn_mask is not None:
        if is_causal:
            raise ValueError(f"{op}: Explicit attn_mask should not be set when is_causal=True")
        mask = additive_mask(op, attn_mask, query, true_means_keep=True)
        try:
            full = np.broadcast_shapes(tuple(mask.shape), batch + (queries, keys))
        except ValueError:
            full = None
        if full != batch + (queries, keys):
            raise ValueError(f"{op}: attn_mask of shape {tuple(attn_mask.shape)} does not "
                             f"broadcast to the scores' shape {batch + (queries, keys)}")
        mlead = tuple(mask.shape[:-2]) if mask.ndim > 2 else ()
        if math.prod(mlead) > 1:  # a per-batch mask: spelled out over the batch dims
            mask = mask.expand(*batch, *mask.shape[-2:]).reshape(-1, *mask.shape[-2:])
        else:
            mask = mask.reshape(1, *mask.shape[-2:])
    b = math.prod(batch)
    scale = 1.0 / math.sqrt(e) if scale is None else float(scale)
    out, _ = attention(query.reshape(b, queries, e), key.reshape(b, keys, e),
                       value.reshape(b, keys, value.shape[-1]), mask, float(dropout_p),
                       bool(is_causal), scale)
    return out.reshape(*batch, queries, value.shape[-1])
