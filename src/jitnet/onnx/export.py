"""``export``: run a model once in eval mode and write what it computed as an ONNX graph.

How it works (the design is in docs/deployment.md):

1. **Trace.**  The model runs in eval mode on the example ``args`` with a
   ``Tracer`` installed: every ``Function.apply`` and the layer path it ran in
   are recorded (``trace.py``).  Float inputs require grad for the trace, so
   an in-place op on them is recorded too (jitnet records those out of place).
2. **Trace again** on a second example: every input's values shuffled (floats
   also scaled and jittered), and each dynamic axis longer (by 1, 2, ... per
   distinct dim name).  The two traces must run the same ops; a
   non-tensor argument that differs (a reshape's target shape) tells which
   dims follow a dynamic axis, and a "constant" that differs was in truth
   computed from the input by a step that was not traced: the export refuses
   it instead of hard-coding it.
3. **Lower** each record with its emitter (``ops.py``, looked up in
   ``registry.py``) into ONNX nodes; parameters and buffers become
   initializers named by their ``state_dict`` keys.  Unknown ops raise
   ``NotImplementedError`` naming the op and the layer (``model.features.3``).
4. Drop nodes no output needs, check the model with ``onnx.checker`` and save.
"""
from __future__ import annotations

import os
from typing import IO

import numpy as np

from ..autograd import enable_grad
from ..tensor import Tensor, tensor
from . import registry
from .graph import ExportError, Lowering
from .trace import Tracer, _freeze, _tensors, tracing

MIN_OPSET, MAX_OPSET = 13, 21


def _require_onnx():
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("jitnet.onnx needs the onnx package: pip install 'jitnet[onnx]'") \
            from exc
    return onnx


def _dynamic_spec(dynamic_axes, names: list[str]) -> dict[str, dict[int, str]]:
    """{name: [axes]} or {name: {axis: 'dim name'}} -> {name: {axis: dim name}}."""
    out: dict[str, dict[int, str]] = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            raise ValueError(f"jitnet.onnx.export: dynamic_axes names {name!r}, which is not an "
                             f"input or output name ({names})")
        if isinstance(axes, dict):
            out[name] = {int(a): str(d) for a, d in axes.items()}
        else:
            out[name] = {int(a): f"{name}_dynamic_axes_{j + 1}" for j, a in enumerate(axes)}
    return out


def _growth(dyn: dict, in_names: list[str]) -> dict[str, dict[int, int]]:
    """How much longer each dynamic input axis is in the second example: axes sharing a dim
    name grow alike, different names by different amounts (1, 2, ...), so a size seen in
    both traces tells which axis it came from."""
    by_name: dict[str, int] = {}
    out: dict[str, dict[int, int]] = {}
    for name in in_names:
        for ax, dim in sorted(dyn.get(name, {}).items()):
            out.setdefault(name, {})[ax] = by_name.setdefault(dim, len(by_name) + 1)
    return out


def _second_example(a: Tensor, growth: dict[int, int], rng) -> Tensor:
    """``a`` with its values shuffled and each axis in ``growth`` longer by its amount."""
    host = np.array(a._k().to_host(a._data), copy=True)
    for ax, k in sorted(growth.items()):
        extra = np.take(host, np.arange(k) % max(host.shape[ax], 1), axis=ax)
        host = np.concatenate([host, extra], axis=ax)
    flat = host.reshape(-1)
    rng.shuffle(flat)
    if host.dtype.kind == "f" and flat.size:  # shuffled alone, sums and sorts would not change
        scale = float(np.abs(flat).max()) or 1.0
        flat *= rng.uniform(0.5, 1.5, flat.size).astype(host.dtype)
        flat += (rng.standard_normal(flat.size) * 0.1 * scale).astype(host.dtype)
    return tensor(flat.reshape(host.shape), device=a.device)


