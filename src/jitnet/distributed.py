"""``jitnet.distributed``: collectives between processes over MPI, with torch.distributed's names.

Run the same program in every process under ``mpiexec -n N python train.py`` (or ``srun``);
``init_process_group()`` takes the rank and the world size from MPI (mpi4py over any MPI
library: Open MPI, MPICH, a cluster's own build).  The collectives work in place on
tensors: ``all_reduce`` (``ReduceOp.SUM``, ``AVG``, ``PRODUCT``, ``MIN``, ``MAX`` and the
bitwise ops), ``broadcast``, ``all_gather``, ``reduce``, ``barrier``, plus the picklable-object
forms ``all_gather_object`` and ``broadcast_object_list``.

CUDA tensors go to MPI directly (``__cuda_array_interface__``) when the MPI library is
CUDA-aware, and are staged through host memory otherwise; ``cuda_transport()`` says which
(``jitnet info`` prints it).  Set ``JITNET_MPI_CUDA_AWARE=0`` or ``1`` to override the probe.

mpi4py is imported only by ``init_process_group`` (and the reporting helpers), never by
``import jitnet``.  Differs from PyTorch: one backend (``"mpi"``), one group (the world;
``group=`` other than None raises NotImplementedError), ``timeout`` is accepted and ignored.
Once the group exists with more than one process, an uncaught exception in any rank prints
its traceback and calls ``MPI_Abort``, so the other ranks exit at once instead of waiting
forever in their next collective (what ``python -m mpi4py`` does).
"""
from __future__ import annotations

import enum
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = [
    "ReduceOp", "Work", "all_gather", "all_gather_object", "all_reduce", "barrier", "broadcast",
    "broadcast_object_list", "cuda_transport", "destroy_process_group", "get_backend",
    "get_rank", "get_world_size", "init_process_group", "is_available", "is_initialized",
    "is_mpi_available", "reduce",
]


class ReduceOp(enum.Enum):
    """How ``all_reduce`` / ``reduce`` combine the ranks' tensors (PyTorch's names)."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"


class _Group:
    """The default (world) group: a private duplicate of MPI_COMM_WORLD."""

    def __init__(self, mpi, comm) -> None:
        self.MPI, self.comm = mpi, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.cuda_aware = _cuda_aware(mpi)


_group: _Group | None = None
_NOT_INIT = ("Default process group has not been initialized, please make sure to call "
             "init_process_group.")


# ---------------------------------------------------------------------- set-up

def is_available() -> bool:
    """True when mpi4py can be imported (``pip install 'jitnet[distributed]'``)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


is_mpi_available = is_available


def is_initialized() -> bool:
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return _group is not None


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout=None, world_size: int = -1, rank: int = -1, store=None,
                       group_name: str = "", pg_options=None, device_id=None) -> None:
    """Join the processes started by ``mpiexec``/``srun`` into the default group.

    ``backend``: ``"mpi"`` (or None).  The rank and the world size come from MPI;
    ``world_size`` / ``rank``, when given, and the ``WORLD_SIZE`` / ``RANK`` environment
    variables when ``init_method="env://"``, must agree with MPI's (ValueError otherwise).
    ``init_method`` other than None / ``"env://"``, ``store`` and ``pg_options`` raise
    NotImplementedError: MPI's launcher already wired the processes together.  Without
    ``mpiexec`` the process is a world of one.
    """
    global _group
    if _group is not None:
        raise RuntimeError("init_process_group: trying to initialize the default process group "
                           "twice!")
    if backend is not None and str(backend).lower() != "mpi":
        raise NotImplementedError(f"init_process_group: backend {backend!r} is not supported; "
                                  "jitnet's only backend is 'mpi' (run under mpiexec or srun)")
    if init_method not in (None, "env://"):
        raise NotImplementedError(f"init_process_group: init_method {init_method!r} is not "
                                  "supported; MPI's launcher connects the processes (use None "
                                  "or 'env://')")
    if store is not None or pg_options is not None:
        raise NotImplementedError("init_process_group: store and pg_options are not supported "
                                  "with the MPI backend")
    MPI = _import_mpi()
    comm = MPI.COMM_WORLD.Dup()
    r, n = comm.Get_rank(), comm.Get_size()
    expected = {"world_size": world_size, "rank": rank}
    if init_method == "env://":
        for key, env in (("world_size", "WORLD_SIZE"), ("rank", "RANK")):
            if expected[key] in (-1, None) and os.environ.get(env, "").strip():
                expected[key] = int(os.environ[env])
    for key, have in (("world_size", n), ("rank", r)):
        want = expected[key]
        if want not in (-1, None) and int(want) != have:
            comm.Free()
            raise ValueError(f"init_process_group: {key}={want} was asked for, but MPI says "
                             f"{key} is {have} (jitnet takes both from MPI)")
    _group = _Group(MPI, comm)
    if n > 1:
        _install_abort_hook()


