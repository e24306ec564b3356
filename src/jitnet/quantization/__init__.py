"""``jitnet.quantization``: int8 models for inference, as PyTorch's ``quantize_dynamic``.

>>> qmodel = jitnet.quantization.quantize_dynamic(model, {jitnet.nn.Linear}, dtype=jitnet.qint8)

Linear layers become ``QuantizedLinear`` (int8 weights with per-output-channel
scales; activations quantized per row at run time; an int8 x int8 -> int32
GEMM kernel, ``kernels/{cpu,cuda}/quant.py``; one rescale); ``nn.Conv2d``,
when asked for, becomes ``QuantizedConv2d`` (int8 weights, float compute).
"""
from __future__ import annotations

import copy

from ..dtypes import int8 as qint8
from ..nn import Conv2d, Linear
from ..nn.module import Module
from .functional import dequantize_per_channel, linear_dynamic, quantize_per_channel
from .modules import QuantizedConv2d, QuantizedLinear

__all__ = ["QuantizedConv2d", "QuantizedLinear", "dequantize_per_channel", "linear_dynamic",
           "qint8", "quantize_dynamic", "quantize_per_channel"]

DEFAULT_MAPPING = {Linear: QuantizedLinear, Conv2d: QuantizedConv2d}
"""Float layer type -> its quantized class (``from_float``)."""


def quantize_dynamic(model: Module, qconfig_spec=None, dtype=qint8, mapping: dict | None = None,
                     inplace: bool = False) -> Module:
    """A copy of ``model`` whose layers named by ``qconfig_spec`` are int8.

    ``qconfig_spec``: a set (or dict keys) of layer types (``{nn.Linear}``, the default;
    ``nn.Conv2d`` gives weight-only int8) and/or dotted sub-module names.  ``dtype`` must
    be ``jn.qint8``.  The input model is not changed unless ``inplace``.  Raises
    ValueError when nothing in the model matches.
    """
    if not isinstance(model, Module):
        raise TypeError(f"quantize_dynamic: expected an nn.Module, got {type(model).__name__}")
    if dtype is not qint8:
        raise NotImplementedError(f"quantize_dynamic: only dtype=jitnet.qint8 is supported, "
                                  f"got {dtype}")
    spec = set(qconfig_spec) if qconfig_spec is not None else {Linear}
    mapping = DEFAULT_MAPPING if mapping is None else mapping
    for s in spec:
        if isinstance(s, type) and s not in mapping:
            raise ValueError(f"quantize_dynamic: no quantized version of {s.__name__}; "
                             f"supported: {', '.join(t.__name__ for t in mapping)}")
        if not isinstance(s, (type, str)):
            raise TypeError(f"quantize_dynamic: qconfig_spec entries must be layer types or "
                            f"module names, got {s!r}")

    def eligible(name: str, mod: Module) -> bool:
        return type(mod) in mapping and (type(mod) in spec or name in spec)

    targets = [(name, mod) for name, mod in model.named_modules() if eligible(name, mod)]
    if not targets:
        kinds = sorted({t.__name__ if isinstance(t, type) else repr(t) for t in spec})
        raise ValueError(f"quantize_dynamic: {type(model).__name__} has no layer to quantize "
                         f"(looked for {', '.join(kinds)}; it holds "
                         f"{', '.join(sorted({type(m).__name__ for m in model.modules()}))})")
    if not inplace:
        model = copy.deepcopy(model)
    for name, _ in targets:
        mod = model.get_submodule(name)
        q = mapping[type(mod)].from_float(mod)
        q.train(mod.training)
        if name == "":
            return q
        parent_name, _, child = name.rpartition(".")
        model.get_submodule(parent_name)._modules[child] = q
    return model
