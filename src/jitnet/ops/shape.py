"""Shape and movement ops: reshape/view, permute/transpose, expand, squeeze, cat/stack,
indexing, and moving a tensor between devices.  None of them computes; all are
differentiable."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import dtypes as dt
from .. import kernels
from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from ._checks import norm_dim


def _sizes(args, op: str) -> tuple:
    """``f(2, 3)`` or ``f((2, 3))`` -> a tuple of Python ints; TypeError for anything else."""
    if len(args) == 1 and type(args[0]) is not int and (
            type(args[0]) in (tuple, list) or isinstance(args[0], Sequence)):
        args = tuple(args[0])
    for s in args:  # ``type(s) is int`` first: the common case skips the slow checks
        if type(s) is not int and (isinstance(s, bool) or not isinstance(s, (int, np.integer))):
            raise TypeError(f"{op}: sizes must be ints, got {args}")
    return tuple([int(s) for s in args])


def infer_shape(shape: tuple, numel: int, op: str) -> tuple:
    """Resolve one -1 in ``shape``; RuntimeError when the sizes cannot hold ``numel``."""
    if -1 not in shape:  # the common case: one product, one comparison
        if math.prod(shape) == numel and (not shape or min(shape) >= 0):
            return shape
        if any(s < -1 for s in shape):
            raise RuntimeError(f"{op}: invalid shape dimension in {list(shape)}")
        raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel}")
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got {list(shape)}")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"{op}: invalid shape dimension in {list(shape)}")
    known = math.prod(s for s in shape if s != -1)
    if known == 0 or numel % known:
        raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel}")
    return tuple(numel // known if s == -1 else s for s in shape)


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape, must_view):
        ctx.in_shape = x.shape
        if must_view:
            out = ctx.k.view(x, shape)
            if out is None:
                raise RuntimeError(
                    f"view: view size {list(shape)} is not compatible with input tensor's size "
                    f"and stride (at least one dimension spans across two contiguous subspaces)."
                    " Use .reshape(...) instead."
                )
            return out
        return ctx.k.reshape(x, shape)

    @staticmethod
    def backward(ctx, g):
        return ctx.k.reshape(g, ctx.in_shape), None, None


def reshape(x: Tensor, *shape) -> Tensor:
    """Same data, new shape (one -1 is inferred); copies only when strides demand it."""
    shape = infer_shape(_sizes(shape, "reshape"), x._data.size, "reshape")
    if shape == x._data.shape:
        return x
    return Reshape.apply(x, shape, False)


def view(x: Tensor, *shape) -> Tensor:
    """Like reshape but never copies: RuntimeError when the strides do not allow a view."""
    if len(shape) == 1 and not isinstance(shape[0], Sequence) and not isinstance(
            shape[0], (int, np.integer)):
        return x.to(shape[0])  # view(dtype) is not supported; to() is the closest
    shape = infer_shape(_sizes(shape, "view"), x._data.size, "view")
    return Reshape.apply(x, shape, True)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one."""
    if x.ndim == 0:
        return reshape(x, 1)
    s = norm_dim(start_dim, x.ndim, "flatten")
    e = norm_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} cannot come after end_dim {end_dim}")
    shp = tuple(x.shape)
    return reshape(x, shp[:s] + (math.prod(shp[s:e + 1]),) + shp[e + 1:])


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    d = norm_dim(dim, x.ndim, "unflatten")
    shp = tuple(x.shape)
    sizes = infer_shape(tuple(sizes), shp[d], "unflatten")
    return reshape(x, shp[:d] + sizes + shp[d + 1:])


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Drop size-1 dims (all, or the given one(s) when they have size 1)."""
    shp = tuple(x.shape)
    if dim is None:
        dims = {i for i, s in enumerate(shp) if s == 1}
    else:
        dims = {norm_dim(d, x.ndim, "squeeze") for d in (dim if isinstance(dim, tuple) else (dim,))}
        dims = {d for d in dims if shp[d] == 1}
    return reshape(x, tuple(s for i, s in enumerate(shp) if i not in dims))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim`` (in [-ndim-1, ndim])."""
    d = norm_dim(dim, x.ndim + 1, "unsqueeze")
    shp = tuple(x.shape)
    return reshape(x, shp[:d] + (1,) + shp[d:])


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.inverse = tuple(np.argsort(dims))
        return ctx.k.permute(x, dims)

    @staticmethod
    def backward(ctx, g):
        return ctx.k.permute(g, ctx.inverse), None


