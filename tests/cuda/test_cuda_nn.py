"""CUDA nn kernels against their CPU twins: conv, pooling, softmax, losses, batch norm, dropout."""
import numpy as np
import pytest
from twins import check, rand

import jitnet as jn
import jitnet.nn.functional as F

X = rand(2, 3, 5, 5, seed=1)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(padding=2, dilation=2),
                                dict(padding="same")])
def test_conv2d(kw):
    w, b = rand(4, 3, 3, 3, seed=2), rand(4, seed=3)
    check(lambda x, w_, b_: F.conv2d(x, w_, b_, **kw), X, w, b, rtol=1e-4, atol=1e-5)


def test_conv2d_batch_chunks_and_empty_batch():
    """A batch the CPU splits into chunks (its conv2d_fwd/bwd) against the CUDA whole-batch
    GEMMs; an empty batch on both."""
    w, b = rand(4, 3, 3, 3, seed=2), rand(4, seed=3)
    check(lambda x, w_, b_: F.conv2d(x, w_, b_, padding=1), rand(6, 3, 5, 5, seed=8), w, b,
          rtol=1e-4, atol=1e-5)
    check(lambda x, w_, b_: F.conv2d(x, w_, b_, padding=1), rand(0, 3, 5, 5, seed=8), w, b)


def test_conv2d_groups_no_bias_and_linear():
    w = rand(4, 1, 2, 3, seed=4)
    check(lambda x, w_: F.conv2d(x[:, :2], w_, stride=(1, 2), groups=2), X, w, rtol=1e-4,
          atol=1e-5)
    check(lambda x, w_, b_: F.linear(x, w_, b_), rand(3, 2, 5, seed=5), rand(4, 5, seed=6),
          rand(4, seed=7), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=1),
                                dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, dilation=2, ceil_mode=True)])
def test_max_pool2d_overlapping_windows(kw):
    check(lambda x: F.max_pool2d(x, **kw), X)
    check(lambda x: F.max_pool2d(x, return_indices=True, **kw)[1], X, grad=False)


def test_max_pool2d_nan_and_ties():
    x = np.ones((1, 1, 4, 4), dtype=np.float32)
    x[0, 0, 1, 1] = np.nan
    check(lambda t: F.max_pool2d(t, 2, 1, return_indices=True), x)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=1, padding=1,
                                     count_include_pad=False),
                                dict(kernel_size=2, stride=1, divisor_override=3),
                                dict(kernel_size=3, stride=2, ceil_mode=True)])
def test_avg_pool2d(kw):
    check(lambda x: F.avg_pool2d(x, **kw), X)


def test_adaptive_avg_pool2d():
    check(lambda x: (F.adaptive_avg_pool2d(x, (2, 3)), F.adaptive_avg_pool2d(x, 1)), X)


@pytest.mark.parametrize("dim", [1, -1, 0])
def test_softmax_and_log_softmax(dim):
    x = rand(3, 4, 5, seed=8) * 5
    check(lambda t: (F.softmax(t, dim), F.log_softmax(t, dim)), x, rtol=1e-4, atol=1e-5)
    check(lambda t: F.softmax(t * 1000, -1), x, rtol=1e-4, atol=1e-5)  # stable for huge logits


@pytest.mark.parametrize("kw", [dict(), dict(reduction="sum"), dict(reduction="none"),
                                dict(label_smoothing=0.2), dict(ignore_index=1),
                                dict(weight=True), dict(weight=True, label_smoothing=0.1)])
def test_cross_entropy(kw):
    kw = dict(kw)
    logits, target = rand(6, 4, seed=9) * 3, np.array([0, 3, 1, 1, 2, 3])
    w = rand(4, seed=10) ** 2 + 0.5 if kw.pop("weight", False) else None

    def fn(x):
        t = jn.tensor(target, device=x.device)
        ww = None if w is None else jn.tensor(w, device=x.device)
        return F.cross_entropy(x, t, weight=ww, **kw)
    check(fn, logits, rtol=1e-5, atol=1e-6)


def test_cross_entropy_spatial_and_nll():
    x = rand(2, 3, 2, 2, seed=11)
    t = np.array([[[0, 2], [1, 1]], [[2, 2], [0, 1]]])
    check(lambda s: F.cross_entropy(s, jn.tensor(t, device=s.device)), x, rtol=1e-5, atol=1e-6)
    check(lambda s: F.nll_loss(F.log_softmax(s, 1), jn.tensor(t, device=s.device),
                               reduction="sum"), x, rtol=1e-5, atol=1e-6)


def test_bad_label_raises_at_the_next_sync():
    x = jn.tensor(rand(2, 3, seed=12), device="cuda", requires_grad=True)
    loss = F.cross_entropy(x, jn.tensor([0, 7], device="cuda"))  # no sync: no error yet
    with pytest.raises(IndexError, match="cross_entropy: target 7 is out of bounds for 3"):
        loss.item()
    assert F.cross_entropy(x, jn.tensor([0, 2], device="cuda")).item() > 0  # queue cleared


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
                                  "binary_cross_entropy_with_logits"])
def test_pointwise_losses(name):
    x, y = rand(3, 4, seed=13), rand(3, 4, seed=14)
    fn = getattr(F, name)
    check(lambda a, b: (fn(a, b), fn(a, b, reduction="sum"), fn(a, b, reduction="none")), x, y,
          rtol=1e-5, atol=1e-6)


def test_binary_cross_entropy_with_weights():
    p = 1 / (1 + np.exp(-rand(3, 4, seed=15)))
    y = (rand(3, 4, seed=16) > 0).astype(np.float32)
    w = np.abs(rand(4, seed=17))
    check(lambda a, b: F.binary_cross_entropy(a, b, weight=jn.tensor(w, device=a.device)), p, y,
          rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(jn.tensor(p * 3, device="cuda"), jn.tensor(y, device="cuda")).item()


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_and_running_statistics(training):
    def fn(x, w, b):
        rm = jn.tensor(np.linspace(-1, 1, 3).astype(np.float32), device=x.device)
        rv = jn.tensor(np.linspace(0.5, 2, 3).astype(np.float32), device=x.device)
        y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.2)
        return y, rm, rv
    check(fn, X, rand(3, seed=18), rand(3, seed=19), rtol=1e-4, atol=1e-5)
    check(lambda x: F.batch_norm(x, None, None, training=True), rand(5, 3, seed=20), rtol=1e-4,
          atol=1e-5)


def test_dropout_draws_the_cpu_mask():
    def fn(x):
        jn.manual_seed(3)
        return F.dropout(x, 0.4), F.dropout2d(x, 0.5)
    out = check(fn, X)
    assert 0 < (out[0] == 0).mean() < 1
