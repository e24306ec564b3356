"""In-place ops: ``x.add_(y)``, ``x.mul_(s)``, ``x.copy_(y)``, ``x.fill_(v)``, ``x.normal_()`` ...

PyTorch's rules are checked before anything is written:

- a leaf that requires grad refuses in-place ops while grad mode is on
  (optimizers and ``nn.init`` run under ``no_grad``, where it is allowed);
- the result must fit the tensor: operands broadcast *to* its shape, and the
  result dtype may not climb a category (an int tensor cannot take a float).

Where no graph is involved (parameter updates, initialisation, buffers,
``.grad.zero_()``) the op writes into the tensor's storage, so views of it see
the change; the arithmetic ones run the in-place kernel ``binary_``.

Differs from PyTorch: on a tensor that takes part in the graph (a non-leaf that
requires grad, or an operand that requires grad, with grad mode on) the op is
recorded as its out-of-place twin and the tensor is *rebound* to the result.
Gradients are exact, and no array saved for a backward is ever overwritten;
but views taken earlier keep the old values.  PyTorch writes through and
tracks versions instead.
"""
from __future__ import annotations

from .. import dtypes as dt
from .. import random as _random
from ..autograd import is_grad_enabled, no_grad
from ..tensor import Tensor, full
from . import elementwise as ew
from ._checks import broadcast_shape, is_scalar, result_dtype
from .shape import OVERLAP_MSG, overlapping


