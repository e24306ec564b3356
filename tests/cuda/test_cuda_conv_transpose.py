"""Issue 13's composed ops on CUDA against the CPU (tiny shapes, simulator-friendly):
conv_transpose2d (conv2d's kernels as its adjoint), conv1d, 1-D pooling, interpolate, einsum,
in-place relu."""
import numpy as np
import pytest
from twins import check, rand

import jitnet as jn
import jitnet.nn.functional as F

X = rand(1, 4, 3, 3, seed=1)


@pytest.mark.parametrize("kw", [dict(stride=2, padding=1, output_padding=1),
                                dict(groups=2, dilation=2)])
def test_conv_transpose2d(kw):
    w, b = rand(4, 2, 3, 2, seed=2), rand(2 * kw.get("groups", 1), seed=3)
    check(lambda x, w_, b_: F.conv_transpose2d(x, w_, b_, **kw), X, w, b, rtol=1e-4, atol=1e-5)


def test_conv1d_and_pool1d():
    x = rand(1, 2, 6, seed=4)
    check(lambda t, w_: F.conv1d(t, w_, stride=2, padding=1), x, rand(3, 2, 3, seed=5),
          rtol=1e-4, atol=1e-5)
    check(lambda t, w_: F.conv_transpose1d(t, w_, stride=2), x, rand(2, 1, 3, seed=6),
          rtol=1e-4, atol=1e-5)
    check(lambda t: (F.max_pool1d(t, 2), F.avg_pool1d(t, 3, 1, 1)), x)


@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(size=(4, 5), mode="bilinear"),
                                dict(size=(2, 5), mode="bilinear", align_corners=True)])
def test_interpolate(kw):
    check(lambda x: F.interpolate(x, **kw), X, rtol=1e-5, atol=1e-6)


def test_einsum_and_inplace_relu():
    a, b = rand(2, 3, 3, seed=7), rand(3, 4, seed=8)
    check(lambda x, y: jn.einsum("bii,ik->bk", x, y), a, b, rtol=1e-5, atol=1e-6)
    check(lambda x: F.relu(x * 1.0, inplace=True), a)
    y = jn.tensor(np.array([-1.0, 2.0], dtype=np.float32), device="cuda")
    F.relu_(y)
    np.testing.assert_array_equal(y.cpu().numpy(), [0.0, 2.0])
