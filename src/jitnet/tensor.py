"""``Tensor``: an eager value on a device, with an optional gradient and a link to the tape.

A Tensor wraps one raw array (``_data``: a NumPy array on the CPU, a Numba
device array on CUDA).  Its methods are thin: each calls a function in
``jitnet.ops``, which runs a ``Function`` (autograd.py), which calls a kernel
from the device's table (kernels/).  Follow ``Tensor.__mul__`` to
``ops.elementwise.mul`` to ``Mul.forward`` to ``kernels.cpu.binary``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from . import dtypes as _dt
from . import kernels
from . import legacy as _legacy
from .device import CPU, Device, to_device


class Tensor:
    """A multi-dimensional array that can record the ops applied to it for autograd.

    Make tensors with ``jn.tensor``, ``jn.zeros``, ``jn.from_numpy`` ...; the
    constructor takes a raw device array and is for library code, except that
    PyTorch's legacy forms work as there: ``Tensor([1, 2])`` (float32 data),
    ``Tensor(2, 3)`` / ``Tensor(Size([2, 3]))`` (zeros of that shape),
    ``Tensor()`` (empty); see ``jitnet.legacy``.
    """

    __slots__ = ("_data", "device", "requires_grad", "grad", "grad_fn", "__weakref__", "__dict__")
    __array_priority__ = 1000  # make ``ndarray * tensor`` call Tensor.__rmul__

    def __init__(self, data=_legacy.NO_DATA, device: Device = CPU, requires_grad: bool = False,
                 *sizes):
        if data.__class__ in _LEGACY_DATA or device.__class__ is not Device or sizes:
            data, device, requires_grad = _legacy.legacy_new(data, device, requires_grad, sizes)
        self._data = data
        self.device = device
        self.requires_grad = requires_grad
        self.grad = None
        self.grad_fn = None

    # ---------------------------------------------------------------- basics
    def _k(self):
        return kernels.table(self.device)

    @property
    def data(self) -> Tensor:
        """A tensor sharing this one's storage, detached from the graph (PyTorch's ``.data``)."""
        return Tensor(self._data, self.device)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data: expected a Tensor, got {type(value).__name__}")
        self._data = value._data
        self.device = value.device

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape, or the length of dimension ``dim``."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_norm_dim(dim, self.ndim, "size")]

    @property
    def dtype(self) -> _dt.DType:
        d = self._data.dtype
        return _dt._BY_NP.get(d) or _dt.to_dtype(d)  # one dict hit on this per-op path

    @property
    def ndim(self) -> int:
        return len(self._data.shape)

    def dim(self) -> int:
        return len(self._data.shape)

    def numel(self) -> int:
        return math.prod(self._data.shape)

    nelement = numel

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def T(self) -> Tensor:
        """All dims reversed (PyTorch deprecates .T beyond 2-D; here it is ``permute(n-1..0)``)."""
        return _shape.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        return _shape.transpose(self, -2, -1)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self.numel()} elements is ambiguous"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    # ---------------------------------------------------------------- host interop
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array: shares memory for CPU tensors (copy for CUDA).

        Like PyTorch, refuses a tensor that requires grad (call ``.detach()`` first).
        """
        if self.requires_grad:
            raise RuntimeError(
                "numpy: can't call numpy() on a Tensor that requires grad; "
                "use tensor.detach().numpy() instead"
            )
        return self._k().to_host(self._data)

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        n = self.numel()
        if n != 1:
            raise RuntimeError(
                f"item: a Tensor with {n} elements cannot be converted to a Python scalar"
            )
        return self._k().to_host(self._data).reshape(()).item()

    def tolist(self):
        return self._k().to_host(self._data).tolist()

    def __array__(self, dtype=None, copy=None):
        a = self._k().to_host(self._data)
        return a.astype(dtype) if dtype is not None else a

    # ---------------------------------------------------------------- zero-copy interop
    # DLPack for CPU tensors (``np.from_dlpack(t)``, ``torch.from_dlpack(t)``: NumPy exports
    # the shared buffer), the CUDA array interface for CUDA tensors; ``from_dlpack`` and
    # ``as_tensor`` below take the other direction.
    def __dlpack__(self, *, stream=None, **kwargs):
        """A DLPack capsule sharing this CPU tensor's memory (refused when it requires grad,
        as in PyTorch).  CUDA tensors share by ``__cuda_array_interface__`` instead."""
        if self.requires_grad:
            raise RuntimeError("__dlpack__: can't export a tensor that requires grad; use "
                               "tensor.detach()")
        if self.device.type != "cpu":
            raise BufferError("__dlpack__: CUDA tensors are shared by __cuda_array_interface__ "
                              "(torch.as_tensor(t, device='cuda'), cupy.asarray(t))")
        return self._data.__dlpack__(stream=stream, **kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        """(DLPack device type, index): (1, 0) on the CPU, (2, index) on CUDA."""
        if self.device.type == "cpu":
            return (1, 0)
        return (2, self.device.index or 0)

    @property
    def __cuda_array_interface__(self) -> dict:
        """Version 3 of the CUDA array interface (CUDA tensors only; AttributeError on the
        CPU, so ``hasattr`` is False there); ``stream`` is 1, the legacy default stream."""
        desc = self._k().cuda_array_interface(self._data)  # first: AttributeError on the CPU
        if self.requires_grad:
            raise RuntimeError("__cuda_array_interface__: can't export a tensor that requires "
                               "grad; use tensor.detach()")
        return desc

    # ---------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate gradients of this tensor into ``.grad`` of every leaf that requires grad.

        ``gradient`` is required unless the tensor has one element; the graph is
        freed afterwards unless ``retain_graph=True``.
        """
        _autograd.backward(self, gradient, retain_graph)

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares storage)."""
        return Tensor(self._data, self.device)

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place; only float tensors and leaves may change it."""
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError(
                f"requires_grad_: only Tensors of floating point dtype can require gradients, "
                f"got {self.dtype}"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_: you can only change requires_grad of leaf tensors")
        self.requires_grad = requires_grad
        return self

    # hooks (autograd.py, "hooks and autograd.grad")
    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward (no-op on a leaf)."""
        _autograd.retain_grad(self)

    @property
    def retains_grad(self) -> bool:
        return _autograd.retains_grad(self)

    def register_hook(self, hook):
        """``hook(grad) -> Tensor or None`` runs when this tensor's gradient is computed; a
        returned tensor replaces the gradient.  Returns a handle with ``.remove()``."""
        return _autograd.register_tensor_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """``hook(tensor)`` runs after a leaf's gradient has been accumulated into ``.grad``."""
        return _autograd.register_post_accumulate_grad_hook(self, hook)

    # ---------------------------------------------------------------- devices and dtypes
    def to(self, *args, **kwargs) -> Tensor:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other)``; differentiable."""
        device, dtype = _parse_to(args, kwargs)
        out = self
        if dtype is not None and dtype.np != self._data.dtype:
            out = _ew.cast(out, dtype)
        if device is not None and device != self.device:
            out = _shape.to_device(out, device)
        return out

    def cpu(self) -> Tensor:
        return self.to(CPU)

    def cuda(self, device=None) -> Tensor:
        return self.to(Device("cuda") if device is None else to_device(
            f"cuda:{device}" if isinstance(device, int) else device))

    def type(self, dtype=None, non_blocking: bool = False):
        """With no argument, the legacy type name (``'jitnet.FloatTensor'``, PyTorch:
        ``'torch.FloatTensor'``); else a cast to ``jn.FloatTensor`` & co., a dtype, or
        a name (``'torch.LongTensor'``, ``'jitnet.cuda.FloatTensor'``, ``'float64'``)."""
        if dtype is None:
            return _legacy.type_name(self.dtype, self.device)
        dt, device = _legacy.parse_type(dtype)
        out = self.to(dt)
        return out if device is None or device == out.device.type else out.to(device)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(_dt.float32)

    def double(self) -> Tensor:
        return self.to(_dt.float64)

    def long(self) -> Tensor:
        return self.to(_dt.int64)

    def int(self) -> Tensor:
        return self.to(_dt.int32)

    def bool(self) -> Tensor:
        return self.to(_dt.bool_)

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    # ---------------------------------------------------------------- printing
    def __repr__(self) -> str:
        host = self._k().to_host(self._data)
        body = np.array2string(
            host, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3,
            precision=4, floatmode="maxprec_equal",
        )
        # PyTorch's extras: size only when empty and not (0,); dtype unless it is
        # implied by the values (float32, int64, bool), or always when empty
        extras = []
        empty = self.numel() == 0
        if empty and tuple(self.shape) != (0,):
            extras.append(f"size={tuple(self.shape)}")
        if self.dtype is not _dt.float32 and (empty or self.dtype not in _IMPLIED_DTYPES):
            extras.append(f"dtype={self.dtype}")
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self.numel() == 1 and spec:
            return format(self.item(), spec)
        return repr(self)

    # ---------------------------------------------------------------- arithmetic
    def __add__(self, other):
        return _ew.add(self, other)

    def __radd__(self, other):
        return _ew.add(self, other)

    def __sub__(self, other):
        return _ew.sub(self, other)

    def __rsub__(self, other):
        return _ew.rsub(self, other)

    def __mul__(self, other):
        return _ew.mul(self, other)

    def __rmul__(self, other):
        return _ew.mul(self, other)

    def __truediv__(self, other):
        return _ew.div(self, other)

    def __rtruediv__(self, other):
        return _ew.rdiv(self, other)

    def __pow__(self, other):
        return _ew.pow(self, other)

    def __rpow__(self, other):
        return _ew.rpow(self, other)

    def __floordiv__(self, other):
        return _ew.floor_divide(self, other)

    def __mod__(self, other):
        return _ew.remainder(self, other)

    def __neg__(self):
        return _ew.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.abs(self)

    def __matmul__(self, other):
        return _matmul.matmul(self, other)

    def __rmatmul__(self, other):
        return _matmul.matmul(other, self)

    def __eq__(self, other):  # noqa: D105 elementwise, as in PyTorch
        return _ew.compare("eq", self, other)

    def __ne__(self, other):
        return _ew.compare("ne", self, other)

    def __lt__(self, other):
        return _ew.compare("lt", self, other)

    def __le__(self, other):
        return _ew.compare("le", self, other)

    def __gt__(self, other):
        return _ew.compare("gt", self, other)

    def __ge__(self, other):
        return _ew.compare("ge", self, other)

    def __and__(self, other):  # bitwise on integers, logical on bools, as PyTorch
        return _logic.bitwise_and(self, other)

    def __or__(self, other):
        return _logic.bitwise_or(self, other)

    def __xor__(self, other):
        return _logic.bitwise_xor(self, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        if self.dtype.is_floating_point:
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                            f"tensors, got {self.dtype}")
        return _logic.bitwise_not(self)

    # ---------------------------------------------------------------- op methods
    # Each is one line into jitnet.ops; the docstrings live on those functions.
    def add(self, other, alpha=1):
        return _ew.add(self, other, alpha)

    def sub(self, other, alpha=1):
        return _ew.sub(self, other, alpha)

    def mul(self, other):
        return _ew.mul(self, other)

    def div(self, other, *, rounding_mode=None):
        return _ew.div(self, other, rounding_mode=rounding_mode)

    def pow(self, exponent):
        return _ew.pow(self, exponent)

    def matmul(self, other):
        return _matmul.matmul(self, other)

    def mm(self, other):
        return _matmul.mm(self, other)

    def bmm(self, other):
        return _matmul.bmm(self, other)

    def maximum(self, other):
        return _ew.maximum(self, other)

    def minimum(self, other):
        return _ew.minimum(self, other)

    def eq(self, other):
        return _ew.compare("eq", self, other)

    def ne(self, other):
        return _ew.compare("ne", self, other)

    def lt(self, other):
        return _ew.compare("lt", self, other)

    def le(self, other):
        return _ew.compare("le", self, other)

    def gt(self, other):
        return _ew.compare("gt", self, other)

    def ge(self, other):
        return _ew.compare("ge", self, other)

    def neg(self):
        return _ew.neg(self)

    def abs(self):
        return _ew.abs(self)

    def exp(self):
        return _ew.exp(self)

    def log(self):
        return _ew.log(self)

    def sqrt(self):
        return _ew.sqrt(self)

    def rsqrt(self):
        return _ew.rsqrt(self)

    def reciprocal(self):
        return _ew.reciprocal(self)

    def sin(self):
        return _ew.sin(self)

    def cos(self):
        return _ew.cos(self)

    def tanh(self):
        return _ew.tanh(self)

    def sigmoid(self):
        return _ew.sigmoid(self)

    def relu(self):
        return _ew.relu(self)

    def sign(self):
        return _ew.sign(self)

    def square(self):
        return _ew.square(self)

    def clamp(self, min=None, max=None):  # noqa: A002
        return _ew.clamp(self, min, max)

    clip = clamp

    # elementwise math, bitwise and rounding division (ops/elementwise.py)
    def log1p(self):
        return _ew.log1p(self)

    def expm1(self):
        return _ew.expm1(self)

    def log2(self):
        return _ew.log2(self)

    def log10(self):
        return _ew.log10(self)

    def exp2(self):
        return _ew.exp2(self)

    def floor(self):
        return _ew.floor(self)

    def ceil(self):
        return _ew.ceil(self)

    def round(self, decimals=0):
        return _ew.round(self, decimals=decimals)

    def trunc(self):
        return _ew.trunc(self)

    def frac(self):
        return _ew.frac(self)

    def erf(self):
        return _ew.erf(self)

    def erfinv(self):
        return _ew.erfinv(self)

    def lerp(self, end, weight):
        return _composite.lerp(self, end, weight)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _composite.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def addcmul(self, tensor1, tensor2, *, value=1):
        return _composite.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return _composite.addcdiv(self, tensor1, tensor2, value=value)

    def hypot(self, other):
        return _ew.hypot(self, other)

    def atan2(self, other):
        return _ew.atan2(self, other)

    arctan2 = atan2

    def floor_divide(self, other):
        return _ew.floor_divide(self, other)

    def remainder(self, other):
        return _ew.remainder(self, other)

    def fmod(self, other):
        return _ew.fmod(self, other)

    def true_divide(self, other):
        return _ew.div(self, other)

    def bitwise_and(self, other):
        return _logic.bitwise_and(self, other)

    def bitwise_or(self, other):
        return _logic.bitwise_or(self, other)

    def bitwise_xor(self, other):
        return _logic.bitwise_xor(self, other)

    def bitwise_not(self):
        return _logic.bitwise_not(self)

    def __rfloordiv__(self, other):
        return _ew.floor_divide(other, self)

    def __rmod__(self, other):
        return _ew.remainder(other, self)

    def sum(self, dim=None, keepdim=False, dtype=None):
        return _reduce.sum(self, dim, keepdim, dtype=dtype)

    def mean(self, dim=None, keepdim=False, dtype=None):
        return _reduce.mean(self, dim, keepdim, dtype=dtype)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        return _reduce.prod(self, dim, keepdim, dtype=dtype)

    def max(self, dim=None, keepdim=False):
        return _reduce.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return _reduce.min(self, dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        return _reduce.amax(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return _reduce.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _reduce.argmin(self, dim, keepdim)

    def var(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        return _reduce.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
        return _reduce.std(self, dim, unbiased, keepdim, correction=correction)

    def logsumexp(self, dim, keepdim=False):
        return _reduce.logsumexp(self, dim, keepdim)

    def softmax(self, dim, dtype=None):
        return _softmax.softmax(self, dim, dtype=dtype)

    def log_softmax(self, dim, dtype=None):
        return _softmax.log_softmax(self, dim, dtype=dtype)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return _reduce.norm(self, p, dim, keepdim, dtype)

    # issue 19 / 17 names (h-fix): one line each into ops/
    def amin(self, dim=None, keepdim=False):
        return _reduce.amin(self, dim, keepdim)

    def cumprod(self, dim, *, dtype=None):
        return _scan.cumprod(self, dim, dtype=dtype)

    def movedim(self, source, destination):
        return _shape.movedim(self, source, destination)

    moveaxis = movedim

    def swapaxes(self, axis0, axis1):
        return _shape.swapaxes(self, axis0, axis1)

    def swapdims(self, dim0, dim1):
        return _shape.swapdims(self, dim0, dim1)

    def select(self, dim, index):
        return _shape.select(self, dim, index)

    def take_along_dim(self, indices, dim=None):
        return _index.take_along_dim(self, indices, dim)

    def index_add(self, dim, index, source, *, alpha=1):
        return _index.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim, index, source, *, alpha=1):
        return _inplace.index_add_(self, dim, index, source, alpha=alpha)

    def reshape(self, *shape):
        return _shape.reshape(self, *shape)

    def view(self, *shape):
        return _shape.view(self, *shape)

    def view_as(self, other):
        return _shape.view(self, tuple(other.shape))

    def reshape_as(self, other):
        return _shape.reshape(self, tuple(other.shape))

    def flatten(self, start_dim=0, end_dim=-1):
        return _shape.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        return _shape.unflatten(self, dim, sizes)

    def squeeze(self, dim=None):
        return _shape.squeeze(self, dim)

    def unsqueeze(self, dim):
        return _shape.unsqueeze(self, dim)

    def permute(self, *dims):
        return _shape.permute(self, *dims)

    def transpose(self, dim0, dim1):
        return _shape.transpose(self, dim0, dim1)

    def t(self):
        return _shape.t(self)

    def expand(self, *sizes):
        return _shape.expand(self, *sizes)

    def expand_as(self, other):
        return _shape.expand_as(self, other)

    def contiguous(self):
        return _shape.contiguous(self)

    def clone(self):
        return _shape.clone(self)

    def is_contiguous(self) -> bool:
        # flags["C_CONTIGUOUS"]: NumPy's flags object and a CUDA device array's dict both take it
        return bool(getattr(self._data, "flags", None) is None or
                    self._data.flags["C_CONTIGUOUS"])

    # ---------------------------------------------------------------- more op methods
    # index, scan, split/repeat and logic ops (ops/index.py, scan.py, split.py,
    # repeat.py, logic.py): one line each, as above.
    def gather(self, dim, index):
        return _index.gather(self, dim, index)

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        return _index.scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_add(self, dim, index, src):
        return _index.scatter_add(self, dim, index, src)

    def index_select(self, dim, index):
        return _index.index_select(self, dim, index)

    def masked_fill(self, mask, value):
        return _index.masked_fill(self, mask, value)

    def masked_select(self, mask):
        return _index.masked_select(self, mask)

    def sort(self, dim=-1, descending=False, stable=False):
        return _index.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _index.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002
        return _index.topk(self, k, dim, largest, sorted)

    def cumsum(self, dim, *, dtype=None):
        return _scan.cumsum(self, dim, dtype=dtype)

    def split(self, split_size, dim=0):
        return _split.split(self, split_size, dim)

    def chunk(self, chunks, dim=0):
        return _split.chunk(self, chunks, dim)

    def unbind(self, dim=0):
        return _split.unbind(self, dim)

    def narrow(self, dim, start, length):
        return _split.narrow(self, dim, start, length)

    def repeat(self, *sizes):
        return _repeat.repeat(self, *sizes)

    def tile(self, dims):
        return _repeat.tile(self, dims)

    def repeat_interleave(self, repeats, dim=None):
        return _repeat.repeat_interleave(self, repeats, dim)

    def flip(self, *dims):
        return _repeat.flip(self, dims[0] if len(dims) == 1 else dims)

    def all(self, dim=None, keepdim=False):
        return _logic.all(self, dim, keepdim)

    def any(self, dim=None, keepdim=False):
        return _logic.any(self, dim, keepdim)

    def isnan(self):
        return _logic.isnan(self)

    def isinf(self):
        return _logic.isinf(self)

    def isfinite(self):
        return _logic.isfinite(self)

    def logical_not(self):
        return _logic.logical_not(self)

    def logical_and(self, other):
        return _logic.logical_and(self, other)

    def logical_or(self, other):
        return _logic.logical_or(self, other)

    def count_nonzero(self, dim=None):
        return _logic.count_nonzero(self, dim)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _logic.isclose(self, other, rtol, atol, equal_nan)

    def dot(self, other):
        return _matmul.dot(self, other)

    def mv(self, vec):
        return _matmul.mv(self, vec)

    def outer(self, vec2):
        return _matmul.outer(self, vec2)

    def tril(self, diagonal=0):
        return _triangle.tril(self, diagonal)

    def triu(self, diagonal=0):
        return _triangle.triu(self, diagonal)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return tensor(data, dtype or self.dtype, device or self.device, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return full(size, fill_value, dtype or self.dtype, device or self.device, requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_size(size, "new_zeros"), 0, dtype=dtype, device=device,
                             requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_size(size, "new_ones"), 1, dtype=dtype, device=device,
                             requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    # ---------------------------------------------------------------- in-place ops
    # PyTorch's rules (ops/inplace.py): refused on a leaf that requires grad
    # while grad mode is on; ``x += y`` is ``x.add_(y)``.
    def add_(self, other, alpha=1):
        return _inplace.add_(self, other, alpha)

    def sub_(self, other, alpha=1):
        return _inplace.sub_(self, other, alpha)

    def mul_(self, other):
        return _inplace.mul_(self, other)

    def div_(self, other):
        return _inplace.div_(self, other)

    def __iadd__(self, other):
        return _inplace.add_(self, other)

    def __isub__(self, other):
        return _inplace.sub_(self, other)

    def __imul__(self, other):
        return _inplace.mul_(self, other)

    def __itruediv__(self, other):
        return _inplace.div_(self, other)

    def addcmul_(self, tensor1, tensor2, value=1):
        return _inplace.addcmul_(self, tensor1, tensor2, value)

    def addcdiv_(self, tensor1, tensor2, value=1):
        return _inplace.addcdiv_(self, tensor1, tensor2, value)

    def copy_(self, src, non_blocking=False):
        return _inplace.copy_(self, src, non_blocking)

    def fill_(self, value):
        return _inplace.fill_(self, value)

    def zero_(self):
        return _inplace.zero_(self)

    def clamp_(self, min=None, max=None):  # noqa: A002
        return _inplace.clamp_(self, min, max)

    clip_ = clamp_

    def masked_fill_(self, mask, value):
        return _inplace.masked_fill_(self, mask, value)

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return _inplace.scatter_(self, dim, index, src, value=value, reduce=reduce)

    def scatter_add_(self, dim, index, src):
        return _inplace.scatter_add_(self, dim, index, src)

    def uniform_(self, a=0.0, b=1.0, *, generator=None, **kwargs):
        return _inplace.uniform_(self, a, b, generator=generator, **kwargs)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        return _inplace.normal_(self, mean, std, generator=generator)

    def relu_(self):
        return _inplace.unary_("relu_", self, _ew.relu)

    def sigmoid_(self):
        return _inplace.unary_("sigmoid_", self, _ew.sigmoid)

    def tanh_(self):
        return _inplace.unary_("tanh_", self, _ew.tanh)

    def exp_(self):
        return _inplace.unary_("exp_", self, _ew.exp)

    def log_(self):
        return _inplace.unary_("log_", self, _ew.log)

    def sqrt_(self):
        return _inplace.unary_("sqrt_", self, _ew.sqrt)

    def neg_(self):
        return _inplace.unary_("neg_", self, _ew.neg)

    def abs_(self):
        return _inplace.unary_("abs_", self, _ew.abs)

    def pow_(self, exponent):
        return _inplace.unary_("pow_", self, lambda x: _ew.pow(x, exponent))

    # ---------------------------------------------------------------- indexing
    def __getitem__(self, index):
        return _shape.getitem(self, index)

    def __setitem__(self, index, value):
        _shape.setitem(self, index, value)


_IMPLIED_DTYPES = (_dt.int64, _dt.bool_)


class Size(tuple):
    """A tensor's shape: a tuple (PyTorch's ``torch.Size``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"jitnet.Size({list(self)})"

    def numel(self) -> int:
        return math.prod(self)


