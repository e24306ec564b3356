"""Elementwise ops: arithmetic, broadcasting, promotion, unary math, comparisons.

Covers ops/elementwise.py and kernels/cpu/elementwise.py."""
import numpy as np
import pytest
from helpers import assert_matches_torch, requires_torch, t64
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, broadcastable_shapes

import jitnet as jn
from jitnet.autograd import gradcheck

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
}


@pytest.mark.parametrize("name", BINARY)
def test_binary_values_and_gradients(name, rng):
    fn, ref = BINARY[name]
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,)) + 3
    assert np.allclose(fn(jn.tensor(a), jn.tensor(b)).numpy(), ref(a, b))
    assert gradcheck(fn, (t64(a), t64(b)))


@pytest.mark.parametrize("name", BINARY)
def test_scalars_on_either_side(name):
    fn, ref = BINARY[name]
    x = jn.tensor([1.0, 2.0, 4.0])
    assert np.allclose(fn(x, 2.0).numpy(), ref(x.numpy(), 2.0))
    assert np.allclose(fn(2.0, x).numpy(), ref(2.0, x.numpy()))
    assert fn(x, 2).dtype is jn.float32 and fn(2, x).dtype is jn.float32


def test_pow_forms(rng):
    a = np.abs(rng.standard_normal((2, 3))) + 0.5
    b = rng.standard_normal((2, 3))
    assert gradcheck(lambda x: x ** 3, (t64(a),))
    assert gradcheck(lambda x: x ** 2, (t64(a),))
    assert gradcheck(lambda x: x ** 0.5, (t64(a),))
    assert gradcheck(lambda x: x ** -1.5, (t64(a),))
    assert gradcheck(lambda x, y: x ** y, (t64(a), t64(b)))
    assert gradcheck(lambda y: 2.0 ** y, (t64(b),))
    assert (jn.tensor([2, 3]) ** 2).tolist() == [4, 9]


def test_type_promotion_follows_pytorch():
    f32, f64 = jn.ones(2), jn.ones(2, dtype=jn.float64)
    i64, b = jn.ones(2, dtype=jn.int64), jn.ones(2, dtype=jn.bool)
    assert (f32 + f64).dtype is jn.float64
    assert (i64 + f32).dtype is jn.float32
    assert (i64 * 2.5).dtype is jn.float32  # NumPy would say float64
    assert (i64 / i64).dtype is jn.float32
    assert (i64 + 1).dtype is jn.int64
    assert (b + b).dtype is jn.bool and (b + 1).dtype is jn.int64
    assert (f32 * np.float64(2.0)).dtype is jn.float32


UNARY = {
    "exp": (jn.exp, np.exp, 1), "log": (jn.log, np.log, 0), "sqrt": (jn.sqrt, np.sqrt, 0),
    "sin": (jn.sin, np.sin, 1), "cos": (jn.cos, np.cos, 1), "tanh": (jn.tanh, np.tanh, 1),
    "sigmoid": (jn.sigmoid, lambda v: 1 / (1 + np.exp(-v)), 1),
    "relu": (jn.relu, lambda v: np.maximum(v, 0), 1), "abs": (jn.abs, np.abs, 1),
    "neg": (jn.neg, np.negative, 1),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_values_and_gradients(name, rng):
    fn, ref, signed = UNARY[name]
    a = rng.standard_normal((3, 5))
    if not signed:
        a = np.abs(a) + 0.1
    a[np.abs(a) < 1e-3] = 0.5  # keep finite differences away from kinks
    assert np.allclose(fn(jn.tensor(a)).numpy(), ref(a), rtol=1e-6)
    assert np.allclose(fn(jn.tensor(a.astype(np.float32))).numpy(), ref(a), rtol=1e-5, atol=1e-6)
    assert gradcheck(fn, (t64(a),))


def test_unary_on_large_tensors_uses_the_parallel_kernel(rng):
    a = rng.standard_normal(100_000).astype(np.float32)
    x = jn.tensor(a, requires_grad=True)
    y = x.tanh()
    y.sum().backward()
    assert np.allclose(y.detach().numpy(), np.tanh(a), atol=1e-6)
    assert np.allclose(x.grad.numpy(), 1 - np.tanh(a) ** 2, atol=1e-5)


def test_sigmoid_and_exp_are_stable_at_extremes():
    x = jn.tensor([-1000.0, 1000.0])
    assert x.sigmoid().tolist() == [0.0, 1.0]
    assert np.isfinite(x.tanh().numpy()).all()


def test_clamp_where_maximum_minimum(rng):
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert np.allclose(jn.tensor(a).clamp(-0.5, 0.5).numpy(), np.clip(a, -0.5, 0.5))
    assert np.allclose(jn.tensor(a).clamp(min=0).numpy(), np.maximum(a, 0))
    assert np.allclose(jn.tensor(a).clamp(max=0).numpy(), np.minimum(a, 0))
    assert gradcheck(lambda x: x.clamp(-0.5, 0.5), (t64(a),))
    assert gradcheck(lambda x, y: jn.where(x > y, x, y * 2), (t64(a), t64(b)))
    assert gradcheck(lambda x, y: jn.maximum(x, y) - jn.minimum(x, y), (t64(a), t64(b)))
    assert jn.where(jn.tensor([True, False]), 1.0, 0.0).tolist() == [1.0, 0.0]
    assert jn.clamp(jn.tensor([1, 5, 9]), 2, 6).tolist() == [2, 5, 6]


def test_maximum_splits_ties_like_pytorch():
    a = jn.tensor([1.0, 2.0], requires_grad=True)
    b = jn.tensor([1.0, 3.0], requires_grad=True)
    jn.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0.0] and b.grad.tolist() == [0.5, 1.0]


