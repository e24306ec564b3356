"""F.interpolate / nn.Upsample (ops/upsample.py, kernels/cpu/upsample.py): values and
gradients against PyTorch in float64 (and the float32 nearest index rule), gradcheck, errors."""
import numpy as np
import pytest
from helpers import assert_matches_torch, requires_torch, t64

import jitnet as jn
import jitnet.nn as nn
import jitnet.nn.functional as F
from jitnet.autograd import gradcheck

CASES = [  # (input shape, kwargs)
    ((2, 3, 4, 5), dict(scale_factor=2, mode="nearest")),
    ((1, 2, 5, 3), dict(size=(7, 8), mode="nearest")),          # non-integer ratios
    ((1, 2, 6, 9), dict(size=(4, 5), mode="nearest")),          # downsampling
    ((1, 2, 5, 3), dict(scale_factor=1.7, mode="nearest")),     # 1/scale, not in/out
    ((1, 2, 5, 3), dict(size=(7, 8), mode="nearest-exact")),
    ((2, 2, 3, 4), dict(scale_factor=2, mode="bilinear")),
    ((2, 2, 3, 4), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((1, 3, 5, 4), dict(size=(3, 7), mode="bilinear")),
    ((1, 3, 5, 4), dict(size=(3, 7), mode="bilinear", align_corners=True)),
    ((1, 1, 4, 4), dict(size=(1, 1), mode="bilinear", align_corners=True)),
    ((1, 2, 4, 5), dict(scale_factor=(1.5, 2.5), mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 5), dict(scale_factor=3, mode="nearest")),           # 1-D
    ((2, 3, 5), dict(size=8, mode="linear")),
    ((2, 3, 5), dict(size=8, mode="linear", align_corners=True)),
    ((1, 2, 6, 4), dict(size=(3, 2), mode="area")),
]


@requires_torch
@pytest.mark.parametrize("shape, kw", CASES)
def test_interpolate_matches_torch(rng, shape, kw):
    import torch

    x = rng.standard_normal(shape)
    assert_matches_torch(lambda a: F.interpolate(a, **kw),
                         lambda a: torch.nn.functional.interpolate(a, **kw), x, atol=1e-12)


@requires_torch
def test_nearest_index_rule_matches_torch_for_many_sizes():
    """PyTorch computes the nearest source index in float32; so does jitnet (bit for bit)."""
    import torch

    for n_in in range(1, 12):
        for n_out in range(1, 30):
            x = np.arange(n_in, dtype=np.float32).reshape(1, 1, n_in)
            want = torch.nn.functional.interpolate(torch.tensor(x), size=n_out).numpy()
            got = F.interpolate(jn.tensor(x), size=n_out).numpy()
            np.testing.assert_array_equal(got, want, err_msg=f"{n_in} -> {n_out}")


@requires_torch
def test_upsample_modules_match_torch(rng):
    import torch

    x = rng.standard_normal((1, 2, 3, 4))
    for mj, mt in ((nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
                   (nn.Upsample(size=(5, 6), mode="bilinear"),
                    torch.nn.Upsample(size=(5, 6), mode="bilinear")),
                   (nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(
                       scale_factor=3)),
                   (nn.UpsamplingBilinear2d(size=(6, 7)), torch.nn.UpsamplingBilinear2d(
                       size=(6, 7)))):
        assert_matches_torch(mj, mt, x, atol=1e-12)
    assert "scale_factor=2.0, mode='nearest'" in repr(nn.Upsample(scale_factor=2))


def test_interpolate_gradcheck(rng):
    x = t64(rng.standard_normal((1, 2, 3, 3)))
    assert gradcheck(lambda a: F.interpolate(a, size=(5, 4), mode="bilinear"), (x,))
    assert gradcheck(lambda a: F.interpolate(a, scale_factor=2), (x,))


def test_interpolate_same_size_is_a_copy():
    x = jn.ones(1, 1, 2, 2)
    y = F.interpolate(x, size=(2, 2), mode="bilinear")
    y.add_(1)
    assert x.numpy().max() == 1


def test_interpolate_bad_input():
    x = jn.zeros(1, 1, 3, 3)
    with pytest.raises(ValueError, match="interpolate: only one of size or scale_factor"):
        F.interpolate(x, size=4, scale_factor=2)
    with pytest.raises(ValueError, match="interpolate: either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners option can only be set with the "
                                         "interpolating modes"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="got 4-D input, but linear mode needs 3-D"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(NotImplementedError, match="mode='bicubic' is not supported"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="mode must be one of"):
        F.interpolate(x, scale_factor=2, mode="cubic")
    with pytest.raises(ValueError, match=r"expected 3-D \(N, C, L\) or 4-D"):
        F.interpolate(jn.zeros(3, 3), scale_factor=2)
    with pytest.raises(ValueError, match=r"size must be an int or 2 ints"):
        F.interpolate(x, size=(2, 2, 2))
    with pytest.raises(ValueError, match=r"scale_factor must be a positive number"):
        F.interpolate(x, scale_factor=-1.0)
    with pytest.raises(ValueError, match=r"output size \(0, 0\)"):
        F.interpolate(x, scale_factor=0.1)
    with pytest.raises(TypeError, match="interpolate: expected a floating point input"):
        F.interpolate(jn.zeros(1, 1, 2, 2, dtype=jn.int64), scale_factor=2)


def test_resample_kernels_refuse_mismatched_tables():
    from jitnet.kernels import cpu as k

    x = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match="resample_fwd: arrays of shapes"):
        k.resample_fwd(x, np.zeros((2, 5), np.int64), np.zeros((1, 5)))
    with pytest.raises(ValueError, match="resample_bwd: arrays of shapes"):
        k.resample_bwd(x, np.zeros((1, 2), np.int64), np.zeros((1, 2), np.int64),
                       np.zeros((1, 4)))
