"""``DistributedDataParallel``: one model replica per process, gradients averaged over MPI.

Each rank runs the wrapped module on its own shard of every global batch.  At construction
rank 0's parameters and buffers are broadcast, so every replica starts equal.  During
``backward()`` the parameters' gradients are packed into buckets of about ``bucket_cap_mb``
(in reverse registration order, roughly the order backward finishes them); as soon as every
gradient of a bucket is final, the bucket is all-reduced with a non-blocking
``MPI_Iallreduce``, so communication overlaps the rest of the backward.  When the backward
ends, the reductions are waited for and each ``.grad`` becomes the mean over the ranks, so
``optimizer.step()`` sees the gradient of the global batch on every rank.

Differs from PyTorch: buckets are always launched in bucket order (as PyTorch does) and MPI
makes progress on them whenever jitnet calls it, typically at the next bucket; a parameter
that got no gradient on a rank contributes zeros (PyTorch needs
``find_unused_parameters=True`` for that); ``device_ids`` / ``output_device`` only check that
they name the module's device; the buckets live in host memory, so CUDA gradients are
copied to the host and back even with a CUDA-aware MPI (``jitnet.distributed``'s own
collectives use device memory directly there).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from .. import autograd
from .. import distributed as dist
from ..tensor import Tensor
from .module import Module

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """Parameters of one dtype and device whose gradients are reduced together."""

    def __init__(self, params: list, dtype) -> None:
        self.params = params
        self.offsets = []
        n = 0
        for p in params:
            self.offsets.append(n)
            n += p.numel()
        self.flat = np.zeros(n, dtype=dtype)  # host (or, CUDA-aware, device) staging buffer
        self.ready = 0
        self.request = None

    def put(self, i: int, p: Tensor) -> None:
        off, n = self.offsets[i], p.numel()
        if p.grad is None:
            self.flat[off:off + n] = 0
        else:
            self.flat[off:off + n] = p.grad._k().to_host(p.grad._data).reshape(-1)


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training across the ranks of the default group.

    ``init_process_group`` must have been called.  ``bucket_cap_mb``: the size of the
    gradient buckets (MiB).  ``broadcast_buffers``: copy rank 0's buffers (batch-norm
    statistics) to every rank before each forward, as PyTorch.  ``no_sync()``: a context in
    which backward only accumulates local gradients (gradient accumulation); the next
    backward outside it reduces the accumulated sum.  ``module`` is the wrapped module, and
    ``state_dict()`` keys carry PyTorch's ``module.`` prefix.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None,
                 bucket_cap_mb: float = 25, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be a jitnet.nn.Module, got "
                            f"{type(module).__name__}")
        if process_group is not None:
            raise NotImplementedError("DistributedDataParallel: only the default process "
                                      "group (process_group=None) is supported")
        if dim != 0:
            raise NotImplementedError("DistributedDataParallel: dim must be 0")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got "
                             f"{bucket_cap_mb}")
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: " + dist._NOT_INIT)
        params = [p for p in module.parameters() if p.requires_grad]
        devices = {p.device for p in module.parameters()}
        if len(devices) > 1:
            raise ValueError(f"DistributedDataParallel: the module's parameters are on several "
                             f"devices {sorted(map(str, devices))}; put them on one")
        for d in list(device_ids or []) + ([output_device] if output_device is not None else []):
            if devices and str(d) not in {str(x) for x in devices} and \
                    f"cuda:{d}" not in {str(x) for x in devices}:
                raise ValueError(f"DistributedDataParallel: device_ids/output_device {d!r} "
                                 f"is not the module's device {next(iter(devices))}")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        self._world = dist.get_world_size()
        self._sync_this_backward = True
        with autograd.no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(t, 0)
        self._buckets = self._make_buckets(params, int(bucket_cap_mb * 2**20))
        self._where = {}   # id(param) -> (bucket index, position in the bucket)
        for b, bucket in enumerate(self._buckets):
            for i, p in enumerate(bucket.params):
                self._where[id(p)] = (b, i)
        self._next = 0     # the next bucket to launch: buckets go out in order on every rank
        self._armed = False
        self._removers = [autograd._register_grad_ready_hook(p, self._grad_ready)
                          for p in params] if self._world > 1 else []

    @staticmethod
    def _make_buckets(params: list, cap: int) -> list[_Bucket]:
        buckets, current, size, key = [], [], 0, None
        for p in reversed(params):
            k = (p.dtype, str(p.device))
            nbytes = p.numel() * p.element_size()
            if current and (k != key or size + nbytes > cap):
                buckets.append(_Bucket(current, current[0].dtype.np))
                current, size = [], 0
            current.append(p)
            size, key = size + nbytes, k
        if current:
            buckets.append(_Bucket(current, current[0].dtype.np))
        return buckets

    # ------------------------------------------------------------------ forward
    def forward(self, *inputs, **kwargs):
        """Run the wrapped module (after syncing rank 0's buffers, when asked)."""
        if self._world > 1 and self.broadcast_buffers:
            with autograd.no_grad():
                for b in self.module.buffers():
                    dist.broadcast(b, 0)
        self._sync_this_backward = self.require_backward_grad_sync
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside: forwards/backwards keep their gradients local (no communication)."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ------------------------------------------------------------------ backward
    def _grad_ready(self, p: Tensor) -> None:
        if not self._sync_this_backward:
            return
        if not self._armed:
            self._armed = True
            autograd._queue_backward_callback(self._finish)
        b, i = self._where[id(p)]
        bucket = self._buckets[b]
        bucket.put(i, p)
        bucket.ready += 1
        self._launch_ready()

    def _launch_ready(self) -> None:
        g = dist._group
        while self._next < len(self._buckets):
            bucket = self._buckets[self._next]
            if bucket.ready < len(bucket.params):
                break
            bucket.request = g.comm.Iallreduce(g.MPI.IN_PLACE, bucket.flat, op=g.MPI.SUM)
            self._next += 1
        if self._next:  # let MPI progress the reductions already in flight
            g.MPI.Request.Testall([b.request for b in self._buckets[:self._next]])

    def _finish(self) -> None:
        g = dist._group
        # parameters that got no gradient in this backward (unused on this rank)
        for bucket in self._buckets[self._next:]:
            if bucket.ready < len(bucket.params):
                for i, p in enumerate(bucket.params):
                    bucket.put(i, p)
                bucket.ready = len(bucket.params)
        self._launch_ready()
        g.MPI.Request.Waitall([b.request for b in self._buckets])
        for bucket in self._buckets:
            mean = bucket.flat / self._world
            for p, off in zip(bucket.params, bucket.offsets):
                part = mean[off:off + p.numel()].reshape(p._data.shape)
                k = p._k()
                if p.grad is None:
                    p.grad = Tensor(k.from_host(part), p.device)
                else:
                    p.grad._data = k.from_host(part)
            bucket.ready, bucket.request = 0, None
        self._next, self._armed = 0, False

    def extra_repr(self) -> str:
        return f"world_size={self._world}, buckets={len(self._buckets)}"
