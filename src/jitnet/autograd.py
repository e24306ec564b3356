"""Reverse-mode autodiff: ``Function``, the tape, ``backward()``, grad modes, gradcheck.

Every differentiable op is a ``Function`` subclass with a ``forward`` and a
``backward`` side by side.  Both work on raw device arrays (NumPy arrays on
the CPU, Numba device arrays on CUDA) and reach kernels only through
``ctx.k``, the kernel table of the inputs' device, so a Function never
branches on the device.

The tape is the graph itself: each output Tensor points to the ``Context`` of
the Function that made it (``tensor.grad_fn``), and each Context points to its
input Tensors.  ``backward()`` orders the reachable Contexts topologically and
runs their ``backward`` in reverse, summing gradients per node and reducing
broadcast gradients back to each input's shape; then (unless
``retain_graph``) it frees what the forward saved, so the graph of a training
step dies with its loss.

Tensor hooks (``register_hook``, ``retain_grad``, post-accumulate hooks),
``grad_fn.next_functions`` and ``autograd.grad`` (gradients returned instead of
accumulated) follow PyTorch; see "hooks and autograd.grad" below.

Differs from PyTorch: gradients are computed with grad mode off, so there are
no higher-order gradients (``create_graph`` is not supported).
"""
from __future__ import annotations

import functools
import sys
import threading
import weakref
from collections.abc import Callable

import numpy as np

from . import kernels
from .device import CPU
from .kernels import _tables
from .kernels.opcodes import SUM


class _GradState(threading.local):
    # a class-level default: every thread starts with recording on, and reading
    # it is a plain attribute load (getattr with a default on a bare
    # threading.local raises and catches inside, ~10x slower, on every op)
    enabled = True


_state = _GradState()

# jitnet.onnx's tracer while an export runs (else None): Function.apply hands it every op.
# A plain global, read once per op; tracing is not thread-safe (one export at a time).
_tracer = None

# jitnet.profiler's recorder while a profile or JITNET_LOG=kernels is on (else None): it times
# each forward and backward.  Read once per op, so an op pays one global check when it is off.
_profiler = None


def is_grad_enabled() -> bool:
    """True when new ops are recorded on the tape (thread-local, like PyTorch)."""
    return _state.enabled


class _GradMode:
    """Base of the grad-mode switches: a context manager and a decorator."""

    mode = True

    def __enter__(self):
        self.prev = is_grad_enabled()
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self.prev
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = is_grad_enabled()
            _state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _state.enabled = prev

        return wrapper


class set_grad_enabled(_GradMode):
    """Switch recording on or off: takes effect at once, and undoes itself as a context manager."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev_at_call = is_grad_enabled()
        _state.enabled = self.mode

    def __enter__(self):
        self.prev = self._prev_at_call
        _state.enabled = self.mode
        return self

    def __call__(self, fn):
        # as a decorator it switches nothing until the function runs (PyTorch)
        _state.enabled = self._prev_at_call
        return super().__call__(fn)


class no_grad(_GradMode):
    """Context manager / decorator: ops inside are not recorded (no graph, no memory held)."""

    mode = False


class enable_grad(_GradMode):
    """Context manager / decorator: turn recording back on inside a ``no_grad`` block."""

    mode = True


class inference_mode(_GradMode):
    """PyTorch's ``inference_mode``; here the same as ``no_grad``."""

    def __init__(self, mode: bool = True):
        self.mode = not mode


class Context:
    """One node of the tape: the Function, its kernel table and inputs, and what forward saved.

    ``forward`` stores whatever ``backward`` needs as attributes (``ctx.x = x``);
    ``needs_input_grad[i]`` says whether argument i wants a gradient.  ``final`` is True
    while the engine runs the node's last backward (no ``retain_graph``: what forward
    saved is freed right after), so a backward may then overwrite its saved arrays
    (``LSTMLayer``'s gradients over its gates) instead of copying them first.
    """

    __slots__ = ("fn", "k", "device", "inputs", "needs_input_grad", "freed", "final",
                 "__dict__")

    def __init__(self, fn, k, device):
        self.fn = fn
        self.k = k
        self.device = device
        self.inputs = ()
        self.needs_input_grad = ()
        self.freed = False
        self.final = False

    def name(self) -> str:
        """``MulBackward``, or the op's own label for shared Functions (``ReluBackward``)."""
        return self.__dict__.get("label", self.fn.__name__) + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    def free(self) -> None:
        """Drop the saved arrays and the links to the inputs (after a backward)."""
        self.__dict__.clear()
        self.inputs = ()
        self.freed = True

    @property
    def next_functions(self) -> tuple:
        """``((node, 0), ...)``, one per tensor input, as PyTorch: the input's ``grad_fn``, an
        ``AccumulateGrad`` for a leaf that requires grad, or None.  Empty once freed."""
        return tuple((_next_node(a), 0) for a in self.inputs if isinstance(a, Tensor))


