"""CUDA twins of the issue 19 / 17 changes: PyTorch's advanced-index placement in the
index plan, cumprod and its exact gradient, logsumexp/log_softmax edge rows, amax ties,
setitem on the graph, the new composed ops."""
import math

import numpy as np
from twins import check, rand

import jitnet as jn
import jitnet.nn.functional as F


def test_int_beside_array_index_follows_pytorch_placement():
    x = rand(2, 3, 4, seed=1)
    out = check(lambda t: (t[0, :, [0, 1]], t[[1, 0], 1, 1:3], t[:, [0, 2], 0]), x)
    assert out[0].shape == (3, 2) and out[1].shape == (2, 2) and out[2].shape == (2, 2)

    def write(t):
        y = t * 1.0
        y[0, :, [0, 1]] = jn.ones(3, 2, device=t.device) * 5
        return y

    check(write, x)


def test_cumprod_and_its_gradient_with_zeros():
    x = np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 2.0, 0.0, 3.0], [1.5, -2.0, 3.0, 0.5]])
    check(lambda t: (t.cumprod(1), t.cumprod(0)), x)
    check(lambda t: t.cumprod(0), np.array([[1, 2], [3, 4]], dtype=np.int32), grad=False)


def test_logsumexp_amax_norm_edge_rows():
    x = np.array([[-math.inf, -math.inf, 0.0], [1.0, 3.0, 3.0], [0.0, 0.0, 0.0]])
    check(lambda t: (t.logsumexp(1)[1:], t.amax((0, 1)), t.norm(2, 1), t.norm(math.inf, 1)),
          x, grad=False)
    check(lambda t: (t.amax(1), t.norm(2, 1), t.prod(1)), x[1:])
    big = np.full((2, 3), -1e30)
    out = check(lambda t: (F.log_softmax(t, 1), F.log_softmax(t, 0)), big, grad=False)
    np.testing.assert_allclose(out[0], -math.log(3), rtol=1e-6)


def test_composed_ops_on_cuda():
    x = rand(1, 2, 4, 5, seed=2)
    check(lambda t: (F.pad(t, (2, 1, 1, 0), mode="reflect"), F.unfold(t, 2, padding=1),
                     F.pixel_shuffle(t.reshape(1, 4, 2, 5), 2), t.movedim(1, 3)), x)
    check(lambda a, b: jn.cdist(a, b), rand(3, 4, seed=3), rand(5, 4, seed=4))
