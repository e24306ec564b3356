"""``Conv2d``: 2-D cross-correlation over NCHW input (im2col + GEMM kernels underneath)."""
from __future__ import annotations

from ..ops._nn_args import pair
from ..tensor import Tensor
from . import functional as F
from ._construct import add_weight_and_bias, default_init_, positive_int, unsupported
from .module import Module


class Conv2d(Module):
    """2-D convolution layer, as ``torch.nn.Conv2d``.

    Input (N, C_in, H, W) or (C_in, H, W); output (N, C_out, H_out, W_out) with
    H_out = (H + 2*padding - dilation*(kH - 1) - 1) // stride + 1.
    ``weight`` is (C_out, C_in/groups, kH, kW), initialised kaiming_uniform_(a=sqrt(5));
    ``bias`` U(-1/sqrt(fan_in), 1/sqrt(fan_in)).  ``padding`` may be an int, a
    pair, 'valid' or 'same'.  Only ``padding_mode='zeros'`` is supported.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__()
        name = "Conv2d"
        if padding_mode != "zeros":
            raise unsupported(name, "padding_mode", padding_mode)
        positive_int(name, "in_channels", in_channels)
        positive_int(name, "out_channels", out_channels)
        positive_int(name, "groups", groups)
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups "
                             f"({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups "
                             f"({groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size", name)
        self.stride = pair(stride, "stride", name)
        self.dilation = pair(dilation, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
        else:
            self.padding = pair(padding, "padding", name)
        self.padding_mode = padding_mode
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.dilation) < 1:
            raise ValueError(f"{name}: kernel_size, stride and dilation must be >= 1, got "
                             f"{self.kernel_size}, {self.stride}, {self.dilation}")
        add_weight_and_bias(self, (out_channels, in_channels // groups, *self.kernel_size),
                            out_channels, bias, device, dtype)

    def reset_parameters(self) -> None:
        default_init_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else \
                f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
