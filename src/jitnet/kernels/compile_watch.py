"""Noticing Numba compile kernels: for progress bars that say so and ETAs that leave it out.

Numba fires a ``"numba:compile"`` event around every real compilation (not
around a load from its disk cache).  ``watch()`` registers one listener for
it, on first use (``jitnet.fit`` with a progress bar, ``jitnet warmup``),
never at import.  The listener counts compiles and the wall time spent in
the outermost ones (nested compiles of called functions are inside those),
and calls ``on_start`` hooks when a compile begins while none is running:
a progress bar uses that to show "compiling kernels (first run only)" while
it waits.  ``thread_seconds()`` is the same time for the calling thread only:
``jitnet.profiler`` takes its difference around each kernel call to say how
much of the call was compiling.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

NOTICE = "compiling kernels (first run only)"
"""What a progress bar shows while Numba compiles."""


class CompileWatch:
    """Counts Numba compilations in this process (see the module docstring)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.on_start: list[Callable[[], None]] = []
        self._depth = 0
        self._t0 = 0.0
        self._local = threading.local()

    @property
    def compiling(self) -> bool:
        return self._depth > 0

    def _start(self) -> None:
        self._depth += 1
        self.count += 1
        if self._depth == 1:
            self._t0 = time.perf_counter()
            for hook in list(self.on_start):
                try:
                    hook()
                except Exception:  # a display hook must never break a compile
                    pass

    def thread_seconds(self) -> float:
        """Seconds the calling thread has spent in outermost compilations since the watch
        started (Numba compiles under one global lock, so compiles never overlap)."""
        return getattr(self._local, "seconds", 0.0)

    def _end(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            took = time.perf_counter() - self._t0
            self.seconds += took
            self._local.seconds = getattr(self._local, "seconds", 0.0) + took


_watch: CompileWatch | None = None


def watch() -> CompileWatch:
    """The process's CompileWatch, registering its Numba listener the first time."""
    global _watch
    if _watch is None:
        from numba.core import event

        w = CompileWatch()

        class _Listener(event.Listener):
            def on_start(self, ev) -> None:
                w._start()

            def on_end(self, ev) -> None:
                w._end()

        event.register("numba:compile", _Listener())
        _watch = w
    return _watch
