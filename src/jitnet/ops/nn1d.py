"""The 1-D nn ops (conv1d, conv_transpose1d, max_pool1d, avg_pool1d) as their 2-D twins over an
H = 1 plane: (N, C, L) is run as (N, C, 1, L) with kernel, stride, padding and dilation
(1, k), (1, s), (0, p), (1, d).  No kernels of their own; the arguments are checked here, in
1-D terms, before the 2-D op sees them, so errors name the 1-D op."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._nn_args import check_float, check_same_dtype, check_tensor
from .conv import conv2d
from .conv_transpose import conv_transpose
from .pool import AvgPool2d, MaxPool2d, _pool_args


def single(value, name: str, op: str) -> int:
    """An int or a 1-tuple of an int -> int; TypeError naming ``op`` and ``name`` otherwise."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"{op}: {name} must be an int or a 1-tuple of an int, got {value!r}")


def _input(x, op: str) -> tuple[Tensor, bool]:
    """A (C, L) or (N, C, L) float input -> (N, C, 1, L) and whether it was unbatched."""
    check_tensor(x, "input", op)
    if x.ndim not in (2, 3):
        raise ValueError(f"{op}: expected 2-D (C, L) or 3-D (N, C, L) input, got shape "
                         f"{tuple(x.shape)}")
    check_float(x, "input", op)
    return (x.unsqueeze(0) if x.ndim == 2 else x).unsqueeze(2), x.ndim == 2


def _output(y: Tensor, unbatched: bool) -> Tensor:
    y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


def _weight(weight, bias, x, op: str, layout: str) -> Tensor:
    check_tensor(weight, "weight", op)
    check_same_dtype(op, x, weight=weight, bias=bias)
    if weight.ndim != 3:
        raise ValueError(f"{op}: expected 3-D weight {layout}, got shape {tuple(weight.shape)}")
    return weight.unsqueeze(2)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D cross-correlation over (N, C_in, L) or (C_in, L) input, as ``F.conv1d``.

    weight (C_out, C_in/groups, k); output (N, C_out, L_out) with
    L_out = (L + 2*padding - dilation*(k - 1) - 1) // stride + 1; ``padding``
    may be 'valid' or 'same' (stride 1).  Runs ``conv2d`` on an H = 1 plane.
    """
    op = "conv1d"
    x, unbatched = _input(input, op)
    w = _weight(weight, bias, input, op, "(C_out, C_in/groups, k)")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    c, (o, cg) = x.shape[1], weight.shape[:2]
    if cg * groups != c or o % groups:
        raise ValueError(f"{op}: given groups={groups}, weight of size {tuple(weight.shape)} "
                         f"expects input with {cg * groups} channels and out channels divisible "
                         f"by groups, but input of shape {tuple(input.shape)} has {c}")
    s, d = single(stride, "stride", op), single(dilation, "dilation", op)
    if isinstance(padding, str) and (padding not in ("same", "valid") or
                                     (padding == "same" and s != 1)):
        raise ValueError(f"{op}: padding must be an int, 'valid' or 'same' (stride 1 only), got "
                         f"padding={padding!r} with stride={s}")
    pad = padding if isinstance(padding, str) else (0, single(padding, "padding", op))
    return _output(conv2d(x, w, bias, (1, s), pad, (1, d), groups), unbatched)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution, as ``F.conv_transpose1d``: weight (C_in, C_out/groups, k),
    L_out = (L - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1."""
    op = "conv_transpose1d"
    x, unbatched = _input(input, op)
    w = _weight(weight, bias, input, op, "(C_in, C_out/groups, k)")
    s, d = single(stride, "stride", op), single(dilation, "dilation", op)
    p, q = single(padding, "padding", op), single(output_padding, "output_padding", op)
    return _output(conv_transpose(x, w, bias, (1, s), (0, p), (0, q), groups, (1, d), op),
                   unbatched)


def _window(op, x, kernel_size, stride, padding, dilation, ceil_mode, max_pool):
    k = single(kernel_size, "kernel_size", op)
    s = k if stride is None or stride == () or stride == [] else single(stride, "stride", op)
    p, d = single(padding, "padding", op), single(dilation, "dilation", op)
    return _pool_args(op, x, (1, k), (1, s), (0, p), (1, d), ceil_mode, max_pool)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over k-long windows of (N, C, L) or (C, L) input, as ``F.max_pool1d``; indices (with
    ``return_indices``) are positions along L."""
    op = "max_pool1d"
    x, unbatched = _input(input, op)
    g = _window(op, x, kernel_size, stride, padding, dilation, ceil_mode, True)
    y, idx = MaxPool2d.apply(x, g)
    y, idx = _output(y, unbatched), _output(idx, unbatched)
    return (y, idx) if return_indices else y


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over k-long windows of (N, C, L) or (C, L) input, as ``F.avg_pool1d``."""
    op = "avg_pool1d"
    x, unbatched = _input(input, op)
    g = _window(op, x, kernel_size, stride, padding, 1, ceil_mode, False)
    return _output(AvgPool2d.apply(x, g, bool(count_include_pad), 0, False), unbatched)
