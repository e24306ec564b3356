"""Task kernels: one compiled function that runs serially or forks itself onto every thread.

A *task kernel* is an ordinary serial kernel, declared with ``@task``, whose
last two arguments are ``(t, tasks)``: it does share ``t`` of ``tasks`` of the
work (``span`` gives a task its contiguous range of items).
``run_tasks(kernel, args, tasks)`` calls it as ``kernel(*args, 0, 1)`` on the
calling thread, or as ``kernel(*args, -1, tasks)``: called with ``t < 0``, the
kernel *forks*, running ``tasks`` copies of itself (t = 0 .. tasks-1) on
Numba's thread pool, and returns when all are done.

``@task`` adds that fork as the kernel's first statement, rewriting its source
(the line numbers stay the file's)::

    if t < 0:
        if _fork_tasks((x, cols, g, t, tasks)):   # every argument, as one tuple
            raise RuntimeError("_im2col_batch: a parallel task failed ...")
        return

``_fork_tasks`` (an intrinsic) hands the threading layer's ``parallel_for``
(what a ``prange`` compiles to) a small worker that calls *the function being
compiled*, its own machine code, with ``t`` replaced.  So a task kernel is one
compile, one cache entry and one dispatcher call, whether it runs on one
thread or on all of them.

Why not the usual pair of kernels, a serial loop and a ``prange`` twin with the
task body in both: Numba compiles a callee *into* each caller, so the twin
re-optimised and re-generated the machine code of the whole task body (BLAS
calls, im2col, col2im) a second time; that was most of a first run's compile
time (the convolution's backward twin took 5 s of LLVM time for a three-line
loop, ``bench/compile_profile.py``).  A separate launcher kernel that called
the task through its address avoided that, but still compiled once per
argument signature (0.16 s each, 1.3 s of a LeNet-5 first run); the fork
compiles inside the task, in a few milliseconds.

Threads and reference counts: a forked task sees its arrays without their
reference count (meminfo NULL), as a ``prange`` body does.  Every view a task
takes (a row, a segment) would otherwise add and drop a reference on the
caller's array, an atomic operation on one cache line that all threads share:
measured, that made two concurrent convolution tasks 2.7x slower each.  The
forking call holds the references until every task is done, and a task kernel
returns nothing.

The price: an exception inside a forked task (only possible under
``NUMBA_BOUNDSCHECK=1``, a debugging mode) cannot carry its message out of a
thread; the fork counts the tasks that failed and raises RuntimeError naming
the kernel.  The same call with one thread shows the message.
"""
from __future__ import annotations

import ast
import inspect
import textwrap

import numba
from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic

from .._jit import PARALLEL_MIN, kernel

_I8P = ir.IntType(8).as_pointer()
_I32 = ir.IntType(32)


def _unowned(context, builder, ty, value):
    """An array argument without its reference count (meminfo NULL): see the module
    docstring, "Threads and reference counts"."""
    if not isinstance(ty, types.Array):
        return value
    ary = context.make_array(ty)(context, builder, value)
    ary.meminfo = cgutils.get_null_value(ary.meminfo.type)
    return ary._getvalue()


def _worker(context, module, fn, args):
    """The gufunc-shaped function Numba's threading layer runs on each thread,
    ``void worker(char **ptrs, intp *dims, intp *steps, void *data)``: called once per task
    t with ``ptrs[0]`` = &failed[t]; ``data`` points to {&args, tasks, &failed[0]}.  It
    calls ``fn`` (the task kernel itself) with ``args`` but t, in Numba's calling
    convention, and stores 1 in failed[t] if that raised."""
    intp = context.get_value_type(types.intp)
    fnty = ir.FunctionType(ir.VoidType(), [_I8P.as_pointer(), intp.as_pointer(),
                                           intp.as_pointer(), _I8P])
    worker = cgutils.get_or_insert_function(module, fnty, fn.name + ".task_worker")
    if not worker.is_declaration:
        return worker
    worker.linkage = "internal"
    builder = ir.IRBuilder(worker.append_basic_block())
    ptrs, _, _, data = worker.args
    record = builder.bitcast(data, ir.LiteralStructType([_I8P, intp, _I8P]).as_pointer())
    stash, _, base = (builder.load(cgutils.gep_inbounds(builder, record, 0, i))
                      for i in range(3))
    slot = builder.load(ptrs)  # &failed[t]
    t = builder.sdiv(builder.sub(builder.ptrtoint(slot, intp), builder.ptrtoint(base, intp)),
                     ir.Constant(intp, 4))
    tup = builder.load(builder.bitcast(stash, context.get_value_type(args).as_pointer()))
    values = [_unowned(context, builder, ty, v)
              for ty, v in zip(args.types, cgutils.unpack_tuple(builder, tup, len(args)))]
    values[-2] = context.cast(builder, t, types.intp, args.types[-2])
    status, _ = context.call_conv.call_function(builder, fn, types.none, list(args.types),
                                                values)
    failed = builder.select(status.is_error, ir.Constant(_I32, 1), ir.Constant(_I32, 0))
    builder.store(failed, builder.bitcast(slot, _I32.as_pointer()))
    builder.ret_void()
    return worker