class Function:
    """Base class of differentiable ops.

    Subclasses define ``forward(ctx, *args) -> array`` (or a tuple whose first
    item is the differentiable output and the rest non-differentiable, e.g.
    indices) and ``backward(ctx, grad) -> grad or tuple of grads``, one per
    positional argument (None where an argument takes no gradient).  Gradients
    may have the broadcast shape; the engine reduces them to the input's shape.
    """

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward on the arguments' device and record a node if any input needs grad."""
        # This runs once per op, so it is written for speed (~1 us of Python):
        # one pass over the arguments, no generator expressions, and the
        # kernel table looked up by a dict hit in the common case.
        device = None
        requires = False
        raw = []
        for a in args:
            if isinstance(a, Tensor):
                d = a.device
                if device is None:
                    device = d
                elif d is not device and d != device:
                    raise RuntimeError(
                        f"{cls.__name__.lower()}: expected all tensors on the same device, "
                        f"but found at least two devices, {device} and {d}"
                    )
                if a.requires_grad:
                    requires = True
                raw.append(a._data)
            else:
                raw.append(a)
        if device is None:
            device = CPU
        ctx = Context(cls, _tables.get(device.type) or kernels.table(device), device)
        out = cls.forward(ctx, *raw, **kwargs) if _profiler is None else \
            _profiler.forward(ctx, raw, kwargs)
        record = requires and _state.enabled
        if type(out) is tuple:
            first = Tensor(out[0], device, record)
            rest = tuple([Tensor(o, device) for o in out[1:]])
        else:
            first, rest = Tensor(out, device, record), None
        if record:
            ctx.inputs = args
            ctx.needs_input_grad = tuple([isinstance(a, Tensor) and a.requires_grad
                                          for a in args])
            first.grad_fn = ctx
        result = (first, *rest) if rest is not None else first
        if _tracer is not None:
            _tracer.record(cls, args, kwargs, result)
        return result


def sum_to_shape(k, grad, shape: tuple):
    """Sum a broadcast gradient back down to ``shape`` (NumPy broadcasting in reverse)."""
    if grad.shape == shape:
        return grad
    lead = len(grad.shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and grad.shape[i + lead] != 1
    )
    if axes:
        grad = k.reduce(SUM, grad, axes, False)
    return k.reshape(grad, shape)


