"""F.layer_norm / F.group_norm and their modules against PyTorch (float64, state_dict loaded),
gradcheck through the fused kernels, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import requires_torch
from seq_helpers import check_module

import jitnet as jn
import jitnet.nn.functional as F
from jitnet import nn

pytestmark = requires_torch


def _randomise(module):
    import torch

    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, dtype=p.dtype))
    return module


@pytest.mark.parametrize("make, shape", [
    (lambda m: m.LayerNorm((3, 4)), (2, 5, 3, 4)),
    (lambda m: m.LayerNorm(5, elementwise_affine=False), (3, 5)),
    (lambda m: m.LayerNorm(4, eps=1e-3, bias=False), (2, 3, 4)),
    (lambda m: m.GroupNorm(2, 6), (2, 6, 3, 2)),
    (lambda m: m.GroupNorm(3, 3, affine=False), (4, 3, 5)),
    (lambda m: m.GroupNorm(1, 4), (2, 4)),
])
def test_norm_layers_match_torch(rng, make, shape):
    import torch

    x = rng.standard_normal(shape) * 3 + 1
    check_module(_randomise(make(torch.nn)), make(nn), [x], lambda lib, m, t: m(t[0]))


def test_statistics_in_float64():
    # float32 input far from zero: a float32 running sum would lose the variance
    x = (np.random.default_rng(0).standard_normal((4, 1000)) + 1e4).astype(np.float32)
    y = F.layer_norm(jn.tensor(x), (1000,)).numpy()
    x64 = x.astype(np.float64)
    ref = (x64 - x64.mean(1, keepdims=True)) / np.sqrt(x64.var(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y, ref, atol=2e-3)


def test_gradcheck(rng):
    def t(*shape):
        return jn.tensor(rng.standard_normal(shape), requires_grad=True)

    x, w, b = t(3, 2, 4), t(2, 4), t(2, 4)
    assert jn.autograd.gradcheck(lambda *a: F.layer_norm(a[0], (2, 4), a[1], a[2]), (x, w, b))
    x, w, b = t(2, 4, 3), t(4), t(4)
    assert jn.autograd.gradcheck(lambda *a: F.group_norm(a[0], 2, a[1], a[2]), (x, w, b))


def test_bad_input():
    x = jn.randn(2, 3)
    with pytest.raises(ValueError, match=r"Given normalized_shape=\[4\], expected input with "
                                         r"shape \[\*, 4\], but got input of size \[2, 3\]"):
        F.layer_norm(x, (4,))
    with pytest.raises(ValueError, match=r"expected weight of shape \(3,\)"):
        F.layer_norm(x, 3, jn.ones(4))
    with pytest.raises(TypeError, match="expected a floating point input"):
        F.layer_norm(jn.tensor([[1, 2]]), 2)
    with pytest.raises(ValueError, match="divisible by num_groups"):
        F.group_norm(jn.randn(2, 6, 3), 4)
    with pytest.raises(ValueError, match="num_channels \\(6\\) must be divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"expected bias of shape \(6,\)"):
        F.group_norm(jn.randn(2, 6, 3), 3, jn.ones(6), jn.ones(3))
    with pytest.raises(ValueError, match="eps must be a number > 0"):
        F.layer_norm(x, 3, eps=0)
