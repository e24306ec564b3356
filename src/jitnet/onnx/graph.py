"""Lowering: turn the ``Record``s of a trace into ONNX nodes and initializers.

A ``Lowering`` maps every traced value to the name of an ONNX value, by the
identity of its storage (the raw array): the trace froze each op's tensors as
they were when it ran (``trace.py``), so a tensor that an in-place op rebound
later, a ``detach()``-ed alias and a raw index array all resolve correctly.  A
value it has not seen produced is a parameter or buffer of the model (an
initializer named by its ``state_dict`` key) or else a constant (an
initializer holding its value).  Constants are also listed in
``constants`` so that the exporter can compare two traces and refuse a
"constant" that in truth depends on the input through an op that was not
traced (``.numpy()``, comparisons, ``argmax`` ...).

With ``fold`` (``do_constant_folding``) a record none of whose inputs depends
on a graph input emits nothing: its outputs become constants, valued as the
eager run computed them.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def _np(t: Tensor) -> np.ndarray:
    return np.array(t._k().to_host(t._data), order="C")  # a copy; 0-d stays 0-d


class ExportError(NotImplementedError):
    """An op (or an argument of it) that the ONNX exporter cannot express."""


class Lowering:
    """The ONNX graph under construction (see the module docstring)."""

    def __init__(self, opset: int, params: dict, fold: bool, inputs=()) -> None:
        self.opset, self.fold = opset, fold
        self.inputs = list(inputs)    # (name, tensor, its twin in the other trace) per input
        self.params = params          # id(raw array) -> (state_dict name, tensor)
        self.nodes: list = []         # (op_type, inputs, outputs, attrs, node name)
        self.inits: dict[str, np.ndarray] = {}
        self.raw: dict[int, str] = {}       # id(raw array) -> name
        self.keep: list = []                # keeps every raw array in ``raw`` alive
        self.dynamic: set[str] = set()      # names that depend on a graph input
        self.unavailable: dict[int, str] = {}  # id(raw array) -> what produced it
        self.constants: list[tuple] = []    # (op, path, array), in order of first use
        self.uniform: set[str] = set()      # names sized_constant made (one value, any size)
        self.record = None
        self._count = 0

    # ---------------------------------------------------------------- names
    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def define(self, t: Tensor, name: str, dynamic: bool = True) -> None:
        """``t`` (its storage) is the ONNX value ``name`` from here on."""
        self.raw[id(t._data)] = name
        self.keep.append(t._data)
        if dynamic:
            self.dynamic.add(name)

    def _known(self, t: Tensor) -> str | None:
        return self.raw.get(id(t._data))

    def is_dynamic(self, a) -> bool:
        """Whether ``a`` (a tensor, a raw array, or a tuple of them) depends on an input."""
        if isinstance(a, Tensor):
            name = self._known(a)
            return name is not None and name in self.dynamic
        if isinstance(a, (tuple, list)):
            return any(self.is_dynamic(x) for x in a)
        if hasattr(a, "shape") and hasattr(a, "dtype"):
            name = self.raw.get(id(a))
            return name is not None and name in self.dynamic
        return False

    def value(self, t: Tensor) -> str:
        """The ONNX name of tensor ``t`` (an initializer or a constant when not traced)."""
        name = self._known(t)
        if name is not None:
            return name
        bad = self.unavailable.get(id(t._data))
        if bad is not None:
            raise self.unsupported(f"it uses {bad}, which the exporter does not produce")
        p = self.params.get(id(t._data))
        if p is not None:
            if p[0] not in self.inits:
                self.inits[p[0]] = _np(t)
            return p[0]
        return self.constant(_np(t))

    def raw_value(self, a) -> str:
        """The name of a raw device array argument (an index array): traced, or a constant."""
        name = self.raw.get(id(a))
        if name is not None:
            return name
        host = a if isinstance(a, np.ndarray) else a.copy_to_host()
        return self.constant(np.array(host, order="C"))

    def constant(self, array: np.ndarray, hint: str = "const") -> str:
        """An initializer for a value the trace saw as a constant (checked across traces)."""
        rec = self.record
        self.constants.append((rec.op if rec else "output", rec.path if rec else "",
                               np.array(array, copy=True)))
        return self.literal(array, hint)

    def literal(self, array, hint: str = "c", dtype=None) -> str:
        """An initializer for a value the exporter itself needs (shapes, axes, scalars)."""
        name = self.fresh(hint)
        self.inits[name] = np.array(array, dtype=dtype)
        return name

    def input_axis(self, d1: int, d2: int) -> tuple[str, int] | None:
        """(input name, axis) of a graph input axis that is ``d1`` long in this trace and
        ``d2`` in the other (dynamic axes grow by distinct amounts, so the pair tells
        which), or None."""
        return next(((n, ax) for n, x1, x2 in self.inputs for ax in range(x1.ndim)
                     if x1.shape[ax] == d1 and x2.shape[ax] == d2), None)

    def input_dim(self, src: tuple[str, int]) -> str:
        """A 1-element int64 value: the size of input axis ``src`` (from ``input_axis``)."""
        shape = self.node("Shape", [src[0]])
        return self.node("Gather", [shape, self.ints([src[1]], "axis")], axis=0)

    def sized_constant(self, t: Tensor, t_alt) -> str | None:
        """A name for ``t``, a tensor made in ``forward`` (``jn.zeros(x.shape[0], h)``) that
        holds one value and whose shape follows dynamic axes: ``ConstantOfShape`` of a
        shape read from the graph inputs.  ``t_alt`` is the same tensor in the second trace.
        None when ``t`` is not such a tensor."""
        from onnx import helper

        if not isinstance(t_alt, Tensor) or t.ndim != t_alt.ndim or t.shape == t_alt.shape:
            return None
        a, b = _np(t), _np(t_alt)
        if a.size == 0 or b.size == 0 or not (np.all(a == a.flat[0]) and np.all(b == a.flat[0])):
            return None
        parts = []
        for d1, d2 in zip(a.shape, b.shape):
            if d1 == d2:
                parts.append(self.ints([d1], "dim"))
                continue
            src = self.input_axis(d1, d2)
            if src is None:
                return None
            parts.append(self.input_dim(src))
        fill = helper.make_tensor("value", helper.np_dtype_to_tensor_dtype(a.dtype), [1],
                                  [a.flat[0].item()])
        name = self.node("ConstantOfShape", [self.node("Concat", parts, axis=0)], value=fill)
        self.define(t, name)
        self.uniform.add(name)
        return name

    # ---------------------------------------------------------------- nodes
    def node(self, op_type: str, inputs, n_out: int = 1, **attrs):
        """Append a node; returns its output name (a list of them when ``n_out > 1``)."""
        outs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        where = self.record.path if self.record is not None else "graph"
        self.nodes.append((op_type, list(inputs), outs, attrs, f"{where}/{op_type}_{self._count}"))
        for o in outs:
            self.dynamic.add(o)
        return outs[0] if n_out == 1 else outs

    def unsupported(self, why: str) -> ExportError:
        """The error for the current record: names the op and the layer path."""
        rec = self.record
        if rec is None:
            return ExportError(f"jitnet.onnx.export: {why}")
        return ExportError(f"jitnet.onnx.export: cannot export {rec.op} at {rec.path}: {why}")

    # ---------------------------------------------------------------- helpers for emitters
    def ints(self, values, hint: str = "i") -> str:
        return self.literal(np.asarray(values, dtype=np.int64).reshape(-1), hint)

    def scalar(self, value, dtype, hint: str = "s") -> str:
        return self.literal(np.asarray(value, dtype=dtype), hint)

    def cast(self, name: str, src, dst) -> str:
        """``name`` converted from NumPy dtype ``src`` to ``dst`` (no node when equal)."""
        from onnx import helper

        src, dst = np.dtype(src), np.dtype(dst)
        if src == dst:
            return name
        return self.node("Cast", [name], to=helper.np_dtype_to_tensor_dtype(dst))

    def axes_op(self, op_type: str, inputs, axes, **attrs) -> str:
        """Reduce*/Squeeze/Unsqueeze with ``axes`` as an input or an attribute, per opset."""
        as_input = self.opset >= 13 if op_type in ("ReduceSum", "Squeeze", "Unsqueeze") \
            else self.opset >= 18
        if as_input:
            return self.node(op_type, list(inputs) + [self.ints(axes, "axes")], **attrs)
        return self.node(op_type, inputs, axes=[int(a) for a in axes], **attrs)
