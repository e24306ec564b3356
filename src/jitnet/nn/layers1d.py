"""1-D layers: ``Conv1d``, ``MaxPool1d``, ``AvgPool1d`` over (N, C, L) input (the 2-D kernels
on an H = 1 plane, ``ops/nn1d.py``)."""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .conv import _ConvNd
from .module import Module
from .pooling import _MaxPoolNd


class Conv1d(_ConvNd):
    """1-D convolution layer, as ``torch.nn.Conv1d``.

    Input (N, C_in, L) or (C_in, L); weight (C_out, C_in/groups, k),
    initialised kaiming_uniform_(a=sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in));
    ``padding`` an int, 'valid' or 'same'.  Only ``padding_mode='zeros'``.
    """

    _dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__()
        self._init_conv(in_channels, out_channels, kernel_size, stride, padding, dilation,
                        groups, bias, padding_mode, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        pad = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(input, self.weight, self.bias, self.stride[0], pad, self.dilation[0],
                        self.groups)


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
