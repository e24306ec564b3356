"""CUDA array plumbing against the CPU: layout changes, joins, indexing, scatters, casts."""
import numpy as np
import pytest
from twins import check, rand

import jitnet as jn
import jitnet.nn.functional as F

X = rand(2, 3, 4, seed=1)


def test_permute_transpose_expand_reshape():
    check(lambda t: (t.permute(2, 0, 1), t.transpose(0, 2), t.T, t.mT, t.reshape(4, -1),
                     t.view(6, 4), t.flatten(1), t.unsqueeze(1).squeeze(), t.contiguous(),
                     t.clone()), X)
    check(lambda t: t[:, :1].expand(2, 5, 4) * 2, X)


def test_cat_and_stack():
    a, b = rand(2, 3, seed=2), rand(2, 5, seed=3)
    check(lambda x, y: (jn.cat([x, y], 1), jn.cat([x, x], 0), jn.stack([x, x * 2], 1)), a, b)


INDICES = [
    (1,), (slice(None), -1), (slice(None, None, -1),), (Ellipsis, slice(1, 3)),
    (None, 0, slice(None, None, 2)), (slice(1, 1),), ([1, 0, 1],), (slice(None), [2, 0]),
    ([0, 1], slice(None), [3, 0]), (Ellipsis, [[1, 0], [2, 2]]), ([1, 0], [2, 1], [0, 3]),
    (slice(None), 1, [0, 3, 3]), (1, slice(None), [0, -1]),
]


@pytest.mark.parametrize("index", INDICES, ids=[str(i) for i in range(len(INDICES))])
def test_getitem_forward_and_backward(index):
    check(lambda t: t[index], X)


def test_bool_mask_and_index_tensor():
    mask = X[:, :, 0] > 0
    check(lambda t: t[jn.tensor(mask, device=t.device)], X)
    check(lambda t: t[jn.tensor([1, 1, 0], device=t.device)], X)


def _set(t, index, value):
    with jn.no_grad():
        u = t.clone()
        u[index] = value
    return u


def test_setitem_scalar_tensor_broadcast_and_host_data():
    check(lambda t: _set(t, (0, slice(None), 1), 5.0), X, grad=False)
    check(lambda t: _set(t, (slice(None), [0, 2]), t[:, :2] * 0 + 1), X, grad=False)
    check(lambda t: _set(t, 1, jn.tensor([1.0, 2.0, 3.0, 4.0], device=t.device)), X, grad=False)
    check(lambda t: _set(t, (Ellipsis, 0), [[7.0], [8.0]] * 1), X, grad=False)
    check(lambda t: _set(t, t > 0.5, 0.0), X, grad=False)


def test_casts_and_creation_on_device():
    check(lambda t: (t.to(jn.float64), t.int(), t.bool(), (t > 0).float(), t.long() * 2), X)
    z = jn.zeros(2, 3, device="cuda")
    o = jn.full((2,), 7, dtype=jn.int32, device="cuda")
    e = jn.eye(3, device="cuda")
    assert z.is_cuda and o.is_cuda and e.is_cuda
    assert o.tolist() == [7, 7] and z.numpy().sum() == 0 and e.numpy().trace() == 3


def test_max_along_dim_backward_scatters_to_argmax():
    check(lambda t: (t.max(2).values, t.min(0, keepdim=True).values), X)


def test_embedding_one_hot_pad():
    w = rand(5, 3, seed=4)
    idx = np.array([[0, 4], [2, 2]])
    check(lambda m: F.embedding(jn.tensor(idx, device=m.device), m), w)
    check(lambda m: F.embedding(jn.tensor(idx, device=m.device), m, padding_idx=2), w)
    check(lambda t: F.one_hot(t, 5), np.array([1, 4, 0]), grad=False)
    check(lambda t: (F.pad(t, (1, 2)), F.pad(t, (0, 0, -1, 1), value=3.0)), X)


def test_transfers_round_trip_and_keep_grad():
    x = jn.tensor(X, requires_grad=True)
    y = x.to("cuda")
    assert y.is_cuda and y.grad_fn is not None
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * X, rtol=1e-6)
    assert x.grad.device == jn.device("cpu")
    np.testing.assert_array_equal(y.detach().cpu().numpy(), X)
    assert "device='cuda:0'" in repr(y)
