"""``ConvTranspose2d`` / ``ConvTranspose1d``: transposed convolutions, the adjoint of conv2d
(``ops/conv_transpose.py``: conv2d's kernels run backwards, no loop nest of their own)."""
from __future__ import annotations

from ..ops.conv_transpose import output_padding_for
from ..tensor import Tensor
from . import functional as F
from .conv import _ConvNd


class _ConvTransposeNd(_ConvNd):
    """Shared constructor: PyTorch's weight (C_in, C_out/groups, *kernel) and its init.

    ``weight`` is initialised kaiming_uniform_(a=sqrt(5)) and ``bias``
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with PyTorch's fan_in of this layout,
    (C_out/groups) * prod(kernel), so a seeded layer matches PyTorch's ranges.
    """

    _dims = 2
    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__()
        self._init_conv(in_channels, out_channels, kernel_size, stride, padding, dilation,
                        groups, bias, padding_mode, device, dtype, output_padding)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        spatial = tuple(input.shape[-self._dims:])
        return output_padding_for(type(self).__name__, spatial, output_size, self.stride,
                                  self.padding, self.kernel_size, self.dilation)


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