def _trace(model, args):
    from ..ops.shape import clone

    inputs, call = [], []
    for a in args:
        if isinstance(a, Tensor):
            if a.dtype.is_floating_point:
                # a non-leaf that requires grad: in-place ops on it are recorded (as their
                # out-of-place twins) instead of writing the storage unseen
                x = clone(Tensor(a._data, a.device, requires_grad=True))
            else:
                x = Tensor(a._data, a.device)
            inputs.append(x)
            call.append(x)
        else:
            call.append(a)
    inputs = [_freeze(x) for x in inputs]  # forward may rebind them (``x += 1``)
    tracer = Tracer(model, inputs, module_filter=registry.module_filter)
    with tracing(tracer), enable_grad():
        out = model(*call)
    tracer.check()
    outputs = _freeze(_tensors(out))
    if not outputs:
        raise ExportError("jitnet.onnx.export: the model returned no tensor "
                          f"(got {type(out).__name__})")
    return tracer.records, inputs, outputs


def _same(g: Lowering, a, b) -> bool:
    if isinstance(a, Tensor):
        return True  # tensors are compared as values (constants), not as arguments
    if isinstance(a, (tuple, list)):
        return (isinstance(b, (tuple, list)) and len(a) == len(b)
                and all(_same(g, x, y) for x, y in zip(a, b)))
    if isinstance(a, slice):
        return isinstance(b, slice) and (a.start, a.stop, a.step) == (b.start, b.stop, b.step)
    if hasattr(a, "shape") and hasattr(a, "dtype") and not np.isscalar(a):
        if id(a) in g.raw:
            return True  # a traced value used as an index
        ha = a if isinstance(a, np.ndarray) else a.copy_to_host()
        hb = b if isinstance(b, np.ndarray) else b.copy_to_host()
        return ha.shape == hb.shape and np.array_equal(ha, hb)
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - incomparable objects are not the same
        return a is b


def _lower(records, alt_records, inputs, alt_inputs, in_names, outputs, opset, fold, params):
    g = Lowering(opset, params, fold, zip(in_names, inputs, alt_inputs))
    for t, name in zip(inputs, in_names):
        g.define(t, name)
    for i, rec in enumerate(records):
        alt = alt_records[i]
        g.record = rec
        for a, b in _tensor_pairs(rec.args, alt.args):  # constants sized by a dynamic axis
            if (g._known(a) is None and id(a._data) not in g.params
                    and id(a._data) not in g.unavailable):
                g.sized_constant(a, b)
        em = (registry.FUNCTIONS.get(rec.fn) if rec.fn is not None
              else registry.MODULES.get(type(rec.module)))
        if em is None:
            where = f"{rec.fn.__module__}.{rec.fn.__qualname__}"
            raise g.unsupported(f"no ONNX emitter is registered for {where} (add one with "
                                "jitnet.onnx.register_function)")
        for j, (a, b) in enumerate(zip(rec.args, alt.args)):
            if j not in em.shape_args and not _same(g, a, b):
                raise g.unsupported(
                    f"its argument {j} ({_short(a)}) changed to {_short(b)} on a second "
                    "example input (values shuffled, dynamic axes longer): it depends on "
                    "the input (or the control flow does), and the graph would hard-code it")
        if fold and not g.is_dynamic(rec.args) and not g.is_dynamic(
                tuple(rec.kwargs.values())):
            continue  # constant folding: its outputs become constants where they are used
        names = em.fn(g, rec, alt)
        if len(names) != len(rec.outputs):
            raise g.unsupported(f"its emitter returned {len(names)} names for "
                                f"{len(rec.outputs)} outputs")
        for k, (t, name) in enumerate(zip(rec.outputs, names)):
            if name is None:
                g.unavailable[id(t._data)] = f"output {k} of {rec.op} at {rec.path}"
                g.keep.append(t._data)
            else:
                g.define(t, name)
    g.record = None
    return g, [g.value(t) for t in outputs]


def _tensor_pairs(args, alt_args):
    """(tensor, its twin) for the tensor arguments of a record, also those one tuple deep
    (an LSTM's (h0, c0))."""
    for a, b in zip(args, alt_args):
        if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
            yield from ((x, y) for x, y in zip(a, b) if isinstance(x, Tensor))
        elif isinstance(a, Tensor):
            yield a, b