def _topological_order(roots) -> list:
    """Contexts reachable from ``roots``, each after every node that consumes its output."""
    order, seen = [], set()
    for root_ctx in roots:
        if id(root_ctx) in seen:
            continue
        seen.add(id(root_ctx))
        stack = [(root_ctx, iter(root_ctx.inputs))]
        while stack:
            node, it = stack[-1]
            for inp in it:
                parent = getattr(inp, "grad_fn", None)
                if parent is not None and id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append((parent, iter(parent.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def run_backward(root: Tensor, grad, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) * grad into ``leaf.grad`` for every leaf that requires grad."""
    try:
        _run_engine([(root.grad_fn, grad)], retain_graph)
    except BaseException:
        _end_callbacks.clear()
        raise
    _run_end_callbacks()


def _run_engine(seeds: list, retain_graph: bool, capture: dict | None = None) -> None:
    """Run the tape backwards from ``seeds``, [(context, gradient array)].

    Without ``capture`` every leaf that requires grad accumulates into ``.grad``.
    With ``capture`` (``autograd.grad``: {id(leaf or context): None}), only the nodes
    that lead to a captured tensor run, and the captured tensors' gradients are stored
    in ``capture`` instead; no ``.grad`` changes.  Tensor hooks, ``retain_grad`` and
    post-accumulate hooks run as PyTorch runs them (see ``_hooked_leaves``).
    """
    order = _topological_order([c for c, _ in seeds])
    pending: dict = {}
    for ctx, g in seeds:
        prev = pending.get(id(ctx))
        pending[id(ctx)] = g if prev is None else ctx.k.binary("add", prev, g)
    needed = _needed_nodes(order, capture) if capture is not None else None
    fire = _hooked_leaves(order, capture) if capture is not None or _hooks_used[0] else None
    fire_at = fire[0] if fire is not None else None
    held: dict = {}  # id(leaf) -> [leaf, summed grad, k]: leaves whose hooks wait for all grads
    with no_grad():
        for idx, node in enumerate(order):
            g = pending.pop(id(node), None)
            if g is not None and node.freed:
                raise RuntimeError(
                    "Trying to backward through the graph a second time (or directly access "
                    "saved tensors after they have already been freed). Specify "
                    "retain_graph=True if you need to backward a second time."
                )
            if g is not None and (needed is None or id(node) in needed or id(node) in capture):
                _run_node(node, g, pending, held, fire, capture, retain_graph)
            if fire_at is not None and idx in fire_at:
                for leaf_id in fire_at[idx]:
                    entry = held.pop(leaf_id, None)
                    if entry is not None:
                        _finish_leaf(entry[0], entry[1], entry[2], capture)


def _run_node(node, g, pending, held, fire, capture, retain_graph) -> None:
    """Run one node's backward and hand its input gradients on (to parents or leaves)."""
    d = node.__dict__
    if "_tensor_hooks" in d or "_retain" in d:
        g = _tensor_hooks_at_node(node, g)
    if capture is not None and id(node) in capture:
        capture[id(node)] = g
    node.final = not retain_graph
    grads = node.fn.backward(node, g) if _profiler is None else _profiler.backward(node, g)
    grads = list(grads) if isinstance(grads, tuple) else [grads]
    k = node.k
    inputs, needs = node.inputs, node.needs_input_grad
    for i in range(min(len(inputs), len(grads))):
        if not needs[i]:
            continue
        gi = grads[i]
        if gi is None:
            continue
        grads[i] = None  # our local ``gi`` is now its only reference, unless shared
        inp = inputs[i]
        data = inp._data  # raw shapes and dtypes: no Size objects on this path
        if gi.shape != data.shape:
            gi = sum_to_shape(k, gi, data.shape)
        if gi.dtype is not data.dtype and gi.dtype != data.dtype:
            gi = k.astype(gi, data.dtype)
        parent = inp.grad_fn
        if parent is None:
            if fire is not None and id(inp) in fire[1]:
                entry = held.get(id(inp))
                if entry is None:
                    held[id(inp)] = [inp, gi, k]
                else:
                    entry[1] = k.binary("add", entry[1], gi)
            elif capture is None:
                # its own statement, so no pending call holds gi yet; small arrays are
                # cheaper to copy than to check
                owned = gi.size >= 4096 and _sole_owner(gi)
                _accumulate_leaf(inp, gi, k, owned)
        else:
            prev = pending.get(id(parent))
            pending[id(parent)] = gi if prev is None else k.binary("add", prev, gi)
    if not retain_graph:
        node.free()


def _probe(a) -> tuple[int, int]:
    # the same reference-taking steps as _sole_owner: a parameter, a local for the base
    b = a.base
    return sys.getrefcount(a), sys.getrefcount(b)


def _calibrate() -> tuple[int, int]:
    view = np.empty(4).reshape(2, 2)  # held by one local; its base only by the view
    return _probe(view)


# What sys.getrefcount reports inside _sole_owner for an array that its caller
# holds in one local variable and nothing else holds (and for the base of such
# a view), as this interpreter counts (3.11: 3 and 3; later versions may
# borrow some references, so measure instead of assuming).
_SOLE_REFS, _SOLE_BASE_REFS = _calibrate() if hasattr(sys, "getrefcount") else (-1, -1)


def _sole_owner(a) -> bool:
    """True when nothing but the caller's local variable refers to the NumPy array ``a``
    and to its memory: no other gradient, saved tensor, seed or view shares it.

    ``a`` owns its memory, or is a full-size view (a reshape) of an array that
    nothing else refers to (``k.reshape(k.bmm(...))`` in a backward).  Such an
    array can become ``leaf.grad`` as it is, without the defensive copy
    (PyTorch's AccumulateGrad "steals" a gradient under the same condition):
    one copy of every parameter saved per step.
    """
    if type(a) is not np.ndarray or sys.getrefcount(a) > _SOLE_REFS:
        return False
    b = a.base
    if b is None:
        return True
    return (type(b) is np.ndarray and b.base is None and b.nbytes == a.nbytes
            and sys.getrefcount(b) <= _SOLE_BASE_REFS)


def _accumulate_leaf(leaf: Tensor, g, k, owned: bool = False) -> None:
    # unless ``owned``, a fresh copy: a backward may hand the same array to
    # several inputs, and users modify .grad in place (clip_grad_norm_, zero_)
    if leaf.grad is None:
        leaf.grad = Tensor(g if owned else k.copy(g), leaf.device)
    else:
        leaf.grad._data = k.binary("add", leaf.grad._data, g)


# ---------------------------------------------------------------- internal hook points
# Used by jitnet.nn.parallel.DistributedDataParallel to start all-reducing a bucket of
# gradients while the rest of the backward still runs.  Internal, not PyTorch API:
# ``_register_grad_ready_hook(leaf, fn)`` calls ``fn(leaf)`` once per backward, after the
# last gradient of that backward was accumulated into ``leaf.grad`` (it is a
# post-accumulate-grad hook, see ``Tensor.register_post_accumulate_grad_hook``);
# ``_queue_backward_callback(fn)`` runs ``fn()`` once when the running backward has
# finished every node (PyTorch's engine ``queue_callback``).

_end_callbacks: list = []  # run, then cleared, at the end of the running backward


def _register_grad_ready_hook(leaf: Tensor, fn) -> Callable[[], None]:
    """Call ``fn(leaf)`` when ``leaf.grad`` is final for a backward; returns a remover."""
    return leaf.register_post_accumulate_grad_hook(fn).remove


def _queue_backward_callback(fn) -> None:
    """Run ``fn()`` once the backward now running has processed every node."""
    _end_callbacks.append(fn)


def _run_end_callbacks() -> None:
    while _end_callbacks:
        _end_callbacks.pop(0)()


def backward(tensor: Tensor, gradient=None, retain_graph: bool = False) -> None:
    """``tensor.backward(gradient)``: see ``Tensor.backward``."""
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward: element 0 of tensors does not require grad and does not have a grad_fn"
        )
    g = _seed(tensor, gradient, "backward")
    if tensor.grad_fn is None:  # a leaf: its gradient is the seed itself
        _finish_leaf(tensor, g, tensor._k(), None)
        _run_end_callbacks()
        return
    run_backward(tensor, g, retain_graph)


def _seed(tensor: Tensor, gradient, op: str):
    """The raw starting gradient of ``tensor``: ones for a one-element tensor, else ``gradient``
    checked for shape and device and cast to the tensor's dtype."""
    if gradient is None:
        if tensor.numel() != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for scalar outputs, "
                f"got a tensor of shape {tuple(tensor.shape)}; pass "
                + ("gradient=" if op == "backward" else "grad_outputs=")
            )
        return tensor._k().full(tensor.shape, 1, tensor._data.dtype)
    if not isinstance(gradient, Tensor):
        from .tensor import tensor as make_tensor

        gradient = make_tensor(gradient, dtype=tensor.dtype, device=tensor.device)
    if tuple(gradient.shape) != tuple(tensor.shape):
        raise RuntimeError(
            f"{op}: gradient has shape {tuple(gradient.shape)} but the tensor has "
            f"shape {tuple(tensor.shape)}"
        )
    if gradient.device != tensor.device:
        raise RuntimeError(
            f"{op}: gradient is on {gradient.device} but the tensor is on {tensor.device}"
        )
    g = gradient._data
    if g.dtype != tensor._data.dtype:
        g = tensor._k().astype(g, tensor._data.dtype)
    return g


# ---------------------------------------------------------------------- hooks and autograd.grad
# A hook on a non-leaf tensor lives on its grad_fn (as in PyTorch, it outlives the
# Python object) and runs on the node's summed gradient before the node's backward.
# A leaf's hooks live on the leaf; a leaf with hooks has its gradients held until the
# last node that feeds it has run, so its hooks see the total gradient once, as
# PyTorch's AccumulateGrad does.

_hooks_used = [False]  # set once any leaf hook exists: only then does backward look for them


class AccumulateGrad:
    """The graph node of a leaf that requires grad (``grad_fn.next_functions`` shows it)."""

    next_functions = ()

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def name(self) -> str:
        """``"AccumulateGrad"``, as PyTorch's node name."""
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def _next_node(t: Tensor):
    if t.grad_fn is not None:
        return t.grad_fn
    if not t.requires_grad:
        return None
    node = t.__dict__.get("_grad_accumulator")
    if node is None:
        node = t.__dict__["_grad_accumulator"] = AccumulateGrad(t)
    return node


def _needed_nodes(order: list, capture: dict) -> set:
    """ids of the nodes from which a captured tensor can be reached (``order``: consumers
    first, so walking it backwards sees every producer before its consumers)."""
    needed: set = set()
    for node in reversed(order):
        for inp in node.inputs:
            if isinstance(inp, Tensor) and (
                    id(inp) in capture or (inp.grad_fn is not None
                                           and (id(inp.grad_fn) in needed
                                                or id(inp.grad_fn) in capture))):
                needed.add(id(node))
                break
    return needed


def _hooked_leaves(order: list, capture: dict | None) -> tuple[dict, set]:
    """The leaves whose gradients are held until complete (leaves with hooks, or the
    captured ones): ({index in order: ids of the leaves whose last feeding node that is},
    their ids)."""
    last: dict = {}
    for idx, node in enumerate(order):
        for inp in node.inputs:
            if isinstance(inp, Tensor) and inp.grad_fn is None and (
                    (capture is not None and id(inp) in capture)
                    or (capture is None and ("_backward_hooks" in inp.__dict__
                                             or "_post_accumulate_hooks" in inp.__dict__))):
                last[id(inp)] = idx
    at: dict = {}
    for leaf_id, idx in last.items():
        at.setdefault(idx, []).append(leaf_id)
    return at, set(last)


def _call_hooks(hooks: dict, g, t: Tensor):
    """Run ``hook(grad)`` for each hook in order; a returned Tensor replaces the gradient."""
    for fn in list(hooks.values()):
        out = fn(Tensor(g, t.device))
        if out is None:
            continue
        if not isinstance(out, Tensor):
            raise TypeError(f"hook {getattr(fn, '__name__', fn)!r} returned a "
                            f"{type(out).__name__}; expected None or a Tensor")
        if tuple(out._data.shape) != tuple(g.shape):
            raise RuntimeError(
                f"hook {getattr(fn, '__name__', fn)!r} returned a gradient of shape "
                f"{tuple(out._data.shape)}, but the tensor's gradient has shape {tuple(g.shape)}")
        if out.device != t.device:
            raise RuntimeError(f"hook {getattr(fn, '__name__', fn)!r} returned a gradient on "
                               f"{out.device}, but the tensor is on {t.device}")
        g = out._data if out._data.dtype == g.dtype else t._k().astype(out._data, g.dtype)
    return g


def _tensor_hooks_at_node(node, g):
    d = node.__dict__
    ref = d.get("_retain")
    t = ref() if ref is not None else None
    hooks = d.get("_tensor_hooks")
    if hooks:
        g = _call_hooks(hooks, g, t if t is not None else Tensor(g, node.device))
    if t is not None:  # retain_grad runs after every other hook (PyTorch 2)
        if t.grad is None:
            t.grad = Tensor(node.k.copy(g), t.device)
        else:
            t.grad._data = node.k.binary("add", t.grad._data, g)
    return g


def _finish_leaf(leaf: Tensor, g, k, capture: dict | None) -> None:
    """A leaf's total gradient: its hooks, then capture or accumulation and post hooks."""
    d = leaf.__dict__
    hooks = d.get("_backward_hooks")
    if hooks:
        g = _call_hooks(hooks, g, leaf)
    if capture is not None:
        capture[id(leaf)] = g
        return
    _accumulate_leaf(leaf, g, k)
    for fn in list(d.get("_post_accumulate_hooks", {}).values()):
        fn(leaf)


def register_tensor_hook(t: Tensor, hook):
    """``Tensor.register_hook``: ``hook(grad) -> Tensor or None`` runs each time the gradient
    of ``t`` is computed; a returned tensor (same shape) replaces it.  Returns a handle."""
    from .utils.hooks import add_hook, hook_dict

    if not t.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                           "require gradient")
    if t.grad_fn is not None:
        d = t.grad_fn.__dict__
        if "_tensor_hooks" not in d:
            d["_tensor_hooks"] = hook_dict()
        return add_hook(d["_tensor_hooks"], hook)
    _hooks_used[0] = True
    if "_backward_hooks" not in t.__dict__:
        t.__dict__["_backward_hooks"] = hook_dict()
    return add_hook(t.__dict__["_backward_hooks"], hook)


