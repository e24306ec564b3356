"""batch_norm (ops/norm.py, kernels/cpu/norm.py): training and eval on 2-D and 4-D input,
running statistics, gradients by finite differences and against PyTorch, bad input."""
import numpy as np
import pytest
from helpers import requires_torch, t64

import jitnet as jn
import jitnet.nn.functional as F
from jitnet.autograd import gradcheck


def _ref(x, mean, var, w, b, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * w.reshape(shape) \
        + b.reshape(shape)


@pytest.mark.parametrize("shape", [(6, 3), (3, 2, 4, 5)])
def test_batch_norm_training_values_running_stats_and_gradcheck(rng, shape):
    x = rng.standard_normal(shape) * 2 + 1
    w, b = rng.random(shape[1]) + 0.5, rng.standard_normal(shape[1])
    rm, rv = jn.zeros(shape[1], dtype=jn.float64), jn.ones(shape[1], dtype=jn.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    y = F.batch_norm(t64(x, False), rm, rv, t64(w, False), t64(b, False), training=True,
                     momentum=0.2)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    np.testing.assert_allclose(y.numpy(), _ref(x, mean, var, w, b), atol=1e-12)
    m = x.size // shape[1]
    np.testing.assert_allclose(rm.numpy(), 0.2 * mean, atol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.8 + 0.2 * var * m / (m - 1), atol=1e-12)
    assert gradcheck(lambda a, c, d: F.batch_norm(a, None, None, c, d, training=True),
                     (t64(x), t64(w), t64(b)))


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 3, 4)])
def test_batch_norm_eval_uses_running_stats(rng, shape):
    x = rng.standard_normal(shape)
    w, b = rng.random(shape[1]) + 0.5, rng.standard_normal(shape[1])
    rm, rv = rng.standard_normal(shape[1]), rng.random(shape[1]) + 0.5
    rmt, rvt = t64(rm, False), t64(rv, False)
    y = F.batch_norm(t64(x, False), rmt, rvt, t64(w, False), t64(b, False), eps=1e-3)
    np.testing.assert_allclose(y.numpy(), _ref(x, rm, rv, w, b, 1e-3), atol=1e-12)
    assert rmt.numpy().tolist() == rm.tolist()  # untouched in eval
    assert gradcheck(lambda a, c, d: F.batch_norm(a, t64(rm, False), t64(rv, False), c, d),
                     (t64(x), t64(w), t64(b)))
    assert gradcheck(lambda a: F.batch_norm(a, t64(rm, False), t64(rv, False)), (t64(x),))


def test_batch_norm_float32_parallel_path(rng):
    x = (rng.standard_normal((16, 8, 16, 16)) * 3 + 2).astype(np.float32)
    rm, rv = jn.zeros(8), jn.ones(8)
    xt = jn.tensor(x, requires_grad=True)
    y = F.batch_norm(xt, rm, rv, training=True)
    out = y.detach().numpy()
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, atol=1e-3)
    (y * y).sum().backward()  # sum of squares of a normalised channel is constant: grad ~ 0
    assert np.abs(xt.grad.numpy()).max() < 1e-2


@requires_torch
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_torch(rng, training):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 3, 5, 2)) * 2 + 1
    w, b = rng.random(3) + 0.5, rng.standard_normal(3)
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    jx, jw, jb = t64(x), t64(w), t64(b)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    jrm, jrv, trm, trv = t64(rm, False), t64(rv, False), torch.tensor(rm), torch.tensor(rv)
    y = F.batch_norm(jx, jrm, jrv, jw, jb, training, 0.3, 1e-4)
    yt = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training, 0.3, 1e-4)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(jrm.numpy(), trm.numpy(), atol=1e-12)
    np.testing.assert_allclose(jrv.numpy(), trv.numpy(), atol=1e-12)
    g = rng.standard_normal(x.shape)
    y.backward(jn.tensor(g))
    yt.backward(torch.tensor(g))
    for a, t in ((jx, tx), (jw, tw), (jb, tb)):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-10)


def test_batch_norm_bad_input():
    x, c3 = jn.zeros(4, 3, 2, 2), jn.zeros(3)
    with pytest.raises(ValueError, match=r"batch_norm: expected input of shape \(N, C\)"):
        F.batch_norm(jn.zeros(3), c3, c3)
    with pytest.raises(ValueError, match=r"batch_norm: expected weight of shape \(3,\) for input "
                                         r"with 3 channels, got \(4,\)"):
        F.batch_norm(x, c3, c3, weight=jn.ones(4))
    with pytest.raises(ValueError, match=r"batch_norm: expected running_var of shape \(3,\)"):
        F.batch_norm(x, c3, jn.zeros(2))
    with pytest.raises(ValueError, match=r"must be given in evaluation mode"):
        F.batch_norm(x, None, None)
    with pytest.raises(ValueError, match=r"expected more than 1 value per channel when training"):
        F.batch_norm(jn.zeros(1, 3), None, None, training=True)
    with pytest.raises(TypeError, match=r"batch_norm: input is jitnet.float32 but bias is "
                                        r"jitnet.float64"):
        F.batch_norm(x, c3, c3, bias=jn.zeros(3, dtype=jn.float64))
    with pytest.raises(TypeError, match=r"batch_norm: momentum must be a number"):
        F.batch_norm(x, c3, c3, training=True, momentum=None)
