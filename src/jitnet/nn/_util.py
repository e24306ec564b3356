"""Helpers shared by the layer files: parameter allocation and unsupported-argument errors."""
from __future__ import annotations

from ..tensor import empty
from .parameter import Parameter


def new_parameter(*shape: int, device=None, dtype=None) -> Parameter:
    """An uninitialised (zero-filled) Parameter; the layer's reset_parameters fills it."""
    return Parameter(empty(*shape, dtype=dtype, device=device))


def unsupported(layer: str, name: str, value) -> NotImplementedError:
    """The error for a PyTorch constructor argument jitnet does not implement."""
    return NotImplementedError(f"{layer}: {name}={value!r} is not supported by jitnet")


def positive_int(layer: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return value
