"""``MultiheadAttention``, as ``torch.nn.MultiheadAttention`` (same parameter names, so a
PyTorch state_dict loads): the input projections, the fused scaled-masked softmax core
(``ops/attention.py``) per head, and the output projection."""
from __future__ import annotations

import math

from ..ops.attention import additive_mask, attention, full_mask, heads_attention
from ..ops.split import chunk
from ..tensor import Tensor
from . import functional as F
from . import init
from ._construct import new_parameter, positive_int, unsupported
from .linear import Linear
from .module import Module


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of ``embed_dim // num_heads`` features.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True,
    attn_mask=None, average_attn_weights=True, is_causal=False)`` ->
    ``(attn_output, attn_weights or None)``.  query (L, N, E), key/value (S, N, E)
    ((N, L, E) with ``batch_first``), or unbatched (L, E).  ``attn_mask`` (L, S)
    or (N*num_heads, L, S); ``key_padding_mask`` (N, S); for both, bool True
    means "leave out" and a float mask is added to the scores.  ``is_causal``
    is a hint that ``attn_mask`` is causal (the mask itself is used).
    attn_weights (N, L, S) averaged over heads, or (N, num_heads, L, S).
    Parameters ``in_proj_weight`` (3E, E) (xavier-uniform), ``in_proj_bias``
    (zeros), ``out_proj`` a Linear (bias zeros).  kdim/vdim other than
    embed_dim, ``add_bias_kv`` and ``add_zero_attn`` are not supported.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        name = "MultiheadAttention"
        self.embed_dim = positive_int(name, "embed_dim", embed_dim)
        self.num_heads = positive_int(name, "num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"{name}: embed_dim must be divisible by num_heads, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads}")
        for arg, value, default in (("add_bias_kv", add_bias_kv, False),
                                    ("add_zero_attn", add_zero_attn, False)):
            if value != default:
                raise unsupported(name, arg, value)
        for arg, value in (("kdim", kdim), ("vdim", vdim)):
            if value is not None and value != embed_dim:
                raise unsupported(name, arg, value)
        if isinstance(dropout, bool) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout!r}")
        self.kdim = self.vdim = embed_dim
        self.head_dim = embed_dim // num_heads
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self.in_proj_weight = new_parameter(3 * embed_dim, embed_dim, device=device, dtype=dtype)
        if bias:
            self.in_proj_bias = new_parameter(3 * embed_dim, device=device, dtype=dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _check(self, query, key, value) -> None:
        name = "MultiheadAttention"
        for arg, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}: {arg} must be a Tensor, got {type(t).__name__}")
            if t.ndim not in (2, 3) or t.ndim != query.ndim:
                raise ValueError(f"{name}: query, key and value must all be 3-D (batched) or "
                                 f"2-D (unbatched), got shapes {tuple(query.shape)}, "
                                 f"{tuple(key.shape)}, {tuple(value.shape)}")
            if t.shape[-1] != self.embed_dim:
                raise ValueError(f"{name}: was expecting embedding dimension of "
                                 f"{self.embed_dim} in {arg}, but got {t.shape[-1]} (shape "
                                 f"{tuple(t.shape)})")
            if t.dtype is not query.dtype:
                raise TypeError(f"{name}: query is {query.dtype} but {arg} is {t.dtype}")
        if tuple(key.shape) != tuple(value.shape):
            raise ValueError(f"{name}: key shape {tuple(key.shape)} does not match value "
                             f"shape {tuple(value.shape)}")
        if query.ndim == 3:
            bdim = 0 if self.batch_first else 1
            if query.shape[bdim] != key.shape[bdim]:
                raise ValueError(f"{name}: query and key batch sizes differ: shapes "
                                 f"{tuple(query.shape)} and {tuple(key.shape)}")

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False):
        name = "MultiheadAttention"
        self._check(query, key, value)
        if is_causal and attn_mask is None:
            raise RuntimeError(f"{name}: Need attn_mask if specifying the is_causal hint")
        unbatched = query.ndim == 2
        mask_needs_grad = any(isinstance(m, Tensor) and m.requires_grad
                              for m in (attn_mask, key_padding_mask))
        if not (need_weights or mask_needs_grad or (self.dropout > 0.0 and self.training)):
            return self._heads_in_place(query, key, value, key_padding_mask, attn_mask,
                                        unbatched), None
        unbatched = query.ndim == 2
        if unbatched or self.batch_first:  # to (L, N, E), keeping "the same tensor" visible
            same_kv = key is value
            self_attn = query is key and same_kv

            def layout(t):
                return t.unsqueeze(1) if unbatched else t.transpose(0, 1)

            query = layout(query)
            key = query if self_attn else layout(key)
            value = key if same_kv else layout(value)
            if unbatched and isinstance(key_padding_mask, Tensor) and key_padding_mask.ndim == 1:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        tgt, n, e = query.shape
        src = key.shape[0]
        heads, hd = self.num_heads, self.head_dim
        mask = self._mask(attn_mask, key_padding_mask, query, n, tgt, src)
        w, b = self.in_proj_weight, self.in_proj_bias
        if query is key and key is value:  # self-attention: one GEMM for q, k and v
            q, k, v = chunk(F.linear(query, w, b), 3, -1)
        else:
            bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
            q = F.linear(query, w[:e], bq)
            k = F.linear(key, w[e:2 * e], bk)
            v = F.linear(value, w[2 * e:], bv)
        # (L, N, E) -> (N * heads, L, head_dim), PyTorch's head layout
        q = q.reshape(tgt, n * heads, hd).transpose(0, 1)
        k = k.reshape(src, n * heads, hd).transpose(0, 1)
        v = v.reshape(src, n * heads, hd).transpose(0, 1)
        out, weights = attention(q, k, v, mask, self.dropout, False, 1.0 / math.sqrt(hd),
                                 self.training)
        out = out.transpose(0, 1).reshape(tgt * n, e)
        out = self.out_proj(out).reshape(tgt, n, e)
        if unbatched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        weights = weights.reshape(n, heads, tgt, src)
        if average_attn_weights:
            weights = weights.mean(1)
        if unbatched:
            weights = weights.squeeze(0)
        return out, weights

    def _heads_in_place(self, query, key, value, key_padding_mask, attn_mask, unbatched):
        """The output when no weights are returned, no dropout runs and no mask takes a
        gradient: the heads read in place from the projections, in the caller's layout
        (``ops.attention.heads_attention``: one node, no head copies, one gradient for a
        self-attention projection)."""
        batch_first = self.batch_first and not unbatched
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if isinstance(key_padding_mask, Tensor) and key_padding_mask.ndim == 1:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        length_axis = 1 if batch_first else 0
        tgt, n, e = query.shape[length_axis], query.shape[1 - length_axis], self.embed_dim
        mask = self._mask(attn_mask, key_padding_mask, query, n, tgt, key.shape[length_axis])
        if mask is not None:
            mask = full_mask(mask, tgt, key.shape[length_axis])
        w, b = self.in_proj_weight, self.in_proj_bias
        if query is key and key is value:  # one (.., 3E) projection, passed once
            xs, offsets = (F.linear(query, w, b), None, None), (0, e, 2 * e)
        elif key is value:
            xs = (F.linear(query, w[:e], None if b is None else b[:e]),
                  F.linear(key, w[e:], None if b is None else b[e:]), None)
            offsets = (0, 0, e)
        else:
            xs = tuple(F.linear(x, w[i * e:(i + 1) * e], None if b is None else
                                b[i * e:(i + 1) * e]) for i, x in enumerate((query, key, value)))
            offsets = (0, 0, 0)
        out, _ = heads_attention(*xs, offsets, self.num_heads, self.head_dim, batch_first,
                                 mask, 1.0 / math.sqrt(self.head_dim))
        out = self.out_proj(out)
        return out.squeeze(1) if unbatched else out

    def _mask(self, attn_mask, key_padding_mask, query, n, tgt, src):
        """attn_mask and key_padding_mask merged into one additive (1 or N*heads, L, S) mask."""
        name = "MultiheadAttention"
        heads = self.num_heads
        mask = None
        if attn_mask is not None:
            mask = additive_mask(name, attn_mask, query, true_means_keep=False)
            if mask.ndim == 2:
                if tuple(mask.shape) != (tgt, src):
                    raise ValueError(f"{name}: The shape of the 2D attn_mask is "
                                     f"{tuple(mask.shape)}, but should be {(tgt, src)}.")
                mask = mask.unsqueeze(0)
            elif mask.ndim == 3:
                if tuple(mask.shape) != (n * heads, tgt, src):
                    raise ValueError(f"{name}: The shape of the 3D attn_mask is "
                                     f"{tuple(mask.shape)}, but should be "
                                     f"{(n * heads, tgt, src)}.")
            else:
                raise ValueError(f"{name}: attn_mask's dimension {mask.ndim} is not supported "
                                 "(2-D (L, S) or 3-D (N*num_heads, L, S))")
        if key_padding_mask is not None:
            kpm = additive_mask(name, key_padding_mask, query, true_means_keep=False)
            if tuple(kpm.shape) != (n, src):
                raise ValueError(f"{name}: expecting key_padding_mask shape of {(n, src)}, but "
                                 f"got {tuple(kpm.shape)}")
            kpm = kpm.reshape(n, 1, 1, src).expand(n, heads, 1, src).reshape(n * heads, 1, src)
            mask = kpm if mask is None else mask + kpm
        return mask

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")


