"""``parameters_to_vector`` / ``vector_to_parameters`` (``torch.nn.utils.convert_parameters``)."""
from __future__ import annotations

from collections.abc import Iterable

from ...autograd import no_grad
from ...ops.shape import cat
from ...tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All tensors flattened and concatenated into one 1-D tensor (differentiable)."""
    if isinstance(parameters, Tensor):
        raise TypeError(f"parameters_to_vector: expected an iterable of Tensors, got "
                        f"{type(parameters).__name__}")
    params = list(parameters)
    devices = {p.device for p in params}
    if len(devices) > 1:
        raise RuntimeError(f"parameters_to_vector: found tensors on several devices: "
                           f"{sorted(map(str, devices))}")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into each tensor of ``parameters``."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got "
                        f"{type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: vec has shape {tuple(vec.shape)}, expected "
                         f"({total},) for parameters of {total} elements")
    pointer = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[pointer:pointer + n].reshape(p.shape))
            pointer += n