def destroy_process_group(group=None) -> None:
    """Leave the default group (MPI itself is finalised when the process exits)."""
    global _group
    _check_group(group, "destroy_process_group")
    if _group is not None:
        _group.comm.Free()
        _group = None


def get_backend(group=None) -> str:
    """``"mpi"``."""
    _world(group, "get_backend")
    return "mpi"


def get_rank(group=None) -> int:
    """This process's rank, 0 .. world_size - 1."""
    return _world(group, "get_rank").rank


def get_world_size(group=None) -> int:
    """The number of processes in the group."""
    return _world(group, "get_world_size").size


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise RuntimeError("jitnet.distributed needs mpi4py and an MPI library: "
                           "pip install 'jitnet[distributed]'") from exc
    if not MPI.Is_initialized():  # cuda_transport() imported mpi4py without starting MPI
        import atexit

        MPI.Init_thread()
        atexit.register(lambda: MPI.Is_finalized() or MPI.Finalize())
    return MPI


def _check_group(group, who: str) -> None:
    if group is not None:
        raise NotImplementedError(f"{who}: only the default group (group=None) is supported")


def _world(group, who: str) -> _Group:
    _check_group(group, who)
    if _group is None:
        raise RuntimeError(f"{who}: {_NOT_INIT}")
    return _group


def _install_abort_hook() -> None:
    previous = sys.excepthook

    def abort_all_ranks(kind, value, tb) -> None:
        previous(kind, value, tb)
        g = _group
        if g is None:
            return
        print(f"jitnet.distributed: rank {g.rank} of {g.size} raised {kind.__name__}; "
              "aborting every rank (MPI_Abort)", file=sys.stderr, flush=True)
        g.MPI.COMM_WORLD.Abort(1)

    sys.excepthook = abort_all_ranks


def abort(errorcode: int = 1) -> None:
    """End every rank of the job now (``MPI_Abort``); for fatal errors in one rank."""
    _world(None, "abort").MPI.COMM_WORLD.Abort(int(errorcode))


# ---------------------------------------------------------------------- CUDA transport

