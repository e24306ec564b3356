"""Losses (ops/loss.py, kernels/cpu/loss.py): cross_entropy and nll_loss with class labels,
the pointwise losses, every reduction; values against NumPy, gradients by finite differences
and against PyTorch, bad input."""
import numpy as np
import pytest
from helpers import requires_torch, t64

import jitnet as jn
import jitnet.nn.functional as F
from jitnet.autograd import gradcheck

REDUCTIONS = ["mean", "sum", "none"]


def _log_softmax(x, axis=1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _labels(t):
    return jn.tensor(np.asarray(t, dtype=np.int64))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_values_and_gradcheck(rng, reduction):
    x, t = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    per = -_log_softmax(x)[np.arange(5), t]
    ref = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    y = F.cross_entropy(t64(x, False), _labels(t), reduction=reduction)
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    assert gradcheck(lambda a: F.cross_entropy(a, _labels(t), reduction=reduction), (t64(x),))


def test_cross_entropy_weight_ignore_index_label_smoothing(rng):
    x, t = rng.standard_normal((6, 3)), np.array([0, 2, -100, 1, 2, 0])
    w = np.array([0.5, 2.0, 1.5])
    logp = _log_softmax(x)
    keep = t != -100
    tk = t[keep]
    nll = -(w[tk] * logp[keep, tk]).sum() / w[tk].sum()
    smooth = -(logp[keep] * w).sum() / w[tk].sum()
    ref = 0.9 * nll + 0.1 / 3 * smooth
    y = F.cross_entropy(t64(x, False), _labels(t), weight=t64(w, False), label_smoothing=0.1)
    np.testing.assert_allclose(y.item(), ref, rtol=1e-12)
    assert gradcheck(lambda a: F.cross_entropy(a, _labels(t), t64(w, False),
                                               label_smoothing=0.1), (t64(x),))
    none = F.cross_entropy(t64(x, False), _labels(t), reduction="none")
    assert none.numpy()[2] == 0.0


def test_cross_entropy_spatial_unbatched_and_soft_targets(rng):
    x, t = rng.standard_normal((2, 3, 4, 5)), rng.integers(0, 3, (2, 4, 5))
    per = -np.take_along_axis(_log_softmax(x), t[:, None], 1)[:, 0]
    y = F.cross_entropy(t64(x, False), _labels(t), reduction="none")
    assert y.shape == (2, 4, 5)
    np.testing.assert_allclose(y.numpy(), per, atol=1e-12)
    assert gradcheck(lambda a: F.cross_entropy(a, _labels(t)), (t64(x),))
    v = rng.standard_normal(4)
    np.testing.assert_allclose(F.cross_entropy(t64(v, False), _labels(2)).item(),
                               -_log_softmax(v, 0)[2])
    p = rng.random((5, 4))
    p /= p.sum(1, keepdims=True)
    xs = rng.standard_normal((5, 4))
    np.testing.assert_allclose(F.cross_entropy(t64(xs, False), t64(p, False)).item(),
                               -(p * _log_softmax(xs)).sum(1).mean())
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, label_smoothing=0.2), (t64(xs), t64(p)))


def test_cross_entropy_is_finite_for_huge_logits_and_float32_parallel(rng):
    x = jn.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]], requires_grad=True)
    y = F.cross_entropy(x, _labels([1, 1]))
    assert y.item() == 1000.0
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, -0.5], [0.0, 0.0]])
    big = rng.standard_normal((4096, 10)).astype(np.float32)  # over PARALLEL_MIN elements
    t = rng.integers(0, 10, 4096)
    xb = jn.tensor(big, requires_grad=True)
    loss = F.cross_entropy(xb, _labels(t))
    ref = -_log_softmax(big.astype(np.float64))[np.arange(4096), t].mean()
    assert loss.dtype is jn.float32 and abs(loss.item() - ref) < 1e-5
    loss.backward()
    soft = np.exp(_log_softmax(big.astype(np.float64)))
    soft[np.arange(4096), t] -= 1
    np.testing.assert_allclose(xb.grad.numpy(), soft / 4096, atol=1e-8)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(rng, reduction):
    x, t = _log_softmax(rng.standard_normal((5, 3))), np.array([2, 0, 1, -100, 2])
    w = np.array([1.0, 0.5, 2.0])
    y = F.nll_loss(t64(x, False), _labels(t), weight=t64(w, False), reduction=reduction)
    keep = t != -100
    per = np.zeros(5)
    per[keep] = -w[t[keep]] * x[keep, t[keep]]
    ref = {"mean": per.sum() / w[t[keep]].sum(), "sum": per.sum(), "none": per}[reduction]
    np.testing.assert_allclose(y.numpy(), ref, atol=1e-12)
    assert gradcheck(lambda a: F.nll_loss(a, _labels(t), t64(w, False), reduction=reduction),
                     (t64(x),))