def _short(a) -> str:
    text = repr(a)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_same_run(rec1, rec2) -> None:
    for r, s in zip(rec1, rec2):
        if (r.fn, type(r.module), r.path) != (s.fn, type(s.module), s.path):
            raise RuntimeError(
                f"jitnet.onnx.export: the model ran different ops on a second example input "
                f"({r.op} at {r.path}, then {s.op} at {s.path}): its control flow depends on "
                "the input's values or sizes, which one ONNX graph cannot follow")
    if len(rec1) != len(rec2):
        raise RuntimeError(
            f"jitnet.onnx.export: the model ran {len(rec1)} ops on the example input and "
            f"{len(rec2)} on a second one: its control flow depends on the input")


def _check_constants(c1, c2) -> None:
    for (op, path, a), (_, _, b) in zip(c1, c2):
        if a.shape != b.shape or not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
            raise ExportError(
                f"jitnet.onnx.export: cannot export {op} at {path}: one of its inputs depends "
                "on the model's input through a step that was not traced (.numpy(), .item(), "
                "a comparison, argmax, a tensor made from an input's size on a dynamic axis, "
                "...), so the graph would hard-code its value")
    if len(c1) != len(c2):
        op, path, _ = (c1 if len(c1) > len(c2) else c2)[min(len(c1), len(c2))]
        raise ExportError(f"jitnet.onnx.export: cannot export {op} at {path}: the model used "
                          "different constants on a second example input")


def _prune(nodes, inits, needed: set[str]):
    keep = []
    for node in reversed(nodes):
        if any(o in needed for o in node[2]):
            keep.append(node)
            needed.update(i for i in node[1] if i)
    keep.reverse()
    return keep, {k: v for k, v in inits.items() if k in needed}