def _cuda_aware(MPI) -> bool:
    forced = os.environ.get("JITNET_MPI_CUDA_AWARE", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    if not MPI.Get_library_version().startswith("Open MPI"):
        return False  # MPICH and others: no portable runtime query; set the variable
    try:  # Open MPI's extension: MPIX_Query_cuda_support() is 1 in a CUDA-aware build
        import ctypes

        return bool(ctypes.CDLL("libmpi.so.40").MPIX_Query_cuda_support())
    except (OSError, AttributeError):
        return False


def cuda_transport() -> str:
    """How CUDA tensors travel: ``"CUDA-aware MPI"`` or ``"host staging"`` (with the reason),
    or why distributed is unavailable.  Does not start MPI when the group does not exist."""
    if _group is not None:
        aware = _group.cuda_aware
        lib = _group.MPI.Get_library_version()
    else:
        try:
            import mpi4py

            if "mpi4py.MPI" not in sys.modules:
                mpi4py.rc.initialize = False  # report without starting MPI
            from mpi4py import MPI
        except ImportError:
            return "unavailable (mpi4py is not installed: pip install 'jitnet[distributed]')"
        aware, lib = _cuda_aware(MPI), MPI.Get_library_version()
    lib = lib.split(",")[0].strip()
    if aware:
        return f"CUDA-aware MPI ({lib}): CUDA tensors go to MPI without host copies"
    return f"host staging ({lib} is not CUDA-aware): CUDA tensors are copied through the host"


# ---------------------------------------------------------------------- buffers

class _Buffer:
    """The array MPI reads and writes for a tensor, and how the result gets back into it."""

    def __init__(self, t: Tensor, g: _Group, who: str) -> None:
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: expected a Tensor, got {type(t).__name__}")
        self.t = t
        data = t._data
        self.staged = t.device.type != "cpu" and not g.cuda_aware
        if t.device.type == "cpu":
            ok = data.flags.c_contiguous and data.flags.writeable
            self.array = data if ok else np.array(data, order="C")
            self.copy_back = not ok
        elif self.staged:
            self.array = t._k().to_host(data)
            self.copy_back = True
        else:  # CUDA-aware: MPI reads the device memory once the stream is idle
            from numba import cuda

            cuda.synchronize()
            self.array, self.copy_back = data, False

    def finish(self) -> None:
        if self.copy_back:
            k = self.t._k()
            k.setitem(self.t._data, Ellipsis, k.from_host(self.array))


def _mpi_op(g: _Group, op: ReduceOp, t: Tensor, who: str):
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{who}: op must be a jitnet.distributed.ReduceOp, got {op!r}")
    kind = np.dtype(t._data.dtype).kind
    if op is ReduceOp.AVG and kind not in "fc":
        raise TypeError(f"{who}: ReduceOp.AVG needs a floating-point tensor, got {t.dtype}")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and kind not in "biu":
        raise TypeError(f"{who}: ReduceOp.{op.name} needs an integer or bool tensor, "
                        f"got {t.dtype}")
    M = g.MPI
    return {ReduceOp.SUM: M.SUM, ReduceOp.AVG: M.SUM, ReduceOp.PRODUCT: M.PROD,
            ReduceOp.MIN: M.MIN, ReduceOp.MAX: M.MAX, ReduceOp.BAND: M.BAND,
            ReduceOp.BOR: M.BOR, ReduceOp.BXOR: M.BXOR}[op]


def _average(buf: _Buffer, g: _Group) -> None:
    if buf.staged or buf.t.device.type == "cpu":
        buf.array /= g.size
    else:  # CUDA-aware: divide on the device
        from .autograd import no_grad

        with no_grad():
            t = buf.t
            t._k().setitem(t._data, Ellipsis, (t / g.size)._data)


class Work:
    """The handle ``async_op=True`` returns: ``wait()`` blocks until the result is in the
    tensor; ``is_completed()`` tests without blocking."""

    def __init__(self, request=None, finish=None) -> None:
        self._request, self._finish, self._done = request, finish, request is None

    def is_completed(self) -> bool:
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def wait(self, timeout=None) -> bool:
        if not self._done:
            self._request.Wait()
            self._complete()
        return True

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()


def _finish_reduce(buf: _Buffer, g: _Group, op: ReduceOp, here: bool = True):
    def finish() -> None:
        if here:
            if op is ReduceOp.AVG:
                _average(buf, g)
            buf.finish()

    return finish


# ---------------------------------------------------------------------- collectives

def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group=None,
               async_op: bool = False) -> Work | None:
    """Combine ``tensor`` across all ranks with ``op``; every rank gets the result in place.

    ``ReduceOp.AVG`` (floating tensors) is the sum divided by the world size.  With
    ``async_op=True`` the reduction runs in the background (``MPI_Iallreduce``) and the
    returned ``Work``'s ``wait()`` puts the result in place.
    """
    g = _world(group, "all_reduce")
    mop = _mpi_op(g, op, tensor, "all_reduce")
    buf = _Buffer(tensor, g, "all_reduce")
    finish = _finish_reduce(buf, g, op)
    if async_op:
        return Work(g.comm.Iallreduce(g.MPI.IN_PLACE, buf.array, op=mop), finish)
    g.comm.Allreduce(g.MPI.IN_PLACE, buf.array, op=mop)
    finish()
    return None


