"""Run one compiled task kernel on every thread: ``run_tasks(task, args, tasks)``.

A *task kernel* is an ordinary serial ``@kernel`` whose last two arguments are
``(t, tasks)``: it does share ``t`` of ``tasks`` of the work (``span`` gives a
task its contiguous range of items).  ``run_tasks`` calls it once with
``(0, 1)`` on the calling thread, or runs ``tasks`` of them at once on Numba's
thread pool.

Why not the usual pair of kernels, a serial loop and a ``prange`` twin with the
task body in both: Numba compiles a callee *into* each caller.  The ``prange``
twin re-optimised and re-generated the machine code of the whole task body
(BLAS calls, im2col, col2im) a second time, and that was most of a first run's
compile time: the convolution's backward twin took 5 s of LLVM time for a
three-line loop (``bench/compile_profile.py``).  Here the task is compiled
once; the parallel launcher (``_launch``) calls the task's machine code
through its address, a run-time argument, so the launcher links nothing in,
compiles in a fraction of a second, and still caches on disk (an address is
not baked into it).  The call itself costs what any call does: the task runs
for micro- to milliseconds.

The price of calling by address: an exception inside a task (only possible
under ``NUMBA_BOUNDSCHECK=1``, a debugging mode) cannot carry its message out
of a thread; the launcher records the task's failure status and ``run_tasks``
raises RuntimeError naming the kernel.
"""
from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core import cgutils, config
from numba.core.extending import models, register_model
from numba.extending import intrinsic

from .._jit import PARALLEL_MIN, kernel, note_call

_I32 = ir.IntType(32)


class _Stash(types.Type):
    """A pointer to a stack copy of a tuple of ``tuple_type``: how the task arguments enter
    the ``prange`` body, which cannot take a tuple holding a tuple (the geometry)."""

    def __init__(self, tuple_type):
        self.tuple_type = tuple_type
        super().__init__(name=f"Stash({tuple_type})")


register_model(_Stash)(models.OpaqueModel)


@intrinsic
def _stash(typingctx, args):
    """Copy the tuple ``args`` to the caller's stack; returns its address as a ``_Stash``."""
    if not isinstance(args, types.BaseTuple):
        return None

    def codegen(context, builder, signature, llargs):
        slot = cgutils.alloca_once(builder, context.get_value_type(args))
        builder.store(llargs[0], slot)
        return builder.bitcast(slot, cgutils.voidptr_t)

    return _Stash(args)(args), codegen


@intrinsic
def _call_task(typingctx, address, stash, t, tasks):
    """Call the Numba function at ``address`` with ``(*args, t, tasks)``, ``args`` the tuple
    ``stash`` points to (Numba's calling convention, returning None); returns 0, or 1 when
    the call raised."""
    if not isinstance(stash, _Stash):
        return None
    args = stash.tuple_type
    argtys = [*args.types, types.int64, types.int64]

    def codegen(context, builder, signature, llargs):
        fnty = context.call_conv.get_function_type(types.none, argtys)
        callee = builder.inttoptr(llargs[0], fnty.as_pointer())
        slot = builder.bitcast(llargs[1], context.get_value_type(args).as_pointer())
        values = [*cgutils.unpack_tuple(builder, builder.load(slot), len(args)),
                  context.cast(builder, llargs[2], t, types.int64),
                  context.cast(builder, llargs[3], tasks, types.int64)]
        status, _ = context.call_conv.call_function(builder, callee, types.none, argtys,
                                                    values)
        return builder.select(status.is_error, ir.Constant(_I32, 1), ir.Constant(_I32, 0))

    return types.int32(address, stash, t, tasks), codegen


@kernel(parallel=True)
def _launch(address, args, tasks, failed):
    """``prange`` over the tasks, each a call of the task kernel at ``address``."""
    stash = _stash(args)
    for t in prange(tasks):
        failed[t] = _call_task(address, stash, np.int64(t), tasks)


@kernel(inline="always")
def span(t, tasks, n):
    """Items [lo, hi) of task ``t`` of ``tasks`` over ``n`` items: contiguous, sizes within
    one of each other."""
    return t * n // tasks, (t + 1) * n // tasks


def tasks_for(size: int, minimum: int = PARALLEL_MIN) -> int:
    """How many tasks to cut ``size`` items of work into: one below ``minimum`` (waking the
    thread pool costs more than the work), else one per thread."""
    return 1 if size < minimum else numba.get_num_threads()


_addresses: dict = {}


def _key(value):
    if isinstance(value, np.ndarray):
        return value.dtype.char, value.ndim, value.flags.c_contiguous, value.flags.writeable
    return type(value)


def _address(task, args: tuple) -> int:
    """Address of the machine code of ``task`` for ``args`` + (t, tasks), compiling (or
    loading from the disk cache) that signature first."""
    key = (task, tuple(_key(a) for a in args))
    address = _addresses.get(key)
    if address is None:
        sig = tuple(task.typeof_pyval(a) for a in args) + (types.int64, types.int64)
        task.compile(sig)
        cres = task.overloads[sig]
        address = cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)
        _addresses[key] = address
    return address


def run_tasks(task, args: tuple, tasks: int) -> None:
    """Run the task kernel ``task(*args, t, tasks)`` for every t in range(tasks): on the
    calling thread when ``tasks`` is 1, else all at once on Numba's thread pool."""
    if tasks == 1 or config.DISABLE_JIT:
        for t in range(tasks):
            task(*args, t, tasks)
        if config.DISABLE_JIT and tasks > 1:
            note_call(_launch, (0, args, tasks, np.zeros(tasks, np.int32)))
        return
    failed = np.zeros(tasks, dtype=np.int32)
    _launch(_address(task, args), args, tasks, failed)
    if failed.any():
        raise RuntimeError(f"{task.py_func.__qualname__}: a parallel task failed (run with "
                           "NUMBA_NUM_THREADS=1 to see its exception)")
