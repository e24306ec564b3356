"""Activations (ops/activation.py): relu, leaky_relu, gelu, sigmoid, tanh through the unary
kernel family; softmax / log_softmax (kernels/cpu/softmax.py) over any dim."""
import math

import numpy as np
import pytest
from helpers import assert_matches_torch, requires_torch, t64

import jitnet as jn
import jitnet.nn.functional as F
from jitnet.autograd import gradcheck


def _gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


POINTWISE = {
    "relu": (F.relu, lambda x: np.maximum(x, 0)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "gelu": (F.gelu, _gelu),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                   * (x + 0.044715 * x**3)))),
    "sigmoid": (F.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (F.tanh, np.tanh),
}


@pytest.mark.parametrize("name", POINTWISE)
def test_pointwise_values_and_gradcheck(rng, name):
    fn, ref = POINTWISE[name]
    x = rng.standard_normal((3, 5)) * 2
    x[x == 0] = 0.1  # keep away from the kinks, where finite differences disagree
    np.testing.assert_allclose(fn(t64(x, False)).numpy(), ref(x), atol=1e-12)
    assert gradcheck(fn, (t64(np.where(np.abs(x) < 1e-3, 0.5, x)),))


@requires_torch
@pytest.mark.parametrize("name, kw", [("relu", {}), ("leaky_relu", {"negative_slope": 0.3}),
                                      ("gelu", {}), ("gelu", {"approximate": "tanh"}),
                                      ("sigmoid", {}), ("tanh", {})])
def test_pointwise_match_torch(rng, name, kw):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 6)) * 3
    assert_matches_torch(lambda a: getattr(F, name)(a, **kw),
                         lambda a: getattr(torch.nn.functional, name)(a, **kw), x)


def _ref_softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


@pytest.mark.parametrize("shape, dim", [((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -2),
                                        ((2, 3, 2, 2), 1), ((4,), 0)])
def test_softmax_log_softmax_values_and_gradcheck(rng, shape, dim):
    x = rng.standard_normal(shape) * 3
    sm = _ref_softmax(x, dim)
    np.testing.assert_allclose(F.softmax(t64(x, False), dim).numpy(), sm, atol=1e-12)
    np.testing.assert_allclose(F.log_softmax(t64(x, False), dim=dim).numpy(), np.log(sm),
                               atol=1e-12)
    assert gradcheck(lambda a: F.softmax(a, dim), (t64(x),))
    assert gradcheck(lambda a: F.log_softmax(a, dim), (t64(x),))


def test_softmax_long_columns_and_parallel_path(rng):
    """dim not last with a wide trailing block (the column-block kernel) and big float32 rows."""
    x = rng.standard_normal((2, 3, 300))
    np.testing.assert_allclose(F.softmax(t64(x, False), 1).numpy(), _ref_softmax(x, 1),
                               atol=1e-12)
    big = rng.standard_normal((512, 100)).astype(np.float32)
    y = jn.softmax(jn.tensor(big), -1)
    np.testing.assert_allclose(y.numpy(), _ref_softmax(big.astype(np.float64), -1), rtol=1e-5,
                               atol=1e-7)
    cols = rng.standard_normal((64, 10, 64)).astype(np.float32)
    np.testing.assert_allclose(jn.log_softmax(jn.tensor(cols), 1).numpy(),
                               np.log(_ref_softmax(cols.astype(np.float64), 1)), atol=1e-5)


def test_softmax_is_stable_for_huge_logits():
    x = jn.tensor([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]], requires_grad=True)
    y = F.log_softmax(x, 1)
    assert np.isfinite(y.detach().numpy()).all()
    np.testing.assert_allclose(y.detach().numpy()[0], [0, -2000, -1000])
    np.testing.assert_allclose(F.softmax(x, 1).detach().numpy()[1], [1 / 3] * 3, rtol=1e-6)
    y.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_tensor_methods_and_top_level_exports(rng):
    x = jn.tensor(rng.standard_normal((2, 3)))
    np.testing.assert_allclose(x.softmax(1).numpy(), jn.softmax(x, 1).numpy())
    np.testing.assert_allclose(x.log_softmax(-1).numpy(), jn.log_softmax(x, dim=-1).numpy())
    assert x.softmax(0, dtype=jn.float64).dtype is jn.float64
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        np.testing.assert_allclose(F.softmax(x).numpy(), x.softmax(1).numpy())


@requires_torch
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_matches_torch(rng, dim):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 4, 5)) * 4
    assert_matches_torch(lambda a: F.softmax(a, dim), lambda a: torch.softmax(a, dim), x)
    assert_matches_torch(lambda a: F.log_softmax(a, dim), lambda a: torch.log_softmax(a, dim), x)


def test_activation_bad_input():
    with pytest.raises(IndexError, match=r"softmax: Dimension out of range"):
        F.softmax(jn.zeros(2, 3), 2)
    with pytest.raises(TypeError, match=r"log_softmax: expected a floating point input"):
        F.log_softmax(jn.zeros(2, 3, dtype=jn.int64), 1)
    with pytest.raises(RuntimeError, match=r"relu_: a leaf Variable that requires grad"):
        F.relu(jn.zeros(3, requires_grad=True), inplace=True)
    with pytest.raises(ValueError, match=r"gelu: approximate must be 'none' or 'tanh'"):
        F.gelu(jn.zeros(3), approximate="erf")
    with pytest.raises(TypeError, match=r"sigmoid: input must be a Tensor"):
        F.sigmoid([1.0, 2.0])


@requires_torch
def test_gradients_at_kinks_match_torch():
    """At the bounds hardtanh passes no gradient and clamp passes it; elu at 0 gives alpha."""
    torch = pytest.importorskip("torch")
    x = np.array([-1.0, 1.0, 0.0, -2.0, 0.5])
    assert_matches_torch(F.hardtanh, torch.nn.functional.hardtanh, x)
    assert_matches_torch(lambda a: a.clamp(-1, 1), lambda a: a.clamp(-1, 1), x)
    assert_matches_torch(lambda a: F.elu(a, 0.5), lambda a: torch.nn.functional.elu(a, 0.5), x)
    assert_matches_torch(lambda a: F.softplus(a, 2.0, 1.0),
                         lambda a: torch.nn.functional.softplus(a, 2.0, 1.0), x)
    assert_matches_torch(F.relu, torch.relu, x)
