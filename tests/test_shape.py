"""Views and movement: reshape/view/squeeze/permute/expand, indexing, cat/stack (ops/shape.py)."""
import numpy as np
import pytest
from helpers import assert_matches_torch, requires_torch, t64

import jitnet as jn
from jitnet.autograd import gradcheck


def test_reshape_family(rng):
    a = rng.standard_normal((2, 3, 4))
    x = jn.tensor(a)
    assert x.reshape(6, 4).shape == (6, 4) and x.reshape(-1).shape == (24,)
    assert x.reshape((4, -1)).shape == (4, 6)
    assert x.view(2, 12).shape == (2, 12)
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12)
    assert x.unsqueeze(0).shape == (1, 2, 3, 4) and x.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert jn.ones(1, 3, 1).squeeze().shape == (3,) and jn.ones(1, 3, 1).squeeze(0).shape == (3, 1)
    assert jn.ones(1, 3, 1).squeeze(1).shape == (1, 3, 1)
    assert np.array_equal(x.reshape(6, 4).numpy(), a.reshape(6, 4))
    assert gradcheck(lambda t: t.reshape(4, 6)[1:3] * 2, (t64(a),))


def test_view_shares_storage_and_refuses_non_viewable():
    x = jn.zeros(2, 3)
    v = x.view(6)
    with jn.no_grad():
        v[0] = 5.0
    assert x[0, 0].item() == 5.0
    with pytest.raises(RuntimeError, match="view size.*not compatible.*reshape"):
        x.T.view(6)
    assert x.T.reshape(6).shape == (6,)


def test_permute_transpose_expand(rng):
    a = rng.standard_normal((2, 3, 4))
    x = jn.tensor(a)
    assert np.array_equal(x.permute(2, 0, 1).numpy(), a.transpose(2, 0, 1))
    assert np.array_equal(x.transpose(0, 2).numpy(), a.swapaxes(0, 2))
    assert np.array_equal(jn.tensor(a[0]).T.numpy(), a[0].T)
    e = jn.ones(3, 1).expand(2, 3, 4)
    assert e.shape == (2, 3, 4)
    assert jn.ones(3, 1).expand(-1, 5).shape == (3, 5)
    assert gradcheck(lambda t: t.permute(1, 2, 0).transpose(0, 1), (t64(a),))
    b = rng.standard_normal((3, 1))
    assert gradcheck(lambda t: t.expand(2, 3, 4) * 1.5, (t64(b),))


def test_indexing_basic_and_advanced(rng):
    a = rng.standard_normal((4, 5))
    x = jn.tensor(a)
    assert np.array_equal(x[1].numpy(), a[1]) and np.array_equal(x[:, 2].numpy(), a[:, 2])
    assert np.array_equal(x[1:3, ::2].numpy(), a[1:3, ::2])
    assert np.array_equal(x[..., None].numpy(), a[..., None])
    assert np.array_equal(x[[0, 2, 2]].numpy(), a[[0, 2, 2]])
    idx = jn.tensor([3, 0])
    assert np.array_equal(x[idx, 1].numpy(), a[[3, 0], 1])
    mask = x > 0
    assert np.array_equal(x[mask].numpy(), a[a > 0])
    assert x[-1, -1].item() == a[-1, -1]
    # repeated indices accumulate their gradients
    assert gradcheck(lambda t: t[[0, 2, 2], 1:4], (t64(a),))
    assert gradcheck(lambda t: t[t > 0] * 3, (t64(a),))
    g = jn.tensor(a, requires_grad=True)
    g[[1, 1, 1]].sum().backward()
    assert g.grad.numpy()[1].tolist() == [3.0] * 5


@pytest.mark.parametrize("index", [slice(0, 3), slice(1, None), (slice(2, 4), Ellipsis),
                                   2, -1, (1, slice(None)), slice(3, 1), slice(None, None, 2),
                                   (slice(None), 1), (Ellipsis, 0), (None, slice(1, 3))])
