"""Index-driven ops: gather, scatter, scatter_add, index_select, masked_fill, sort, topk.

Each reads or writes a tensor at positions given by an integer (or bool)
tensor.  Gradients flow to the values, never to the indices: gathering's
backward scatters-adds the gradient back (``put_along_add``), scattering's
backward gathers it (``take_along``).  Index bounds are checked before any
kernel runs (on CUDA this reads two numbers back from the device).
"""
from __future__ import annotations

from .. import dtypes as dt
from .. import return_types
from ..autograd import Function
from ..kernels import opcodes as oc
from ..tensor import Tensor, full
from ._checks import broadcast_shape, is_scalar, norm_dim

_INDEX_DTYPES = (dt.int64, dt.int32)


def _index_tensor(op: str, index, name: str = "index") -> Tensor:
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(index).__name__}")
    if index.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"{op}: expected dtype int64 for {name}, got {index.dtype.name}")
    return index


def _check_bounds(op: str, index: Tensor, size: int, dim: int) -> None:
    """IndexError when any index is outside [0, size) (negative indices are refused, as in
    PyTorch's gather/scatter/index_select)."""
    if index.numel() == 0:
        return
    k = index._k()
    flat = k.reshape(index._data, (index.numel(),))
    lo = int(k.to_host(k.reduce(oc.MIN, flat, (0,), False)).item())
    hi = int(k.to_host(k.reduce(oc.MAX, flat, (0,), False)).item())
    bad = lo if lo < 0 else hi if hi >= size else None
    if bad is not None:
        raise IndexError(
            f"{op}: index {bad} is out of bounds for dimension {dim} with size {size}"
        )


def _region(shape: tuple, upto: tuple, skip: int | None = None) -> tuple | None:
    """Slices selecting the leading ``upto`` part of ``shape`` (dim ``skip`` left whole);
    None when that is all of it."""
    if all(u == s or d == skip for d, (u, s) in enumerate(zip(upto, shape))):
        return None
    return tuple(slice(None) if d == skip else slice(0, u) for d, u in enumerate(upto))


def _check_along(op: str, x: Tensor, axis: int, index: Tensor, other=None, other_name=""):
    """gather/scatter shape rules: same ndim; index no larger than x (except along dim)
    and no larger than ``other`` (src) anywhere."""
    if index.ndim != x.ndim:
        raise RuntimeError(
            f"{op}: index tensor must have the same number of dimensions as input "
            f"(index shape {tuple(index.shape)}, input shape {tuple(x.shape)})"
        )
    for d, (i, s) in enumerate(zip(index.shape, x.shape)):
        if d != axis and i > s:
            raise RuntimeError(
                f"{op}: size does not match at dimension {d}: expected index "
                f"{tuple(index.shape)} to be no larger than input {tuple(x.shape)} apart "
                f"from dimension {axis}"
            )
    if other is not None:
        if other.ndim != index.ndim or any(i > s for i, s in zip(index.shape, other.shape)):
            raise RuntimeError(
                f"{op}: expected index {tuple(index.shape)} to be no larger than "
                f"{other_name} {tuple(other.shape)} in every dimension"
            )
    _check_bounds(op, index, x.shape[axis] if x.ndim else 1, axis)


# ------------------------------------------------------------------ gather

class Gather(Function):
    """out[i][j] = x[i][idx[i][j]] (dim 1); backward adds g back at the same places."""

    @staticmethod
    def forward(ctx, x, axis, idx, region):
        ctx.shape, ctx.dtype, ctx.axis, ctx.idx = x.shape, x.dtype, axis, idx
        src = x if region is None else ctx.k.getitem(x, region)
        return ctx.k.take_along(src, idx, axis)

    @staticmethod
    def backward(ctx, g):
        return ctx.k.put_along_add(ctx.shape, ctx.dtype, ctx.idx, g, ctx.axis), None, None, None


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Values of ``input`` along ``dim`` at ``index`` (int64, same ndim as input).

    ``out[i][j][k] = input[i][index[i][j][k]][k]`` for dim=1; the output has
    index's shape, which may be smaller than input's in every dim but ``dim``.
    """
    index = _index_tensor("gather", index)
    if input.ndim == 0:
        return gather(input.reshape(1), 0, index.reshape(-1)).reshape(index.shape)
    axis = norm_dim(dim, input.ndim, "gather")
    _check_along("gather", input, axis, index)
    region = _region(tuple(input.shape), tuple(index.shape), skip=axis)
    return Gather.apply(input, axis, index, region)


# ------------------------------------------------------------------ scatter

def _scatter_src_grad(ctx, g):
    """The gradient of a scattered ``src``: g gathered at idx, zero-padded to src's shape."""
    k = ctx.k
    part = g if ctx.g_region is None else k.getitem(g, ctx.g_region)
    taken = k.take_along(part, ctx.idx, ctx.axis)
    if ctx.src_region is None:
        return taken
    return k.index_add(ctx.src_shape, taken.dtype, ctx.src_region, taken)