def test_comparisons_return_bool_without_grad():
    x = jn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for r in (x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2, x.eq(2), x.gt(1.5)):
        assert r.dtype is jn.bool and not r.requires_grad
    assert (x > 1.5).tolist() == [False, True, True]
    assert ((x > 1) & (x < 3)).tolist() == [False, True, False]
    assert (~(x > 1.5)).tolist() == [True, False, False]


def test_mismatched_broadcast_raises_before_any_kernel():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        jn.ones(2, 3) + jn.ones(4)
    with pytest.raises(ValueError, match="mul"):
        jn.ones(2, 3) * jn.ones(3, 2)
    with pytest.raises(ValueError, match="gt"):
        _ = jn.ones(2) > jn.ones(3)
    with pytest.raises(TypeError, match="unsupported operand"):
        jn.ones(2) + "a"
    with pytest.raises(ValueError, match="clamp"):
        jn.ones(2).clamp()
    with pytest.raises(TypeError, match="where: condition must be a bool"):
        jn.where(jn.ones(2), jn.ones(2), jn.ones(2))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_broadcasting_matches_numpy(data):
    shape_a = data.draw(array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4))
    shape_b = data.draw(broadcastable_shapes(shape_a, min_dims=0, max_dims=4, max_side=4))
    a = np.arange(np.prod(shape_a), dtype=np.float64).reshape(shape_a) / 7 + 0.5
    b = np.arange(np.prod(shape_b), dtype=np.float64).reshape(shape_b) / 5 + 1.0
    ja = jn.tensor(a, requires_grad=True)
    jb = jn.tensor(b, requires_grad=True)
    out = ja * jb + ja / jb
    assert out.shape == np.broadcast_shapes(shape_a, shape_b)
    assert np.allclose(out.detach().numpy(), a * b + a / b)
    out.sum().backward()
    ones = np.ones(out.shape)
    ga = np.sum(ones * (b + 1 / b), axis=tuple(range(out.ndim - a.ndim)))
    ga = ga.sum(axis=tuple(i for i, s in enumerate(shape_a) if s == 1), keepdims=True)
    assert ja.grad.shape == shape_a and np.allclose(ja.grad.numpy(), ga.reshape(shape_a))
    assert jb.grad.shape == shape_b


@requires_torch
def test_against_torch(rng):
    import torch

    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,)) + 3
    assert_matches_torch(lambda x, y: (x * y - x / y + x ** 2) * y.exp(),
                         lambda x, y: (x * y - x / y + x ** 2) * y.exp(), a, b)
    assert_matches_torch(lambda x: x.sigmoid() + x.tanh() + x.relu() + x.abs() + x.sin(),
                         lambda x: x.sigmoid() + x.tanh() + x.relu() + x.abs() + x.sin(), a)
    assert_matches_torch(lambda x: x.clamp(-0.3, 0.3) + (x * x + 1).sqrt().log(),
                         lambda x: x.clamp(-0.3, 0.3) + (x * x + 1).sqrt().log(), a)
    assert_matches_torch(lambda x, y: jn.maximum(x, y) + jn.where(x > 0, x, y),
                         lambda x, y: torch.maximum(x, y) + torch.where(x > 0, x, y), a, a[::-1])


def test_division_by_zero_inside_kernels_is_ieee_not_an_exception():
    """CPU kernels compile with error_model='numpy' (as CUDA): 1/0 is inf, 0/0 NaN."""
    assert jn.reciprocal(jn.tensor([0.0, -0.0])).tolist() == [np.inf, -np.inf]
    x = jn.tensor([0.0, 1.0], requires_grad=True)
    jn.log(x).sum().backward()
    assert x.grad.tolist() == [np.inf, 1.0]
    assert jn.rsqrt(jn.tensor([-0.0, 0.0])).tolist() == [-np.inf, np.inf]
