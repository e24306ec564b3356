"""``Parameter``: a Tensor that a Module registers as trainable when assigned as an attribute."""
from __future__ import annotations

from ..tensor import Tensor, empty


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default and that ``Module.__setattr__`` registers.

    ``Parameter(data)`` shares ``data``'s storage (as in PyTorch).  Ops on a
    Parameter return plain Tensors.  Only floating point data may require grad.
    """

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter: expected a Tensor, got {type(data).__name__}")
        if requires_grad and not data.dtype.is_floating_point:
            raise RuntimeError(f"Parameter: only Tensors of floating point dtype can require "
                               f"gradients, got {data.dtype}")
        super().__init__(data._data, data.device, bool(requires_grad))

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__