# data types that mean Tensor(...) was called as PyTorch's legacy constructor
_LEGACY_DATA = frozenset({list, tuple, int, float, bool, Size, Tensor, object})


def _norm_dim(dim: int, ndim: int, op: str) -> int:
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not lo <= dim <= hi:
        raise IndexError(
            f"{op}: Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return int(dim) % max(ndim, 1)


def _parse_to(args, kwargs):
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    kwargs.pop("copy", None)
    if kwargs:
        raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, (str, Device)):
            device = a
        else:
            dtype = a
    return (to_device(device) if device is not None else None,
            _dt.to_dtype(dtype) if dtype is not None else None)


# ---------------------------------------------------------------------- creation

def _infer_dtype(data) -> _dt.DType:
    """PyTorch's inference for Python data: bools -> bool, ints -> int64, any float -> float32."""
    kinds = set()

    def walk(x):
        if isinstance(x, bool | np.bool_):
            kinds.add("b")
        elif isinstance(x, int | np.integer):
            kinds.add("i")
        elif isinstance(x, float | np.floating):
            kinds.add("f")
        elif isinstance(x, Tensor):
            kinds.add({0: "b", 1: "i", 2: "f"}[_dt.category(x.dtype)])
        elif isinstance(x, Sequence) and not isinstance(x, str | bytes):
            for y in x:
                walk(y)
        else:
            raise TypeError(
                f"tensor: could not infer dtype of {type(x).__name__} ({x!r}); expected numbers"
            )

    walk(data)
    if "f" in kinds:
        return _dt.default_float
    if "i" in kinds:
        return _dt.int64
    return _dt.bool_ if kinds else _dt.default_float


