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
record must still see the value it read.  Records keep that storage alive, so
``id()`` of a raw array stays unique for the whole trace.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from .. import autograd
from ..tensor import Tensor


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


def _tensors(out) -> tuple:
    if isinstance(out, Tensor):
        return (out,)
    if isinstance(out, (tuple, list)):
        return tuple(t for o in out for t in _tensors(o))
    return ()


class Tracer:
    """Collects ``Record``s for one forward pass of ``model`` (see the module docstring)."""

    def __init__(self, model, root: str = "model", module_filter=None) -> None:
        self.paths = {id(m): (f"{root}.{name}" if name else root)
                      for name, m in model.named_modules()}
        self.root = root
        self.stack: list[str] = []
        self.records: list[Record] = []
        self.module_filter = module_filter  # (module, args, kwargs) -> True: record it whole
        self._inside = 0

    @property
    def path(self) -> str:
        return self.stack[-1] if self.stack else self.root

    def call_module(self, module, args, kwargs):
        """Run ``module.forward`` with its path on the stack (called by ``Module.__call__``)."""
        path = self.paths.get(id(module))
        if path is None:  # a layer made inside forward: name it by its type under its caller
            path = f"{self.path}.<{type(module).__name__}>"
        self.stack.append(path)
        try:
            whole = (not self._inside and self.module_filter is not None
                     and self.module_filter(module, args, kwargs))
            if not whole:
                return module.forward(*args, **kwargs)
            self._inside += 1
            try:
                out = module.forward(*args, **kwargs)
            finally:
                self._inside -= 1
            self.records.append(Record(None, module, path, _freeze(args),
                                       {k: _freeze(v) for k, v in kwargs.items()},
                                       _freeze(_tensors(out))))
            return out
        finally:
            self.stack.pop()

    def record(self, fn, args, kwargs, result) -> None:
        """Called by ``Function.apply`` after the forward ran."""
        if self._inside:
            return
        outs = result if isinstance(result, tuple) else (result,)
        self.records.append(Record(fn, None, self.path, _freeze(args),
                                   {k: _freeze(v) for k, v in kwargs.items()}, _freeze(outs)))


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
