"""``ConvTranspose2d`` / ``ConvTranspose1d``: transposed convolutions, the adjoint of conv2d
(``ops/conv_transpose.py``: conv2d's kernels run backwards, no loop nest of their own)."""
from __future__ import annotations

from ..ops._nn_args import pair
from ..ops.conv_transpose import output_padding_for
from ..ops.nn1d import single
from ..tensor import Tensor
from . import functional as F
from ._construct import add_weight_and_bias, default_init_, positive_int, unsupported
from .module import Module


class _ConvTransposeNd(Module):
    """Shared constructor: PyTorch's weight (C_in, C_out/groups, *kernel) and its init.

    ``weight`` is initialised kaiming_uniform_(a=sqrt(5)) and ``bias``
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with PyTorch's fan_in of this layout,
    (C_out/groups) * prod(kernel), so a seeded layer matches PyTorch's ranges.
    """

    _dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        if padding_mode != "zeros":
            raise unsupported(name, "padding_mode", padding_mode)
        positive_int(name, "in_channels", in_channels)
        positive_int(name, "out_channels", out_channels)
        positive_int(name, "groups", groups)
        for what, c in (("in_channels", in_channels), ("out_channels", out_channels)):
            if c % groups:
                raise ValueError(f"{name}: {what} ({c}) must be divisible by groups ({groups})")
        tup = (lambda v, n: (single(v, n, name),)) if self._dims == 1 else \
            (lambda v, n: pair(v, n, name))
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = tup(kernel_size, "kernel_size"), tup(stride, "stride")
        self.padding, self.dilation = tup(padding, "padding"), tup(dilation, "dilation")
        self.output_padding = tup(output_padding, "output_padding")
        self.padding_mode = padding_mode
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.dilation) < 1:
            raise ValueError(f"{name}: kernel_size, stride and dilation must be >= 1, got "
                             f"{self.kernel_size}, {self.stride}, {self.dilation}")
        for p, s, d in zip(self.output_padding, self.stride, self.dilation):
            if p >= s and p >= d:
                raise ValueError(f"{name}: output padding must be smaller than either stride or "
                                 f"dilation, got output_padding={self.output_padding}, "
                                 f"stride={self.stride}, dilation={self.dilation}")
        add_weight_and_bias(self, (in_channels, out_channels // groups, *self.kernel_size),
                            out_channels, bias, device, dtype)

    def reset_parameters(self) -> None:
        default_init_(self.weight, self.bias)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        spatial = tuple(input.shape[-self._dims:])
        return output_padding_for(type(self).__name__, spatial, output_size, self.stride,
                                  self.padding, self.kernel_size, self.dilation)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        zero = (0,) * self._dims
        if self.padding != zero:
            s += f", padding={self.padding}"
        if self.output_padding != zero:
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution layer, as ``torch.nn.ConvTranspose2d``.

    Input (N, C_in, H, W) or (C_in, H, W); output (N, C_out, OH, OW) with
    OH = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1.
    ``forward(input, output_size=None)``: an ``output_size`` picks the
    output_padding that yields it (PyTorch's rule).  Only
    ``padding_mode='zeros'``.
    """

    _dims = 2

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution layer, as ``torch.nn.ConvTranspose1d``: (N, C_in, L) ->
    (N, C_out, (L - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1)."""

    _dims = 1

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)