def _host_array(data, dtype: _dt.DType | None) -> np.ndarray:
    if isinstance(data, Tensor):
        arr = data.detach().cpu()._data
    elif isinstance(data, np.ndarray):
        if data.dtype.kind not in "biuf":
            raise TypeError(f"tensor: can't convert a NumPy array of dtype {data.dtype}")
        arr = data
    elif isinstance(data, np.generic):
        arr = np.asarray(data)
    else:
        if dtype is None:
            dtype = _infer_dtype(data)
        try:
            arr = np.array(
                [x.item() if isinstance(x, Tensor) else x for x in data]
                if isinstance(data, list | tuple) and any(isinstance(x, Tensor) for x in data)
                else data,
                dtype=dtype.np,
            )
        except ValueError as exc:
            raise ValueError(
                f"tensor: expected a rectangular nested sequence of numbers ({exc})"
            ) from None
    if dtype is None:
        dtype = _dt.to_dtype(arr.dtype)
    if arr.dtype != dtype.np:
        arr = arr.astype(dtype.np)
    return arr


def _finish(arr: np.ndarray, device, requires_grad: bool) -> Tensor:
    device = to_device(device)
    if requires_grad and arr.dtype.kind != "f":
        raise RuntimeError(
            f"tensor: only Tensors of floating point dtype can require gradients, got {arr.dtype}"
        )
    data = kernels.table(device).from_host(arr)
    return Tensor(data, device, bool(requires_grad))


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, NumPy arrays, tensors).

    Python floats give float32, ints int64, bools bool; a NumPy array keeps its
    dtype (float16 becomes float32).  Ragged lists raise ValueError, non-numbers TypeError.
    """
    dt = _dt.to_dtype(dtype) if dtype is not None else None
    arr = _host_array(data, dt)
    if arr is data or (isinstance(data, np.ndarray) and np.shares_memory(arr, data)):
        arr = arr.copy()
    return _finish(arr if arr.flags.c_contiguous else arr.copy(order="C"), device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory when it can, as ``torch.as_tensor``: with a NumPy
    array or a tensor (of the same dtype and device), an object with ``__dlpack__`` on the
    CPU (a PyTorch CPU tensor), or an object with ``__cuda_array_interface__`` (Numba device
    arrays, CuPy, PyTorch CUDA tensors) unless ``device='cpu'`` asks for a host copy."""
    if isinstance(data, Tensor):
        if dtype is None and device is None:
            return data
        return data.to(*(a for a in (device, dtype) if a is not None))
    dt = _dt.to_dtype(dtype) if dtype is not None else None
    dev = to_device(device) if device is not None else None
    if not isinstance(data, np.ndarray):
        if _has_attr(data, "__cuda_array_interface__"):
            gpu = dev if dev is not None and dev.type == "cuda" else Device("cuda")
            shared = Tensor(kernels.table(gpu).from_cuda_array_interface(data), gpu)
            return shared.to(*(a for a in (dev, dt) if a is not None))  # cpu: a copy
        if _has_attr(data, "__dlpack__") and (dev is None or dev.type == "cpu"):
            shared = from_dlpack(data)
            return shared if dt is None else shared.to(dt)
    return _finish(_host_array(data, dt), dev or CPU, False)


