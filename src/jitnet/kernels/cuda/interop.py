"""Zero-copy exchange of device memory by the CUDA array interface (version 3).

``cuda_array_interface(x)`` describes a jitnet device array to CuPy, PyTorch,
Numba ...; ``from_cuda_array_interface(obj)`` wraps theirs.  jitnet launches
every kernel on the legacy default stream, so the interface reports
``stream: 1`` and a consumer synchronises with it.  Under Numba's simulator
"device" memory is host memory: the pointer is the host address of the
simulated array, which is what lets the protocol be tested without a GPU.
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from . import _memory as A
from ._launch import SIMULATOR

_DTYPES = {np.dtype(t) for t in (np.bool_, np.uint8, np.int32, np.int64, np.float32,
                                 np.float64)}


def cuda_array_interface(x) -> dict:
    """Version 3 of the CUDA array interface of device array ``x`` (C-contiguous)."""
    if SIMULATOR:
        ptr = x._ary.__array_interface__["data"][0]
    else:
        ptr = x.__cuda_array_interface__["data"][0]
    return {"shape": tuple(x.shape), "strides": None, "typestr": np.dtype(x.dtype).str,
            "data": (ptr, False), "version": 3, "stream": 1}


class _HostView:
    """The simulator's stand-in for device memory at a pointer: NumPy's array interface."""

    def __init__(self, desc: dict, owner) -> None:
        self.__array_interface__ = {"shape": tuple(desc["shape"]), "typestr": desc["typestr"],
                                    "data": (desc["data"][0], False),
                                    "strides": desc.get("strides"), "version": 3}
        self.owner = owner  # keeps the exporter's memory alive as long as the view


def from_cuda_array_interface(obj):
    """A device array sharing ``obj``'s memory (synchronised on its stream); strided memory
    is copied to a C-contiguous array (the table's invariant), and unsupported dtypes or
    masked arrays raise TypeError."""
    desc = obj.__cuda_array_interface__
    dtype = np.dtype(desc["typestr"])
    if dtype not in _DTYPES:
        raise TypeError(f"as_tensor: jitnet has no dtype for {dtype} (from "
                        f"__cuda_array_interface__ of {type(obj).__name__})")
    if desc.get("mask") is not None:
        raise TypeError("as_tensor: masked CUDA arrays (a 'mask' in __cuda_array_interface__) "
                        "are not supported")
    if SIMULATOR:
        from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

        arr = A._wrap(FakeCUDAArray(np.asarray(_HostView(desc, obj))))
    else:
        arr = cuda.from_cuda_array_interface(desc, owner=obj, sync=True)
    if not A.is_contiguous(arr):
        from .array import contiguous

        arr = contiguous(arr)
    return arr
