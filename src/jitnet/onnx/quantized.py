"""ONNX for jitnet's int8 models: the dynamic quantized Linear as ``MatMulInteger``.

``quantization.functional._LinearDynamic`` (what ``QuantizedLinear`` runs) is
emitted as jitnet's own quantization scheme written out in standard ops, so
that onnxruntime computes the same int8 levels, the same exact int32 sums and
the same float32 rescale as jitnet's kernel::

    amax  = ReduceMax(Abs(x), axis 1)              per row, in float64 as the kernel
    scale = amax / 127  (1 where amax == 0)
    q     = Clip(Floor(x * (1 / scale) + 0.5), -127, 127)
    acc   = MatMulInteger(uint8(q + 128), W^T int8, a_zero_point = 128)    int32
    y     = float(acc) * float32(scale) * w_scale + bias

ONNX's ``DynamicQuantizeLinear`` is not used: it quantizes the whole tensor
asymmetrically to uint8 with one scale, where jitnet (and PyTorch's fbgemm
``quantize_dynamic``) quantize each row symmetrically; the levels would differ.
Activations go in as uint8 with zero point 128 (as the CPU kernel stores
them): u8 x s8 is the ``MatMulInteger`` type pair every onnxruntime build runs.
The weight initializer is the int8 weight transposed, ``<name>.T`` (K, N).
``QuantizedConv2d`` (weight-only int8) needs nothing here: its forward is
traced as Cast + Mul of the int8 weight, then the float Conv.  Constant
folding would precompute that float weight, so the int8 export runs without it
(``do_constant_folding=False``) and the file keeps the int8 weights.

``export_quantized_run`` is ``jitnet export RUN_DIR --quantize``.
"""
from __future__ import annotations

import numpy as np

from ..kernels.scalar.quant import QMAX
from ..quantization.functional import _LinearDynamic
from .graph import _np
from .registry import register_function

ZERO_POINT = 128
"""The activations' uint8 zero point (``kernels/cpu/quant.py`` stores them so too)."""


@register_function(_LinearDynamic)
def _linear_dynamic(g, rec, alt):
    """(M, K) float32 x, int8 (N, K) weight, float32 (N,) scales, bias or None -> (M, N)."""
    from onnx import TensorProto

    x_t, w_t, ws_t, bias_t = rec.args
    # float64 as in the kernel, where amax / 127 and 1 / scale are float64 operations
    x = g.cast(g.value(x_t), x_t._data.dtype, np.float64)
    amax = g.axes_op("ReduceMax", [g.node("Abs", [x])], [1], keepdims=1)
    zero = g.scalar(0.0, np.float64)
    scale = g.node("Where", [g.node("Greater", [amax, zero]),
                             g.node("Div", [amax, g.scalar(QMAX, np.float64)]),
                             g.scalar(1.0, np.float64)])
    inv = g.node("Div", [g.scalar(1.0, np.float64), scale])
    level = g.node("Floor", [g.node("Add", [g.node("Mul", [x, inv]),
                                            g.scalar(0.5, np.float64)])])
    level = g.node("Clip", [level, g.scalar(-QMAX, np.float64), g.scalar(QMAX, np.float64)])
    q = g.node("Cast", [g.node("Add", [level, g.scalar(ZERO_POINT, np.float64)])],
               to=TensorProto.UINT8)
    acc = g.node("MatMulInteger", [q, _transposed_weight(g, w_t),
                                   g.scalar(ZERO_POINT, np.uint8, "zero_point")])
    # (acc * x_scale) * w_scale: the kernel's order of the two float32 products
    y = g.node("Mul", [g.node("Cast", [acc], to=TensorProto.FLOAT),
                       g.node("Cast", [scale], to=TensorProto.FLOAT)])
    y = g.node("Mul", [y, g.value(ws_t)])
    if bias_t is not None:
        y = g.node("Add", [y, g.value(bias_t)])
    return [y]


def _transposed_weight(g, w_t) -> str:
    """The int8 (N, K) weight as a (K, N) initializer, named after its state_dict key."""
    p = g.params.get(id(w_t._data))
    name = f"{p[0]}.T" if p is not None else g.fresh("weight_int8.T")
    if name not in g.inits:
        g.inits[name] = np.ascontiguousarray(_np(w_t).T)
    return name


def export_quantized_run(run: dict, out, opset: int = 17):
    """``jitnet export RUN_DIR --quantize``: the run's model with int8 Linear layers (and
    weight-only int8 Conv2d, as ``jitnet train --quantize``) written to ``out``.

    The int8 weights are the run's ``model_int8.safetensors`` when it has one, else the
    float checkpoint quantized now (the same numbers: quantization is deterministic).
    Returns (jitnet's quantized model, ModelProto).
    """
    from .. import nn
    from ..io import load
    from ..quantization import quantize_dynamic
    from ..tensor import tensor
    from .deploy import load_deployable
    from .export import export

    model = quantize_dynamic(load_deployable(run), {nn.Linear, nn.Conv2d})
    int8_file = run["dir"] / "model_int8.safetensors"
    if int8_file.is_file():
        target = model.model if hasattr(model, "normalize") else model
        target.load_state_dict(load(int8_file, map_location="cpu"))
    model.eval()
    example = tensor(np.zeros([2] + list(run["export"]["input_shape"]), np.float32))
    proto = export(model, example, str(out), input_names=["image"], output_names=["logits"],
                   dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                   opset_version=opset, do_constant_folding=False)  # keep int8 Conv weights
    return model, proto
