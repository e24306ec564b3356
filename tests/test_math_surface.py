"""The math surface of issue 17: values and gradients against PyTorch, float64 gradcheck,
the functional / method / module spellings and bad input."""
import math

import numpy as np
import pytest
from helpers import assert_matches_torch, requires_torch, t64

import jitnet as jn
import jitnet.nn.functional as F
from jitnet.autograd import gradcheck

pytestmark = requires_torch

X = np.array([-3.7, -1.5, -0.6, -0.1, 0.2, 0.5, 0.9, 1.5, 2.5, 4.2])  # no ties with rounding edges
POS = np.array([0.05, 0.3, 1.0, 2.5, 7.0, 40.0])
UNIT = np.array([-0.999, -0.7, -0.2, 0.0, 0.3, 0.8, 0.9999])


def _torch(name):
    import torch

    return getattr(torch, name, None) or getattr(torch.nn.functional, name)


UNARY = {  # name: (domain, smooth: has a nonzero gradient everywhere on the domain)
    "log1p": (POS - 0.9, True), "expm1": (X, True), "log2": (POS, True), "log10": (POS, True),
    "exp2": (X, True), "rsqrt": (POS, True), "erf": (X, True), "erfinv": (UNIT, True),
    "floor": (X, False), "ceil": (X, False), "trunc": (X, False), "round": (X, False),
    "frac": (X, True),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_math_matches_torch(name):
    x, smooth = UNARY[name]
    assert_matches_torch(getattr(jn, name), _torch(name), x)
    if smooth:
        assert gradcheck(getattr(jn, name), (t64(x),))
    # the method spelling, float32 as well
    y = getattr(jn.tensor(x.astype(np.float32)), name)()
    assert y.dtype is jn.float32
    np.testing.assert_allclose(y.numpy(), _torch(name)(_tt(x.astype(np.float32))).numpy(),
                               rtol=2e-6, atol=1e-6)


def _tt(a):
    import torch

    return torch.tensor(a)


def test_unary_edges_match_torch():
    import torch

    edges = np.array([-np.inf, -1.0, -0.0, 0.0, 1.0, np.inf, np.nan, 1e300, -1e300, 800.0])
    for name in UNARY:
        with np.errstate(all="ignore"):
            want = _torch(name)(torch.tensor(edges)).numpy()
        got = getattr(jn, name)(jn.tensor(edges)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)


def test_round_half_even_and_decimals():
    import torch

    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1.25, 2.675, -7.55, 1234.5678])
    for d in (0, 1, 2, -1, -2):
        np.testing.assert_allclose(jn.round(jn.tensor(x), decimals=d).numpy(),
                                   torch.round(torch.tensor(x), decimals=d).numpy(), rtol=1e-15)
    with pytest.raises(TypeError, match="decimals"):
        jn.round(jn.tensor(x), decimals=1.5)


def test_rounding_keeps_integer_tensors_and_frac_refuses_them():
    i = jn.tensor([1, -2, 3])
    for name in ("floor", "ceil", "trunc", "round"):
        out = getattr(jn, name)(i)
        assert out.dtype is jn.int64 and out.tolist() == [1, -2, 3]
    assert jn.log1p(i).dtype is jn.float32 and jn.rsqrt(i).dtype is jn.float32
    with pytest.raises(NotImplementedError, match="frac"):
        jn.frac(i)


def test_erfinv_accuracy_and_inverse():
    y = np.linspace(-0.999999, 0.999999, 41)
    x = jn.erfinv(jn.tensor(y)).numpy()
    np.testing.assert_allclose([math.erf(v) for v in x], y, rtol=1e-14, atol=1e-15)
    assert jn.erfinv(jn.tensor([1.0, -1.0, 1.5])).tolist()[:2] == [math.inf, -math.inf]


ACTIVATIONS = {
    "softplus": ({}, {"beta": 2.0, "threshold": 3.0}),
    "mish": ({}, None), "silu": ({}, None),
    "hardtanh": ({}, {"min_val": -2.0, "max_val": 0.7}),
    "elu": ({}, {"alpha": 0.5}), "selu": ({}, None),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_match_torch(name):
    import torch.nn.functional as TF

    x = np.concatenate([X, [-30.0, 25.0, 0.0]])
    for kw in filter(None, ACTIVATIONS[name]):
        assert_matches_torch(lambda t, kw=kw: getattr(F, name)(t, **kw),
                             lambda t, kw=kw: getattr(TF, name)(t, **kw), x)
    if name != "hardtanh":  # hardtanh's kinks at the bounds stay off the test points
        assert gradcheck(lambda t: getattr(F, name)(t), (t64(X),))


def test_activation_overflow_edges():
    import torch
    import torch.nn.functional as TF

    x = np.array([-1000.0, -50.0, 50.0, 1000.0, np.inf, -np.inf])
    for name in ("softplus", "mish", "silu", "elu", "selu"):
        got = getattr(F, name)(jn.tensor(x)).numpy()
        want = getattr(TF, name)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)
    # a large threshold: PyTorch's log1p(exp(800)) overflows to inf; jitnet gives the limit x
    assert F.softplus(jn.tensor([800.0]), threshold=1000.0).tolist() == [800.0]


