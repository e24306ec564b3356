"""``Conv2d``: 2-D cross-correlation over NCHW input (im2col + GEMM kernels underneath)."""
from __future__ import annotations

from ..ops._nn_args import pair
from ..ops.nn1d import single
from ..tensor import Tensor
from . import functional as F
from ._construct import add_weight_and_bias, default_init_, positive_int, unsupported
from .module import Module


class _ConvNd(Module):
    """What every convolution layer shares: channel and group checks, the window tuples
    (``_dims`` long), the weight and bias with PyTorch's default init, and ``extra_repr``.

    Subclasses set ``_dims`` and ``_transposed`` (ConvTranspose: weight (C_in, C_out/groups,
    *k) and an ``output_padding``; otherwise (C_out, C_in/groups, *k) and string padding).
    """

    _dims = 2
    _transposed = False

    def _init_conv(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                   dilation, groups: int, bias: bool, padding_mode: str, device, dtype,
                   output_padding=0) -> None:
        name = type(self).__name__
        if padding_mode != "zeros":
            raise unsupported(name, "padding_mode", padding_mode)
        positive_int(name, "in_channels", in_channels)
        positive_int(name, "out_channels", out_channels)
        positive_int(name, "groups", groups)
        for what, c in (("in_channels", in_channels), ("out_channels", out_channels)):
            if c % groups:
                raise ValueError(f"{name}: {what} ({c}) must be divisible by groups ({groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = self._window(kernel_size, "kernel_size")
        self.stride = self._window(stride, "stride")
        self.dilation = self._window(dilation, "dilation")
        if isinstance(padding, str) and not self._transposed:
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and self.stride != (1,) * self._dims:
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 "convolutions")
            self.padding = padding
        else:
            self.padding = self._window(padding, "padding")
        self.padding_mode = padding_mode
        if min(self.kernel_size + self.stride + self.dilation) < 1:
            raise ValueError(f"{name}: kernel_size, stride and dilation must be >= 1, got "
                             f"{self.kernel_size}, {self.stride}, {self.dilation}")
        if self._transposed:
            self.output_padding = self._window(output_padding, "output_padding")
            for p, s, d in zip(self.output_padding, self.stride, self.dilation):
                if p >= s and p >= d:
                    raise ValueError(f"{name}: output padding must be smaller than either "
                                     f"stride or dilation, got output_padding="
                                     f"{self.output_padding}, stride={self.stride}, "
                                     f"dilation={self.dilation}")
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        add_weight_and_bias(self, shape, out_channels, bias, device, dtype)

    def _window(self, value, what: str) -> tuple:
        name = type(self).__name__
        return (single(value, what, name),) if self._dims == 1 else pair(value, what, name)

    def reset_parameters(self) -> None:
        default_init_(self.weight, self.bias)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        zero, one = (0,) * self._dims, (1,) * self._dims
        if self.padding != zero:
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else \
                f", padding={self.padding}"
        if self._transposed and self.output_padding != zero:
            s += f", output_padding={self.output_padding}"
        if self.dilation != one:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
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
        self._init_conv(in_channels, out_channels, kernel_size, stride, padding, dilation,
                        groups, bias, padding_mode, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)