def permute(x: Tensor, *dims) -> Tensor:
    """Reorder dims (a view)."""
    dims = _sizes(dims, "permute")
    if len(dims) != x.ndim:
        raise RuntimeError(
            f"permute: number of dims don't match: input has {x.ndim} dims, got {len(dims)}"
        )
    norm = tuple(norm_dim(d, x.ndim, "permute") for d in dims)
    if sorted(norm) != list(range(x.ndim)):
        raise RuntimeError(f"permute: dims {dims} are not a permutation of 0..{x.ndim - 1}")
    if norm == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, norm)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims (a view)."""
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    a, b = norm_dim(dim0, x.ndim, "transpose"), norm_dim(dim1, x.ndim, "transpose")
    dims = list(range(x.ndim))
    dims[a], dims[b] = dims[b], dims[a]
    return permute(x, dims)


def t(x: Tensor) -> Tensor:
    if x.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return transpose(x, 0, -1) if x.ndim == 2 else x


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        return ctx.k.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):  # the engine sums the broadcast dims back
        return g, None


def expand(x: Tensor, *sizes) -> Tensor:
    """Broadcast size-1 dims to ``sizes`` without copying (-1 keeps a dim)."""
    sizes = _sizes(sizes, "expand")
    shp = tuple(x.shape)
    if len(sizes) < len(shp):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({len(shp)})"
        )
    lead = len(sizes) - len(shp)
    out = []
    for i, s in enumerate(sizes):
        cur = shp[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError(f"expand: -1 is not allowed in a new leading dim ({sizes})")
            s = cur
        if cur is not None and cur != s and cur != 1:
            raise RuntimeError(
                f"expand: the expanded size of the tensor ({s}) must match the existing size "
                f"({cur}) at non-singleton dimension {i}. Target sizes: {list(sizes)}. "
                f"Tensor sizes: {list(shp)}"
            )
        out.append(s)
    out = tuple(out)
    return x if out == shp else Expand.apply(x, out)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, tuple(other.shape))


class Contiguous(Function):
    @staticmethod
    def forward(ctx, x):
        return ctx.k.contiguous(x)

    @staticmethod
    def backward(ctx, g):
        return g


def contiguous(x: Tensor) -> Tensor:
    return Contiguous.apply(x)


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return ctx.k.copy(x)

    @staticmethod
    def backward(ctx, g):
        return g


def clone(x: Tensor) -> Tensor:
    """A copy with its own storage, still on the graph."""
    return Clone.apply(x)


class Cat(Function):
    @staticmethod
    def forward(ctx, axis, *xs):
        ctx.axis = axis
        ctx.sizes = [x.shape[axis] for x in xs]
        return ctx.k.concat(xs, axis)

    @staticmethod
    def backward(ctx, g):
        grads, start = [None], 0
        for n in ctx.sizes:
            idx = (slice(None),) * ctx.axis + (slice(start, start + n),)
            grads.append(ctx.k.getitem(g, idx))
            start += n
        return tuple(grads)


def _same_dtype(tensors, op):
    out = tensors[0].dtype
    for t_ in tensors[1:]:
        out = dt.promote(out, t_.dtype)
    return [t_.to(out) if t_.dtype is not out else t_ for t_ in tensors]


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; all other dims must match."""
    tensors = list(tensors)
    if not tensors or not all(isinstance(t_, Tensor) for t_ in tensors):
        raise TypeError("cat: expected a non-empty sequence of Tensors")
    # PyTorch skips legacy empty tensors of shape (0,) beside tensors of other ndim
    kept = [t_ for t_ in tensors if not (t_.ndim == 1 and t_.shape[0] == 0)]
    if kept and len(kept) < len(tensors):
        promoted = _same_dtype(tensors, "cat")
        tensors = [p for p, t_ in zip(promoted, tensors)
                   if not (t_.ndim == 1 and t_.shape[0] == 0)]
    ref = tensors[0]
    if ref.ndim == 0:
        raise RuntimeError("cat: zero-dimensional tensor cannot be concatenated")
    axis = norm_dim(dim, ref.ndim, "cat")
    for i, t_ in enumerate(tensors):
        if t_.ndim != ref.ndim or any(
                a != b for j, (a, b) in enumerate(zip(t_.shape, ref.shape)) if j != axis):
            raise RuntimeError(
                f"cat: sizes of tensors must match except in dimension {axis}; tensor 0 has "
                f"shape {tuple(ref.shape)} and tensor {i} has shape {tuple(t_.shape)}"
            )
    return Cat.apply(axis, *_same_dtype(tensors, "cat"))


concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new dim."""
    tensors = list(tensors)
    if not tensors or not all(isinstance(t_, Tensor) for t_ in tensors):
        raise TypeError("stack: expected a non-empty sequence of Tensors")
    for i, t_ in enumerate(tensors):
        if t_.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack: expects each tensor to be equal size, but got {tuple(tensors[0].shape)}"
                f" at entry 0 and {tuple(t_.shape)} at entry {i}"
            )
    d = norm_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t_, d) for t_ in tensors], d)


# ------------------------------------------------------------------ indexing

def _convert_index(x: Tensor, index):
    """Tensors in an index become raw arrays on x's device; bounds are checked here."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for it in items:
        if isinstance(it, Tensor):
            if it.dtype.is_floating_point:
                raise IndexError(
                    f"index: tensors used as indices must be long, int or bool, got {it.dtype}"
                )
            it = it._k().to_host(it._data)
        elif isinstance(it, list):
            it = np.asarray(it)
            if it.dtype.kind == "f":
                raise IndexError("index: lists used as indices must hold ints or bools")
        elif isinstance(it, float):
            raise IndexError(f"index: only integers, slices, None, Ellipsis, bool and integer "
                             f"tensors are valid indices (got float {it})")
        out.append(it)
    idx = tuple(out)
    try:  # validate against a zero-strided dummy of x's shape: IndexError names axis and size
        np.broadcast_to(np.empty((), np.int8), tuple(x.shape))[idx]
    except IndexError as exc:
        raise IndexError(f"index: {exc} (tensor of shape {tuple(x.shape)})") from None
    return idx


class Index(Function):
    @staticmethod
    def forward(ctx, x, idx):
        ctx.shape, ctx.dtype, ctx.idx = x.shape, x.dtype, idx
        return ctx.k.getitem(x, idx)

    @staticmethod
    def backward(ctx, g):
        return ctx.k.index_add(ctx.shape, ctx.dtype, ctx.idx, g), None


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]``: ints, slices, None, Ellipsis, bool masks and integer arrays/tensors."""
    return Index.apply(x, _convert_index(x, index))


OVERLAP_MSG = ("unsupported operation: more than one element of the written-to tensor refers "
               "to a single memory location. Please clone() the tensor before performing the "
               "operation.")


def overlapping(raw) -> bool:
    """True when two elements of the raw array share memory (an expanded dim: stride 0 and
    size > 1).  Only CPU arrays can: the CUDA table materialises every view."""
    strides = getattr(raw, "strides", None)
    return strides is not None and 0 not in raw.shape and any(
        st == 0 and n > 1 for st, n in zip(strides, raw.shape))


def _index_shape(shape: tuple, idx) -> tuple:
    """The shape ``x[idx]`` has, by PyTorch's rules, for x of ``shape``."""
    from ..kernels._indexing import torch_split

    dummy = np.broadcast_to(np.empty((), np.int8), shape)
    split = torch_split(idx, len(shape))
    return dummy[split[0]][split[1]].shape if split is not None else dummy[idx].shape


class IndexPut(Function):
    """``x[idx] = value`` recorded out of place: out is a copy of x with the region replaced;
    x's gradient is g with the region zeroed, value's is g's region (summed to its shape)."""

    @staticmethod
    def forward(ctx, x, idx, value):
        k = ctx.k
        ctx.idx = idx
        out = k.copy(x)
        k.setitem(out, idx, value)
        return out

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        gx = gv = None
        if need[0]:
            gx = k.copy(g)
            k.setitem(gx, ctx.idx, 0)
        if need[2]:
            gv = k.getitem(g, ctx.idx)
        return gx, None, gv


