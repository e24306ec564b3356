"""``jn.accelerator``: PyTorch 2.6+'s device-agnostic queries, answered for jitnet's CUDA.

Programs written for ``torch.accelerator`` pick their device with
``torch.accelerator.current_accelerator()`` when ``is_available()``; jitnet's
only accelerator is CUDA (a GPU, or Numba's simulator with
``NUMBA_ENABLE_CUDASIM=1``), so each query is answered from ``jn.cuda``.
"""
from __future__ import annotations

from .device import Device, cuda

__all__ = ["current_accelerator", "current_device_index", "device_count", "is_available",
           "set_device_index", "synchronize"]


def is_available() -> bool:
    """True when an accelerator (CUDA, for jitnet) can run jitnet kernels."""
    return cuda.is_available()


def device_count() -> int:
    """Number of accelerator devices (0 without CUDA)."""
    return cuda.device_count()


def current_accelerator(check_available: bool = False) -> Device | None:
    """``device(type='cuda')`` when CUDA is available, else None.

    As PyTorch: with ``check_available=False`` (the default) PyTorch still
    names the accelerator its build supports; jitnet names CUDA only when it
    can run, since its CPU-only installs have no CUDA build to speak of.
    """
    return Device("cuda") if cuda.is_available() else None


def current_device_index() -> int:
    """Index of the current accelerator device (0; -1 when there is none, as PyTorch)."""
    return 0 if cuda.is_available() else -1


def set_device_index(device) -> None:
    """Select the accelerator device; jitnet uses device 0 only, so other indices raise."""
    index = device.index if isinstance(device, Device) else device
    if index not in (0, None) or not cuda.is_available():
        raise RuntimeError(f"set_device_index: no accelerator device {device!r} "
                           f"({device_count()} available)")


def synchronize(device=None) -> None:
    """Wait for every queued accelerator kernel to finish (a no-op without one)."""
    cuda.synchronize(device)