def test_basic_index_backward_zeroes_exactly_the_rest(rng, index):
    """A basic index's backward stores the gradient and zeroes the rest: rows of the first
    axis take a path of their own (only the other rows are zeroed, not the whole array)."""
    a = rng.standard_normal((4, 5, 2))
    x = jn.tensor(a, requires_grad=True)
    y = x[index]
    g = rng.standard_normal(tuple(y.shape))
    y.backward(jn.tensor(g))
    want = np.zeros_like(a)
    want[index] = g.reshape(want[index].shape)
    assert np.array_equal(x.grad.numpy(), want)


def test_setitem_in_place():
    x = jn.zeros(3, 3)
    x[1] = 2.0
    x[:, 0] = jn.tensor([7.0, 8.0, 9.0])
    assert x.tolist() == [[7, 0, 0], [8, 2, 2], [9, 0, 0]]
    w = jn.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w[0] = 1.0
    with jn.no_grad():
        w[0] = 1.0
    assert w.detach().tolist() == [1.0, 0.0]


def test_cat_stack(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    assert np.array_equal(jn.cat([jn.tensor(a), jn.tensor(b)]).numpy(), np.concatenate([a, b]))
    assert jn.cat([jn.tensor(a), jn.tensor(a)], dim=1).shape == (2, 6)
    assert jn.stack([jn.tensor(a), jn.tensor(a)], dim=1).shape == (2, 2, 3)
    assert gradcheck(lambda x, y: jn.cat([x, y * 2], 0), (t64(a), t64(b)))
    assert gradcheck(lambda x, y: jn.stack([x, y], -1), (t64(a), t64(a * 2)))
    assert jn.cat([jn.ones(2), jn.ones(2, dtype=jn.float64)]).dtype is jn.float64


def test_shape_errors():
    x = jn.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"reshape: shape '\[4, 2\]' is invalid for input of"):
        x.reshape(4, 2)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        x.reshape(-1, -1)
    with pytest.raises(IndexError, match=r"index: index 5 is out of bounds.*shape \(2, 3\)"):
        x[0, 5]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="out of bounds"):
        x[jn.tensor([0, 2])]
    with pytest.raises(IndexError, match="long, int or bool"):
        x[jn.tensor([0.0])]
    with pytest.raises(IndexError, match=r"unsqueeze: Dimension out of range"):
        x.unsqueeze(4)
    with pytest.raises(RuntimeError, match="permute: number of dims"):
        x.permute(0)
    with pytest.raises(RuntimeError, match="not a permutation"):
        x.permute(0, 0)
    with pytest.raises(RuntimeError, match="expand: the expanded size"):
        x.expand(3, 3)
    with pytest.raises(RuntimeError, match=r"cat: sizes of tensors must match.*\(2, 3\).*\(2, 4\)"):
        jn.cat([x, jn.ones(2, 4)])
    with pytest.raises(RuntimeError, match="stack: expects each tensor to be equal size"):
        jn.stack([x, jn.ones(3, 2)])
    with pytest.raises(TypeError, match="cat: expected a non-empty sequence"):
        jn.cat([])


@requires_torch
def test_against_torch(rng):
    import torch

    a = rng.standard_normal((2, 3, 4))
    assert_matches_torch(lambda x: x.permute(2, 0, 1).reshape(4, 6)[1:, [0, 2, 2]].T,
                         lambda x: x.permute(2, 0, 1).reshape(4, 6)[1:, [0, 2, 2]].T, a)
    assert_matches_torch(lambda x: jn.cat([x, x * 2], 1).flatten(1).unsqueeze(0),
                         lambda x: torch.cat([x, x * 2], 1).flatten(1).unsqueeze(0), a)
    assert_matches_torch(lambda x: jn.stack([x[0], x[1]], 2).expand(2, 3, 4, 2),
                         lambda x: torch.stack([x[0], x[1]], 2).expand(2, 3, 4, 2), a)
