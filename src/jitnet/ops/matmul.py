"""Matrix products: ``matmul`` / ``@`` with PyTorch's 1-D and batch-broadcast rules, mm, bmm,
and the vector products dot, mv, outer built on them (kernels/{cpu,cuda}/matmul.py).

Every case reduces to the batched kernel ``k.bmm`` on 3-D arrays.  A stack of
matrices times one matrix ((..., M, K) @ (K, N), a Linear layer on a batch) is
folded into a single (prod(...)*M, K) @ (K, N) GEMM, which BLAS runs fastest.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from . import elementwise as ew
from .shape import unsqueeze


class Matmul(Function):
    @staticmethod
    def forward(ctx, a, b):
        k = ctx.k
        a2 = k.reshape(a, (1,) + a.shape) if a.ndim == 1 else a
        b2 = k.reshape(b, b.shape + (1,)) if b.ndim == 1 else b
        (m, kk), n = a2.shape[-2:], b2.shape[-1]
        if b2.ndim == 2:  # fold a's batch dims into M: one GEMM
            batch = a2.shape[:-2]
            A = k.reshape(a2, (1, math.prod(batch) * m, kk))
            B = k.reshape(b2, (1, kk, n))
        else:
            batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
            nb = math.prod(batch)  # not -1: a zero-size inner dim leaves -1 ambiguous
            A = k.reshape(k.broadcast_to(a2, batch + (m, kk)), (nb, m, kk))
            B = k.reshape(k.broadcast_to(b2, batch + (kk, n)), (nb, kk, n))
        ctx.A, ctx.B, ctx.batch = A, B, batch
        ctx.a_shape, ctx.b_shape, ctx.a2_shape, ctx.b2_shape = a.shape, b.shape, a2.shape, \
            b2.shape
        out = k.bmm(A, B)
        out_shape = batch + (m, n)
        if a.ndim == 1:
            out_shape = out_shape[:-2] + (n,)
        if b.ndim == 1:
            out_shape = out_shape[:-1]
        return k.reshape(out, out_shape)

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        G = k.reshape(g, (ctx.A.shape[0], ctx.A.shape[1], ctx.B.shape[2]))
        ga = gb = None
        if need[0]:
            ga = k.bmm(G, ctx.B, trans_b=True)  # (Bt, M, K)
            if len(ctx.b2_shape) == 2:
                ga = k.reshape(ga, ctx.a2_shape)
            else:
                ga = k.reshape(ga, ctx.batch + ctx.a2_shape[-2:])
            if len(ctx.a_shape) == 1:
                ga = k.reshape(ga, ga.shape[:-2] + ga.shape[-1:])
        if need[1]:
            gb = k.bmm(ctx.A, G, trans_a=True)  # (Bt, K, N)
            if len(ctx.b2_shape) == 2:
                gb = k.reshape(gb, ctx.b2_shape)
            else:
                gb = k.reshape(gb, ctx.batch + ctx.b2_shape[-2:])
            if len(ctx.b_shape) == 1:
                gb = k.reshape(gb, gb.shape[:-1])
        return ga, gb


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with PyTorch's rules: 1-D operands are vectors, batch dims broadcast.

    Shapes: (..., M, K) @ (..., K, N) -> (broadcast(...), M, N). Both operands must
    share one dtype (as in PyTorch; no promotion).
    """
    for name, t in (("input", input), ("other", other)):
        if not isinstance(t, Tensor):
            raise TypeError(f"matmul: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim == 0:
            raise RuntimeError(f"matmul: both arguments need at least 1 dimension, {name} is 0-d")
    if input.dtype is not other.dtype:
        raise RuntimeError(
            f"matmul: expected both operands to have the same dtype, got {input.dtype} and "
            f"{other.dtype}"
        )
    ka = input.shape[-1]
    kb = other.shape[0] if other.ndim == 1 else other.shape[-2]
    if ka != kb:
        raise RuntimeError(
            f"matmul: shapes {tuple(input.shape)} and {tuple(other.shape)} cannot be multiplied "
            f"(inner dims {ka} != {kb})"
        )
    if input.ndim > 2 or other.ndim > 2:
        try:
            np.broadcast_shapes(tuple(input.shape[:-2]) if input.ndim > 1 else (),
                                tuple(other.shape[:-2]) if other.ndim > 1 else ())
        except ValueError:
            raise RuntimeError(
                f"matmul: batch dims of {tuple(input.shape)} and {tuple(other.shape)} cannot "
                f"be broadcast"
            ) from None
    return Matmul.apply(input, other)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """2-D @ 2-D only."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {input.ndim}-D and {mat2.ndim}-D")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """(B, N, M) @ (B, M, P) -> (B, N, P), no broadcasting."""
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got {input.ndim}-D and {mat2.ndim}-D")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {input.shape[0]} and {mat2.shape[0]}")
    return matmul(input, mat2)


def _need(op: str, t, ndim: int, name: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if t.ndim != ndim:
        raise RuntimeError(f"{op}: {name} must be {ndim}-D, got shape {tuple(t.shape)}")


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same length (a 0-d tensor)."""
    _need("dot", input, 1, "input")
    _need("dot", tensor, 1, "tensor")
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(f"dot: inconsistent tensor size, expected tensor [{input.shape[0]}] "
                           f"and src [{tensor.shape[0]}] to have the same number of elements")
    return matmul(input, tensor)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """(n, m) matrix times (m,) vector -> (n,)."""
    _need("mv", input, 2, "input")
    _need("mv", vec, 1, "vec")
    return matmul(input, vec)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """(n,) x (m,) -> (n, m) with out[i, j] = input[i] * vec2[j]."""
    _need("outer", input, 1, "input")
    _need("outer", vec2, 1, "vec2")
    return ew.mul(unsqueeze(input, 1), unsqueeze(vec2, 0))