POINTWISE = {  # name: (call, NumPy reference of the elementwise loss)
    "mse_loss": (F.mse_loss, lambda x, y: (x - y) ** 2),
    "l1_loss": (F.l1_loss, lambda x, y: np.abs(x - y)),
    "smooth_l1_loss": (lambda x, y, **kw: F.smooth_l1_loss(x, y, beta=0.5, **kw),
                       lambda x, y: np.where(np.abs(x - y) < 0.5, (x - y) ** 2,
                                             np.abs(x - y) - 0.25)),
    "huber_loss": (lambda x, y, **kw: F.huber_loss(x, y, delta=0.5, **kw),
                   lambda x, y: np.where(np.abs(x - y) < 0.5, 0.5 * (x - y) ** 2,
                                         0.5 * (np.abs(x - y) - 0.25))),
    "binary_cross_entropy": (F.binary_cross_entropy,
                             lambda x, y: -(y * np.log(x) + (1 - y) * np.log(1 - x))),
    "binary_cross_entropy_with_logits": (
        F.binary_cross_entropy_with_logits,
        lambda x, y: -(y * np.log(1 / (1 + np.exp(-x)))
                       + (1 - y) * np.log(1 - 1 / (1 + np.exp(-x))))),
}


@pytest.mark.parametrize("name", POINTWISE)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pointwise_losses(rng, name, reduction):
    fn, ref = POINTWISE[name]
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    if name == "binary_cross_entropy":
        x, y = rng.uniform(0.05, 0.95, (3, 4)), rng.random((3, 4))
    elif name == "binary_cross_entropy_with_logits":
        y = rng.random((3, 4))
    per = ref(x, y)
    expect = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    np.testing.assert_allclose(fn(t64(x, False), t64(y, False), reduction=reduction).numpy(),
                               expect, rtol=1e-10, atol=1e-12)
    # gradients for input and target (PyTorch differentiates both)
    assert gradcheck(lambda a, b: fn(a, b, reduction=reduction), (t64(x), t64(y)))


def test_bce_clamps_log_and_with_logits_options(rng):
    y = F.binary_cross_entropy(jn.tensor([0.0, 1.0]), jn.tensor([1.0, 0.0]), reduction="none")
    assert y.tolist() == [100.0, 100.0]  # log(0) clamped at -100, as PyTorch
    x, t = rng.standard_normal((4, 3)) * 50, rng.random((4, 3))
    w, pw = rng.random(3) + 0.5, rng.random(3) + 0.5
    out = F.binary_cross_entropy_with_logits(t64(x, False), t64(t, False), t64(w, False),
                                             pos_weight=t64(pw, False), reduction="none")
    sp_neg = np.logaddexp(0, -x)  # -log(sigmoid(x)), stable
    ref = w * ((1 - t) * x + (1 + (pw - 1) * t) * sp_neg)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10)
    xs = x / 50
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(
        a, b, t64(w, False), pos_weight=t64(pw, False)), (t64(xs), t64(t)))
    assert gradcheck(lambda a: F.binary_cross_entropy(a, t64(t, False), t64(w, False)),
                     (t64(rng.uniform(0.1, 0.9, (4, 3))),))