def export(model, args, f: str | os.PathLike | IO[bytes] | None,
           input_names: list[str] | None = None, output_names: list[str] | None = None,
           dynamic_axes: dict | None = None, opset_version: int = 17,
           do_constant_folding: bool = True):
    """Export ``model`` called on ``args`` to ONNX, as ``torch.onnx.export`` (TorchScript).

    ``args``: a Tensor or a tuple of positional arguments (tensors become graph
    inputs; other values are passed through and fixed).  ``f``: a path or a
    binary file object (None: only return the model).  ``input_names`` /
    ``output_names`` default to ``input``/``output`` (``input_0``, ... when
    there are several).  ``dynamic_axes``: ``{name: [axis, ...]}`` or
    ``{name: {axis: 'dim name'}}`` marks dims symbolic; the graph then works for
    any size there (reshapes are emitted with 0/-1).  ``opset_version``: 13..21.
    ``do_constant_folding``: ops that depend only on parameters and constants
    are computed now and stored as initializers.

    The model runs twice in eval mode (its train/eval flags are restored).
    Returns the ``onnx.ModelProto`` (checked with ``onnx.checker``).  Differs
    from PyTorch: the graph is traced from jitnet's ops, so data-dependent
    control flow or ops that leave the tape (``.numpy()``, comparisons, ``argmax``)
    raise ``NotImplementedError`` instead of being baked in silently; it also
    returns the model where torch returns None.
    """
    onnx = _require_onnx()
    from onnx import helper, numpy_helper

    from .. import __version__
    from ..nn import Module
    from . import ops, ops_nn, ops_rnn  # noqa: F401  (they register the emitters)

    if not isinstance(model, Module):
        raise TypeError(f"jitnet.onnx.export: model must be a jitnet.nn.Module, got "
                        f"{type(model).__name__}")
    if isinstance(opset_version, bool) or not isinstance(opset_version, int) or not (
            MIN_OPSET <= opset_version <= MAX_OPSET):
        raise ValueError(f"jitnet.onnx.export: opset_version must be an int in "
                         f"[{MIN_OPSET}, {MAX_OPSET}], got {opset_version!r}")
    args = (args,) if isinstance(args, Tensor) else tuple(args)
    n_in = sum(isinstance(a, Tensor) for a in args)
    if n_in == 0:
        raise ValueError("jitnet.onnx.export: args must hold at least one Tensor")
    in_names = list(input_names) if input_names is not None else (
        ["input"] if n_in == 1 else [f"input_{i}" for i in range(n_in)])
    if len(in_names) != n_in or len(set(in_names)) != n_in:
        raise ValueError(f"jitnet.onnx.export: {n_in} tensor inputs need {n_in} distinct "
                         f"input_names, got {in_names}")

    states = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        rec1, inputs1, outputs1 = _trace(model, args)
        n_out = len(outputs1)
        out_names = list(output_names) if output_names is not None else (
            ["output"] if n_out == 1 else [f"output_{i}" for i in range(n_out)])
        if len(out_names) != n_out or len(set(out_names) | set(in_names)) != n_out + n_in:
            raise ValueError(f"jitnet.onnx.export: the model returns {n_out} tensors; "
                             f"output_names must name each once (and differ from the inputs), "
                             f"got {out_names}")
        dyn = _dynamic_spec(dynamic_axes, in_names + out_names)
        tensors = [a for a in args if isinstance(a, Tensor)]
        for name, t in zip(in_names, tensors):
            for ax in dyn.get(name, {}):
                if not 0 <= ax < t.ndim:
                    raise ValueError(f"jitnet.onnx.export: dynamic axis {ax} of input {name!r} "
                                     f"is out of range for shape {tuple(t.shape)}")
        rng = np.random.default_rng(0)
        grow = _growth(dyn, in_names)
        it = iter(in_names)
        args2 = tuple(_second_example(a, grow.get(next(it), {}), rng)
                      if isinstance(a, Tensor) else a for a in args)
        try:
            rec2, inputs2, outputs2 = _trace(model, args2)
        except (ValueError, RuntimeError, IndexError, TypeError) as exc:
            raise RuntimeError(
                f"jitnet.onnx.export: the model failed on a second example input (values "
                f"shuffled, dynamic axes longer), so one graph cannot serve both: {exc}"
            ) from exc
    finally:
        for m, mode in states:
            m.training = mode
    _check_same_run(rec1, rec2)
    if len(outputs2) != n_out:
        raise RuntimeError("jitnet.onnx.export: the model returned a different number of "
                           "tensors on a second example input")

    params = {}
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        params.setdefault(id(t._data), (name, t))
    clash = sorted({n for n, _ in params.values()} & set(in_names + out_names))
    if clash:
        raise ValueError(f"jitnet.onnx.export: input/output names {clash} are also parameter "
                         "or buffer names (the initializers' names); choose others")
    g, values = _lower(rec1, rec2, inputs1, inputs2, in_names, outputs1, opset_version,
                       do_constant_folding, params)
    g2, _ = _lower(rec2, rec1, inputs2, inputs1, in_names, outputs2, opset_version,
                   do_constant_folding, params)
    _check_constants(g.constants, g2.constants)

    nodes = list(g.nodes)
    for value, name in zip(values, out_names):
        nodes.append(("Identity", [value], [name], {}, f"output/{name}"))
    nodes, inits = _prune(nodes, g.inits, set(out_names))

    def info(name, t, other):
        dims = list(t.shape)
        varying = {i for i, (a, b) in enumerate(zip(t.shape, other.shape)) if a != b}
        named = dyn.get(name, {})
        for i in sorted(varying | set(named)):
            dims[i] = named.get(i, f"{name}_dim_{i}")
        return helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(t._data.dtype), dims)

    graph = helper.make_graph(
        [helper.make_node(op, ins, outs, name=nm, **attrs) for op, ins, outs, attrs, nm in nodes],
        type(model).__name__,
        [info(n, t, t2) for n, t, t2 in zip(in_names, inputs1, inputs2)],
        [info(n, t, t2) for n, t, t2 in zip(out_names, outputs1, outputs2)],
        [numpy_helper.from_array(np.array(v, order="C"), k) for k, v in inits.items()])
    opsets = [helper.make_opsetid("", opset_version)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="jitnet",
                              producer_version=__version__)
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto)
    if f is not None:
        onnx.save_model(proto, f)
    return proto
