"""Device-side checks reported at the next host synchronisation, as CUDA errors are.

Some kernels find bad input while they run (a class label outside [0, C), a
probability outside [0, 1]).  On the CPU the op raises at once; on a GPU
that would mean copying a counter to the host after every such kernel, a
synchronisation per training step.  So the CUDA kernels count bad values
into a device array and ``defer`` registers it here; ``check()`` runs before
every device -> host copy (``to_host``: ``.item()``, ``.numpy()``, printing)
and raises the error there.  PyTorch's CUDA backend behaves the same way:
its device-side asserts surface at the next synchronising call.
"""
from __future__ import annotations

from collections.abc import Callable

_pending: list = []

MAX_PENDING = 256
"""A program that never synchronises would queue checks forever: past this many, the
next ``defer`` checks the queue itself (one small copy per queued check)."""


def defer(counter, make_error: Callable[[int], Exception]) -> None:
    """Raise ``make_error(count)`` at the next host sync if device array ``counter[0]`` != 0."""
    if len(_pending) >= MAX_PENDING:
        check()
    _pending.append((counter, make_error))


def check() -> None:
    """Raise the first deferred error whose counter is nonzero (clears the queue)."""
    if not _pending:
        return
    pending = _pending[:]
    _pending.clear()
    for counter, make_error in pending:
        count = int(counter.copy_to_host().reshape(-1)[0])
        if count:
            raise make_error(count)
