"""The rest of jitnet.nn.functional: dropout / dropout2d (kernels/cpu/dropout.py), embedding,
one_hot, pad, flatten, and the names the module exports."""
import numpy as np
import pytest
from helpers import requires_torch, t64

import jitnet as jn
import jitnet.nn.functional as F
from jitnet.autograd import gradcheck


def test_dropout_statistics_scaling_and_backward():
    jn.manual_seed(0)
    x = jn.ones(400, 250, requires_grad=True)
    y = F.dropout(x, 0.3)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy() != 0, kept)  # same mask forward and backward


def test_dropout_is_reproducible_and_identity_when_not_training():
    jn.manual_seed(7)
    a = F.dropout(jn.ones(1000), 0.5)
    jn.manual_seed(7)
    b = F.dropout(jn.ones(1000), 0.5)
    c = F.dropout(jn.ones(1000), 0.5)
    assert np.array_equal(a.numpy(), b.numpy()) and not np.array_equal(a.numpy(), c.numpy())
    x = jn.ones(5)
    assert F.dropout(x, 0.5, training=False) is x and F.dropout(x, 0.0) is x
    assert F.dropout(x, 1.0).tolist() == [0.0] * 5


def test_dropout2d_drops_whole_channels(rng):
    jn.manual_seed(3)
    x = t64(rng.standard_normal((8, 16, 3, 3)))
    y = F.dropout2d(x, 0.5).detach().numpy()
    xs = x.detach().numpy()
    for n in range(8):
        for c in range(16):
            plane = y[n, c]
            assert (plane == 0).all() or np.allclose(plane, 2 * xs[n, c])
    assert gradcheck(lambda a: (jn.manual_seed(1), F.dropout2d(a, 0.4))[1],
                     (t64(rng.standard_normal((2, 3, 2, 2))),))


def test_dropout_bad_input():
    with pytest.raises(ValueError, match=r"dropout: dropout probability has to be between 0 and "
                                         r"1, but got 1.5"):
        F.dropout(jn.ones(3), 1.5)
    with pytest.raises(ValueError, match=r"dropout2d: dropout probability .* got -0.1"):
        F.dropout2d(jn.ones(1, 2, 3), -0.1)
    with pytest.raises(ValueError, match=r"dropout2d: expected 3-D \(N, C, L\) or 4-D"):
        F.dropout2d(jn.ones(3, 3), 0.5)
    with pytest.raises(NotImplementedError, match=r"dropout: inplace=True is not supported"):
        F.dropout(jn.ones(3), inplace=True)


def test_embedding_and_padding_idx(rng):
    w = rng.standard_normal((6, 3))
    idx = jn.tensor([[1, 5], [1, 0]])
    out = F.embedding(idx, t64(w, False))
    np.testing.assert_array_equal(out.numpy(), w[[[1, 5], [1, 0]]])
    wt = t64(w)
    F.embedding(idx, wt, padding_idx=1).sum().backward()
    assert wt.grad.numpy()[:, 0].tolist() == [1, 0, 0, 0, 0, 1]  # row 1 is padding: no grad
    assert gradcheck(lambda a: F.embedding(idx, a), (t64(w),))
    with pytest.raises(IndexError, match=r"embedding: index 6 is out of range \[0, 6\)"):
        F.embedding(jn.tensor([6]), wt)
    with pytest.raises(TypeError, match=r"embedding: expected integer indices"):
        F.embedding(jn.tensor([1.0]), wt)
    with pytest.raises(NotImplementedError, match=r"embedding: max_norm=1.0 is not supported"):
        F.embedding(idx, wt, max_norm=1.0)


def test_one_hot():
    y = F.one_hot(jn.tensor([[0, 2], [1, 1]]))
    assert y.dtype is jn.int64 and y.shape == (2, 2, 3)
    assert y.tolist() == [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 1, 0]]]
    assert F.one_hot(jn.tensor([1]), num_classes=4).tolist() == [[0, 1, 0, 0]]
    with pytest.raises(IndexError, match=r"one_hot: class values must be smaller than "
                                         r"num_classes \(2\)"):
        F.one_hot(jn.tensor([2]), 2)
    with pytest.raises(IndexError, match=r"one_hot: class values must be non-negative"):
        F.one_hot(jn.tensor([-1]), 3)


def test_pad_constant_and_crop(rng):
    x = rng.standard_normal((2, 3, 4))
    y = F.pad(t64(x, False), (1, 2, 0, 1), value=-1.0)
    np.testing.assert_array_equal(y.numpy(),
                                  np.pad(x, ((0, 0), (0, 1), (1, 2)), constant_values=-1.0))
    z = F.pad(t64(x, False), (-1, 1))  # negative amounts crop
    np.testing.assert_array_equal(z.numpy(), np.pad(x[..., 1:], ((0, 0), (0, 0), (0, 1))))
    assert gradcheck(lambda a: F.pad(a, (2, -1, 1, 1)), (t64(x),))
    with pytest.raises(ValueError, match=r"pad: unknown padding mode 'mirror'"):
        F.pad(t64(x), (1, 1), mode="mirror")  # reflect & co: tests/test_issue19.py
    with pytest.raises(ValueError, match=r"pad: pad must be an even-length sequence"):
        F.pad(t64(x), (1, 1, 1))
    with pytest.raises(ValueError, match=r"pad: padding of length 8 is too long"):
        F.pad(t64(x), (1,) * 8)


def test_flatten_and_exports():
    x = jn.zeros(2, 3, 4, 5)
    assert F.flatten(x).shape == (120,) and F.flatten(x, 1).shape == (2, 60)
    for name in F.__all__:
        assert callable(getattr(F, name)), name


@requires_torch
def test_pad_and_embedding_match_torch(rng):
    torch = pytest.importorskip("torch")
    from helpers import assert_matches_torch

    x = rng.standard_normal((2, 3, 4))
    assert_matches_torch(lambda a: F.pad(a, (1, 2, -1, 1), value=0.5),
                         lambda a: torch.nn.functional.pad(a, (1, 2, -1, 1), value=0.5), x)
    w, idx = rng.standard_normal((5, 2)), np.array([[0, 4, 4], [2, 1, 0]])
    assert_matches_torch(lambda a: F.embedding(jn.tensor(idx), a, padding_idx=4),
                         lambda a: torch.nn.functional.embedding(torch.tensor(idx), a,
                                                                 padding_idx=4), w)