def test_activation_spellings_and_errors():
    x = jn.tensor([-1.0, 0.5, 2.0])
    assert np.allclose(jn.selu(x).numpy(), F.selu(x).numpy())
    layers = {jn.nn.Softplus(beta=2.0): F.softplus(x, 2.0), jn.nn.Mish(): F.mish(x),
              jn.nn.SiLU(): F.silu(x), jn.nn.Hardtanh(-0.5, 0.5): F.hardtanh(x, -0.5, 0.5),
              jn.nn.ELU(alpha=0.3): F.elu(x, 0.3), jn.nn.SELU(): F.selu(x)}
    for layer, want in layers.items():
        assert np.allclose(layer(x).numpy(), want.numpy())
    assert repr(jn.nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(jn.nn.Hardtanh(-2.0, 3.0)) == "Hardtanh(min_val=-2.0, max_val=3.0)"
    assert repr(jn.nn.ELU()) == "ELU(alpha=1.0)"
    with pytest.raises(NotImplementedError, match="silu"):
        F.silu(jn.tensor([1, 2]))
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(x, 1.0, 0.0)
    assert F.hardtanh(jn.tensor([-3, 0, 3])).tolist() == [-1, 0, 1]


BINARY = {"atan2": (np.array([-2.0, -0.5, 0.3, 1.0, 4.0]), np.array([1.5, -2.0, -0.7, 0.4, 3.0])),
          "hypot": (np.array([-2.0, -0.5, 0.3, 1.0, 4.0]), np.array([1.5, -2.0, -0.7, 0.4, 3.0]))}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_math_matches_torch(name):
    a, b = BINARY[name]
    assert_matches_torch(getattr(jn, name), _torch(name), a, b)
    assert gradcheck(getattr(jn, name), (t64(a), t64(b)))
    assert gradcheck(lambda x: getattr(jn, name)(x, t64(b[:1], False)), (t64(a),))  # broadcast
    out = getattr(jn.tensor([1, 2]), name)(jn.tensor([2, 2]))
    assert out.dtype is jn.float32
    np.testing.assert_allclose(out.numpy(), getattr(np, "arctan2" if name == "atan2"
                                                    else name)([1, 2], [2, 2]), rtol=1e-6)
    assert jn.arctan2 is jn.atan2


def test_composites_match_torch(rng):
    import torch

    a, b, c = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    assert_matches_torch(lambda x, y: jn.lerp(x, y, 0.3), lambda x, y: torch.lerp(x, y, 0.3), a, b)
    assert_matches_torch(jn.lerp, torch.lerp, a, b, rng.random((3, 4)))
    assert_matches_torch(lambda x, y, z: jn.addcmul(z, x, y, value=0.5),
                         lambda x, y, z: torch.addcmul(z, x, y, value=0.5), a, b, c)
    d = np.abs(b) + 0.5
    assert_matches_torch(lambda x, y, z: jn.addcdiv(z, x, y, value=-2.0),
                         lambda x, y, z: torch.addcdiv(z, x, y, value=-2.0), a, d, c)
    m1, m2 = rng.standard_normal((3, 5)), rng.standard_normal((5, 4))
    assert_matches_torch(lambda i, x, y: jn.addmm(i, x, y, beta=0.5, alpha=2.0),
                         lambda i, x, y: torch.addmm(i, x, y, beta=0.5, alpha=2.0), c, m1, m2)
    assert_matches_torch(lambda i, x, y: i.addmm(x, y), lambda i, x, y: i.addmm(x, y), a, m1, m2)
    nan_in = jn.full((3, 4), math.nan, dtype=jn.float64)
    assert not jn.isnan(jn.addmm(nan_in, t64(m1), t64(m2), beta=0)).any().item()
    with pytest.raises(RuntimeError, match="mat1 must be a matrix"):
        jn.addmm(t64(c), t64(c), t64(m2))
    x = jn.tensor(a)
    assert np.allclose(x.lerp(jn.tensor(b), 0.25).numpy(), a + 0.25 * (b - a))
    assert np.allclose(x.addcmul(x, x).numpy(), a + a * a)
    assert np.allclose(x.addcdiv(x, jn.tensor(d)).numpy(), a + a / d)
