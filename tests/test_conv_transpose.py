"""conv_transpose2d / ConvTranspose2d (ops/conv_transpose.py: conv2d's kernels as its adjoint)
and the 1-D layers (ops/nn1d.py): forward and every gradient against PyTorch in float64 with
the PyTorch layer's state_dict loaded, gradcheck, the adjoint identity, bad input."""
import numpy as np
import pytest
from helpers import assert_matches_torch, requires_torch, t64

import jitnet as jn
import jitnet.nn as nn
import jitnet.nn.functional as F
from jitnet.autograd import gradcheck

CASES = [  # (x shape, C_out, kernel, stride, padding, output_padding, groups, dilation)
    ((2, 4, 3, 4), 3, (3, 2), (2, 1), (1, 0), (1, 0), 1, 1),  # stride, padding, output_padding
    ((1, 4, 3, 3), 6, 3, 1, 1, 0, 2, 2),                      # groups, dilation
    ((2, 2, 2, 3), 2, 2, 3, 0, (2, 1), 1, (1, 3)),             # output_padding < dilation rule
]


def _torch_layer(torch, xs, c_out, kernel, stride, padding, out_pad, groups, dilation, bias):
    torch.manual_seed(0)
    return torch.nn.ConvTranspose2d(xs[1], c_out, kernel, stride, padding, out_pad, groups,
                                    bias, dilation).double()