class Scatter(Function):
    """out = x with out[i][idx[i][j]] = src[i][j] (dim 1); src may be a number."""

    @staticmethod
    def forward(ctx, x, axis, idx, src, g_region, src_region):
        k = ctx.k
        ctx.axis, ctx.idx, ctx.g_region, ctx.src_region = axis, idx, g_region, src_region
        ctx.src_shape = getattr(src, "shape", None)
        out = k.copy(x)
        if not is_scalar(src) and src_region is not None:
            src = k.getitem(src, src_region)
        k.put_along(out, idx, src, axis)
        return out

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        gx = gs = None
        if need[0]:  # the overwritten places get no gradient
            gx = k.copy(g)
            k.put_along(gx, ctx.idx, 0, ctx.axis)
        if need[3]:
            gs = _scatter_src_grad(ctx, g)
        return gx, None, None, gs, None, None


class ScatterAdd(Function):
    """out = x with src[i][j] added at out[i][idx[i][j]] (dim 1); repeated indices add up."""

    @staticmethod
    def forward(ctx, x, axis, idx, src, g_region, src_region):
        k = ctx.k
        ctx.axis, ctx.idx, ctx.g_region, ctx.src_region = axis, idx, g_region, src_region
        ctx.src_shape = src.shape
        part = src if src_region is None else k.getitem(src, src_region)
        added = k.put_along_add(x.shape, x.dtype, idx, part, axis)
        return k.binary("add", x, added, x.dtype)

    @staticmethod
    def backward(ctx, g):
        gs = _scatter_src_grad(ctx, g) if ctx.needs_input_grad[3] else None
        return g, None, None, gs, None, None


def _scatter(op: str, fn, input: Tensor, dim: int, index: Tensor, src):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    index = _index_tensor(op, index)
    if input.ndim == 0:
        raise RuntimeError(f"{op}: input must have at least one dimension")
    axis = norm_dim(dim, input.ndim, op)
    if isinstance(src, Tensor):
        if src.dtype is not input.dtype:
            raise RuntimeError(
                f"{op}: expected self.dtype to be equal to src.dtype, got {input.dtype.name} "
                f"and {src.dtype.name}"
            )
        _check_along(op, input, axis, index, src, "src")
        src_region = _region(tuple(src.shape), tuple(index.shape))
    elif is_scalar(src):
        _check_along(op, input, axis, index)
        src_region = None
    else:
        raise TypeError(f"{op}: src must be a Tensor or a number, got {type(src).__name__}")
    g_region = _region(tuple(input.shape), tuple(index.shape), skip=axis)
    return fn.apply(input, axis, index, src, g_region, src_region)


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce=None) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``src`` (a tensor or a number) written at ``index`` along dim.

    ``out[i][index[i][j]] = src[i][j]`` for dim=1.  When an index repeats, one of
    the values wins (PyTorch leaves which one undefined too).  ``reduce=`` is not
    supported (use ``scatter_add``).
    """
    if reduce is not None:
        raise NotImplementedError("scatter: reduce= is not supported by jitnet; use scatter_add")
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: expected src (a Tensor) or value (a number)")
    return _scatter("scatter", Scatter, input, dim, index, src)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along dim (repeats accumulate)."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}")
    return _scatter("scatter_add", ScatterAdd, input, dim, index, src)


# ------------------------------------------------------------------ index_select

class IndexSelect(Function):
    """out = x[..., idx, ...] along one axis; backward adds g back, repeats accumulating."""

    @staticmethod
    def forward(ctx, x, key):
        ctx.shape, ctx.dtype, ctx.key = x.shape, x.dtype, key
        return ctx.k.getitem(x, key)

    @staticmethod
    def backward(ctx, g):
        return ctx.k.index_add(ctx.shape, ctx.dtype, ctx.key, g), None


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` along ``dim`` listed in ``index`` (a 1-D int tensor)."""
    index = _index_tensor("index_select", index)
    if index.ndim > 1:
        raise IndexError(
            f"index_select: index must be a vector (0-D or 1-D), got shape {tuple(index.shape)}"
        )
    if input.ndim == 0:
        return index_select(input.reshape(1), 0, index).reshape(index.shape)
    axis = norm_dim(dim, input.ndim, "index_select")
    _check_bounds("index_select", index, input.shape[axis], axis)
    idx = index._data if index.ndim == 1 else index._k().reshape(index._data, (1,))
    return IndexSelect.apply(input, (slice(None),) * axis + (idx,))