def register_post_accumulate_grad_hook(t: Tensor, hook):
    """``Tensor.register_post_accumulate_grad_hook``: ``hook(tensor)`` runs on a leaf after its
    whole gradient of one backward has been accumulated into ``.grad``.  Returns a handle."""
    from .utils.hooks import add_hook, hook_dict

    if not t.requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a "
                           "tensor that doesn't require gradient")
    if t.grad_fn is not None:
        raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks "
                           "cannot be registered on non-leaf tensors")
    _hooks_used[0] = True
    if "_post_accumulate_hooks" not in t.__dict__:
        t.__dict__["_post_accumulate_hooks"] = hook_dict()
    return add_hook(t.__dict__["_post_accumulate_hooks"], hook)


def retain_grad(t: Tensor) -> None:
    """``Tensor.retain_grad``: a non-leaf tensor keeps (accumulates) its gradient in ``.grad``."""
    if not t.requires_grad:
        raise RuntimeError("retain_grad: can't retain_grad on Tensor that has "
                           "requires_grad=False")
    if t.grad_fn is not None:
        t.grad_fn.__dict__["_retain"] = weakref.ref(t)
        t.__dict__["_retains_grad"] = True


def retains_grad(t: Tensor) -> bool:
    """``Tensor.retains_grad``: True for a non-leaf on which ``retain_grad()`` was called."""
    return t.grad_fn is not None and t.__dict__.get("_retains_grad", False)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    ``outputs``, ``inputs``: a tensor or a sequence of tensors; ``grad_outputs``: one
    gradient per output (None for a one-element output).  Only the part of the graph that
    leads to ``inputs`` runs; no ``.grad`` changes.  An input the outputs do not depend on
    is an error unless ``allow_unused`` (its gradient is then None, or zeros with
    ``materialize_grads``).  The graph is freed unless ``retain_graph``.  Differs from
    PyTorch: no ``create_graph`` (no higher-order gradients) or ``is_grads_batched``.
    """
    if create_graph:
        raise NotImplementedError("autograd.grad: create_graph=True (higher-order gradients) "
                                  "is not supported by jitnet")
    if is_grads_batched:
        raise NotImplementedError("autograd.grad: is_grads_batched=True is not supported")
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and not allow_unused:
        raise ValueError("autograd.grad: expected allow_unused to be True or not passed when "
                         "materialize_grads=True")
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if not inputs:
        raise ValueError("autograd.grad: grad requires non-empty inputs.")
    for seq, what in ((outputs, "outputs"), (inputs, "inputs")):
        for t in seq:
            if not isinstance(t, Tensor):
                raise TypeError(f"autograd.grad: {what} must be Tensors, got "
                                f"{type(t).__name__}")
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"autograd.grad: grad_outputs has {len(grad_outputs)} entries but "
                           f"there are {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} does not require grad (one of the "
                               "differentiated Tensors does not require grad)")
    capture = {id(t.grad_fn if t.grad_fn is not None else t): None for t in inputs}
    seeds, direct = [], {}
    for i, (o, go) in enumerate(zip(outputs, grad_outputs)):
        if not o.requires_grad:
            raise RuntimeError(f"autograd.grad: element {i} of outputs does not require grad "
                               "and does not have a grad_fn")
        g = _seed(o, go, "autograd.grad")
        if o.grad_fn is None:  # an output that is itself a leaf input
            if id(o) in capture:
                prev = direct.get(id(o))
                direct[id(o)] = g if prev is None else o._k().binary("add", prev, g)
        else:
            seeds.append((o.grad_fn, g))
    if seeds:
        _run_engine(seeds, bool(retain_graph), capture)
    result = []
    for i, t in enumerate(inputs):
        key = id(t.grad_fn if t.grad_fn is not None else t)
        g = capture.get(key)
        if id(t) in direct:
            g = direct[id(t)] if g is None else t._k().binary("add", g, direct[id(t)])
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"autograd.grad: input {i} (shape {tuple(t.shape)}) was not used in the "
                    "graph of the outputs (one of the differentiated Tensors appears to not "
                    "have been used in the graph); set allow_unused=True if this is the "
                    "desired behavior")
            result.append(Tensor(t._k().full(t._data.shape, 0, t._data.dtype), t.device)
                          if materialize_grads else None)
        else:
            result.append(Tensor(t._k().copy(g), t.device))
    return tuple(result)


class GradcheckError(AssertionError):
    """Raised by ``gradcheck`` when analytic and numerical gradients disagree."""


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, seed: int = 0) -> bool:
    """Compare ``fn``'s autograd gradients with float64 central finite differences.

    ``inputs``: a tensor or a sequence of tensors (float64 inputs that require
    grad are checked; others are passed through).  A non-scalar output is
    reduced with fixed random weights, ``sum(fn(*inputs) * w)``, so every
    output element is checked.  Returns True, or raises ``GradcheckError``
    naming the input and the worst element (False with ``raise_exception=False``).
    """
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    for t in checked:
        if t.dtype.np != np.float64:
            raise TypeError(f"gradcheck: inputs that require grad must be float64, got {t.dtype}")
    rng = np.random.default_rng(seed)
    weights = {}

    def scalar_out():
        out = fn(*inputs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        total = None
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor) or not o.dtype.is_floating_point:
                continue
            if i not in weights:
                weights[i] = Tensor(rng.standard_normal(o.shape), CPU).to(o.device)
            term = (o * weights[i]).sum()
            total = term if total is None else total + term
        return total

    for t in checked:
        t.grad = None
    scalar_out().backward()
    for idx, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        analytic = np.zeros(t.shape) if t.grad is None else t.grad.numpy().astype(np.float64)
        host = t.detach().numpy().copy()
        numeric = np.zeros_like(host)
        flat = host.reshape(-1)
        with no_grad():
            for j in range(flat.size):
                orig = flat[j]
                flat[j] = orig + eps
                t._data = t._k().from_host(host.copy())
                plus = scalar_out().item()
                flat[j] = orig - eps
                t._data = t._k().from_host(host.copy())
                minus = scalar_out().item()
                flat[j] = orig
                numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        t._data = t._k().from_host(host)
        bad = ~np.isclose(analytic, numeric, atol=atol, rtol=rtol)
        if bad.any():
            if not raise_exception:
                return False
            j = int(np.argmax(np.abs(analytic - numeric)))
            raise GradcheckError(
                f"gradcheck: gradient of input {idx} (shape {tuple(t.shape)}) differs from finite "
                f"differences at flat index {j}: analytic {analytic.reshape(-1)[j]:.8g}, "
                f"numerical {numeric.reshape(-1)[j]:.8g} ({int(bad.sum())} of {bad.size} "
                f"elements outside atol={atol}, rtol={rtol})"
            )
    return True


from .tensor import Tensor  # noqa: E402  (Tensor and Function refer to each other)


def Variable(data, requires_grad: bool = False, volatile: bool = False):  # noqa: N802
    """PyTorch's ``autograd.Variable``: since PyTorch 0.4 the tensor itself.

    Returns ``data`` (a Tensor), with ``requires_grad`` switched on when asked;
    ``volatile`` (long gone from PyTorch) is accepted and ignored, as PyTorch does.
    """
    from .tensor import Tensor

    if not isinstance(data, Tensor):
        raise TypeError(f"Variable: data must be a Tensor, got {type(data).__name__}")
    return data.requires_grad_(True) if requires_grad else data
