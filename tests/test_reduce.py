"""Reductions with dim/keepdim/tuple dims, argmax/argmin, var/std (ops/reduce.py + kernels)."""
import numpy as np
import pytest
from helpers import assert_matches_torch, requires_torch, t64
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import jitnet as jn
from jitnet.autograd import gradcheck

DIMS = [None, 0, 1, -1, (0, 2), (1, 2), (0, 1, 2)]


@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean_values_and_gradients(dim, keepdim, rng):
    a = rng.standard_normal((2, 3, 4))
    np_dim = dim if not isinstance(dim, list) else tuple(dim)
    assert np.allclose(jn.tensor(a).sum(dim, keepdim).numpy(), a.sum(np_dim, keepdims=keepdim))
    assert np.allclose(jn.tensor(a).mean(dim, keepdim).numpy(), a.mean(np_dim, keepdims=keepdim))
    assert gradcheck(lambda x: x.sum(dim, keepdim) * 2 + x.mean(dim, keepdim), (t64(a),))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_max_min_with_dim_return_values_and_indices(dim, rng):
    a = rng.standard_normal((3, 4, 5))
    v, i = jn.tensor(a).max(dim)
    assert np.allclose(v.numpy(), a.max(dim)) and np.array_equal(i.numpy(), a.argmax(dim))
    assert i.dtype is jn.int64
    r = jn.tensor(a).min(dim=dim, keepdim=True)
    assert np.allclose(r.values.numpy(), a.min(dim, keepdims=True))
    assert np.array_equal(r.indices.numpy(), a.argmin(dim)[..., None].reshape(r.indices.shape))
    assert gradcheck(lambda x: x.max(dim)[0], (t64(a),))
    assert gradcheck(lambda x: x.min(dim, keepdim=True).values, (t64(a),))


def test_max_all_and_ties_share_gradient():
    x = jn.tensor([1.0, 3.0, 3.0], requires_grad=True)
    m = x.max()
    assert m.item() == 3.0 and m.shape == ()
    m.backward()
    assert x.grad.tolist() == [0.0, 0.5, 0.5]
    assert jn.tensor([4, 9, 2]).min().item() == 2


def test_argmax_argmin(rng):
    a = rng.standard_normal((4, 6))
    assert jn.tensor(a).argmax().item() == a.argmax()
    assert np.array_equal(jn.tensor(a).argmax(1).numpy(), a.argmax(1))
    assert np.array_equal(jn.tensor(a).argmin(0, keepdim=True).numpy(), a.argmin(0)[None])
    assert jn.tensor([1.0, np.nan, 3.0]).argmax().item() == 1  # NaN counts as the max


def test_var_std_unbiased_by_default(rng):
    a = rng.standard_normal((5, 6))
    x = jn.tensor(a)
    assert np.allclose(x.var().item(), a.var(ddof=1))
    assert np.allclose(x.var(1, unbiased=False).numpy(), a.var(1))
    assert np.allclose(x.std(0, keepdim=True).numpy(), a.std(0, ddof=1, keepdims=True))
    assert gradcheck(lambda t: t.var(1) + t.std(0).sum(), (t64(a),))


def test_integer_and_bool_sums_are_int64():
    assert jn.tensor([1, 2, 3]).sum().dtype is jn.int64
    assert jn.tensor([True, True, False]).sum().item() == 2
    assert jn.tensor([1, 2], dtype=jn.int32).sum(dtype=jn.float64).dtype is jn.float64
    with pytest.raises(RuntimeError, match="mean.*floating point"):
        jn.tensor([1, 2]).mean()


def test_large_reductions_are_accurate():
    a = np.full(1_000_003, 0.1, dtype=np.float32)
    assert jn.tensor(a).sum().item() == pytest.approx(100000.3, rel=1e-6)
    b = np.random.default_rng(0).standard_normal((3, 200_000)).astype(np.float32)
    assert np.allclose(jn.tensor(b).sum(1).numpy(), b.astype(np.float64).sum(1), rtol=1e-5)
    assert np.allclose(jn.tensor(b).max(1).values.numpy(), b.max(1))
    c = np.random.default_rng(1).standard_normal((5000, 40)).astype(np.float32)
    assert np.allclose(jn.tensor(c).mean(1).numpy(), c.mean(1), atol=1e-6)


def test_reduction_errors():
    x = jn.ones(2, 3)
    with pytest.raises(IndexError, match=r"sum: Dimension out of range.*got 2"):
        x.sum(2)
    with pytest.raises(IndexError, match="argmax"):
        x.argmax(-3)
    with pytest.raises(RuntimeError, match="multiple times"):
        x.sum((0, 0))
    with pytest.raises(RuntimeError, match=r"max\(\): Expected reduction dim to be specified"):
        jn.zeros(0).max()


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_reductions_match_numpy(data):
    shape = data.draw(array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5))
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, min_size=1))
    keep = data.draw(st.booleans())
    a = np.random.default_rng(len(shape)).standard_normal(shape)
    x = jn.tensor(a)
    axes = tuple(dims)
    assert np.allclose(x.sum(axes, keep).numpy(), a.sum(axes, keepdims=keep))
    assert np.allclose(x.mean(axes, keep).numpy(), a.mean(axes, keepdims=keep))
    assert np.allclose(x.max(dims[0], keep).values.numpy(), a.max(dims[0], keepdims=keep))


@requires_torch
def test_against_torch(rng):
    a = rng.standard_normal((3, 4, 5))
    def f(x):
        return x.sum((0, 2))[:, None] * x.mean(1).sum(0) + x.var(2).mean(0)[:, None]

    assert_matches_torch(f, f, a)
    assert_matches_torch(lambda x: x.max(1)[0] * x.std(1, keepdim=False),
                         lambda x: x.max(1)[0] * x.std(1, keepdim=False), a)
    assert_matches_torch(lambda x: x.logsumexp(1), lambda x: x.logsumexp(1), a)
