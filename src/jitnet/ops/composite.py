"""Ops composed from other differentiable ops: lerp, addcmul, addcdiv, addmm.

No kernels of their own: autograd differentiates through the pieces, and every
device has them.
"""
from __future__ import annotations

from ..tensor import Tensor
from ._checks import broadcast_shape
from .elementwise import add, div, mul, sub
from .matmul import mm


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """input + weight * (end - input); ``weight`` a number or a tensor (all broadcast)."""
    return add(input, mul(weight, sub(end, input)))


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """input + value * tensor1 * tensor2 (broadcast)."""
    prod = mul(tensor1, tensor2)
    return add(input, prod if value == 1 else mul(prod, value))


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """input + value * tensor1 / tensor2 (broadcast)."""
    quot = div(tensor1, tensor2)
    return add(input, quot if value == 1 else mul(quot, value))


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2); input broadcasts to (n, p).  With beta = 0 the
    input is ignored (NaN in it does not propagate), as PyTorch."""
    for name, m in (("mat1", mat1), ("mat2", mat2)):
        if not isinstance(m, Tensor) or m.ndim != 2:
            got = tuple(m.shape) if isinstance(m, Tensor) else type(m).__name__
            raise RuntimeError(f"addmm: {name} must be a matrix, got {got}")
    prod = mm(mat1, mat2)
    if alpha != 1:
        prod = mul(prod, alpha)
    if beta == 0:
        broadcast_shape("addmm", tuple(input.shape), tuple(prod.shape))
        return prod
    return add(prod, input if beta == 1 else mul(input, beta))
