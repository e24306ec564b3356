"""Test support: make Numba's CUDA simulator behave like a GPU.  jitnet itself never imports it.

``use_cuda_simulator()`` (called by ``tests/cuda/conftest.py``; a notebook or
script that runs jitnet on the simulator calls it too, right after ``import
jitnet``) installs two things, only when ``NUMBA_ENABLE_CUDASIM=1``:

1. thread-safety fixes for the simulator (below);
2. ``SimArray``, the simulator's device array cut down to what a real
   ``DeviceNDArray`` offers on the host, so code that works here works on a GPU.

Thread-safety fixes.  The simulator runs every CUDA thread as a Python thread, and two of its
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


def use_cuda_simulator() -> bool:
    """Install the simulator fixes and ``SimArray``; False (and nothing done) when the
    simulator is off.  Idempotent."""
    from .device import simulator_enabled

    if not simulator_enabled():
        return False
    _fix_thread_safety()
    from .kernels.cuda import _memory as _arrays

    cls = _sim_array_class()
    _arrays._wrap = lambda a: a if type(a) is cls else cls(a._ary)
    return True


_SIM_ARRAY = None


def _sim_array_class():
    """``SimArray`` (built on first use: the simulator's classes exist only when it is on)."""
    global _SIM_ARRAY
    if _SIM_ARRAY is not None:
        return _SIM_ARRAY
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

    # What a real DeviceNDArray offers on the host besides the methods FakeCUDAArray defines
    # itself; everything else FakeCUDAArray would forward to its NumPy array (``.sum()``,
    # ``.astype()``, ``__array_interface__``), which would let NumPy-only code pass here
    # and fail on a GPU.
    device_array_attrs = frozenset({"strides", "dtype", "size", "ndim"})

    def no_operator(self, *args):
        raise TypeError("CUDA device arrays support no arithmetic or comparison operators "
                        "on the host (the simulator's would; a real GPU's do not)")

    class SimArray(FakeCUDAArray):
        """The simulator's device array, cut down to what a real ``DeviceNDArray`` offers on
        the host: a plain-tuple ``shape`` (the simulator's refuses ``shape[-1]``), ``flags``
        as a dict, identity equality, no NumPy methods and no host arithmetic."""

        @property
        def shape(self):
            return self._ary.shape

        @property
        def flags(self):
            return {"C_CONTIGUOUS": self._ary.flags.c_contiguous,
                    "F_CONTIGUOUS": self._ary.flags.f_contiguous}

        def reshape(self, *shape, **kwargs):
            return SimArray(self._ary.reshape(*shape, **kwargs))

        def view(self, *args, **kwargs):
            return SimArray(self._ary.view(*args, **kwargs))

        def __getattr__(self, name):
            if name not in device_array_attrs:
                raise AttributeError(f"a CUDA device array has no attribute {name!r} (the "
                                     "simulator's would forward it to NumPy; a GPU's cannot)")
            return getattr(self._ary, name)

        __eq__ = object.__eq__
        __ne__ = object.__ne__
        __hash__ = object.__hash__
        __lt__ = __le__ = __gt__ = __ge__ = no_operator
        __add__ = __sub__ = __mul__ = __truediv__ = __floordiv__ = __mod__ = __pow__ = \
            no_operator

    _SIM_ARRAY = SimArray
    return SimArray


def _fix_thread_safety() -> None:
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
