"""The CUDA array interface (v3): jitnet CUDA tensors export it, and jn.as_tensor(obj,
device='cuda') wraps any object that has one without a copy (simulator or a real GPU)."""
from __future__ import annotations

import numpy as np
import pytest

import jitnet as jn
from jitnet.device import simulator_enabled


class Foreign:
    """Another library's device array: only ``__cuda_array_interface__``, as CuPy offers."""

    def __init__(self, desc, owner=None):
        self.__cuda_array_interface__ = desc
        self.owner = owner


def foreign_buffer(host: np.ndarray):
    """Device memory owned by 'another library' holding ``host``, and a way to read it."""
    if simulator_enabled():  # simulated device memory is host memory
        desc = {"shape": host.shape, "typestr": host.dtype.str, "strides": None,
                "data": (host.ctypes.data, False), "version": 3, "stream": None}
        return Foreign(desc, host), lambda: host.copy()
    from numba import cuda

    dev = cuda.to_device(host)
    return Foreign(dev.__cuda_array_interface__, dev), dev.copy_to_host


def test_cuda_tensor_exports_version_3():
    t = jn.arange(6.0).reshape(2, 3).to("cuda")
    cai = t.__cuda_array_interface__
    assert cai["version"] == 3 and cai["shape"] == (2, 3) and cai["typestr"] == "<f4"
    assert cai["stream"] == 1 and cai["strides"] is None and isinstance(cai["data"][0], int)
    assert t.__dlpack_device__() == (2, 0)
    with pytest.raises(BufferError, match="__cuda_array_interface__"):
        t.__dlpack__()


def test_as_tensor_wraps_foreign_memory_without_a_copy():
    host = np.arange(6, dtype=np.float32)
    obj, read = foreign_buffer(host)
    t = jn.as_tensor(obj, device="cuda")
    assert t.device.type == "cuda" and t.shape == (6,) and t.dtype == jn.float32
    t[1] = 50.0  # a jitnet kernel writes the foreign memory
    assert read()[1] == 50.0
    assert ((t * 2).cpu().numpy() == read() * 2).all()
    # and a jitnet tensor wrapped through its own interface shares with the original
    u = jn.as_tensor(Foreign(t.__cuda_array_interface__, t), device="cuda")
    u.fill_(3.0)
    assert (t.cpu().numpy() == 3.0).all()


def test_as_tensor_to_cpu_copies_and_errors():
    obj, read = foreign_buffer(np.zeros(2, np.float32))
    host = jn.as_tensor(obj, device="cpu")
    host.fill_(1.0)
    assert host.device.type == "cpu" and (read() == 0).all()
    assert jn.as_tensor(obj).device.type == "cuda"  # no device given: wrapped where it lives
    bad = dict(obj.__cuda_array_interface__, typestr="<f2")
    with pytest.raises(TypeError, match="no dtype for float16"):
        jn.as_tensor(Foreign(bad, obj), device="cuda")
