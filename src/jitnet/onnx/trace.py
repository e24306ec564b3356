"""Record one eager forward pass: every ``Function.apply`` and the layer it ran in.

While a ``Tracer`` is installed (``with tracing(model) as tracer``),
``Function.apply`` hands it each op (the Function class, its arguments and its
outputs) and ``Module.__call__`` lets it keep the stack of active layers, so
every record knows its layer path (``model.features.3``).  A layer whose type
has a module emitter (``registry.module_emitter``) is recorded as one record
for the whole call, and the ops inside it are not recorded.

Each record holds *frozen* copies of its tensors: new ``Tensor`` handles on the
storage each had when the op ran.  An in-place op later rebinds the original
tensor to new storage (jitnet records ``x += 1`` out of place), and the
record must still see the value it read.  A tensor that is neither traced
(an input, an op's output, an alias of one) nor a parameter is a constant and
is copied as it was.  Records keep that storage alive, so ``id()`` of a raw
array stays unique for the whole trace.  ``check()`` then verifies that no
traced value was overwritten in place by a write the tape did not see.
"""
from __future__ import annotations

import contextlib
import zlib
from dataclasses import dataclass, field

from .. import autograd
from ..tensor import Tensor
from .graph import ExportError


@dataclass
class Record:
    """One traced call: a Function (``fn``) or a whole layer (``module``)."""

    fn: type | None
    module: object | None
    path: str
    args: tuple
    kwargs: dict
    outputs: tuple
    extra: dict = field(default_factory=dict)

    @property
    def op(self) -> str:
        """The op's name for messages: ``Conv2d`` or ``module Embedding``."""
        if self.fn is not None:
            return self.fn.__name__
        return f"module {type(self.module).__name__}"


def _freeze(a):
    """A tensor as it is now (a new handle on its current storage); tuples item by item."""
    if isinstance(a, Tensor):
        return Tensor(a._data, a.device)
    if isinstance(a, (tuple, list)) and any(isinstance(x, Tensor) for x in a):
        return type(a)(_freeze(x) for x in a)
    return a


def _digest(t: Tensor) -> int:
    return zlib.crc32(t._k().to_host(t._data).tobytes())


def _tensors(out) -> tuple:
    if isinstance(out, Tensor):
        return (out,)
    if isinstance(out, (tuple, list)):
        return tuple(t for o in out for t in _tensors(o))
    return ()


class Tracer:
    """Collects ``Record``s for one forward pass of ``model`` (see the module docstring)."""

    def __init__(self, model, inputs, root: str = "model", module_filter=None) -> None:
        self.paths = {id(m): (f"{root}.{name}" if name else root)
                      for name, m in model.named_modules()}
        self.root = root
        self.stack: list[str] = []
        self.records: list[Record] = []
        self.module_filter = module_filter  # (module, args, kwargs) -> True: record it whole
        self._inside = 0
        # storage that is traced or a parameter (ids of raw arrays), and digests to check
        self.known = {id(t._data) for t in list(model.parameters()) + list(model.buffers())}
        self.known.update(id(t._data) for t in inputs)
        self.digests = [(t, _digest(t), f"input {i}") for i, t in enumerate(inputs)]

    def _hold(self, a):
        """Argument ``a`` as this op read it: traced storage by identity, a constant by a
        copy (a later write to it must not change what this op saw)."""
        if isinstance(a, Tensor):
            if id(a._data) in self.known:
                return Tensor(a._data, a.device)
            return Tensor(a._k().copy(a._data), a.device)
        if isinstance(a, (tuple, list)) and any(isinstance(x, Tensor) for x in a):
            return type(a)(self._hold(x) for x in a)
        return a

    def _made(self, outs, path: str, op: str) -> tuple:
        frozen = _freeze(outs)
        for t in frozen:
            self.known.add(id(t._data))
            self.digests.append((t, _digest(t), f"the output of {op} at {path}"))
        return frozen

    def check(self) -> None:
        """ExportError when a traced value was overwritten in place after it was made (an
        in-place op under no_grad, on an integer tensor, a setitem): the tape did not see
        it, so the graph would miss it."""
        for t, digest, what in self.digests:
            if _digest(t) != digest:
                raise ExportError(
                    f"jitnet.onnx.export: {what} was overwritten in place by a write that is "
                    "not traced (an in-place op under no_grad or on a tensor that does not "
                    "require grad, or x[...] = ...); use the out-of-place op")

    @property
    def path(self) -> str:
        return self.stack[-1] if self.stack else self.root

    def call_module(self, module, args, kwargs):
        """Run the module (hooks, then ``forward``) with its path on the stack."""
        path = self.paths.get(id(module))
        if path is None:  # a layer made inside forward: name it by its type under its caller
            path = f"{self.path}.<{type(module).__name__}>"
        self.stack.append(path)
        try:
            whole = (not self._inside and self.module_filter is not None
                     and self.module_filter(module, args, kwargs))
            if not whole:
                return module._call_impl(args, kwargs)
            self._inside += 1
            try:
                out = module._call_impl(args, kwargs)
            finally:
                self._inside -= 1
            op = f"module {type(module).__name__}"
            self.records.append(Record(None, module, path, self._hold(args),
                                       {k: self._hold(v) for k, v in kwargs.items()},
                                       self._made(_tensors(out), path, op)))
            return out
        finally:
            self.stack.pop()

    def record(self, fn, args, kwargs, result) -> None:
        """Called by ``Function.apply`` after the forward ran."""
        if self._inside:
            return
        outs = result if isinstance(result, tuple) else (result,)
        path = self.path
        self.records.append(Record(fn, None, path, self._hold(args),
                                   {k: self._hold(v) for k, v in kwargs.items()},
                                   self._made(outs, path, fn.__name__)))


@contextlib.contextmanager
def tracing(tracer: Tracer):
    """Install ``tracer`` for the duration of the block (one export at a time)."""
    if autograd._tracer is not None:
        raise RuntimeError("jitnet.onnx: an export is already tracing (exports do not nest)")
    autograd._tracer = tracer
    try:
        yield tracer
    finally:
        autograd._tracer = None
