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

Differs from PyTorch: gradients are computed with grad mode off, so there are
no higher-order gradients (``create_graph`` is not supported).
"""
from __future__ import annotations

import functools
import sys
import threading

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
    ``needs_input_grad[i]`` says whether argument i wants a gradient.
    """

    __slots__ = ("fn", "k", "device", "inputs", "needs_input_grad", "freed", "__dict__")

    def __init__(self, fn, k, device):
        self.fn = fn
        self.k = k
        self.device = device
        self.inputs = ()
        self.needs_input_grad = ()
        self.freed = False

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
        out = cls.forward(ctx, *raw, **kwargs)
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


def _topological_order(root_ctx) -> list:
    """Contexts reachable from root, each after every node that consumes its output."""
    order, seen = [], {id(root_ctx)}
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
    order = _topological_order(root.grad_fn)
    pending = {id(root.grad_fn): grad}
    with no_grad():
        for node in order:
            g = pending.pop(id(node), None)
            if g is None:
                continue
            if node.freed:
                raise RuntimeError(
                    "Trying to backward through the graph a second time (or directly access "
                    "saved tensors after they have already been freed). Specify "
                    "retain_graph=True if you need to backward a second time."
                )
            grads = node.fn.backward(node, g)
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


def backward(tensor: Tensor, gradient=None, retain_graph: bool = False) -> None:
    """``tensor.backward(gradient)``: see ``Tensor.backward``."""
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward: element 0 of tensors does not require grad and does not have a grad_fn"
        )
    if gradient is None:
        if tensor.numel() != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs, "
                f"got a tensor of shape {tuple(tensor.shape)}; pass gradient="
            )
        g = tensor._k().full(tensor.shape, 1, tensor._data.dtype)
    else:
        if not isinstance(gradient, Tensor):
            from .tensor import tensor as make_tensor

            gradient = make_tensor(gradient, dtype=tensor.dtype, device=tensor.device)
        if tuple(gradient.shape) != tuple(tensor.shape):
            raise RuntimeError(
                f"backward: gradient has shape {tuple(gradient.shape)} but the tensor has "
                f"shape {tuple(tensor.shape)}"
            )
        if gradient.device != tensor.device:
            raise RuntimeError(
                f"backward: gradient is on {gradient.device} but the tensor is on {tensor.device}"
            )
        g = gradient._data
        if g.dtype != tensor._data.dtype:
            g = tensor._k().astype(g, tensor._data.dtype)
    if tensor.grad_fn is None:  # a leaf: its gradient is the seed itself
        _accumulate_leaf(tensor, g, tensor._k())
        return
    run_backward(tensor, g, retain_graph)


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