# ------------------------------------------------------------------ masks

def bool_mask(op: str, mask) -> Tensor:
    """``mask`` if it is a bool tensor, else the error PyTorch gives, naming ``op``."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}: mask must be a Tensor, got {type(mask).__name__}")
    if mask.dtype is not dt.bool_:
        raise RuntimeError(
            f"{op}: only supports boolean masks, but got mask with dtype {mask.dtype.name}"
        )
    return mask


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` wherever the bool ``mask`` (broadcast with input) is True.

    ``value`` is a number or a 0-d tensor, cast to input's dtype (a 0-d tensor
    that requires grad receives the sum of the filled places' gradients).
    """
    from . import elementwise as ew

    mask = bool_mask("masked_fill", mask)
    broadcast_shape("masked_fill", tuple(input.shape), tuple(mask.shape))
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"masked_fill: only supports a 0-dimensional value tensor, but got tensor with "
                f"{value.ndim} dimension(s)"
            )
        fill = ew.cast(value, input.dtype)
    elif is_scalar(value):
        fill = full((), value, input.dtype, input.device)
    else:
        raise TypeError(f"masked_fill: value must be a number or a 0-d Tensor, got "
                        f"{type(value).__name__}")
    return ew.where(mask, fill, input)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The 1-D tensor of input's elements where the bool ``mask`` (broadcast) is True."""
    from .shape import expand, getitem

    mask = bool_mask("masked_select", mask)
    shape = broadcast_shape("masked_select", tuple(input.shape), tuple(mask.shape))
    return getitem(expand(input, shape), expand(mask, shape))


# ------------------------------------------------------------------ sort, topk

class SortAlong(Function):
    """Sorted values and their int64 indices along ``axis`` (only the first ``k`` for topk);
    backward puts g back at the indices."""

    @staticmethod
    def forward(ctx, x, axis, descending, k):
        kt = ctx.k
        idx = kt.argsort(x, axis, descending)
        if k is not None and k < x.shape[axis]:
            idx = kt.contiguous(kt.getitem(idx, (slice(None),) * axis + (slice(0, k),)))
        ctx.shape, ctx.dtype, ctx.idx, ctx.axis = x.shape, x.dtype, idx, axis
        return kt.take_along(x, idx, axis), idx

    @staticmethod
    def backward(ctx, g):
        return ctx.k.put_along_add(ctx.shape, ctx.dtype, ctx.idx, g, ctx.axis), None, None, None


def _as_1d(op: str, input: Tensor, dim: int):
    """0-d input works as a 1-element vector (dim must be 0 or -1)."""
    norm_dim(dim, 0, op)
    return input.reshape(1), 0


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """``(values, indices)`` of ``input`` sorted along ``dim``.

    The sort is always stable (equal elements keep their order), so ``stable``
    changes nothing; NaN sorts as the largest value, as in PyTorch.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"sort: expected a Tensor, got {type(input).__name__}")
    if input.ndim == 0:
        x1, axis = _as_1d("sort", input, dim)
        v, i = SortAlong.apply(x1, axis, bool(descending), None)
        return return_types.sort(v.reshape(()), i.reshape(()))
    axis = norm_dim(dim, input.ndim, "sort")
    return return_types.sort(*SortAlong.apply(input, axis, bool(descending), None))


def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """int64 indices that sort ``input`` along ``dim`` (``sort(...).indices``, no graph)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"argsort: expected a Tensor, got {type(input).__name__}")
    if input.ndim == 0:
        norm_dim(dim, 0, "argsort")
        return full((), 0, dt.int64, input.device)
    axis = norm_dim(dim, input.ndim, "argsort")
    return Tensor(input._k().argsort(input._data, axis, bool(descending)), input.device)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) along ``dim``.

    Always returned in sorted order (PyTorch leaves the order unspecified with
    ``sorted=False``, so this is allowed).  Computed by a full stable sort.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"topk: expected a Tensor, got {type(input).__name__}")
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"topk: k must be an int, got {type(k).__name__}")
    x, axis = (_as_1d("topk", input, dim) if input.ndim == 0
               else (input, norm_dim(dim, input.ndim, "topk")))
    n = x.shape[axis]
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: selected index k={k} out of range for dimension {axis} "
                           f"of size {n}")
    v, i = SortAlong.apply(x, axis, bool(largest), k)
    if input.ndim == 0:
        v, i = v.reshape(input.shape if k else (0,)), i.reshape(input.shape if k else (0,))
    return return_types.topk(v, i)


