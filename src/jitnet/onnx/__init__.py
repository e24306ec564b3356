"""``jitnet.onnx``: export a model to ONNX (run it in onnxruntime, on a server, a phone).

>>> import jitnet.onnx
>>> jitnet.onnx.export(model, jn.zeros(1, 1, 8, 8), "model.onnx",
...                    input_names=["image"], output_names=["logits"],
...                    dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})

Needs the ``onnx`` extra (``pip install 'jitnet[onnx]'``: onnx and onnxruntime);
``import jitnet`` never imports this package.  New ops and layers plug in
with ``register_function`` / ``register_module`` (see ``registry.py``).
"""
from .export import export
from .graph import ExportError
from .registry import register_function, register_module

__all__ = ["export", "ExportError", "register_function", "register_module"]