def _target(op: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.requires_grad and x.grad_fn is None and is_grad_enabled():
        raise RuntimeError(
            f"{op}: a leaf Variable that requires grad is being used in an in-place operation."
            " (Wrap it in jitnet.no_grad() to update or initialise it.)"
        )
    return x


def _on_graph(x: Tensor, *operands) -> bool:
    if not is_grad_enabled():
        return False
    if x.requires_grad:
        return True
    for o in operands:
        if isinstance(o, Tensor) and o.requires_grad:
            return True
    return False


def _alias(x: Tensor) -> Tensor:
    """A second handle on x's value and graph node (x itself is about to be rebound)."""
    a = Tensor(x._data, x.device, x.requires_grad)
    a.grad_fn = x.grad_fn
    return a


def _fits(op: str, x: Tensor, shape, dtype) -> None:
    if tuple(shape) != tuple(x._data.shape):
        raise RuntimeError(
            f"{op}: output with shape {list(x.shape)} doesn't match the broadcast shape "
            f"{list(shape)}"
        )
    dtype = dt.to_dtype(dtype)
    if dt.category(dtype) > dt.category(x.dtype):
        raise RuntimeError(
            f"{op}: result type {dtype.name} can't be cast to the desired output type "
            f"{x.dtype.name}"
        )


def _adopt(op: str, x: Tensor, r: Tensor) -> Tensor:
    """Graph path: x becomes the (recorded) result r."""
    _fits(op, x, r._data.shape, r.dtype)
    if r.dtype is not x.dtype:
        r = ew.cast(r, x.dtype)
    x._data, x.grad_fn, x.requires_grad = r._data, r.grad_fn, r.requires_grad
    return x


def _write(op: str, x: Tensor, raw, allow_overlap: bool = False) -> Tensor:
    """No-graph path: copy ``raw`` (an array broadcastable to x, or a number) into x's storage.

    An expanded view whose elements share memory refuses it (PyTorch's error), except for
    a fill (``allow_overlap``), which means the same whichever element is written last."""
    if not allow_overlap and overlapping(x._data):
        raise RuntimeError(f"{op}: {OVERLAP_MSG}")
    try:
        x._k().setitem(x._data, Ellipsis, raw)
    except ValueError as exc:  # read-only storage (a read-only NumPy array)
        raise RuntimeError(
            f"{op}: cannot write into this tensor ({exc}); if it is an expanded view, "
            "call .clone() first"
        ) from None
    return x


def _via(op: str, x: Tensor, fn, *operands) -> Tensor:
    """x <- fn(x, *operands), written in place unless the graph is involved."""
    _target(op, x)
    if _on_graph(x, *operands):
        return _adopt(op, x, fn(_alias(x), *operands))
    with no_grad():
        r = fn(x, *operands)
    _fits(op, x, r._data.shape, r.dtype)
    return _write(op, x, r._data)


def _replace(op: str, x: Tensor, new: Tensor) -> Tensor:
    """x <- new (a constant of x's shape); on the graph x keeps requiring grad, with a zero
    gradient for its old value (where(True, new, x)), as PyTorch's fill_ does."""
    if x.requires_grad and is_grad_enabled():
        true = full(tuple(x.shape), True, dt.bool_, x.device)
        return _adopt(op, x, ew.where(true, new, _alias(x)))
    if new.dtype is not x.dtype:
        new = ew.cast(new, x.dtype)
    return _write(op, x, new._data)


# ------------------------------------------------------------------ arithmetic

_OPS = {"add_": ("add", ew.add), "sub_": ("sub", ew.sub), "mul_": ("mul", ew.mul),
        "div_": ("div", ew.div)}


def _binary_(op: str, x: Tensor, other, alpha=1) -> Tensor:
    name, fn = _OPS[op]
    _target(op, x)
    other = ew._operand(op, other)
    if isinstance(other, Tensor) and other.device != x.device:
        raise RuntimeError(f"{op}: expected all tensors on the same device, got {x.device} "
                           f"and {other.device}")
    if alpha != 1:
        other = other * alpha
    if _on_graph(x, other):
        return _adopt(op, x, fn(_alias(x), other))
    raw = other._data if isinstance(other, Tensor) else other
    shape = x._data.shape if is_scalar(raw) else \
        broadcast_shape(op, x._data.shape, raw.shape)
    out_dtype = result_dtype(x._data, raw)
    if name == "div" and out_dtype.kind != "f":
        out_dtype = dt.default_float.np
    _fits(op, x, shape, out_dtype)
    if overlapping(x._data):
        raise RuntimeError(f"{op}: {OVERLAP_MSG}")
    try:
        x._k().binary_(name, x._data, raw)
    except ValueError as exc:
        raise RuntimeError(f"{op}: cannot write into this tensor ({exc}); if it is an expanded "
                           "view, call .clone() first") from None
    return x


def add_(input: Tensor, other, alpha=1) -> Tensor:
    """input += alpha * other, in place; returns input."""
    return _binary_("add_", input, other, alpha)


def sub_(input: Tensor, other, alpha=1) -> Tensor:
    """input -= alpha * other, in place."""
    return _binary_("sub_", input, other, alpha)


def mul_(input: Tensor, other) -> Tensor:
    """input *= other, in place."""
    return _binary_("mul_", input, other)


def div_(input: Tensor, other) -> Tensor:
    """input /= other, in place (true division: integer tensors refuse it, as in PyTorch)."""
    return _binary_("div_", input, other)


def addcmul_(input: Tensor, tensor1: Tensor, tensor2: Tensor, value=1) -> Tensor:
    """input += value * tensor1 * tensor2, in place."""
    return _via("addcmul_", input, lambda a, t1, t2: ew.add(a, ew.mul(ew.mul(t1, t2), value)),
                tensor1, tensor2)


def addcdiv_(input: Tensor, tensor1: Tensor, tensor2: Tensor, value=1) -> Tensor:
    """input += value * tensor1 / tensor2, in place."""
    return _via("addcdiv_", input, lambda a, t1, t2: ew.add(a, ew.mul(ew.div(t1, t2), value)),
                tensor1, tensor2)


def clamp_(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """Limit input to [min, max] in place."""
    return _via("clamp_", input, lambda a: ew.clamp(a, min, max))


def unary_(op: str, input: Tensor, fn) -> Tensor:
    """Apply the out-of-place unary ``fn`` in place (``relu_``, ``exp_``, ``sqrt_`` ...)."""
    return _via(op, input, fn)


def masked_fill_(input: Tensor, mask: Tensor, value) -> Tensor:
    """Write ``value`` where the bool ``mask`` (broadcast to input's shape) is True."""
    from .index import bool_mask, masked_fill

    bool_mask("masked_fill_", mask)
    return _via("masked_fill_", input, lambda a, m: masked_fill(a, m, value), mask)


def scatter_(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
             reduce=None) -> Tensor:  # noqa: A002
    """In-place ``scatter``: ``input[i][index[i][j]] = src[i][j]`` (dim 1)."""
    from .index import scatter

    return _via("scatter_", input,
                lambda a, s: scatter(a, dim, index, s, value=value, reduce=reduce), src)


def scatter_add_(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place ``scatter_add``."""
    from .index import scatter_add

    return _via("scatter_add_", input, lambda a, s: scatter_add(a, dim, index, s), src)


# ------------------------------------------------------------------ overwriting

def copy_(input: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast to input's shape, cast to its dtype, from any device) into input."""
    _target("copy_", input)
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_: src must be a Tensor, got {type(src).__name__}")
    shape = broadcast_shape("copy_", tuple(input.shape), tuple(src.shape))
    _fits("copy_", input, shape, input.dtype)
    if src.device != input.device:
        src = src.to(input.device)
    if _on_graph(input, src):
        from .shape import clone, expand

        return _adopt("copy_", input, clone(expand(ew.cast(src, input.dtype), input.shape)))
    raw = src._data
    if raw.dtype != input._data.dtype:
        raw = input._k().astype(raw, input._data.dtype)
    return _write("copy_", input, raw)


def fill_(input: Tensor, value) -> Tensor:
    """Set every element to ``value`` (a number or a 0-d tensor, cast to input's dtype)."""
    _target("fill_", input)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill_: only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions")
        if _on_graph(input, value):
            from .shape import clone, expand

            new = clone(expand(ew.cast(value, input.dtype), tuple(input.shape)))
            return _adopt("fill_", input, ew.where(
                full(tuple(input.shape), True, dt.bool_, input.device), new, _alias(input)))
        value = value.item()
    if not is_scalar(value):
        raise TypeError(f"fill_: value must be a number or a 0-d Tensor, got "
                        f"{type(value).__name__}")
    if input.requires_grad and is_grad_enabled():
        return _replace("fill_", input, full(tuple(input.shape), value, input.dtype,
                                             input.device))
    return _write("fill_", input, value, allow_overlap=True)


def zero_(input: Tensor) -> Tensor:
    """Set every element to zero."""
    return fill_(input, 0)


# ------------------------------------------------------------------ random fills

def _random_fill(op: str, input: Tensor, draw) -> Tensor:
    _target(op, input)
    if not input.dtype.is_floating_point:
        raise TypeError(f"{op}: expected a floating point tensor, got {input.dtype}")
    host = draw(tuple(input.shape)).astype(input.dtype.np)
    new = Tensor(input._k().from_host(host), input.device)
    return _replace(op, input, new)


def uniform_(input: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None,
             **kwargs) -> Tensor:
    """Fill with samples uniform in [a, b) (PyTorch's ``from``/``to`` keywords also work)."""
    a, b = float(kwargs.pop("from", a)), float(kwargs.pop("to", b))
    if kwargs:
        raise TypeError(f"uniform_: unexpected arguments {sorted(kwargs)}")
    if a > b:
        raise RuntimeError(f"uniform_: expects to return a [from, to) range, but found "
                           f"from={a} > to={b}")
    gen = _random.generator(generator)
    return _random_fill("uniform_", input, lambda shape: gen.uniform(a, b, shape))


def normal_(input: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples from N(mean, std**2) (jitnet's seeded generator, not torch's stream)."""
    if std < 0:
        raise RuntimeError(f"normal_: expects std >= 0.0, but found std {std}")
    gen = _random.generator(generator)
    return _random_fill("normal_", input, lambda shape: gen.normal(mean, std, shape))


def index_add_(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """In-place ``index_add``: ``input[..., index[i], ...] += alpha * source[i]``."""
    from .index import index_add

    return _via("index_add_", input, lambda a, s: index_add(a, dim, index, s, alpha=alpha),
                source)
