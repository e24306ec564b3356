"""Pointwise activations: relu, leaky_relu, gelu, sigmoid, tanh, softplus, mish, silu,
hardtanh, elu, selu — op codes of the elementwise kernel family
(kernels/{cpu,cuda}/elementwise.py). softmax / log_softmax are their own family, ops/softmax.py.

The pointwise activations are op codes of the unary family
(kernels/opcodes.py): one forward and one backward kernel serve them all;
this module only gives them PyTorch's signatures.
"""
from __future__ import annotations

import math

from .. import dtypes as dt
from ..kernels import opcodes as oc
from ..tensor import Tensor
from . import elementwise as ew
from ._nn_args import check_tensor


def _in_place(op: str, input: Tensor, fn) -> Tensor:
    """input overwritten by fn(input) under PyTorch's rules (ops/inplace.py: a leaf that
    requires grad refuses; on a tensor autograd tracks, the tensor is rebound)."""
    from .inplace import unary_

    return unary_(op + "_", check_tensor(input, "input", op), fn)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); the gradient at 0 is 0, as PyTorch.  ``inplace=True`` as ``relu_``."""
    if inplace:
        return _in_place("relu", input, lambda x: ew.unary(x, oc.RELU))
    return ew.relu(check_tensor(input, "input", "relu"))


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x; ``inplace=True`` as ``leaky_relu_``."""
    slope = float(negative_slope)
    if inplace:
        return _in_place("leaky_relu", input, lambda x: ew.unary(x, oc.LEAKY_RELU, slope))
    return ew.unary(check_tensor(input, "input", "leaky_relu"), oc.LEAKY_RELU, slope)


def relu_(input: Tensor) -> Tensor:
    """In-place ``relu``: overwrites input (see ops/inplace.py for the autograd rules)."""
    return relu(input, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu``."""
    return leaky_relu(input, negative_slope, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) with the exact erf form (PyTorch's default), or the tanh approximation
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) with ``approximate='tanh'``."""
    check_tensor(input, "input", "gelu")
    if approximate == "none":
        return ew.unary(input, oc.GELU)
    if approximate == "tanh":  # composed of differentiable ops, so autograd handles it
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (ew.tanh(inner) + 1.0)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), computed without overflow."""
    return ew.unary(check_tensor(input, "input", "sigmoid"), oc.SIGMOID)


def tanh(input: Tensor) -> Tensor:
    return ew.unary(check_tensor(input, "input", "tanh"), oc.TANH)


def _maybe_in_place(op: str, input: Tensor, inplace: bool, fn) -> Tensor:
    """fn(input), or input overwritten by it with ``inplace=True`` (see ``_in_place``)."""
    return _in_place(op, input, fn) if inplace else fn(input)


def _float_activation(name: str, input: Tensor) -> Tensor:
    """Validate a float-only activation's input (PyTorch has no integer kernel for these)."""
    check_tensor(input, "input", name)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"{name}: not implemented for {input.dtype} (floating point "
                                  "input only)")
    return input


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold (as PyTorch)."""
    x = _float_activation("softplus", input)
    return ew.unary(x, oc.SOFTPLUS, float(beta), float(threshold))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    return _maybe_in_place("mish", input, inplace,
                           lambda x: ew.unary(_float_activation("mish", x), oc.MISH))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return _maybe_in_place("silu", input, inplace,
                           lambda x: ew.unary(_float_activation("silu", x), oc.SILU))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]; the gradient is 0 at the bounds themselves, as PyTorch."""
    check_tensor(input, "input", "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    if input.dtype is dt.bool_:
        raise RuntimeError("hardtanh: Boolean inputs not supported for hardtanh")
    lo, hi = float(min_val), float(max_val)
    return _maybe_in_place("hardtanh", input, inplace, lambda x: ew.unary(x, oc.HARDTANH, lo, hi))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    a = float(alpha)
    return _maybe_in_place("elu", input, inplace,
                           lambda x: ew.unary(_float_activation("elu", x), oc.ELU, a, 1.0))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with PyTorch's (self-normalising) constants."""
    return _maybe_in_place("selu", input, inplace, lambda x: ew.unary(
        _float_activation("selu", x), oc.ELU, SELU_ALPHA, SELU_SCALE))
