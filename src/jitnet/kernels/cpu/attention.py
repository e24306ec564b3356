"""Multi-head attention on the CPU, the heads read and written in place: ``mha_fwd``, ``mha_bwd``.

``nn.MultiheadAttention`` projects its input to q, k and v (one (L, N, 3E)
product for self-attention).  The unfused path then copies every head out
((L, N, E) -> (N*heads, L, head_dim)) for three q, k, v tensors, runs two
batched products and a softmax over a (N*heads, L, S) score tensor, copies the
output back, and in the backward pads each of q, k, v's gradients to the packed
shape and adds the three.  Here one task kernel walks the (sample, head) pairs
and for each pair does the whole of it on 2-D views of the projections, with
the projection's row stride as BLAS's leading dimension (``blas.gemm``):

    forward:   S = q k^T;  P = softmax(scale * S + mask) (in place, causal if asked);
               o = P v, written straight into the output in the input's layout
    backward:  dv = P^T do;  dP = do v^T;  dS = scale * P * (dP - rowsum(dP * P));
               dq = dS k;  dk = dS^T q, each into its block of the projection's gradient

A pair's scores (L x S) stay in cache between its products; the weights P are
kept for the backward (and are what ``need_weights`` would return).

Layout: ``xq``, ``xk``, ``xv`` are 3-D arrays (L, N, C) -- or (N, L, C) with
``batch_first`` -- holding a head block of ``heads * head_dim`` columns from
column ``offsets[i]``; they may be one array (self-attention: offsets 0, E, 2E).
``mask``: None or an additive (Bm, L, S) float array, Bm 1 or N*heads, batch
index n * heads + h (PyTorch's head order).
"""
from __future__ import annotations

import numpy as np

from .array import placeholder
from .blas import gemm
from .softmax import _attn_bwd_row, _attn_fwd_row
from .tasks import run_tasks, span, task, tasks_for


def heads_view(x: np.ndarray, offset: int, heads: int, head_dim: int,
               batch_first: bool) -> np.ndarray:
    """The (N, heads, L, head_dim) view of the head block of ``x`` that starts at column
    ``offset`` (no copy: every (L, head_dim) matrix has a unit-stride last axis)."""
    block = x[:, :, offset:offset + heads * head_dim]
    four = block.reshape(x.shape[0], x.shape[1], heads, head_dim)
    return four.transpose(0, 2, 1, 3) if batch_first else four.transpose(1, 2, 0, 3)


@task
def _mha_fwd_task(q4, k4, v4, scale, mask, has_mask, causal, w, o4, t, tasks):
    heads, queries = q4.shape[1], q4.shape[2]
    lo, hi = span(t, tasks, q4.shape[0] * heads)
    bad = 0
    for bh in range(lo, hi):
        n = bh // heads
        h = bh - n * heads
        bad |= gemm(q4[n, h], k4[n, h], w[bh], False, True, 0.0)
        for i in range(queries):  # the row softmax, in place over the scores
            _attn_fwd_row(w, scale, mask, has_mask, causal, w, bh * queries + i)
        bad |= gemm(w[bh], v4[n, h], o4[n, h], False, False, 0.0)
    if bad:
        raise RuntimeError("mha_fwd: BLAS refused an operand (shape or stride)")


@task
def _mha_bwd_task(q4, k4, v4, w, g4, scale, scratch, dq4, dk4, dv4, t, tasks):
    heads, queries = q4.shape[1], q4.shape[2]
    lo, hi = span(t, tasks, q4.shape[0] * heads)
    dp = scratch[max(t, 0)]  # this task's (1, L, S) score gradient
    bad = 0
    for bh in range(lo, hi):
        n = bh // heads
        h = bh - n * heads
        p, g = w[bh], g4[n, h]
        bad |= gemm(p, g, dv4[n, h], True, False, 0.0)
        bad |= gemm(g, v4[n, h], dp[0], False, True, 0.0)
        for i in range(queries):  # dS from dP, in place (the row softmax's backward)
            _attn_bwd_row(w[bh:bh + 1], dp, scale, dp, i)
        bad |= gemm(dp[0], k4[n, h], dq4[n, h], False, False, 0.0)
        bad |= gemm(dp[0], q4[n, h], dk4[n, h], True, False, 0.0)
    if bad:
        raise RuntimeError("mha_bwd: BLAS refused an operand (shape or stride)")


