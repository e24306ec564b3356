"""Zero-copy interop: DLPack both ways with NumPy and PyTorch, jn.as_tensor vs jn.tensor."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import requires_torch

import jitnet as jn


def test_numpy_from_dlpack_shares_jitnet_memory():
    t = jn.arange(6.0).reshape(2, 3)
    a = np.from_dlpack(t)
    assert a.shape == (2, 3) and a.dtype == np.float32 and t.__dlpack_device__() == (1, 0)
    a[0, 1] = 42.0
    assert t[0, 1].item() == 42.0
    t.add_(1)  # in place, no graph: the shared buffer changes
    assert a[1, 2] == 6.0


def test_jitnet_from_dlpack_shares_numpy_memory():
    a = np.zeros((2, 2), np.int64)
    t = jn.from_dlpack(a)
    assert t.dtype == jn.int64 and t.shape == (2, 2)
    a[1, 0] = 7
    assert t[1, 0].item() == 7
    t.fill_(3)
    assert (a == 3).all()


@requires_torch
def test_torch_dlpack_both_ways():
    import torch

    t = jn.ones(3)
    tt = torch.from_dlpack(t)
    tt[0] = 5.0
    assert t[0].item() == 5.0
    t.mul_(2)
    assert tt.tolist() == [10.0, 2.0, 2.0]
    src = torch.arange(4, dtype=torch.float64)
    j = jn.from_dlpack(src)
    assert j.dtype == jn.float64
    src[2] = -1.0
    assert j[2].item() == -1.0
    j.zero_()
    assert src.sum().item() == 0.0
    shared = jn.as_tensor(src)  # as_tensor takes __dlpack__ objects without a copy too
    src[3] = 9.0
    assert shared[3].item() == 9.0


def test_as_tensor_shares_and_tensor_copies():
    a = np.arange(4, dtype=np.float32)
    shared, copied = jn.as_tensor(a), jn.tensor(a)
    a[0] = 100.0
    assert shared[0].item() == 100.0 and copied[0].item() == 0.0
    assert jn.as_tensor(shared) is shared
    assert jn.as_tensor(a, dtype=jn.float64)[0].item() == 100.0  # a cast copies
    assert jn.as_tensor([1, 2]).dtype == jn.int64


def test_dlpack_errors():
    with pytest.raises(RuntimeError, match="requires grad"):
        np.from_dlpack(jn.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="no dtype for float16"):
        jn.from_dlpack(np.ones(2, np.float16))
    assert not hasattr(jn.ones(2), "__cuda_array_interface__")
    assert not hasattr(jn.ones(2, requires_grad=True), "__cuda_array_interface__")