def _has_attr(obj, name: str) -> bool:
    try:
        getattr(obj, name)
    except Exception:  # noqa: BLE001 - a property that raises means "not offered"
        return False
    return True


def from_dlpack(ext_tensor) -> Tensor:
    """A tensor sharing the memory of any object with ``__dlpack__`` (NumPy arrays, PyTorch
    CPU tensors; a write through one is seen by the other), as ``torch.from_dlpack``.  CUDA
    objects are wrapped by their ``__cuda_array_interface__``.  Dtypes jitnet lacks
    (float16, int8 ...) raise TypeError."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    kind = ext_tensor.__dlpack_device__()[0] if hasattr(ext_tensor, "__dlpack_device__") else 1
    if kind == 2 and _has_attr(ext_tensor, "__cuda_array_interface__"):
        return as_tensor(ext_tensor, device="cuda")
    if kind != 1:
        raise RuntimeError(f"from_dlpack: DLPack device type {kind} is not supported (CPU "
                           "memory, or CUDA objects with __cuda_array_interface__)")
    arr = np.from_dlpack(ext_tensor)
    if _dt._BY_NP.get(arr.dtype) is None:
        raise TypeError(f"from_dlpack: jitnet has no dtype for {arr.dtype} (supported: bool, "
                        "uint8, int32, int64, float32, float64)")
    return Tensor(arr, CPU)


def from_numpy(a: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``a`` (zero-copy); dtype kept."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(a).__name__}")
    if a.dtype not in (np.float32, np.float64, np.int64, np.int32, np.uint8, np.int8, np.bool_):
        raise TypeError(f"from_numpy: unsupported dtype {a.dtype}")
    return Tensor(a, CPU)


def _size(size, op: str) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], Sequence):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 0:
            raise ValueError(f"{op}: size must be non-negative ints, got {tuple(size)}")
    return tuple(int(s) for s in size)


def _float_dtype(dtype) -> _dt.DType:
    return _dt.default_float if dtype is None else _dt.to_dtype(dtype)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from the value)."""
    size = _size((size,) if isinstance(size, int) else tuple(size), "full")
    dt = _dt.to_dtype(dtype) if dtype is not None else _infer_dtype(fill_value)
    device = to_device(device)
    t = Tensor(kernels.table(device).full(size, fill_value, dt.np), device)
    return t.requires_grad_(requires_grad) if requires_grad else t


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros; ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return full(_size(size, "zeros"), 0, _float_dtype(dtype), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones; ``ones(2, 3)`` or ``ones((2, 3))``."""
    return full(_size(size, "ones"), 1, _float_dtype(dtype), device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor (zeros here, so nothing stale ever leaks)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def _like(t: Tensor, dtype, device):
    return (t.shape, t.dtype if dtype is None else _dt.to_dtype(dtype),
            t.device if device is None else device)


def zeros_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(t, dtype, device)
    return full(shape, 0, dt, dev, requires_grad)


def ones_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, dt, dev = _like(t, dtype, device)
    return full(shape, 1, dt, dev, requires_grad)


def empty_like(t: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return zeros_like(t, dtype, device, requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    shape, dt, dev = _like(t, dtype, device)
    return full(shape, fill_value, dt, dev, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False,
         generator=None) -> Tensor:
    """Uniform samples in [0, 1) from jitnet's seeded generator (``jn.manual_seed``)."""
    dt = _float_dtype(dtype)
    arr = _random.generator(generator).random(_size(size, "rand")).astype(dt.np)
    return _finish(arr, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False,
          generator=None) -> Tensor:
    """Standard normal samples from jitnet's seeded generator."""
    dt = _float_dtype(dtype)
    arr = _random.generator(generator).standard_normal(_size(size, "randn")).astype(dt.np)
    return _finish(arr, device, requires_grad)


def rand_like(t: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    shape, dt, dev = _like(t, dtype, device)
    return rand(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    shape, dt, dev = _like(t, dtype, device)
    return randn(shape, dtype=dt, device=dev, requires_grad=requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None, generator=None) -> Tensor:
    """Integers uniform in [low, high); ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint: size (a tuple) is required")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: expected low < high, got low={low}, high={high}")
    dt = _dt.int64 if dtype is None else _dt.to_dtype(dtype)
    arr = _random.generator(generator).integers(low, high, _size(tuple(size), "randint"))
    return _finish(arr.astype(dt.np), device, False)


def randperm(n: int, dtype=None, device=None, generator=None) -> Tensor:
    """A random permutation of 0..n-1 (int64)."""
    dt = _dt.int64 if dtype is None else _dt.to_dtype(dtype)
    return _finish(_random.generator(generator).permutation(n).astype(dt.np), device, False)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from start to end (exclusive) by step; int64 unless any bound is a float."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: upper bound and larger bound inconsistent with step sign "
                         f"(start={start}, end={end}, step={step})")
    if dtype is None:
        dtype = _infer_dtype([start, end, step])
    dt = _dt.to_dtype(dtype)
    arr = np.arange(start, end, step).astype(dt.np)
    return _finish(arr, device, requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive."""
    if steps < 0:
        raise ValueError(f"linspace: number of steps must be non-negative, got {steps}")
    arr = np.linspace(start, end, steps).astype(_float_dtype(dtype).np)
    return _finish(arr, device, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The n x m identity matrix."""
    if n < 0 or (m is not None and m < 0):
        raise ValueError(f"eye: n and m must be non-negative, got n={n}, m={m}")
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype).np), device, requires_grad)


from . import autograd as _autograd  # noqa: E402
from . import random as _random  # noqa: E402
from .ops import composite as _composite  # noqa: E402
from .ops import elementwise as _ew  # noqa: E402
from .ops import index as _index  # noqa: E402
from .ops import inplace as _inplace  # noqa: E402
from .ops import logic as _logic  # noqa: E402
from .ops import matmul as _matmul  # noqa: E402
from .ops import reduce as _reduce  # noqa: E402
from .ops import repeat as _repeat  # noqa: E402
from .ops import scan as _scan  # noqa: E402
from .ops import shape as _shape  # noqa: E402
from .ops import softmax as _softmax  # noqa: E402
from .ops import split as _split  # noqa: E402
from .ops import triangle as _triangle  # noqa: E402
