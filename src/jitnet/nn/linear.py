"""``Linear`` (y = x W^T + b) and ``Identity``."""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from ._construct import add_weight_and_bias, default_init_, positive_int
from .module import Module


class Identity(Module):
    """Returns its input unchanged; accepts and ignores any constructor arguments (as PyTorch)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x W^T + b.

    Input (*, in_features), output (*, out_features).  ``weight`` is
    (out_features, in_features), initialised as PyTorch: kaiming_uniform_(a=sqrt(5)),
    i.e. U(-1/sqrt(in_features), 1/sqrt(in_features)), and so is ``bias``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in_features = positive_int("Linear", "in_features", in_features)
        self.out_features = positive_int("Linear", "out_features", out_features)
        add_weight_and_bias(self, (out_features, in_features), out_features, bias, device, dtype)

    def reset_parameters(self) -> None:
        default_init_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