# ------------------------------------------------------------------ take_along_dim, index_add

def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` with broadcasting: input and indices broadcast in every dim but ``dim``
    (with ``dim=None`` both are flattened first).  Differentiable in ``input``."""
    indices = _index_tensor("take_along_dim", indices, "indices")
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if input.ndim != indices.ndim:
        raise RuntimeError(
            f"take_along_dim: input and indices should have the same number of dimensions, "
            f"but got {input.ndim} dimensions for input, and {indices.ndim} dimensions for "
            f"indices"
        )
    if input.ndim == 0:
        return gather(input, 0, indices)
    axis = norm_dim(dim, input.ndim, "take_along_dim")
    xs, ids = list(input.shape), list(indices.shape)
    xs[axis] = ids[axis] = 1
    b = list(broadcast_shape("take_along_dim", tuple(xs), tuple(ids)))
    xb, ib = list(b), list(b)
    xb[axis], ib[axis] = input.shape[axis], indices.shape[axis]
    return gather(input.expand(*xb), axis, indices.expand(*ib))


class IndexAdd(Function):
    """out = x with ``alpha * src`` added along ``axis`` at the listed entries (repeats add
    up); backward: g for x, alpha * g[..., idx, ...] for src."""

    @staticmethod
    def forward(ctx, x, key, src, alpha):
        k = ctx.k
        ctx.key, ctx.alpha = key, alpha
        if alpha != 1:
            src = k.binary("mul", src, alpha, x.dtype)
        added = k.index_add(x.shape, x.dtype, key, src)
        return k.binary("add", x, added, x.dtype)

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        gs = None
        if ctx.needs_input_grad[2]:
            gs = k.getitem(g, ctx.key)
            if ctx.alpha != 1:
                gs = k.binary("mul", gs, ctx.alpha, g.dtype)
        return g, None, gs, None


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source[i]`` added at ``input[..., index[i], ...]``
    along ``dim`` (index a 1-D int tensor, ``source.shape[dim] == len(index)``)."""
    if not isinstance(input, Tensor) or not isinstance(source, Tensor):
        raise TypeError("index_add: input and source must be Tensors")
    index = _index_tensor("index_add", index)
    if index.ndim > 1:
        raise IndexError(f"index_add: index must be a vector, got shape {tuple(index.shape)}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_add_(): self ({input.dtype.name}) and source "
                           f"({source.dtype.name}) must have the same scalar type")
    x, src, idx = input, source, index.reshape(-1)
    if x.ndim == 0:
        x, src = x.reshape(1), src.reshape(1)
    axis = norm_dim(dim, x.ndim, "index_add")
    if src.ndim == 0:
        src = src.reshape(1)
    expect = tuple(x.shape[:axis]) + (idx.shape[0],) + tuple(x.shape[axis + 1:])
    if tuple(src.shape) != expect:
        raise RuntimeError(
            f"index_add_(): source of shape {tuple(source.shape)} does not match: expected "
            f"{expect} (input {tuple(input.shape)} with dim {axis} of size len(index) = "
            f"{idx.shape[0]})"
        )
    _check_bounds("index_add", idx, x.shape[axis], axis)
    out = IndexAdd.apply(x, (slice(None),) * axis + (idx._data,), src, alpha)
    return out.reshape(()) if input.ndim == 0 else out
