"""max_pool2d, avg_pool2d, adaptive_avg_pool2d (ops/pool.py, kernels/cpu/pool.py): values against
NumPy, gradients by finite differences and against PyTorch, bad input."""
import numpy as np
import pytest
from helpers import requires_torch, t64

import jitnet as jn
import jitnet.nn.functional as F
from jitnet.autograd import gradcheck


def ref_pool(x, kernel, stride, padding, reducer, fill):
    """Pool each window of x padded with ``fill`` (no ceil_mode), by brute force."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = reducer(xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw], axis=(2, 3))
    return out


POOL_CASES = [  # kwargs for both pools (no dilation)
    dict(kernel_size=2),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 1)),
    dict(kernel_size=3, stride=2, padding=1),
]


def _norm(kw):
    kernel = kw["kernel_size"]
    kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
    stride = kw.get("stride", kernel)
    stride = (stride, stride) if isinstance(stride, int) else stride
    pad = kw.get("padding", 0)
    return kernel, stride, (pad, pad) if isinstance(pad, int) else pad


@pytest.mark.parametrize("kw", POOL_CASES)
def test_max_pool2d_values_and_gradcheck(rng, kw):
    x = rng.standard_normal((2, 3, 7, 6))
    y = F.max_pool2d(t64(x, False), **kw)
    np.testing.assert_array_equal(y.numpy(), ref_pool(x, *_norm(kw), np.max, -np.inf))
    assert gradcheck(lambda a: F.max_pool2d(a, **kw), (t64(x),))


@pytest.mark.parametrize("kw", POOL_CASES)
def test_avg_pool2d_values_and_gradcheck(rng, kw):
    x = rng.standard_normal((2, 3, 7, 6))
    y = F.avg_pool2d(t64(x, False), **kw)
    np.testing.assert_allclose(y.numpy(), ref_pool(x, *_norm(kw), np.mean, 0.0), atol=1e-12)
    assert gradcheck(lambda a: F.avg_pool2d(a, **kw), (t64(x),))


def test_max_pool2d_indices_dilation_ceil_mode(rng):
    x = rng.standard_normal((1, 2, 7, 7))
    y, idx = F.max_pool2d(t64(x, False), 3, 2, 1, dilation=2, ceil_mode=True,
                          return_indices=True)
    assert y.shape == idx.shape == (1, 2, 3, 3) and idx.dtype is jn.int64
    flat = x.reshape(1, 2, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, idx.numpy().reshape(1, 2, -1), 2),
                                  y.numpy().reshape(1, 2, -1))
    assert gradcheck(lambda a: F.max_pool2d(a, (2, 3), 2, dilation=(2, 1), ceil_mode=True),
                     (t64(x),))


def test_max_pool2d_overlapping_windows_accumulate_and_nan():
    x = jn.tensor([[[[1.0, 5.0, 2.0], [0.0, 1.0, 0.0], [3.0, 0.0, 4.0]]]], requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()  # 5 wins two windows
    assert x.grad.numpy()[0, 0].tolist() == [[0, 2, 0], [0, 0, 0], [1, 0, 1]]
    y = F.max_pool2d(jn.tensor([[[[1.0, float("nan")], [2.0, 3.0]]]]), 2)
    assert np.isnan(y.item())  # NaN propagates, as in PyTorch


def test_avg_pool2d_options(rng):
    x = rng.standard_normal((1, 2, 5, 5))
    y = F.avg_pool2d(t64(x, False), 3, 2, 1, count_include_pad=False)
    ones = F.avg_pool2d(jn.ones(1, 1, 5, 5, dtype=jn.float64), 3, 2, 1, count_include_pad=False)
    np.testing.assert_allclose(ones.numpy(), 1.0)  # the divisor counts only real pixels
    assert y.shape == (1, 2, 3, 3)
    z = F.avg_pool2d(t64(x, False), 2, divisor_override=3)
    np.testing.assert_allclose(z.numpy(), ref_pool(x, (2, 2), (2, 2), (0, 0), np.sum, 0) / 3)
    assert gradcheck(lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                     (t64(x),))


def test_adaptive_avg_pool2d(rng):
    x = rng.standard_normal((2, 3, 7, 6))
    y = F.adaptive_avg_pool2d(t64(x, False), (3, 4))
    rows, cols = [(0, 3), (2, 5), (4, 7)], [(0, 2), (1, 3), (3, 5), (4, 6)]
    ref = np.array([[x[:, :, a:b, c:d].mean(axis=(2, 3)) for c, d in cols] for a, b in rows])
    np.testing.assert_allclose(y.numpy(), ref.transpose(2, 3, 0, 1), atol=1e-12)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(t64(x, False), 1).numpy(),
                               x.mean(axis=(2, 3), keepdims=True), atol=1e-12)
    assert F.adaptive_avg_pool2d(t64(x, False), (None, 2)).shape == (2, 3, 7, 2)
    assert gradcheck(lambda a: F.adaptive_avg_pool2d(a, (4, 5)), (t64(x),))


def test_unbatched_and_float32_parallel(rng):
    x = rng.standard_normal((3, 6, 6))
    assert F.max_pool2d(t64(x, False), 2).shape == (3, 3, 3)
    big = rng.standard_normal((4, 16, 32, 32)).astype(np.float32)
    xt = jn.tensor(big, requires_grad=True)
    y = F.max_pool2d(xt, 2)
    np.testing.assert_array_equal(y.detach().numpy(),
                                  big.reshape(4, 16, 16, 2, 16, 2).max(axis=(3, 5)))
    y.sum().backward()
    assert xt.grad.numpy().sum() == 4 * 16 * 16 * 16
    a = F.avg_pool2d(xt, 2)
    np.testing.assert_allclose(a.detach().numpy(), big.reshape(4, 16, 16, 2, 16, 2).mean((3, 5)),
                               rtol=1e-6, atol=1e-6)


@requires_torch
@pytest.mark.parametrize("name, kw", [
    ("max_pool2d", dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)),
    ("max_pool2d", dict(kernel_size=(2, 3), stride=1)),
    ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False,
                        ceil_mode=True)),
    ("adaptive_avg_pool2d", dict(output_size=(5, 3))),
])
def test_pools_match_torch(rng, name, kw):
    torch = pytest.importorskip("torch")
    from helpers import assert_matches_torch

    x = rng.standard_normal((2, 3, 8, 7))
    assert_matches_torch(lambda a: getattr(F, name)(a, **kw),
                         lambda a: getattr(torch.nn.functional, name)(a, **kw), x)


@pytest.mark.parametrize("fn, kwargs, exc, match", [
    ("max_pool2d", dict(kernel_size=3, padding=2), ValueError,
     r"max_pool2d: padding should be at most half of the effective kernel size"),
    ("avg_pool2d", dict(kernel_size=2, padding=2), ValueError,
     r"avg_pool2d: padding should be at most half"),
    ("max_pool2d", dict(kernel_size=0), ValueError, r"max_pool2d: kernel_size must be >= 1"),
    ("avg_pool2d", dict(kernel_size=2, stride=0), ValueError, r"avg_pool2d: stride must be >= 1"),
    ("max_pool2d", dict(kernel_size=2, dilation=0), ValueError, r"dilation must be >= 1"),
    ("max_pool2d", dict(kernel_size=2, padding=-1), ValueError, r"padding must be >= 0"),
    ("max_pool2d", dict(kernel_size=9), ValueError, r"too small for kernel_size=\(9, 9\)"),
    ("avg_pool2d", dict(kernel_size=2, divisor_override=0), ValueError, r"divisor_override"),
    ("adaptive_avg_pool2d", dict(output_size=0), ValueError, r"output_size must be >= 1"),
    ("max_pool2d", dict(kernel_size=2.0), TypeError, r"kernel_size must be an int or a pair"),
])
def test_pool_bad_arguments(fn, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        getattr(F, fn)(jn.zeros(1, 2, 6, 6), **kwargs)


def test_pool_bad_rank_and_dtype():
    with pytest.raises(ValueError, match=r"max_pool2d: expected 3-D .* got shape \(6, 6\)"):
        F.max_pool2d(jn.zeros(6, 6), 2)
    with pytest.raises(ValueError, match=r"avg_pool2d: expected 3-D .* got shape \(1, 1, 1, 6"):
        F.avg_pool2d(jn.zeros(1, 1, 1, 6, 6), 2)
    with pytest.raises(TypeError, match=r"adaptive_avg_pool2d: expected a floating point input"):
        F.adaptive_avg_pool2d(jn.zeros(1, 6, 6, dtype=jn.int64), 2)


@pytest.mark.parametrize("shape, kw", [
    ((2, 2, 1, 1), dict(kernel_size=2, padding=1, dilation=2)),   # issue 19, case 1
    ((1, 2, 1, 3), dict(kernel_size=(2, 1), stride=1, padding=(1, 0), dilation=(2, 1))),
])
def test_max_pool_window_over_padding_only(shape, kw):
    """A dilated window can miss every input pixel: -inf out, index -1, zero gradient,
    never a read or write outside the buffers (it once corrupted the heap)."""
    x = jn.tensor(np.arange(np.prod(shape), dtype=np.float32).reshape(shape) + 3,
                  requires_grad=True)
    y, idx = F.max_pool2d(x, return_indices=True, **kw)
    yv, iv = y.detach().numpy(), idx.numpy()
    empty = iv < 0
    assert empty.any()
    assert np.all(yv[empty] == -np.inf)
    assert np.all(iv[~empty] < shape[-2] * shape[-1])
    y.backward(jn.ones_like(y))
    g = x.grad.numpy()
    assert np.isfinite(g).all() and g.sum() == (~empty).sum()


@requires_torch
def test_max_pool_window_over_padding_only_vs_torch():
    import torch
    xn = np.arange(4, dtype=np.float32).reshape(2, 2, 1, 1) + 3
    y = F.max_pool2d(jn.tensor(xn), 2, padding=1, dilation=2).numpy()
    yt = torch.nn.functional.max_pool2d(torch.tensor(xn), 2, padding=1, dilation=2).numpy()
    np.testing.assert_array_equal(y, yt)
