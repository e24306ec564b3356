"""Helpers shared by the layer files: parameter allocation and default init, and
unsupported-argument errors."""
from __future__ import annotations

import math

from ..tensor import empty
from .parameter import Parameter


def new_parameter(*shape: int, device=None, dtype=None) -> Parameter:
    """An uninitialised (zero-filled) Parameter; the layer's reset_parameters fills it."""
    return Parameter(empty(*shape, dtype=dtype, device=device))


def add_weight_and_bias(module, weight_shape: tuple, bias_size: int, bias: bool, device=None,
                        dtype=None) -> None:
    """Give ``module`` a ``weight`` of ``weight_shape`` and, with ``bias``, a ``bias`` of
    ``bias_size`` entries (else a ``bias`` of None), then fill them with
    ``module.reset_parameters()``: the shape of Linear and every convolution."""
    module.weight = new_parameter(*weight_shape, device=device, dtype=dtype)
    if bias:
        module.bias = new_parameter(bias_size, device=device, dtype=dtype)
    else:
        module.register_parameter("bias", None)
    module.reset_parameters()


def default_init_(weight, bias) -> None:
    """PyTorch's default init of Linear and the convolutions: kaiming_uniform_(a=sqrt(5))
    for the weight, the bias uniform in +-1/sqrt(fan_in) (0 when fan_in is 0)."""
    from . import init

    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


def unsupported(layer: str, name: str, value) -> NotImplementedError:
    """The error for a PyTorch constructor argument jitnet does not implement."""
    return NotImplementedError(f"{layer}: {name}={value!r} is not supported by jitnet")


def positive_int(layer: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return value
