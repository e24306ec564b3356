"""Multi-head attention on the GPU: ``mha_fwd``, ``mha_bwd``, the twins of the CPU ones (read
``kernels/cpu/attention.py`` for the formulas and the layout).

Composed from this table's kernels: each of q, k and v is gathered once from
its head block into a C-contiguous (N*heads, L, head_dim) array (one
``strided_copy``: device arrays cannot be strided views), then the two batched
products and the fused attention softmax run as on the unfused path, and the
output (and, backward, each gradient) is scattered back into the input's
layout with one more ``strided_copy``.  What the CPU gains by keeping a head's
scores in cache is not what a GPU needs; what it shares with the CPU is the
interface: one node on the tape, no padded q/k/v gradients to add.
"""
from __future__ import annotations

from . import _memory as A
from .array import full, strided_copy
from .matmul import bmm
from .softmax import attn_softmax_bwd, attn_softmax_fwd


def _head_strides(x, heads: int, head_dim: int, batch_first: bool):
    """Shape (N, heads, L, head_dim) and strides of the head block view of C-contiguous x."""
    a, b, c = x.shape
    n, length = (a, b) if batch_first else (b, a)
    s_n, s_l = (b * c, c) if batch_first else (c, b * c)
    return (n, heads, length, head_dim), (s_n, head_dim, s_l, 1)


def _gather(x, offset: int, heads: int, head_dim: int, batch_first: bool):
    shape, strides = _head_strides(x, heads, head_dim, batch_first)
    out = A.empty((shape[0] * heads, shape[2], head_dim), x.dtype)
    strided_copy(x, offset, strides, out, 0, A.c_strides(shape), shape)
    return out


def _scatter(src, dst, offset: int, heads: int, head_dim: int, batch_first: bool) -> None:
    shape, strides = _head_strides(dst, heads, head_dim, batch_first)
    strided_copy(src, 0, A.c_strides(shape), dst, offset, strides, shape)


def _roles(xq, xk, xv) -> tuple:
    xk = xq if xk is None else xk
    return xq, xk, xk if xv is None else xv


def mha_fwd(xq, xk, xv, offsets, heads: int, head_dim: int, batch_first: bool, scale: float,
            mask, causal: bool):
    """As the CPU twin: ``(out, weights)``."""
    q, k, v = (_gather(x, o, heads, head_dim, batch_first)
               for x, o in zip(_roles(xq, xk, xv), offsets))
    weights = attn_softmax_fwd(bmm(q, k, False, True), scale, mask, causal)
    a, b, _ = xq.shape
    out = A.empty((a, b, heads * head_dim), xq.dtype)
    _scatter(bmm(weights, v), out, 0, heads, head_dim, batch_first)
    return out, weights


def mha_bwd(xq, xk, xv, offsets, heads: int, head_dim: int, batch_first: bool, scale: float,
            weights, g):
    """As the CPU twin: ``(dxq, dxk, dxv)``, None where the input was None."""
    arrays = _roles(xq, xk, xv)
    q, k, v = (_gather(x, o, heads, head_dim, batch_first) for x, o in zip(arrays, offsets))
    go = _gather(g, 0, heads, head_dim, batch_first)
    ds = attn_softmax_bwd(weights, bmm(go, v, False, True), scale)
    parts = (bmm(ds, k), bmm(ds, q, True, False), bmm(weights, go, True, False))
    grad_of = {}
    for x in arrays:
        if id(x) not in grad_of:  # zeros: a block no head covers stays zero
            grad_of[id(x)] = full(x.shape, 0, x.dtype)
    for x, o, part in zip(arrays, offsets, parts):
        _scatter(part, grad_of[id(x)], o, heads, head_dim, batch_first)
    return tuple(None if x is None else grad_of[id(x)] for x in (xq, xk, xv))
