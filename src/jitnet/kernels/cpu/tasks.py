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

import hashlib

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba._dispatcher import compute_fingerprint
from numba.core import cgutils, config
from numba.extending import intrinsic

from .._jit import PARALLEL_MIN, kernel, note_call

_I8P = ir.IntType(8).as_pointer()
_I32 = ir.IntType(32)


def _unowned(context, builder, ty, value):
    """An array argument without its reference count (meminfo NULL), as a ``prange`` body
    sees its arrays.  Every view a task takes (a row, a segment) would otherwise add and
    drop a reference on the caller's array, an atomic operation on one cache line that all
    threads share: measured, that made two concurrent convolution tasks 2.7x slower each.
    The launcher holds the references for the whole call, and a task returns nothing."""
    if not isinstance(ty, types.Array):
        return value
    ary = context.make_array(ty)(context, builder, value)
    ary.meminfo = cgutils.get_null_value(ary.meminfo.type)
    return ary._getvalue()


def _worker(context, module, args):
    """The gufunc-shaped function Numba's threading layer runs on each thread,
    ``void worker(char **ptrs, intp *dims, intp *steps, void *data)``: called once per task
    t with ``ptrs[0]`` = &failed[t]; ``data`` points to {task address, &args, tasks,
    &failed[0]}.  It calls the task kernel with (*args, t, tasks) in Numba's calling
    convention and stores 1 in failed[t] if the task raised."""
    intp = context.get_value_type(types.intp)
    argtys = [*args.types, types.int64, types.int64]
    fnty = ir.FunctionType(ir.VoidType(), [_I8P.as_pointer(), intp.as_pointer(),
                                           intp.as_pointer(), _I8P])
    name = "jitnet_task_worker." + hashlib.sha1(str(args).encode()).hexdigest()[:16]
    worker = cgutils.get_or_insert_function(module, fnty, name)
    if not worker.is_declaration:
        return worker
    worker.linkage = "internal"
    builder = ir.IRBuilder(worker.append_basic_block())
    ptrs, _, _, data = worker.args
    record = builder.bitcast(data, ir.LiteralStructType([intp, _I8P, intp, _I8P]).as_pointer())
    address, stash, tasks, base = (builder.load(cgutils.gep_inbounds(builder, record, 0, i))
                                   for i in range(4))
    slot = builder.load(ptrs)  # &failed[t]
    t = builder.sdiv(builder.sub(builder.ptrtoint(slot, intp), builder.ptrtoint(base, intp)),
                     ir.Constant(intp, 4))
    callee_ty = context.call_conv.get_function_type(types.none, argtys)
    callee = builder.inttoptr(address, callee_ty.as_pointer())
    tup = builder.load(builder.bitcast(stash, context.get_value_type(args).as_pointer()))
    values = [_unowned(context, builder, ty, v)
              for ty, v in zip(args.types, cgutils.unpack_tuple(builder, tup, len(args)))]
    status, _ = context.call_conv.call_function(builder, callee, types.none, argtys,
                                                [*values, t, tasks])
    failed = builder.select(status.is_error, ir.Constant(_I32, 1), ir.Constant(_I32, 0))
    builder.store(failed, builder.bitcast(slot, _I32.as_pointer()))
    builder.ret_void()
    return worker


@intrinsic
def _parallel_call(typingctx, address, args, tasks, failed):
    """Run the task kernel at ``address`` as ``tasks`` tasks on Numba's thread pool (its
    threading layer's ``parallel_for``, what a ``prange`` compiles to), each writing its
    status to ``failed[t]``."""
    if not isinstance(args, types.BaseTuple):
        return None

    def codegen(context, builder, signature, llargs):
        vaddress, vargs, vtasks, vfailed = llargs
        intp = context.get_value_type(types.intp)
        worker = _worker(context, builder.module, args)
        stash = cgutils.alloca_once(builder, context.get_value_type(args))
        builder.store(vargs, stash)
        base = builder.bitcast(context.make_array(signature.args[3])(
            context, builder, vfailed).data, _I8P)
        record = cgutils.alloca_once(builder, ir.LiteralStructType([intp, _I8P, intp, _I8P]))
        ntasks = context.cast(builder, vtasks, tasks, types.intp)
        for i, v in enumerate((context.cast(builder, vaddress, address, types.intp),
                               builder.bitcast(stash, _I8P), ntasks, base)):
            builder.store(v, cgutils.gep_inbounds(builder, record, 0, i))
        ptrs = cgutils.alloca_once_value(builder, base)
        dims = cgutils.alloca_once_value(builder, ntasks)
        steps = cgutils.alloca_once_value(builder, ir.Constant(intp, 4))
        parallel_for = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [_I8P] * 5 + [intp] * 3),
            "numba_parallel_for")
        threads = builder.call(cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(intp, []), "get_num_threads"), [])
        builder.call(parallel_for, [builder.bitcast(worker, _I8P), builder.bitcast(ptrs, _I8P),
                                    builder.bitcast(dims, _I8P), builder.bitcast(steps, _I8P),
                                    builder.bitcast(record, _I8P), ir.Constant(intp, 0),
                                    ir.Constant(intp, 1), threads])
        return context.get_dummy_value()

    return types.none(address, args, tasks, failed), codegen


@kernel
def _launch(address, args, tasks):
    """The task kernel at ``address`` on every thread, ``tasks`` tasks; returns how many of
    them failed."""
    failed = np.empty(tasks, dtype=np.int32)
    _parallel_call(address, args, tasks, failed)
    count = 0
    for t in range(tasks):
        count += failed[t]
    return count


@kernel(inline="always")
def span(t, tasks, n):
    """Items [lo, hi) of task ``t`` of ``tasks`` over ``n`` items: contiguous, sizes within
    one of each other."""
    return t * n // tasks, (t + 1) * n // tasks


_get_num_threads = None


def num_threads() -> int:
    """Numba's thread count for this thread (``numba.get_num_threads``, which costs ~3 us a
    call in Python; after the first call, its C function directly, 0.1 us)."""
    global _get_num_threads
    if _get_num_threads is None:
        numba.get_num_threads()  # starts the pool, then the C getter is bound
        from numba.np.ufunc import parallel

        _get_num_threads = parallel._get_num_threads
    return _get_num_threads()


def tasks_for(size: int, minimum: int = PARALLEL_MIN) -> int:
    """How many tasks to cut ``size`` items of work into: one below ``minimum`` (waking the
    thread pool costs more than the work), else one per thread."""
    return 1 if size < minimum else num_threads()


_addresses: dict = {}


def _address(task, args: tuple) -> int:
    """Address of the machine code of ``task`` for ``args`` + (t, tasks), compiling (or
    loading from the disk cache) that signature first.  Memoised on the arguments' type
    fingerprints (the C function Numba's dispatcher uses, ~0.2 us an argument)."""
    key = (task, *map(compute_fingerprint, args))
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
            note_call(_launch, (0, args, tasks))
        return
    num_threads()  # starts the pool: its parallel_for symbol must exist before _launch loads
    if _launch(_address(task, args), args, tasks):
        raise RuntimeError(f"{task.py_func.__qualname__}: a parallel task failed (run with "
                           "NUMBA_NUM_THREADS=1 to see its exception)")