def reduce(tensor: Tensor, dst: int, op: ReduceOp = ReduceOp.SUM, group=None,
           async_op: bool = False) -> Work | None:
    """Combine ``tensor`` across ranks with ``op`` into rank ``dst``'s tensor (in place);
    the other ranks' tensors are left unchanged."""
    g = _world(group, "reduce")
    _check_rank(g, dst, "reduce", "dst")
    mop = _mpi_op(g, op, tensor, "reduce")
    buf = _Buffer(tensor, g, "reduce")
    root = g.rank == dst
    send, recv = (g.MPI.IN_PLACE, buf.array) if root else (buf.array, None)
    finish = _finish_reduce(buf, g, op, here=root)
    if async_op:
        return Work(g.comm.Ireduce(send, recv, op=mop, root=dst), finish)
    g.comm.Reduce(send, recv, op=mop, root=dst)
    finish()
    return None


def broadcast(tensor: Tensor, src: int, group=None, async_op: bool = False) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into the same-shaped tensor of every other rank."""
    g = _world(group, "broadcast")
    _check_rank(g, src, "broadcast", "src")
    buf = _Buffer(tensor, g, "broadcast")
    if async_op:
        return Work(g.comm.Ibcast(buf.array, root=src), buf.finish)
    g.comm.Bcast(buf.array, root=src)
    buf.finish()
    return None


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group=None,
               async_op: bool = False) -> Work | None:
    """Fill ``tensor_list[i]`` with rank i's ``tensor``, on every rank.

    ``tensor_list`` holds world_size tensors of ``tensor``'s shape and dtype (written in place).
    """
    g = _world(group, "all_gather")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"all_gather: tensor must be a Tensor, got {type(tensor).__name__}")
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != g.size:
        raise ValueError(f"all_gather: tensor_list must be a list of world_size={g.size} "
                         f"tensors, got {_describe(tensor_list)}")
    for i, t in enumerate(tensor_list):
        if not isinstance(t, Tensor) or tuple(t.shape) != tuple(tensor.shape) \
                or t.dtype != tensor.dtype:
            raise ValueError(f"all_gather: tensor_list[{i}] must have shape "
                             f"{tuple(tensor.shape)} and dtype {tensor.dtype} like the input, "
                             f"got {_describe(t)}")
    send = tensor._k().to_host(tensor._data)
    send = send if send.flags.c_contiguous else np.array(send, order="C")
    recv = np.empty((g.size, *send.shape), dtype=send.dtype)

    def finish() -> None:
        for t, part in zip(tensor_list, recv):
            k = t._k()
            k.setitem(t._data, Ellipsis, k.from_host(np.ascontiguousarray(part)))

    if async_op:
        return Work(g.comm.Iallgather(send, recv), finish)
    g.comm.Allgather(send, recv)
    finish()
    return None


def barrier(group=None, async_op: bool = False, device_ids=None) -> Work | None:
    """Block until every rank has reached this call."""
    g = _world(group, "barrier")
    if async_op:
        return Work(g.comm.Ibarrier())
    g.comm.Barrier()
    return None


def all_gather_object(object_list: list, obj: Any, group=None) -> None:
    """``object_list[i] = rank i's obj`` on every rank (objects are pickled: trusted peers)."""
    g = _world(group, "all_gather_object")
    if not isinstance(object_list, list) or len(object_list) != g.size:
        raise ValueError(f"all_gather_object: object_list must be a list of world_size="
                         f"{g.size} items, got {_describe(object_list)}")
    object_list[:] = g.comm.allgather(obj)


def broadcast_object_list(object_list: list, src: int = 0, group=None, device=None) -> None:
    """Replace the items of ``object_list`` on every rank with rank ``src``'s (pickled)."""
    g = _world(group, "broadcast_object_list")
    _check_rank(g, src, "broadcast_object_list", "src")
    if not isinstance(object_list, list):
        raise TypeError(f"broadcast_object_list: object_list must be a list, got "
                        f"{type(object_list).__name__}")
    items = g.comm.bcast(object_list if g.rank == src else None, root=src)
    if len(items) != len(object_list):
        raise ValueError(f"broadcast_object_list: rank {src} sent {len(items)} objects, this "
                         f"rank's list holds {len(object_list)}")
    object_list[:] = items


def _check_rank(g: _Group, r, who: str, name: str) -> None:
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 0 <= r < g.size:
        raise ValueError(f"{who}: {name} must be a rank in [0, {g.size}), got {r!r}")


def _describe(x) -> str:
    if isinstance(x, Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    if isinstance(x, Sequence) and not isinstance(x, str):
        return f"a {type(x).__name__} of {len(x)} items"
    return type(x).__name__