def roles(xq, xk, xv) -> tuple:
    """The arrays q, k and v are read from: ``xk`` None means ``xq``, ``xv`` None ``xk``."""
    xk = xq if xk is None else xk
    return xq, xk, xk if xv is None else xv


def _views(arrays, offsets, heads, head_dim, batch_first):
    return tuple(heads_view(x, o, heads, head_dim, batch_first)
                 for x, o in zip(arrays, offsets))


def _tasks(n_pairs: int, work: int) -> int:
    return min(tasks_for(work), max(n_pairs, 1))


def mha_fwd(xq, xk, xv, offsets, heads: int, head_dim: int, batch_first: bool, scale: float,
            mask, causal: bool):
    """Attention of every head: returns ``(out, weights)``, out (L, N, heads*head_dim) (or
    (N, L, ...) with ``batch_first``) C-contiguous, weights (N*heads, L, S) the softmax.

    ``xk`` / ``xv`` None: the same array as ``xq`` / ``xk`` (module docstring)."""
    q4, k4, v4 = _views(roles(xq, xk, xv), offsets, heads, head_dim, batch_first)
    n, _, queries, _ = q4.shape
    keys = k4.shape[2]
    lead = (n, queries) if batch_first else (queries, n)
    out = np.empty(lead + (heads * head_dim,), xq.dtype)
    o4 = heads_view(out, 0, heads, head_dim, batch_first)
    w = np.empty((n * heads, queries, keys), xq.dtype)
    has_mask = mask is not None
    m = np.ascontiguousarray(mask, xq.dtype) if has_mask else placeholder(xq.dtype, (1, 1, 1))
    if w.size and out.size:
        run_tasks(_mha_fwd_task, (q4, k4, v4, float(scale), m, has_mask, bool(causal), w, o4),
                  _tasks(n * heads, w.size * head_dim))
    elif out.size:
        out[...] = 0  # no keys: PyTorch's softmax over nothing, times nothing
    return out, w


def mha_bwd(xq, xk, xv, offsets, heads: int, head_dim: int, batch_first: bool, scale: float,
            weights, g):
    """Gradients of ``mha_fwd``'s output for upstream ``g`` (out's shape): ``(dxq, dxk, dxv)``
    shaped as the inputs, with the same aliasing (None where the input was None: its
    blocks are in the array it aliases).  Columns outside the head blocks get zeros."""
    arrays = roles(xq, xk, xv)
    q4, k4, v4 = _views(arrays, offsets, heads, head_dim, batch_first)
    grad_of = {}  # id(input array) -> its gradient
    for x in arrays:
        if id(x) not in grad_of:
            grad_of[id(x)] = dx = np.empty(x.shape, x.dtype)
            if x.shape[2] != heads * head_dim * sum(y is x for y in arrays) or not weights.size:
                dx[...] = 0  # columns no head block covers (or nothing to compute)
    dq4, dk4, dv4 = _views([grad_of[id(x)] for x in arrays], offsets, heads, head_dim,
                           batch_first)
    g4 = heads_view(np.ascontiguousarray(g, weights.dtype), 0, heads, head_dim, batch_first)
    n = q4.shape[0]
    tasks = _tasks(n * heads, weights.size * head_dim)
    scratch = np.empty((tasks, 1) + weights.shape[1:], weights.dtype)
    if weights.size:
        run_tasks(_mha_bwd_task, (q4, k4, v4, weights, g4, float(scale), scratch, dq4, dk4,
                                  dv4), tasks)
    return tuple(None if x is None else grad_of[id(x)] for x in (xq, xk, xv))
