"""The pre-0.4 PyTorch API old code still uses: typed tensor classes and ``Tensor.type`` names.

``jn.FloatTensor([1, 2])`` builds a float32 tensor, ``jn.LongTensor(2, 3)`` a
zero-filled int64 one of shape (2, 3); ``isinstance(x, jn.FloatTensor)`` is
True for a float32 CPU tensor, and ``x.type(jn.FloatTensor)`` or
``x.type("torch.FloatTensor")`` casts.  As in PyTorch, these are aliases of
``tensor``/``zeros`` with a fixed dtype, not subclasses.  jitnet's type names
are ``jitnet.FloatTensor`` (and ``jitnet.cuda.FloatTensor`` on CUDA);
``torch.`` names are accepted too.
"""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt

# legacy class name -> jitnet dtype name (only the dtypes jitnet has)
_NAMES = {
    "FloatTensor": "float32",
    "DoubleTensor": "float64",
    "LongTensor": "int64",
    "IntTensor": "int32",
    "ByteTensor": "uint8",
    "BoolTensor": "bool",
}
_BY_DTYPE = {name: cls for cls, name in _NAMES.items()}


def type_name(dtype: _dt.DType, device) -> str:
    """``'jitnet.FloatTensor'`` / ``'jitnet.cuda.FloatTensor'``: what ``Tensor.type()`` returns."""
    prefix = "jitnet.cuda." if device.type == "cuda" else "jitnet."
    return prefix + _BY_DTYPE[dtype.name]


def parse_type(spec) -> tuple[_dt.DType, str | None]:
    """``Tensor.type``'s argument -> (dtype, device type or None to keep the device).

    Accepts a legacy class (``jn.FloatTensor``), a DType, a dtype name
    (``'float32'``, ``'torch.float32'``) or a type name (``'torch.FloatTensor'``,
    ``'jitnet.cuda.LongTensor'``).
    """
    if isinstance(spec, _TensorType):
        return spec.dtype, "cpu"
    if isinstance(spec, str):
        head, _, name = spec.rpartition(".")
        if head in ("torch", "jitnet", "torch.cuda", "jitnet.cuda", "") and name in _NAMES:
            return _dt.to_dtype(_NAMES[name]), ("cuda" if head.endswith("cuda") else "cpu")
        if head in ("torch", "jitnet", ""):
            return _dt.to_dtype(name), None
        raise TypeError(f"type: unknown type {spec!r}; expected e.g. 'torch.FloatTensor', "
                        f"'jitnet.cuda.LongTensor' or a dtype name such as 'float64'")
    return _dt.to_dtype(spec), None


class _TensorType(type):
    """Metaclass of ``FloatTensor`` & co.: calling one builds a tensor of its dtype."""

    dtype: _dt.DType

    def __call__(cls, *args, device=None):
        from .tensor import Tensor, tensor, zeros

        if not args:
            return zeros(0, dtype=cls.dtype, device=device)
        if len(args) == 1 and isinstance(args[0], (Tensor, np.ndarray, list, tuple)) \
                and not _is_size(args[0]):
            return tensor(args[0], dtype=cls.dtype, device=device)
        sizes = tuple(args[0]) if len(args) == 1 and _is_size(args[0]) else args
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
            raise TypeError(f"{cls.__name__}: expected data (a list, array or tensor) or sizes "
                            f"(ints), got {tuple(type(a).__name__ for a in args)}")
        return zeros(*sizes, dtype=cls.dtype, device=device)

    def __instancecheck__(cls, obj) -> bool:
        from .tensor import Tensor

        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == "cpu"

    def __repr__(cls) -> str:
        return f"<class 'jitnet.{cls.__name__}'>"


def _is_size(obj) -> bool:
    from .tensor import Size

    return isinstance(obj, Size)


def _make(name: str) -> type:
    return _TensorType(name, (), {"dtype": _dt.to_dtype(_NAMES[name]), "__module__": "jitnet",
                                  "__doc__": f"Legacy constructor of {_NAMES[name]} tensors."})


FloatTensor = _make("FloatTensor")
DoubleTensor = _make("DoubleTensor")
LongTensor = _make("LongTensor")
IntTensor = _make("IntTensor")
ByteTensor = _make("ByteTensor")
BoolTensor = _make("BoolTensor")


NO_DATA = object()  # ``Tensor()``: no data argument at all


def legacy_new(data, device, requires_grad, sizes: tuple) -> tuple:
    """``jn.Tensor(...)`` called as PyTorch's legacy constructor -> (raw data, device, grad).

    ``Tensor()`` is empty float32; ``Tensor(2, 3)`` / ``Tensor(Size([2, 3]))``
    zero-filled float32 of that shape (PyTorch: uninitialised);
    ``Tensor([1, 2])`` / ``Tensor((1, 2))`` a float32 copy of the data.  Any
    other ``data`` is raw device data (jitnet's own constructor, for library
    code), kept as it is: ``Tensor(ndarray)`` wraps the array without a cast.
    """
    from .device import Device, to_device
    from .tensor import Size, Tensor, tensor, zeros

    if type(data) is int:  # Tensor(2, 3, ...): the positionals are sizes
        rest = [a for a in (device, requires_grad, *sizes)
                if type(a) is int or not isinstance(a, (bool, str, Device))]
        if not all(type(a) is int for a in rest):
            raise TypeError(f"Tensor: sizes must be ints, got "
                            f"{tuple(type(a).__name__ for a in (data, *rest))}")
        t = zeros(data, *rest)
        device = device if isinstance(device, (str, Device)) else None
        requires_grad = requires_grad if isinstance(requires_grad, bool) else False
    elif sizes:
        raise TypeError(f"Tensor: too many positional arguments ({2 + len(sizes) + 1})")
    elif data is NO_DATA:
        t = zeros(0)
    elif isinstance(data, Size):
        t = zeros(*data)
    elif isinstance(data, (list, tuple, Tensor)):
        t = tensor(data.detach() if isinstance(data, Tensor) else data, dtype=_dt.float32)
    elif isinstance(data, (int, float, bool, np.generic)):
        raise TypeError(f"Tensor: expected a sequence or sizes, got {type(data).__name__} "
                        f"{data!r}; jn.tensor({data!r}) makes a 0-d tensor")
    else:  # raw device data with a device given as a string
        return data, to_device(device), bool(requires_grad)
    if device is not None and not isinstance(device, (str, Device)):
        raise TypeError(f"Tensor: device must be a string or jitnet.device, got "
                        f"{type(device).__name__}")
    if device is not None:
        t = t.to(to_device(device))
    if requires_grad:
        t.requires_grad_(True)  # raises the usual error for a non-float tensor
    return t._data, t.device, bool(requires_grad)
