"""Issue 17's math surface in the reduction / shape / nn-helper families: prod, cumprod, norm,
logsumexp, F.normalize, F.one_hot, F.cosine_similarity, cdist, F.kl_div, F.softmin,
F.unfold/F.fold, pixel_shuffle/PixelShuffle.  Each: values vs PyTorch, a float64
gradcheck, a bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_matches_torch, requires_torch, t64

import jitnet as jn
import jitnet.nn as nn
import jitnet.nn.functional as F
from jitnet.autograd import gradcheck


@pytest.fixture
def a(rng):
    return rng.standard_normal((3, 4))


# ---------------------------------------------------------------- prod, cumprod

def test_prod_values_gradients_and_zeros():
    x = jn.tensor([[1.0, 2.0, 3.0], [0.0, 4.0, 5.0]])
    assert x.prod().item() == 0.0
    assert x.prod(1).tolist() == [6.0, 0.0]
    assert tuple(x.prod(0, keepdim=True).shape) == (1, 3)
    assert jn.prod(jn.tensor([2, 3]), dtype=jn.float64).dtype is jn.float64
    for values in ([[1.5, -2.0, 3.0], [0.5, 4.0, 1.0]],   # no zero
                   [[0.0, 2.0, 3.0], [1.0, 0.0, 0.0]]):   # one zero / two zeros per row
        v = t64(values)
        assert gradcheck(lambda t: t.prod(1), (v,))
        assert gradcheck(lambda t: t.prod(), (v,))
    with pytest.raises(TypeError, match="prod: dim must be an int"):
        x.prod((0, 1))


def test_cumprod_values_gradients_and_zeros(rng):
    x = jn.tensor([[2.0, 0.0, 3.0], [1.0, 2.0, 3.0]])
    assert x.cumprod(1).tolist() == [[2.0, 0.0, 0.0], [1.0, 2.0, 6.0]]
    assert jn.cumprod(jn.tensor([2, 3], dtype=jn.int32), 0).dtype is jn.int64
    assert jn.cumprod(jn.tensor(3.0), 0).item() == 3.0
    for values in (rng.standard_normal((3, 4)), [[2.0, 0.0, 3.0, 4.0], [0.0, 2.0, 0.0, 3.0]]):
        v = t64(values)
        assert gradcheck(lambda t: t.cumprod(1), (v,))
        assert gradcheck(lambda t: t.cumprod(0), (v,))
    with pytest.raises(IndexError, match="cumprod: Dimension out of range"):
        x.cumprod(2)


# ---------------------------------------------------------------- norm, logsumexp

@requires_torch
@pytest.mark.parametrize("p", ["fro", 1, 2, 3, math.inf, -math.inf])
def test_norm_matches_torch(a, p):
    for dim, keepdim in ((None, False), (1, True), ((0, 1), False)):
        def fn(t, dim=dim, keepdim=keepdim):
            return t.norm(p, dim, keepdim)

        assert_matches_torch(fn, fn, a)


def test_norm_gradcheck_and_errors(a):
    for p in ("fro", 1, 3, math.inf, -math.inf):
        assert gradcheck(lambda t, p=p: jn.norm(t, p, 1), (t64(a),))
    assert jn.norm(jn.tensor([3.0, 0.0, -4.0]), 0).item() == 2.0
    with pytest.raises(RuntimeError, match="norm: Expected a floating point"):
        jn.norm(jn.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="norm: p='fro' is a matrix norm"):
        jn.norm(jn.ones(2, 2, 2), "fro", (0, 1, 2))  # found by the long fuzz run
    with pytest.raises(NotImplementedError, match="norm: p='nuc' is not supported"):
        jn.norm(jn.ones(2, 2), "nuc")
    with pytest.raises(RuntimeError, match="norm: cannot compute the inf norm over an empty"):
        jn.zeros(0, 3).norm(math.inf, 0)


@requires_torch
def test_logsumexp_matches_torch(a):
    assert_matches_torch(lambda t: jn.logsumexp(t, 1), lambda t: t.logsumexp(1), a)
    assert_matches_torch(lambda t: t.logsumexp((0, 1), keepdim=True),
                         lambda t: t.logsumexp((0, 1), keepdim=True), a)
    assert gradcheck(lambda t: t.logsumexp(0), (t64(a * 50),))  # stable for big logits
    with pytest.raises(IndexError, match="logsumexp: Dimension out of range"):
        jn.logsumexp(jn.ones(2), 1)


# ---------------------------------------------------------------- normalize, cosine, cdist

@requires_torch
def test_normalize_and_cosine_similarity_match_torch(a, rng):
    import torch.nn.functional as TF

    b = rng.standard_normal((3, 4))
    assert_matches_torch(lambda t: F.normalize(t), lambda t: TF.normalize(t), a)
    assert_matches_torch(lambda t: F.normalize(t, p=1, dim=0), lambda t: TF.normalize(t, 1, 0),
                         a)
    assert_matches_torch(lambda s, t: F.cosine_similarity(s, t),
                         lambda s, t: TF.cosine_similarity(s, t), a, b)
    assert_matches_torch(lambda s, t: F.cosine_similarity(s, t[:1], dim=1),
                         lambda s, t: TF.cosine_similarity(s, t[:1], dim=1), a, b)
    assert F.normalize(jn.zeros(2, 3)).tolist() == [[0.0] * 3] * 2  # eps keeps it finite


def test_normalize_and_cosine_gradcheck_and_errors(a, rng):
    b = rng.standard_normal((3, 4))
    assert gradcheck(lambda t: F.normalize(t, dim=1), (t64(a),))
    assert gradcheck(lambda s, t: F.cosine_similarity(s, t, dim=0), (t64(a), t64(b)))
    with pytest.raises(ValueError, match="cosine_similarity: shapes"):
        F.cosine_similarity(jn.ones(3, 4), jn.ones(2, 4))
    with pytest.raises(TypeError, match="normalize: input must be a Tensor"):
        F.normalize([1.0, 2.0])


@requires_torch
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, math.inf])
def test_cdist_matches_torch(rng, p):
    import torch

    x1, x2 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    assert_matches_torch(lambda s, t: jn.cdist(s, t, p), lambda s, t: torch.cdist(s, t, p),
                         x1, x2)


def test_cdist_gradcheck_coincident_points_and_errors(rng):
    x = rng.standard_normal((3, 2))
    assert gradcheck(lambda s, t: jn.cdist(s, t), (t64(x), t64(rng.standard_normal((4, 2)))))
    s = t64(x)
    jn.cdist(s, jn.tensor(x)).sum().backward()  # zero distances: finite (0) gradient
    assert np.isfinite(s.grad.numpy()).all()
    with pytest.raises(RuntimeError, match="cdist: X1 and X2 must have the same number of"):
        jn.cdist(jn.ones(3, 2), jn.ones(3, 4))
    with pytest.raises(RuntimeError, match="cdist: only supports at least 2D tensors"):
        jn.cdist(jn.ones(3), jn.ones(3, 3))


# ---------------------------------------------------------------- kl_div, softmin, one_hot

@requires_torch
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(rng, reduction, log_target):
    import torch.nn.functional as TF

    logp = np.log(rng.dirichlet(np.ones(4), 3))
    q = rng.dirichlet(np.ones(4), 3)
    target = np.log(q) if log_target else q
    assert_matches_torch(lambda s, t: F.kl_div(s, t, reduction=reduction, log_target=log_target),
                         lambda s, t: TF.kl_div(s, t, reduction=reduction,
                                                log_target=log_target),
                         logp, target)


def test_kl_div_zero_target_gradcheck_and_errors(rng):
    logp = t64(np.log(rng.dirichlet(np.ones(3), 2)))
    target = jn.tensor([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]], dtype=jn.float64)
    out = F.kl_div(logp, target, reduction="sum")
    assert np.isfinite(out.item())
    assert gradcheck(lambda s: F.kl_div(s, target, reduction="batchmean"), (logp,))
    with pytest.raises(ValueError, match="kl_div: 'avg' is not a valid value for reduction"):
        F.kl_div(logp, target, reduction="avg")
    with pytest.raises(NotImplementedError, match="kl_div: size_average= and reduce="):
        F.kl_div(logp, target, size_average=True)


@requires_torch
def test_softmin_matches_torch(a):
    import torch.nn.functional as TF

    assert_matches_torch(lambda t: F.softmin(t, 1), lambda t: TF.softmin(t, 1), a)
    assert gradcheck(lambda t: F.softmin(t, 0), (t64(a),))
    with pytest.raises(TypeError, match="softmin: input must be a Tensor"):
        F.softmin([1.0], 0)


def test_one_hot_values_and_errors():
    out = F.one_hot(jn.tensor([0, 2, 1]), 4)
    assert out.dtype is jn.int64
    assert out.tolist() == [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]]
    assert tuple(F.one_hot(jn.tensor([[1], [3]])).shape) == (2, 1, 4)
    with pytest.raises(IndexError, match="one_hot: class values must be smaller"):
        F.one_hot(jn.tensor([3]), 2)


# ---------------------------------------------------------------- unfold, fold, pixel shuffle

@requires_torch
@pytest.mark.parametrize("kw", [dict(kernel_size=2),
                                dict(kernel_size=(2, 3), dilation=(1, 2), padding=1,
                                     stride=(2, 1))])
def test_unfold_fold_match_torch(rng, kw):
    import torch.nn.functional as TF

    x = rng.standard_normal((2, 3, 5, 6))
    assert_matches_torch(lambda t: F.unfold(t, **kw), lambda t: TF.unfold(t, **kw), x)
    cols = F.unfold(jn.tensor(x), **kw).numpy()
    assert_matches_torch(lambda t: F.fold(t, (5, 6), **kw), lambda t: TF.fold(t, (5, 6), **kw),
                         cols)
    assert tuple(F.unfold(jn.tensor(x[0]), **kw).shape) == cols.shape[1:]  # unbatched


def test_unfold_fold_gradcheck_and_errors(rng):
    x = t64(rng.standard_normal((1, 2, 4, 4)))
    assert gradcheck(lambda t: F.unfold(t, 3, padding=1, stride=2), (x,))
    cols = t64(rng.standard_normal((1, 8, 9)))
    assert gradcheck(lambda t: F.fold(t, (4, 4), 2, padding=1, stride=2), (cols,))
    with pytest.raises(RuntimeError, match="unfold: the kernel"):
        F.unfold(jn.ones(1, 1, 2, 2), 3)
    with pytest.raises(RuntimeError, match=r"fold: given output_size=\(4, 4\).*number of blocks 9"):
        F.fold(jn.ones(1, 8, 5), (4, 4), 2, padding=1, stride=2)
    with pytest.raises(RuntimeError, match="unfold: expected a 3-D"):
        F.unfold(jn.ones(4, 4), 2)


@requires_torch
def test_pixel_shuffle_matches_torch(rng):
    import torch.nn.functional as TF

    y = rng.standard_normal((2, 8, 3, 3))
    assert_matches_torch(lambda t: F.pixel_shuffle(t, 2), lambda t: TF.pixel_shuffle(t, 2), y)
    z = rng.standard_normal((2, 2, 4, 6))
    assert_matches_torch(lambda t: F.pixel_unshuffle(t, 2), lambda t: TF.pixel_unshuffle(t, 2),
                         z)


def test_pixel_shuffle_layers_roundtrip_gradcheck_and_errors(rng):
    y = rng.standard_normal((1, 4, 2, 3))
    up = nn.PixelShuffle(2)(jn.tensor(y))
    assert tuple(up.shape) == (1, 1, 4, 6)
    np.testing.assert_array_equal(nn.PixelUnshuffle(2)(up).numpy(), y)
    assert gradcheck(lambda t: F.pixel_shuffle(t, 2), (t64(y),))
    assert repr(nn.PixelShuffle(3)) == "PixelShuffle(upscale_factor=3)"
    with pytest.raises(RuntimeError, match="pixel_shuffle: expects its input's 'channel'"):
        F.pixel_shuffle(jn.ones(1, 3, 2, 2), 2)
    with pytest.raises(ValueError, match="pixel_unshuffle: downscale_factor must be a positive"):
        F.pixel_unshuffle(jn.ones(1, 1, 2, 2), 0)