@intrinsic
def _fork_tasks(typingctx, args):
    """Run the kernel being compiled as ``args[-1]`` tasks on Numba's thread pool, task t
    called with ``args`` but ``args[-2] = t``; returns how many of them raised."""
    if not isinstance(args, types.BaseTuple) or len(args) < 2:
        return None

    def codegen(context, builder, signature, llargs):
        (vargs,) = llargs
        intp = context.get_value_type(types.intp)
        worker = _worker(context, builder.module, builder.function, args)
        stash = cgutils.alloca_once(builder, context.get_value_type(args))
        builder.store(vargs, stash)
        ntasks = context.cast(builder, builder.extract_value(vargs, len(args) - 1),
                              args.types[-1], types.intp)
        failed = builder.alloca(_I32, size=ntasks)  # tasks <= threads: a few words
        base = builder.bitcast(failed, _I8P)
        record = cgutils.alloca_once(builder, ir.LiteralStructType([_I8P, intp, _I8P]))
        for i, v in enumerate((builder.bitcast(stash, _I8P), ntasks, base)):
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
        count = cgutils.alloca_once_value(builder, ir.Constant(intp, 0))
        with cgutils.for_range(builder, ntasks) as loop:
            f = builder.sext(builder.load(builder.gep(failed, [loop.index])), intp)
            builder.store(builder.add(builder.load(count), f), count)
        return builder.load(count)

    return types.intp(args), codegen


def forking(fn):
    """``fn`` (a plain function whose last two arguments are ``(t, tasks)``) with the fork
    prepended: called with ``t < 0`` it runs itself as ``tasks`` parallel tasks (module
    docstring).  Compiled from ``fn``'s own file and line numbers, like ``_partial``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    fdef = tree.body[0]
    fdef.decorator_list = []
    params = [a.arg for a in fdef.args.args]
    if len(params) < 2 or fdef.args.vararg or fdef.args.kwarg or fdef.args.kwonlyargs:
        raise TypeError(f"@task {fn.__qualname__}: needs plain positional arguments ending "
                        f"in (t, tasks), got ({', '.join(params)})")
    message = (f"{fn.__qualname__}: a parallel task failed (run with NUMBA_NUM_THREADS=1 "
               "to see its exception)")
    prologue = ast.parse(
        f"if {params[-2]} < 0:\n"
        f"    if _fork_tasks(({', '.join(params)},)):\n"
        f"        raise RuntimeError({message!r})\n"
        f"    return\n").body
    for node in prologue:
        for sub in ast.walk(node):
            ast.copy_location(sub, fdef)
    body = fdef.body
    has_doc = body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    fdef.body = body[:1] + prologue + body[1:] if has_doc else prologue + body
    ast.increment_lineno(tree, fn.__code__.co_firstlineno - 1)
    fn.__globals__.setdefault("_fork_tasks", _fork_tasks)
    namespace: dict = {}
    exec(compile(tree, inspect.getsourcefile(fn), "exec"), fn.__globals__, namespace)
    out = namespace[fdef.name]
    out.__qualname__, out.__module__ = fn.__qualname__, fn.__module__
    out.forked_source = ast.unparse(fdef)  # what is compiled, for notebooks and tests
    return out


def task(fn):
    """Declare a task kernel: ``@kernel`` of ``fn`` with the fork prepended (``forking``).
    Run it with ``run_tasks``."""
    return kernel(forking(fn))


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


def run_tasks(task, args: tuple, tasks: int) -> None:
    """Run the task kernel ``task(*args, t, tasks)`` for every t in range(tasks): on the
    calling thread when ``tasks`` is 1, else all at once on Numba's thread pool (the
    kernel forks itself, called with t = -1)."""
    if config.DISABLE_JIT:
        for t in range(tasks):
            task(*args, t, tasks)
        return
    if _get_num_threads is None:
        num_threads()  # starts the pool: the fork links its symbols, so before any load
    task(*args, 0 if tasks == 1 else -1, tasks)