def _load(layer, ref):
    layer.load_state_dict({k: jn.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    return layer


@requires_torch
@pytest.mark.parametrize("xs, c_out, kernel, stride, padding, out_pad, groups, dilation", CASES)
def test_conv_transpose2d_layer_matches_torch(rng, xs, c_out, kernel, stride, padding, out_pad,
                                              groups, dilation):
    import torch

    for bias in (True, False):
        ref = _torch_layer(torch, xs, c_out, kernel, stride, padding, out_pad, groups, dilation,
                           bias)
        layer = _load(nn.ConvTranspose2d(xs[1], c_out, kernel, stride, padding, out_pad, groups,
                                         bias, dilation, dtype=jn.float64), ref)
        assert set(layer.state_dict()) == set(ref.state_dict())
        x = rng.standard_normal(xs)
        xj, xt = t64(x), torch.tensor(x, requires_grad=True)
        yj, yt = layer(xj), ref(xt)
        assert tuple(yj.shape) == tuple(yt.shape)
        np.testing.assert_allclose(yj.detach().numpy(), yt.detach().numpy(), atol=1e-12)
        w = rng.standard_normal(tuple(yt.shape))
        (yj * jn.tensor(w)).sum().backward()
        (yt * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(xj.grad.numpy(), xt.grad.numpy(), atol=1e-12)
        for name, p in ref.named_parameters():
            np.testing.assert_allclose(getattr(layer, name).grad.numpy(), p.grad.numpy(),
                                       atol=1e-12, err_msg=name)


@pytest.mark.parametrize("xs, c_out, kernel, stride, padding, out_pad, groups, dilation",
                         CASES[:2])
def test_conv_transpose2d_gradcheck(rng, xs, c_out, kernel, stride, padding, out_pad, groups,
                                    dilation):
    kk = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = rng.standard_normal((1,) + xs[1:])
    w = rng.standard_normal((xs[1], c_out // groups) + kk)
    b = rng.standard_normal(c_out)

    def fn(x_, w_, b_):
        return F.conv_transpose2d(x_, w_, b_, stride, padding, out_pad, groups, dilation)

    assert gradcheck(fn, (t64(x), t64(w), t64(b)))


def test_conv_transpose2d_is_the_adjoint_of_conv2d(rng):
    """<conv2d(u), v> == <u, conv_transpose2d(v)> for the same weight and geometry."""
    w = rng.standard_normal((4, 3, 3, 3))
    u, v = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((2, 4, 3, 3))
    cu = F.conv2d(t64(u, False), t64(w, False), stride=2, padding=1)
    tv = F.conv_transpose2d(t64(v, False), t64(w, False), stride=2, padding=1, output_padding=0)
    assert tuple(tv.shape) == (2, 3, 5, 5)
    assert tuple(cu.shape) == v.shape
    np.testing.assert_allclose((cu.numpy() * v).sum(), (u * tv.numpy()).sum())


@requires_torch
def test_conv_transpose2d_unbatched_and_output_size(rng):
    import torch

    ref = _torch_layer(torch, (1, 2), 3, 3, 2, 1, 0, 1, 1, True)
    layer = _load(nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, dtype=jn.float64), ref)
    x = rng.standard_normal((2, 4, 5))
    y = layer(t64(x, False))
    np.testing.assert_allclose(y.detach().numpy(), ref(torch.tensor(x)).detach().numpy(),
                               atol=1e-12)
    for size in ((8, 10), (2, 3, 8, 10), (7, 9)):
        yj = layer(t64(x[None], False), output_size=size)
        yt = ref(torch.tensor(x[None]), output_size=size)
        np.testing.assert_allclose(yj.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: requested an output size of \[9, 9\]"
                                         r", but valid sizes range from 7 to 8"):
        layer(t64(x[None], False), output_size=(9, 9))


@requires_torch
def test_conv_transpose2d_init_matches_torch_ranges():
    layer = nn.ConvTranspose2d(6, 4, 3, groups=2)
    assert tuple(layer.weight.shape) == (6, 2, 3, 3) and tuple(layer.bias.shape) == (4,)
    bound = 1 / np.sqrt(2 * 9)  # fan_in = (C_out/groups) * kH * kW, as PyTorch
    assert np.abs(layer.weight.detach().numpy()).max() <= bound
    assert np.abs(layer.bias.detach().numpy()).max() <= bound
    assert "output_padding" not in repr(layer) and "groups=2" in repr(layer)


def test_conv_transpose2d_bad_input():
    x, w = jn.zeros(1, 4, 3, 3), jn.zeros(4, 2, 3, 3)
    with pytest.raises(ValueError, match=r"conv_transpose2d: output padding must be smaller than "
                                         r"either stride or dilation"):
        F.conv_transpose2d(x, w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="output padding must be smaller"):
        F.conv_transpose2d(x, w, stride=1, dilation=1, output_padding=1)
    with pytest.raises(ValueError, match="output padding must be smaller"):
        nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=(0, 3))
    with pytest.raises(ValueError, match=r"conv_transpose2d: expected 3-D \(C, H, W\) or 4-D"):
        F.conv_transpose2d(jn.zeros(4, 3), w)
    with pytest.raises(ValueError, match=r"expected 4-D weight \(C_in, C_out/groups, kH, kW\)"):
        F.conv_transpose2d(x, jn.zeros(4, 2, 3))
    with pytest.raises(ValueError, match=r"weight of size \(4, 2, 3, 3\) expects input with 4 "
                                         r"channels, but input of shape \(1, 3, 3, 3\) has 3"):
        F.conv_transpose2d(jn.zeros(1, 3, 3, 3), w)
    with pytest.raises(ValueError, match=r"in channels \(4\) must be divisible by groups \(3\)"):
        F.conv_transpose2d(x, w, groups=3)
    with pytest.raises(ValueError, match=r"expected bias of shape \(4,\)"):
        F.conv_transpose2d(x, w, jn.zeros(2), groups=2)
    with pytest.raises(ValueError, match=r"output size \(-1 x -1\) is too small"):
        F.conv_transpose2d(x, w, padding=3)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: out_channels \(3\) must be divisible"):
        nn.ConvTranspose2d(4, 3, 3, groups=2)
    with pytest.raises(TypeError, match="conv_transpose2d: input is jitnet.float32 but weight"):
        F.conv_transpose2d(x, w.double())
    with pytest.raises(NotImplementedError, match="padding_mode='reflect'"):
        nn.ConvTranspose2d(4, 2, 3, padding_mode="reflect")


# ------------------------------------------------------------------ 1-D


@requires_torch
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_conv1d_and_conv_transpose1d_layers_match_torch(rng):
    import torch

    torch.manual_seed(0)
    for ref, make in (
        (torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2),
         lambda: nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2)),
        (torch.nn.Conv1d(3, 2, 4, padding="same"), lambda: nn.Conv1d(3, 2, 4, padding="same")),
        (torch.nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
         lambda: nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)),
    ):
        ref = ref.double()
        layer = _load(make().double(), ref)
        x = rng.standard_normal((2, ref.in_channels, 9))
        xj, xt = t64(x), torch.tensor(x, requires_grad=True)
        yj, yt = layer(xj), ref(xt)
        np.testing.assert_allclose(yj.detach().numpy(), yt.detach().numpy(), atol=1e-12)
        w = rng.standard_normal(tuple(yt.shape))
        (yj * jn.tensor(w)).sum().backward()
        (yt * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(xj.grad.numpy(), xt.grad.numpy(), atol=1e-12)
        for name, p in ref.named_parameters():
            np.testing.assert_allclose(getattr(layer, name).grad.numpy(), p.grad.numpy(),
                                       atol=1e-12, err_msg=name)
        yu = layer(t64(x[0], False))  # unbatched (C, L)
        np.testing.assert_allclose(yu.detach().numpy(), yt.detach().numpy()[0], atol=1e-12)


@requires_torch
def test_pool1d_matches_torch(rng):
    import torch

    x = rng.standard_normal((2, 3, 11))
    assert_matches_torch(lambda a: F.max_pool1d(a, 3, 2, 1, 2, ceil_mode=True),
                         lambda a: torch.nn.functional.max_pool1d(a, 3, 2, 1, 2, ceil_mode=True),
                         x)
    assert_matches_torch(lambda a: nn.AvgPool1d(4, 3, 2, count_include_pad=False)(a),
                         lambda a: torch.nn.AvgPool1d(4, 3, 2, count_include_pad=False)(a), x)
    assert_matches_torch(lambda a: nn.MaxPool1d(2)(a), lambda a: torch.nn.MaxPool1d(2)(a), x[0])
    y, idx = F.max_pool1d(t64(x, False), 3, return_indices=True)
    _, tidx = torch.nn.functional.max_pool1d(torch.tensor(x), 3, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


def test_1d_bad_input():
    with pytest.raises(ValueError, match=r"conv1d: expected 2-D \(C, L\) or 3-D \(N, C, L\)"):
        F.conv1d(jn.zeros(1, 2, 3, 4), jn.zeros(2, 2, 3))
    with pytest.raises(ValueError, match=r"conv1d: expected 3-D weight"):
        F.conv1d(jn.zeros(1, 2, 5), jn.zeros(2, 2, 3, 3))
    with pytest.raises(ValueError, match=r"conv1d: given groups=2, weight of size \(2, 2, 3\)"):
        F.conv1d(jn.zeros(1, 2, 5), jn.zeros(2, 2, 3), groups=2)
    with pytest.raises(TypeError, match=r"conv1d: stride must be an int or a 1-tuple"):
        F.conv1d(jn.zeros(1, 2, 5), jn.zeros(2, 2, 3), stride=(1, 1))
    with pytest.raises(ValueError, match=r"conv1d: padding must be an int, 'valid' or 'same' "
                                         r"\(stride 1 only\), got padding='same' with stride=2"):
        F.conv1d(jn.zeros(1, 2, 5), jn.zeros(2, 2, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match=r"conv_transpose1d: output padding must be smaller"):
        F.conv_transpose1d(jn.zeros(1, 2, 5), jn.zeros(2, 2, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"max_pool1d: expected 2-D \(C, L\) or 3-D"):
        F.max_pool1d(jn.zeros(1, 1, 2, 5), 2)
    with pytest.raises(ValueError, match=r"avg_pool1d: padding should be at most half"):
        F.avg_pool1d(jn.zeros(1, 2, 5), 2, padding=2)
    with pytest.raises(ValueError, match=r"Conv1d: in_channels \(3\) must be divisible by groups"):
        nn.Conv1d(3, 4, 3, groups=2)


@pytest.mark.parametrize("n, c, size, o, groups, stride", [
    (8, 16, 24, 16, 1, 2),  # threads' image ranges, chunks of several images and of one
    (4, 16, 24, 16, 2, 1),  # one image per chunk (its cols exceed a chunk), groups
    (6, 16, 25, 16, 1, 2),  # odd size at stride 2: phase planes padded with zeros
    (3, 16, 24, 16, 1, 1),  # too few images to share: the whole-batch composition
    (2, 4, 5, 6, 1, 1),     # one task
])
def test_conv2d_fwd_weight_gradient_of_an_upstream(rng, n, c, size, o, groups, stride):
    """conv2d_fwd(x, w, g, wgrad_of=G) (the transposed convolution's backward) returns the
    forward, the weight gradient conv2d_bwd gives for upstream G and x's channel sums, on
    every path."""
    from jitnet.kernels.cpu import conv
    from jitnet.ops._nn_args import window2d

    out = (size + 2 - 3) // stride + 1
    g = window2d((n, c, size, size), (3, 3), (stride, stride), (1, 1), (1, 1), (out, out),
                 groups)
    x = rng.standard_normal((n, c, size, size))
    w = rng.standard_normal((o, c // groups, 3, 3))
    up = rng.standard_normal((n, o, out, out))
    bias = rng.standard_normal(o)
    y, dw, xsum = conv.conv2d_fwd(x, w, bias, g, wgrad_of=up)
    np.testing.assert_allclose(y, conv.conv2d_fwd(x, w, bias, g), atol=1e-12)
    np.testing.assert_allclose(dw, conv.conv2d_bwd(up, x, w, g, False, True)[1], atol=1e-10)
    np.testing.assert_allclose(xsum, x.sum(axis=(0, 2, 3)), atol=1e-10)
    with pytest.raises(ValueError, match="conv2d_fwd: array of shape"):
        conv.conv2d_fwd(x, w, None, g, wgrad_of=up[:, :1])
