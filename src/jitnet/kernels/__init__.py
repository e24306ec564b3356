"""Kernel tables: one per device, with the same names and signatures.

``table(device)`` returns the module that holds every kernel for that device
(``jitnet.kernels.cpu`` or ``jitnet.kernels.cuda``).  Functions in ``jitnet.ops``
only ever call ``ctx.k.<name>(...)``: this lookup is the single place where
the device decides which code runs.  The CUDA table is imported on first use,
so ``import jitnet`` never touches ``numba.cuda``.

``jitnet.profiler`` records kernel calls by swapping, while it records, each
table in ``_tables`` for a view that times every kernel (``set_view``); with no
profiler on, lookups return the tables themselves and a kernel call costs
nothing extra.
"""
from __future__ import annotations

from types import ModuleType

from . import cpu

_plain: dict[str, ModuleType] = {"cpu": cpu}  # the tables themselves
# what lookups return: the tables, or the profiler's views of them (mutated in place, never
# rebound: autograd holds this dict)
_tables: dict = dict(_plain)
_view = None  # while a profiler records: table -> its timing view


def set_view(view) -> None:
    """Make every lookup return ``view(table)`` instead of the table (``None``: the tables
    themselves again).  Used by ``jitnet.profiler``; a table loaded later gets it too."""
    global _view
    _view = view
    for name, plain in _plain.items():
        _tables[name] = plain if view is None else view(plain)


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

        _plain["cuda"] = cuda_table
        _tables["cuda"] = cuda_table if _view is None else _view(cuda_table)
        return _tables["cuda"]
    raise RuntimeError(f"no kernel table for device {device}")


def missing(op: str, device) -> RuntimeError:
    """The error a table raises for a kernel it does not have."""
    return RuntimeError(
        f"{op}: no kernel for device {device} (jitnet never silently copies to host)"
    )
