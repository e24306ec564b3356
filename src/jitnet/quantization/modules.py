"""Quantized layers: ``QuantizedLinear`` (dynamic int8) and ``QuantizedConv2d`` (int8 weights).

Both keep their weights as an int8 buffer ``weight`` and a float32 per-output-
channel ``scale`` buffer (``bias`` stays float32), so ``state_dict`` saves int8
tensors through ``jn.save`` and a freshly built quantized model loads it back
with ``load_state_dict``.  PyTorch packs these as ``_packed_params``; the
keys differ, the arithmetic is the same (symmetric per-channel weights,
activations quantized per row at run time).
"""
from __future__ import annotations

from ..dtypes import float32, int8
from ..nn import functional as F
from ..nn.module import Module
from ..tensor import Tensor, zeros
from . import functional as Q


class QuantizedLinear(Module):
    """``Linear`` with int8 weights: y = dequant(int8(x) @ int8(W)^T) + b (inference only).

    Input (*, in_features) float, output (*, out_features) float32.  Build one from a
    float ``nn.Linear`` with ``from_float``, or empty (zeros) to ``load_state_dict`` into.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device=None) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.register_buffer("weight", zeros(out_features, in_features, dtype=int8,
                                             device=device))
        self.register_buffer("scale", zeros(out_features, dtype=float32, device=device))
        self.register_buffer("bias", zeros(out_features, dtype=float32, device=device)
                             if bias else None)

    @classmethod
    def from_float(cls, mod: Module) -> QuantizedLinear:
        """The int8 version of a float ``nn.Linear`` (weights quantized per output row)."""
        q = cls(mod.in_features, mod.out_features, mod.bias is not None,
                device=mod.weight.device)
        q.weight, q.scale = Q.quantize_per_channel(mod.weight)
        if mod.bias is not None:
            q.bias = mod.bias.detach().to(float32).clone()
        return q

    def forward(self, input: Tensor) -> Tensor:
        return Q.linear_dynamic(input, self.weight, self.scale, self.bias)

    def dequantized_weight(self) -> Tensor:
        """The float32 weight the int8 one stands for (``weight * scale``)."""
        return Q.dequantize_per_channel(self.weight, self.scale)

    def _get_name(self) -> str:
        return "DynamicQuantizedLinear"

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"dtype=jitnet.qint8, qscheme=per_channel_symmetric")


class QuantizedConv2d(Module):
    """``Conv2d`` with int8 weights (weight-only: the weight is dequantized at each forward
    and the convolution runs in float32).  Build with ``from_float``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, device=None) -> None:
        super().__init__()
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = (int(kh), int(kw))
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.register_buffer("weight", zeros(out_channels, in_channels // groups, kh, kw,
                                             dtype=int8, device=device))
        self.register_buffer("scale", zeros(out_channels, dtype=float32, device=device))
        self.register_buffer("bias", zeros(out_channels, dtype=float32, device=device)
                             if bias else None)

    @classmethod
    def from_float(cls, mod: Module) -> QuantizedConv2d:
        """The int8-weight version of a float ``nn.Conv2d`` (per-output-channel scales)."""
        if getattr(mod, "padding_mode", "zeros") != "zeros":
            raise NotImplementedError("quantize_dynamic: Conv2d with padding_mode="
                                      f"{mod.padding_mode!r} is not supported")
        q = cls(mod.in_channels, mod.out_channels, mod.kernel_size, mod.stride, mod.padding,
                mod.dilation, mod.groups, mod.bias is not None, device=mod.weight.device)
        q.weight, q.scale = Q.quantize_per_channel(mod.weight)
        if mod.bias is not None:
            q.bias = mod.bias.detach().to(float32).clone()
        return q

    def forward(self, input: Tensor) -> Tensor:
        w = Q.dequantize_per_channel(self.weight, self.scale)
        return F.conv2d(input.to(float32), w, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)

    def _get_name(self) -> str:
        return "WeightOnlyQuantizedConv2d"

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dtype=jitnet.qint8")
