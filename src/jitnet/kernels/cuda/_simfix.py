"""Two thread-safety fixes for Numba's CUDA simulator, applied only when it is switched on.

The simulator runs every CUDA thread as a Python thread, and two of its
helpers are not thread-safe; both made jitnet's reductions give a wrong
result about once in a hundred launches in the tests:

1. ``FakeCUDAShared.array`` finds a block's shared array with an unlocked
   check-then-insert keyed by the calling source line, so two threads of one
   block can each create their own array and never see each other's writes.
   Fixed here with a lock (same key, same behaviour otherwise).
2. ``swapped_cuda_module`` (builtin ``numba.cuda`` of Numba <= 0.68) swaps the
   ``cuda`` global of a device function's module for the fake one on entry
   and back on exit, per call and without a count: a thread leaving a device
   function restores the real module under another thread still inside one
   of that module's functions.  numba-cuda fixed it with a reference count
   (NVIDIA/numba-cuda#690); older simulators get that version here.

Neither changes what a kernel computes on a GPU; the simulator's results
merely become deterministic.
"""
from __future__ import annotations

import sys
import threading
from collections import defaultdict
from contextlib import contextmanager


def apply() -> None:
    from numba.cuda.simulator import kernel, kernelapi

    if getattr(kernelapi.FakeCUDAShared, "_jitnet_locked", False):
        return
    _lock_shared_arrays(kernelapi.FakeCUDAShared)
    if not hasattr(kernelapi, "_swap_refcount"):
        kernelapi.swapped_cuda_module = kernel.swapped_cuda_module = _swapped_cuda_module


def _lock_shared_arrays(cls) -> None:
    import numpy as np
    from numba.core import types
    from numba.np import numpy_support

    original = cls.array
    lock = threading.Lock()

    def array(self, shape, dtype, alignment=None):
        if alignment is not None or shape == 0:  # not keyed by the caller: the original
            return original(self, shape, dtype, alignment)
        caller = sys._getframe(1)
        key = (caller.f_code.co_filename, caller.f_lineno)
        with lock:
            res = self._allocations.get(key)
            if res is None:
                if isinstance(dtype, types.Type):
                    dtype = numpy_support.as_dtype(dtype)
                res = self._allocations[key] = np.empty(shape, dtype)
        return res

    cls.array = array
    cls._jitnet_locked = True


_register_lock = threading.Lock()
_locks: dict = defaultdict(threading.Lock)
_refcount: dict = defaultdict(int)
_saved: dict = {}


@contextmanager
def _swapped_cuda_module(fn, fake_cuda_module):
    """numba-cuda's reference-counted swap: the first thread in swaps, the last one out restores."""
    from numba import cuda

    globs = fn.__globals__
    gid = id(globs)
    with _register_lock:
        lock = _locks[gid]
    with lock:
        if _refcount[gid] == 0:
            orig = {k: v for k, v in globs.items() if v is cuda}
            _saved[gid] = orig
            for k in orig:
                globs[k] = fake_cuda_module
        _refcount[gid] += 1
    try:
        yield
    finally:
        with lock:
            _refcount[gid] -= 1
            if _refcount[gid] == 0:
                globs.update(_saved.pop(gid))
                del _refcount[gid]