def test_weighted_regression_losses_and_broadcast_warning(rng):
    x, y, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.random((3, 4))
    np.testing.assert_allclose(F.mse_loss(t64(x, False), t64(y, False), weight=t64(w, False))
                               .item(), (w * (x - y) ** 2).sum() / w.sum())
    assert gradcheck(lambda a, b: F.l1_loss(a, t64(y, False), weight=b), (t64(x), t64(w)))
    with pytest.warns(UserWarning, match="mse_loss: using a target size"):
        z = F.mse_loss(t64(x, False), t64(y[0], False))
    np.testing.assert_allclose(z.item(), ((x - y[0]) ** 2).mean())


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_losses_match_torch(rng, reduction):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x, t = rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    t[2] = 1
    w = rng.random(5) + 0.5
    cases = [
        (lambda a: F.cross_entropy(a, _labels(t), t64(w, False), ignore_index=1,
                                   reduction=reduction, label_smoothing=0.15),
         lambda a: tf.cross_entropy(a, torch.tensor(t), torch.tensor(w), ignore_index=1,
                                    reduction=reduction, label_smoothing=0.15)),
        (lambda a: F.nll_loss(a, _labels(t), reduction=reduction),
         lambda a: tf.nll_loss(a, torch.tensor(t), reduction=reduction)),
    ]
    for fj, ft in cases:
        xj, xt = t64(x), torch.tensor(x, requires_grad=True)
        yj, yt = fj(xj), ft(xt)
        np.testing.assert_allclose(yj.detach().numpy(), yt.detach().numpy(), atol=1e-12)
        g = rng.standard_normal(tuple(yt.shape))
        yj.backward(jn.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(xj.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    y = rng.random((6, 5))
    for name, kw in [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {"beta": 0.3}),
                     ("huber_loss", {"delta": 0.4}), ("binary_cross_entropy_with_logits", {})]:
        a, b = t64(x), t64(y)
        ta, tb = (torch.tensor(v, requires_grad=True) for v in (x, y))
        yj = getattr(F, name)(a, b, reduction=reduction, **kw)
        yt = getattr(tf, name)(ta, tb, reduction=reduction, **kw)
        np.testing.assert_allclose(yj.detach().numpy(), yt.detach().numpy(), atol=1e-12)
        (yj * 1.7).sum().backward()
        (yt * 1.7).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), atol=1e-12)


def test_class_loss_bad_input():
    x = jn.zeros(4, 3)
    with pytest.raises(IndexError, match=r"cross_entropy: target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, _labels([0, 1, 3, 2]))
    with pytest.raises(IndexError, match=r"nll_loss: target -1 is out of bounds"):
        F.nll_loss(x, _labels([0, -1, 1, 2]))
    with pytest.raises(TypeError, match=r"cross_entropy: expected target of an integer dtype"):
        F.cross_entropy(x, jn.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"expected input batch_size \(4\) to match target "
                                         r"batch_size \(3\)"):
        F.cross_entropy(x, _labels([0, 1, 2]))
    with pytest.raises(ValueError, match=r"cross_entropy: expected target of shape \(2, 5\)"):
        F.cross_entropy(jn.zeros(2, 3, 5), _labels([[0, 1], [1, 1]]))
    with pytest.raises(ValueError, match=r"cross_entropy: expected weight of shape \(3,\)"):
        F.cross_entropy(x, _labels([0, 1, 2, 1]), weight=jn.ones(4))
    with pytest.raises(ValueError, match=r"reduction must be 'none', 'mean' or 'sum'"):
        F.cross_entropy(x, _labels([0, 1, 2, 1]), reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
        F.cross_entropy(x, _labels([0, 1, 2, 1]), label_smoothing=1.5)
    with pytest.raises(NotImplementedError, match=r"nll_loss: the deprecated size_average"):
        F.nll_loss(x, _labels([0, 1, 2, 1]), size_average=True)
    with pytest.raises(TypeError, match=r"cross_entropy: expected a floating point input"):
        F.cross_entropy(jn.zeros(4, 3, dtype=jn.int64), _labels([0, 1, 2, 1]))


def test_pointwise_loss_bad_input():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: all elements of input should "
                                         r"be between 0 and 1"):
        F.binary_cross_entropy(jn.tensor([0.5, 1.5]), jn.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: using a target size \(3,\)"):
        F.binary_cross_entropy(jn.tensor([0.5, 0.5]), jn.tensor([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match=r"mse_loss: target size \(3,\) and input size \(2,\)"):
        with pytest.warns(UserWarning):
            F.mse_loss(jn.zeros(2), jn.zeros(3))
    with pytest.raises(ValueError, match=r"huber_loss: delta must be > 0"):
        F.huber_loss(jn.zeros(2), jn.zeros(2), delta=0)
    with pytest.raises(ValueError, match=r"pos_weight of shape \(3,\) cannot be broadcast"):
        F.binary_cross_entropy_with_logits(jn.zeros(2, 2), jn.zeros(2, 2),
                                           pos_weight=jn.ones(3))
    with pytest.raises(NotImplementedError, match=r"gradients with respect to weight"):
        F.binary_cross_entropy(jn.zeros(2) + 0.5, jn.zeros(2), weight=jn.ones(2,
                                                                             requires_grad=True))
