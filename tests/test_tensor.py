"""Tensor creation, dtypes, devices, NumPy interop and repr (tensor.py, dtypes.py, device.py)."""
import numpy as np
import pytest

import jitnet as jn


def test_tensor_infers_dtypes_like_pytorch():
    assert jn.tensor([[1.0, 2.0], [3.0, 4.0]]).dtype is jn.float32
    assert jn.tensor([1, 2, 3]).dtype is jn.int64
    assert jn.tensor([True, False]).dtype is jn.bool
    assert jn.tensor([1, 2.5]).dtype is jn.float32
    assert jn.tensor(3.0).shape == ()
    assert jn.tensor(np.zeros(3)).dtype is jn.float64  # NumPy keeps its dtype
    assert jn.tensor(np.zeros(3, np.float16)).dtype is jn.float32
    assert jn.tensor([1, 2], dtype=jn.float64).dtype is jn.float64
    assert jn.tensor([1, 2], dtype="float32").dtype == jn.float32


def test_tensor_copies_but_from_numpy_shares():
    a = np.arange(4.0)
    t = jn.tensor(a)
    f = jn.from_numpy(a)
    a[0] = 9
    assert t[0].item() == 0 and f[0].item() == 9
    assert np.shares_memory(f.numpy(), a)


def test_attributes():
    x = jn.zeros(2, 3)
    assert x.shape == (2, 3) and x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert x.ndim == 2 and x.dim() == 2 and x.numel() == 6 and len(x) == 2
    assert x.device == jn.device("cpu") and x.device == "cpu" and str(x.device) == "cpu"
    assert x.T.shape == (3, 2)
    assert not x.requires_grad and x.grad is None and x.is_leaf
    assert jn.zeros((2, 3)).shape == (2, 3)


def test_creation_functions():
    jn.manual_seed(0)
    a = jn.rand(3, 4)
    jn.manual_seed(0)
    b = jn.rand(3, 4)
    assert np.array_equal(a.numpy(), b.numpy())
    assert ((a.numpy() >= 0) & (a.numpy() < 1)).all()
    assert jn.randn(1000).numpy().std() == pytest.approx(1, abs=0.1)
    r = jn.randint(0, 5, (100,))
    assert r.dtype is jn.int64 and r.numpy().min() >= 0 and r.numpy().max() < 5
    assert jn.arange(5).tolist() == [0, 1, 2, 3, 4] and jn.arange(5).dtype is jn.int64
    assert jn.arange(0, 1, 0.25).dtype is jn.float32
    assert np.array_equal(jn.eye(3).numpy(), np.eye(3))
    assert jn.full((2,), 7).dtype is jn.int64 and jn.full((2,), 7.0).dtype is jn.float32
    assert jn.ones_like(a).shape == a.shape and jn.zeros_like(r).dtype is jn.int64
    assert jn.linspace(0, 1, 5).tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1])
    assert jn.empty(2, 2).shape == (2, 2)


def test_item_tolist_numpy():
    x = jn.tensor([[1.5, 2.0]])
    assert x[0, 0].item() == 1.5 and isinstance(x.sum().item(), float)
    assert x.tolist() == [[1.5, 2.0]]
    assert float(jn.tensor(2.5)) == 2.5 and int(jn.tensor(3)) == 3
    assert bool(jn.tensor([True]))


def test_numpy_refuses_tensor_that_requires_grad():
    x = jn.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.detach().numpy().tolist() == [1, 1]


def test_repr_shows_shape_dtype_device_and_grad_fn():
    x = jn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    y = x * 2
    r = repr(y)
    assert r.startswith("tensor([[2., 4.],") and "shape" not in r and "MulBackward" in r
    # PyTorch's rules: dtype shown unless float32/int64/bool; size only when empty
    assert repr(jn.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(jn.tensor([1, 2], dtype=jn.int32)) == "tensor([1, 2], dtype=jitnet.int32)"
    assert repr(jn.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(jn.zeros(0, dtype=jn.int64)) == "tensor([], dtype=jitnet.int64)"
    assert repr(jn.float32) == "jitnet.float32"


def test_to_dtype_and_casts():
    x = jn.tensor([1.7, -2.2])
    assert x.to(jn.float64).dtype is jn.float64
    assert x.long().tolist() == [1, -2] and x.int().dtype is jn.int32
    assert x.to("cpu", jn.float64).dtype is jn.float64
    assert x.double().float().dtype is jn.float32
    assert x.bool().tolist() == [True, True]
    y = jn.ones(2, dtype=jn.float64)
    assert x.type_as(y).dtype is jn.float64


def test_cast_is_differentiable():
    x = jn.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype is jn.float32 and x.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize(
    "data, exc, match",
    [
        ([[1, 2], [3]], ValueError, "rectangular"),
        (["a", "b"], TypeError, "infer dtype"),
        ([object()], TypeError, "infer dtype"),
        (np.array(["x"]), TypeError, "dtype"),
    ],
)
def test_tensor_rejects_bad_data(data, exc, match):
    with pytest.raises(exc, match=match):
        jn.tensor(data)


def test_bad_device_and_dtype():
    with pytest.raises(RuntimeError, match="unknown device 'tpu'"):
        jn.zeros(2, device="tpu")
    with pytest.raises(RuntimeError, match="unknown device"):
        jn.tensor([1.0]).to("gpu")
    with pytest.raises(TypeError, match="unknown dtype"):
        jn.zeros(2, dtype="float7")
    with pytest.raises(RuntimeError, match="floating point"):
        jn.tensor([1, 2], requires_grad=True)
    with pytest.raises(ValueError, match="non-negative"):
        jn.zeros(-1)


def test_item_on_many_elements_raises():
    with pytest.raises(RuntimeError, match="2 elements"):
        jn.tensor([1.0, 2.0]).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(jn.tensor([1.0, 2.0]))


def test_cuda_unavailable_is_quiet_and_clear(capfd):
    import os

    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or jn.cuda.is_available():
        pytest.skip("CUDA (or its simulator) is available here")
    assert jn.cuda.is_available() is False and jn.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="CUDA is not available.*pip install"):
        jn.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        jn.zeros(2).cuda()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_iteration_and_len():
    x = jn.arange(6).reshape(3, 2)
    rows = [r.tolist() for r in x]
    assert rows == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(TypeError, match="0-d"):
        len(jn.tensor(1.0))
