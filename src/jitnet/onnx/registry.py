"""Which emitter turns which traced op into ONNX nodes.

Two tables:

- ``FUNCTIONS``: a ``Function`` subclass (``ops.conv.Conv2d``) -> emitter, for
  the ops that ``Function.apply`` records;
- ``MODULES``: a ``Module`` subclass -> emitter, for layers exported as a whole
  (their inner ops are not traced).  This is how a layer that ONNX has one node
  for (``LSTM``, ``GRU``, ``LayerNormalization``, ``MultiheadAttention``) plugs in::

      from jitnet.onnx import register_module

      @register_module(nn.LSTM)
      def _lstm(g, rec, alt):      # g: the Lowering, rec: the Record, alt: its twin
          x = g.value(rec.args[0])
          ...
          return [y_name, h_name]  # one name per output tensor of the layer (None: not made)

An emitter returns one ONNX value name per output tensor of the record (None
for an output it does not produce; using it later raises).  ``shape_args``
lists the positions of non-tensor arguments that may differ between the two
traces of a dynamic-axes export (shapes that ONNX recomputes itself); any other
argument that differs makes the export fail rather than bake in a wrong value.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Emitter:
    fn: Callable
    shape_args: frozenset = frozenset()
    accepts: Callable | None = None  # modules only: (module, args, kwargs) -> record it whole


FUNCTIONS: dict[type, Emitter] = {}
MODULES: dict[type, Emitter] = {}


def register_function(*functions: type, shape_args=()) -> Callable:
    """Decorator: ``emit(g, rec, alt) -> [names]`` exports records of these Functions."""
    def deco(fn):
        for f in functions:
            FUNCTIONS[f] = Emitter(fn, frozenset(shape_args))
        return fn
    return deco


def register_module(*modules: type, accepts: Callable | None = None) -> Callable:
    """Decorator: export calls of these layers as a whole (see the module docstring);
    ``accepts(module, args, kwargs)`` may decline a call, which is then traced op by op."""
    def deco(fn):
        for m in modules:
            MODULES[m] = Emitter(fn, frozenset(), accepts)
        return fn
    return deco


def module_filter(module, args, kwargs) -> bool:
    """True when ``module``'s call is exported whole (an exact type match: a subclass
    may override ``forward``)."""
    em = MODULES.get(type(module))
    return em is not None and (em.accepts is None or bool(em.accepts(module, args, kwargs)))
