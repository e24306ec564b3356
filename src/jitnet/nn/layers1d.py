"""1-D layers: ``Conv1d``, ``MaxPool1d``, ``AvgPool1d`` over (N, C, L) input (the 2-D kernels
on an H = 1 plane, ``ops/nn1d.py``)."""
from __future__ import annotations

from ..ops.nn1d import single
from ..tensor import Tensor
from . import functional as F
from ._construct import add_weight_and_bias, default_init_, positive_int, unsupported
from .module import Module
from .pooling import _MaxPoolNd


class Conv1d(Module):
    """1-D convolution layer, as ``torch.nn.Conv1d``.

    Input (N, C_in, L) or (C_in, L); weight (C_out, C_in/groups, k),
    initialised kaiming_uniform_(a=sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in));
    ``padding`` an int, 'valid' or 'same'.  Only ``padding_mode='zeros'``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__()
        name = "Conv1d"
        if padding_mode != "zeros":
            raise unsupported(name, "padding_mode", padding_mode)
        positive_int(name, "in_channels", in_channels)
        positive_int(name, "out_channels", out_channels)
        positive_int(name, "groups", groups)
        for what, c in (("in_channels", in_channels), ("out_channels", out_channels)):
            if c % groups:
                raise ValueError(f"{name}: {what} ({c}) must be divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = (single(kernel_size, "kernel_size", name),)
        self.stride = (single(stride, "stride", name),)
        self.dilation = (single(dilation, "dilation", name),)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and self.stride != (1,):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
        else:
            self.padding = (single(padding, "padding", name),)
        self.padding_mode = padding_mode
        if min(self.kernel_size + self.stride + self.dilation) < 1:
            raise ValueError(f"{name}: kernel_size, stride and dilation must be >= 1, got "
                             f"{self.kernel_size}, {self.stride}, {self.dilation}")
        add_weight_and_bias(self, (out_channels, in_channels // groups, self.kernel_size[0]),
                            out_channels, bias, device, dtype)

    def reset_parameters(self) -> None:
        default_init_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        pad = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(input, self.weight, self.bias, self.stride[0], pad, self.dilation[0],
                        self.groups)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else \
                f", padding={self.padding}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class MaxPool1d(_MaxPoolNd):
    """Max over k-long windows of (N, C, L) input; ``stride`` defaults to ``kernel_size``."""

    def forward(self, input: Tensor):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool1d(Module):
    """Mean over k-long windows of (N, C, L) input; ``stride`` defaults to ``kernel_size``."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, \
            count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
