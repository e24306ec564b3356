"""Quantized ops: per-channel weight quantization and the dynamic int8 linear product.

Inference only: the ops are recorded on the tape (so a mistaken ``backward``
says what happened) but their backward raises, as PyTorch's dynamic quantized
ops have no derivative.
"""
from __future__ import annotations

from ..autograd import Function
from ..dtypes import float32, int8
from ..tensor import Tensor


def quantize_per_channel(weight: Tensor) -> tuple[Tensor, Tensor]:
    """Symmetric int8 quantization of ``weight`` with one scale per output channel (dim 0).

    weight: float (C, ...).  Returns (q, scale): q int8 of weight's shape and scale
    float32 (C,), with weight ~= q * scale (broadcast over the trailing dims).
    """
    if not isinstance(weight, Tensor) or not weight.dtype.is_floating_point:
        raise TypeError(f"quantize_per_channel: expected a floating point Tensor, got "
                        f"{getattr(weight, 'dtype', type(weight).__name__)}")
    if weight.ndim < 1 or weight.numel() == 0:
        raise ValueError(f"quantize_per_channel: expected a non-empty weight with an output "
                         f"channel dim, got shape {tuple(weight.shape)}")
    w = weight.detach().to(float32).reshape(weight.shape[0], -1).contiguous()
    q, scale = w._k().quantize_rows(w._data)
    return Tensor(q, w.device).reshape(tuple(weight.shape)), Tensor(scale, w.device)


def dequantize_per_channel(q: Tensor, scale: Tensor) -> Tensor:
    """``q * scale`` with ``scale`` (C,) broadcast along q's dim 0: float32 of q's shape."""
    return q.to(float32) * scale.reshape((-1,) + (1,) * (q.ndim - 1))


class _LinearDynamic(Function):
    """(M, K) float32 x -> (M, N) float32: x quantized per row at run time, int8 GEMM,
    one rescale and the bias (float32 (N,) or None) in the kernel's epilogue."""

    @staticmethod
    def forward(ctx, x, wq, w_scale, bias):
        return ctx.k.int8_linear(x, wq, w_scale, bias)

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("quantized linear: backward is not supported (dynamic "
                                  "quantization is for inference; differentiate the float "
                                  "model instead)")


def linear_dynamic(input: Tensor, weight: Tensor, scale: Tensor,
                   bias: Tensor | None = None) -> Tensor:
    """``input @ dequant(weight).T + bias`` the int8 way: each row of ``input`` is quantized
    to int8 with its own scale, multiplied by the int8 ``weight`` (N, K) with int32 sums,
    and rescaled once by the row and channel scales.

    input: float (*, K); weight: int8 (N, K); scale: float32 (N,); bias: float (N,) or
    None.  Returns float32 (*, N).
    """
    if not isinstance(input, Tensor) or not input.dtype.is_floating_point:
        raise TypeError(f"quantized linear: expected a floating point input Tensor, got "
                        f"{getattr(input, 'dtype', type(input).__name__)}")
    if weight.dtype is not int8 or weight.ndim != 2:
        raise TypeError(f"quantized linear: expected an int8 (out, in) weight, got "
                        f"{weight.dtype} of shape {tuple(weight.shape)}")
    n, k = weight.shape
    if input.ndim < 1 or input.shape[-1] != k:
        raise RuntimeError(f"quantized linear: input of shape {tuple(input.shape)} does not "
                           f"match the weight's in_features={k} (weight {n}x{k})")
    if k >= 1 << 17:  # 127 * 127 * K must fit the int32 accumulator
        raise ValueError(f"quantized linear: in_features={k} is too large for int32 "
                         "accumulation (at most 131071)")
    if tuple(scale.shape) != (n,):
        raise ValueError(f"quantized linear: scale has shape {tuple(scale.shape)}, expected "
                         f"({n},)")
    if input.device != weight.device:
        raise RuntimeError(f"quantized linear: input is on {input.device} but the weight is "
                           f"on {weight.device}")
    lead = tuple(input.shape[:-1])
    x = input.to(float32).reshape(-1, k).contiguous()
    if bias is not None:
        if tuple(bias.shape) != (n,):
            raise ValueError(f"quantized linear: bias has shape {tuple(bias.shape)}, expected "
                             f"({n},)")
        bias = bias.to(float32).contiguous()
    return _LinearDynamic.apply(x, weight, scale, bias).reshape(lead + (n,))