def setitem(x: Tensor, index, value) -> None:
    """``x[index] = value`` with PyTorch's rules.

    ``value``: a number, a tensor broadcastable to the indexed region (extra
    leading size-1 dims are dropped, as in PyTorch), or a list/tuple (PyTorch
    refuses those; jitnet converts them).  A tensor value through an advanced
    index must have x's dtype (PyTorch's ``index_put`` rule); through basic
    indices it is cast.

    Autograd: on a leaf that requires grad (grad mode on) this raises, as in
    PyTorch.  When x or the value takes part in the graph, the write is
    recorded (``IndexPut``) and x is rebound to the result, so gradients flow
    through the written and the kept parts; views of x taken before keep the
    old values (PyTorch writes through them with CopySlices; see
    docs/pytorch-compat.md).  Otherwise the value is written into x's storage.
    """
    from . import elementwise as ew

    if not isinstance(x, Tensor):
        raise TypeError(f"setitem: expected a Tensor, got {type(x).__name__}")
    idx = _convert_index(x, index)
    advanced = any(isinstance(it, np.ndarray) for it in (idx if isinstance(idx, tuple) else
                                                         (idx,)))
    if isinstance(value, (list, tuple, np.ndarray)):
        from ..tensor import tensor

        value = tensor(value, dtype=x.dtype, device=x.device)
    if isinstance(value, Tensor):
        if value.device != x.device:
            raise RuntimeError(f"setitem: value is on {value.device} but tensor is on {x.device}")
        if advanced and value.dtype is not x.dtype:
            raise RuntimeError(
                f"setitem: Index put requires the source and destination dtypes match, got "
                f"{x.dtype.name} for the destination and {value.dtype.name} for the source."
            )
        region = _index_shape(tuple(x.shape), idx)
        vshape = tuple(value.shape)
        while len(vshape) > len(region) and vshape[0] == 1:
            vshape = vshape[1:]
        try:
            np.broadcast_shapes(vshape, region)
            if len(vshape) > len(region):
                raise ValueError
        except ValueError:
            raise RuntimeError(
                f"setitem: shape mismatch: value tensor of shape {list(value.shape)} cannot be "
                f"broadcast to indexing result of shape {list(region)}"
            ) from None
        if vshape != tuple(value.shape):
            value = reshape(value, vshape)
        if value.dtype is not x.dtype:
            value = ew.cast(value, x.dtype)
    elif not isinstance(value, (int, float, bool, np.number, np.bool_)):
        raise TypeError(f"setitem: can't assign a {type(value).__name__} to a Tensor")
    grad_on = is_grad_enabled()
    if grad_on and x.requires_grad and x.grad_fn is None:
        raise RuntimeError(
            "setitem: a leaf Variable that requires grad is being used in an in-place "
            "operation (wrap it in jitnet.no_grad() to initialise it)"
        )
    if grad_on and (x.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
        alias = Tensor(x._data, x.device, x.requires_grad)
        alias.grad_fn = x.grad_fn
        r = IndexPut.apply(alias, idx, value)
        x._data, x.grad_fn, x.requires_grad = r._data, r.grad_fn, r.requires_grad
        return
    raw = value._data if isinstance(value, Tensor) else value
    k = x._k()
    if overlapping(x._data) and not advanced and overlapping(k.getitem(x._data, idx)):
        raise RuntimeError(f"setitem: {OVERLAP_MSG}")
    try:
        k.setitem(x._data, idx, raw)
    except ValueError as exc:  # read-only storage (a read-only NumPy array)
        raise RuntimeError(f"setitem: cannot write into this tensor ({exc})") from None


class ToDevice(Function):
    """Copy between devices through the host; the gradient travels back the same way."""

    @staticmethod
    def forward(ctx, x, dst):
        ctx.dst = dst
        return kernels.table(dst).from_host(ctx.k.to_host(x))

    @staticmethod
    def backward(ctx, g):
        return ctx.k.from_host(kernels.table(ctx.dst).to_host(g)), None

    @classmethod
    def apply(cls, x, dst):
        out = super().apply(x, dst)
        out.device = dst
        return out


def to_device(x: Tensor, device) -> Tensor:
    """x on ``device`` (differentiable)."""
    kernels.table(device)  # raise early, with the how-to-get-CUDA message
    return ToDevice.apply(x, device)


# ------------------------------------------------------------------ dim moves (issue 19)

def movedim(input: Tensor, source, destination) -> Tensor:
    """``input`` with dims ``source`` moved to positions ``destination`` (ints or sequences
    of equal length); the other dims keep their order.  A view, like ``permute``."""
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)"
        )
    n = input.ndim
    s = [norm_dim(d, n, "movedim") for d in src]
    d = [norm_dim(v, n, "movedim") for v in dst]
    if len(set(s)) != len(s):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(src)})")
    if len(set(d)) != len(d):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(dst)})")
    order = [None] * n
    for a, b in zip(s, d):
        order[b] = a
    rest = iter(i for i in range(n) if i not in s)
    order = [next(rest) if o is None else o for o in order]
    return permute(input, order) if n else input


moveaxis = movedim


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose(input, axis0, axis1)`` (NumPy's name; ``swapdims`` is the same)."""
    return transpose(input, axis0, axis1)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """``transpose(input, dim0, dim1)``."""
    return transpose(input, dim0, dim1)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice ``index`` of ``input`` along ``dim``, without that dim (a view on the CPU):
    ``x.select(1, i)`` is ``x[:, i]``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"select: expected a Tensor, got {type(input).__name__}")
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"select: index must be an int, got {type(index).__name__}")
    axis = norm_dim(dim, input.ndim, "select")
    size = input.shape[axis]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {axis}")
    return getitem(input, (slice(None),) * axis + (int(index),))
