"""The one decorator every CPU kernel uses: ``@kernel`` or ``@kernel(parallel=True)``.

It is ``numba.njit(cache=True)``, except that when no cache directory can be
written (a read-only install with no writable home), Numba refuses to build the
dispatcher; we then fall back to compiling in memory instead of failing at
import.  Numba caches only top-level functions: a kernel built inside a factory
(a closure) or handed a jitted function as an argument is recompiled in every
process, so kernel families take an integer op code instead (see opcodes.py).
"""
from __future__ import annotations

import numba

PARALLEL_MIN = 1 << 15
"""Below this many elements a kernel runs its serial twin: waking Numba's thread
pool costs about 10 us, more than the work on small arrays."""


def kernel(fn=None, *, parallel: bool = False, inline: str = "never",
           error_model: str = "python"):
    """Compile ``fn`` with Numba in nopython mode, cached on disk where possible.

    ``error_model="numpy"``: ``/`` by zero gives IEEE inf/nan instead of raising
    ZeroDivisionError, and the per-division test that stops LLVM vectorising goes.
    """

    def wrap(f):
        opts = dict(parallel=parallel, fastmath=False, inline=inline, nogil=True,
                    error_model=error_model)
        try:
            return numba.njit(cache=True, **opts)(f)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return numba.njit(cache=False, **opts)(f)

    return wrap(fn) if fn is not None else wrap


def scalar(fn):
    """Compile a leaf formula from ``kernels/scalar/`` for the CPU: inlined into its caller."""
    return kernel(fn, inline="always")
