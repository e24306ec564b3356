"""Kernel tables: one per device, with the same names and signatures.

``table(device)`` returns the module that holds every kernel for that device
(``jitnet.kernels.cpu`` or ``jitnet.kernels.cuda``).  Functions in ``jitnet.ops``
only ever call ``ctx.k.<name>(...)``: this lookup is the single place where
the device decides which code runs.  The CUDA table is imported on first use,
so ``import jitnet`` never touches ``numba.cuda``.
"""
from __future__ import annotations

from types import ModuleType

from . import cpu

_tables: dict[str, ModuleType] = {"cpu": cpu}


def table(device) -> ModuleType:
    """The kernel module for ``device`` (a ``jitnet.device.Device``)."""
    try:
        return _tables[device.type]
    except KeyError:
        pass
    if device.type == "cuda":
        from ..device import cuda as cuda_status

        cuda_status.require()
        from . import cuda as cuda_table

        _tables["cuda"] = cuda_table
        return cuda_table
    raise RuntimeError(f"no kernel table for device {device}")


def missing(op: str, device) -> RuntimeError:
    """The error a table raises for a kernel it does not have."""
    return RuntimeError(
        f"{op}: no kernel for device {device} (jitnet never silently copies to host)"
    )
