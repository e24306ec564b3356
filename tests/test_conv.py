"""conv2d and linear (ops/conv.py, ops/linear.py, kernels/cpu/conv.py): values against a NumPy
reference, gradients by finite differences and against PyTorch, bad input."""
import numpy as np
import pytest
from helpers import requires_torch, t64

import jitnet as jn
import jitnet.nn.functional as F
from jitnet.autograd import gradcheck
from jitnet.kernels import cpu as k
from jitnet.ops._nn_args import window2d


def ref_conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Direct NumPy cross-correlation (sliding windows + einsum), independent of im2col."""
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = np.lib.stride_tricks.sliding_window_view(
        xp, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(2, 3))[..., ::dh, ::dw]
    win = win[:, :, ::sh, ::sw]  # (N, C, OH, OW, kh, kw)
    og = o // groups
    outs = [np.einsum("nchwij,ocij->nohw", win[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og])
            for g in range(groups)]
    y = np.concatenate(outs, axis=1)
    return y if b is None else y + b[None, :, None, None]


CASES = [  # (x shape, w shape, stride, padding, dilation, groups)
    ((2, 3, 7, 6), (4, 3, 3, 2), (2, 1), (1, 0), (1, 2), 1),  # non-square, odd, stride, dilation
    ((1, 4, 5, 5), (6, 2, 3, 3), 1, 1, 1, 2),                # groups, padding
    ((2, 1, 6, 7), (2, 1, 1, 3), 3, (0, 2), 1, 1),           # 1-wide kernel, stride 3
    ((1, 2, 4, 4), (3, 2, 4, 4), 1, 0, 1, 1),                # kernel as large as the input
]


@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", CASES)
def test_conv2d_values_and_gradcheck(rng, xs, ws, stride, padding, dilation, groups):
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    y = F.conv2d(t64(x, False), t64(w, False), t64(b, False), stride, padding, dilation, groups)
    np.testing.assert_allclose(y.numpy(), ref_conv2d(x, w, b, stride, padding, dilation, groups),
                               atol=1e-12)

    def fn(x_, w_, b_):
        return F.conv2d(x_, w_, b_, stride, padding, dilation, groups)

    assert gradcheck(fn, (t64(x), t64(w), t64(b)))


def test_conv2d_without_bias_and_unbatched(rng):
    x, w = rng.standard_normal((2, 5, 5)), rng.standard_normal((3, 2, 2, 2))
    y = F.conv2d(t64(x, False), t64(w, False), padding=1)
    assert y.shape == (3, 6, 6)
    np.testing.assert_allclose(y.numpy(), ref_conv2d(x[None], w, padding=1)[0], atol=1e-12)
    assert gradcheck(lambda a, b: F.conv2d(a, b, None, 2), (t64(x), t64(w)))


def test_conv2d_padding_strings(rng):
    x, w = rng.standard_normal((1, 2, 5, 6)), rng.standard_normal((2, 2, 2, 3))
    same = F.conv2d(t64(x, False), t64(w, False), padding="same")
    assert same.shape == (1, 2, 5, 6)
    # an even kernel pads the odd pixel at the bottom/right, as PyTorch
    xp = np.pad(x, ((0, 0), (0, 0), (0, 1), (1, 1)))
    np.testing.assert_allclose(same.numpy(), ref_conv2d(xp, w), atol=1e-12)
    thin = rng.standard_normal((1, 1, 3, 1))  # taps reaching past a 1-pixel-wide input
    w5 = rng.standard_normal((1, 1, 5, 5))
    y = F.conv2d(t64(thin, False), t64(w5, False), padding="same")
    np.testing.assert_allclose(y.numpy(), ref_conv2d(np.pad(thin, ((0, 0), (0, 0), (2, 2),
                                                               (2, 2))), w5), atol=1e-12)
    assert gradcheck(lambda a: F.conv2d(a, t64(w5, False), padding="same"), (t64(thin),))
    valid = F.conv2d(t64(x, False), t64(w, False), padding="valid")
    np.testing.assert_allclose(valid.numpy(), ref_conv2d(x, w), atol=1e-12)
    assert gradcheck(lambda a, b: F.conv2d(a, b, padding="same", dilation=2), (t64(x), t64(w)))


@pytest.mark.parametrize("args, hw", [
    ((3, 2, 2, 1, 1, 2, 2, 1), (7, 5)),  # kh, kw, sh, sw, ph, pw, dh, dw; strided, dilated
    ((3, 3, 1, 1, 1, 1, 1, 1), (6, 6)),  # stride 1 'same': the block-copy paths
])
def test_im2col_col2im_are_adjoint(rng, args, hw):
    """<col2im(c), x> == <c, im2col(x)>: col2im is exactly the transpose of im2col."""
    kh, kw, sh, sw, ph, pw, dh, dw = args
    h, w = hw
    oh, ow = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    x = rng.standard_normal((2, 3, h, w))
    g = window2d(x.shape, (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow))
    cols = k.im2col(x, g)
    assert cols.shape == (3 * kh * kw, 2 * oh * ow)
    c = rng.standard_normal(cols.shape)
    expect = (c * cols).sum()
    back = k.col2im(c.copy(), g)
    assert np.isclose((back * x).sum(), expect)


def test_window_geometry_is_checked_against_the_arrays(rng):
    """The kernels read the geometry, not the arrays' shapes: a mismatch raises first."""
    g = window2d((2, 3, 6, 6), (3, 3), (1, 1), (1, 1), (1, 1), (6, 6))
    assert g.kh == 3 and g.oh == 6 and g.groups == 1
    with pytest.raises(ValueError, match=r"im2col: array of shape \(2, 3, 5, 6\) does not "
                                         r"match the geometry, which expects \(2, 3, 6, 6\)"):
        k.im2col(rng.standard_normal((2, 3, 5, 6)), g)
    with pytest.raises(ValueError, match="col2im: array of shape"):
        k.col2im(rng.standard_normal((27, 71)), g)
    with pytest.raises(ValueError, match="invalid window geometry"):
        window2d((2, 3, 6, 6), (3, 3), (0, 1), (1, 1), (1, 1), (6, 6))


def test_conv2d_float32_parallel_path(rng):
    """Sizes over PARALLEL_MIN take the prange kernels; results match the float64 reference."""
    x = rng.standard_normal((8, 16, 12, 12)).astype(np.float32)
    w = rng.standard_normal((8, 16, 3, 3)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    xt, wt, bt = (jn.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(xt, wt, bt, padding=1)
    assert y.dtype is jn.float32
    ref = ref_conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                     padding=1)
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-4, atol=1e-4)
    y.sum().backward()
    # d sum / d bias = N * OH * OW; d sum / d x = sum of the weights over the taps that cover x
    np.testing.assert_allclose(bt.grad.numpy(), np.full(8, 8 * 12 * 12), rtol=1e-5)
    assert xt.grad.shape == x.shape and wt.grad.shape == w.shape


@requires_torch
@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", CASES[:3])
def test_conv2d_matches_torch(rng, xs, ws, stride, padding, dilation, groups):
    torch = pytest.importorskip("torch")
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    jx, jw, jb = t64(x), t64(w), t64(b)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(jx, jw, jb, stride, padding, dilation, groups)
    yt = torch.nn.functional.conv2d(tx, tw, tb, stride, padding, dilation, groups)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    g = rng.standard_normal(tuple(yt.shape))
    y.backward(jn.tensor(g))
    yt.backward(torch.tensor(g))
    for a, t in ((jx, tx), (jw, tw), (jb, tb)):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("x_shape, w_shape, kwargs, exc, match", [
    ((3, 8), (2, 3, 3, 3), {}, ValueError, r"expected 3-D \(C, H, W\) or 4-D"),
    ((1, 1, 3, 8, 8), (2, 3, 3, 3), {}, ValueError, r"got shape \(1, 1, 3, 8, 8\)"),
    ((1, 3, 8, 8), (2, 3, 3), {}, ValueError, r"expected 4-D weight"),
    ((1, 2, 8, 8), (4, 3, 3, 3), {}, ValueError, r"expects input with 3 channels.*has 2"),
    ((1, 4, 8, 8), (4, 3, 3, 3), {"groups": 2}, ValueError, r"groups=2.*6 channels"),
    ((1, 4, 8, 8), (3, 2, 3, 3), {"groups": 2}, ValueError, r"divisible by groups"),
    ((1, 3, 4, 4), (2, 3, 5, 5), {}, ValueError, r"padded input size.*\(4 x 4\).*\(5 x 5\)"),
    ((1, 3, 4, 4), (2, 3, 3, 3), {"dilation": 2}, ValueError, r"\(dilated\) kernel size"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"stride": 0}, ValueError, r"stride must be >= 1"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"dilation": (1, 0)}, ValueError, r"dilation must be >= 1"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"padding": -1}, ValueError, r"negative padding"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"padding": "full"}, ValueError, r"'valid' or 'same'"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"padding": "same", "stride": 2}, ValueError,
     r"'same' is not supported for strided"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"stride": 1.5}, TypeError, r"stride must be an int or a pair"),
    ((1, 3, 8, 8), (2, 3, 3, 3), {"groups": 0}, ValueError, r"groups must be a positive int"),
])
def test_conv2d_bad_input(x_shape, w_shape, kwargs, exc, match):
    with pytest.raises(exc, match="conv2d: .*" + match):
        F.conv2d(jn.zeros(*x_shape), jn.zeros(*w_shape), **kwargs)


def test_conv2d_bad_bias_and_dtypes():
    x, w = jn.zeros(1, 3, 8, 8), jn.zeros(2, 3, 3, 3)
    with pytest.raises(ValueError, match=r"conv2d: expected bias of shape \(2,\).*got \(3,\)"):
        F.conv2d(x, w, jn.zeros(3))
    with pytest.raises(TypeError, match=r"conv2d: input is jitnet.float32 but weight is "):
        F.conv2d(x, w.double())
    with pytest.raises(TypeError, match=r"conv2d: expected a floating point input"):
        F.conv2d(jn.zeros(1, 3, 8, 8, dtype=jn.int64), w)


def test_linear_values_gradcheck_and_fused_bias(rng):
    x, w, b = rng.standard_normal((2, 3, 5)), rng.standard_normal((4, 5)), rng.standard_normal(4)
    y = F.linear(t64(x, False), t64(w, False), t64(b, False))
    np.testing.assert_allclose(y.numpy(), x @ w.T + b, atol=1e-12)
    assert gradcheck(F.linear, (t64(x), t64(w), t64(b)))
    assert gradcheck(lambda a, c: F.linear(a, c), (t64(x[0, 0]), t64(w)))  # 1-D input
    assert F.linear(jn.zeros(5), jn.zeros(4, 5)).shape == (4,)


@pytest.mark.parametrize("rows", [7, 2100])  # a GEMV with ones, or the column-sum reduction
def test_linear_bias_grad_small_and_big(rng, rows):
    from jitnet.ops.linear import BIG_BIAS_GRAD

    x, w, b = (rng.standard_normal((rows, 16)), rng.standard_normal((128, 16)),
               rng.standard_normal(128))
    assert (rows * 128 >= BIG_BIAS_GRAD) == (rows > 1000)
    g = rng.standard_normal((rows, 128))
    bt = t64(b)
    F.linear(t64(x, False), t64(w, False), bt).backward(jn.tensor(g))
    np.testing.assert_allclose(bt.grad.numpy(), g.sum(0), rtol=1e-12, atol=1e-10)


@requires_torch
def test_linear_matches_torch(rng):
    torch = pytest.importorskip("torch")
    from helpers import assert_matches_torch

    x, w, b = rng.standard_normal((6, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
    assert_matches_torch(F.linear, torch.nn.functional.linear, x, w, b)


def test_linear_bad_input():
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 4\) does not match weight"):
        F.linear(jn.zeros(2, 4), jn.zeros(3, 5))
    with pytest.raises(ValueError, match=r"linear: expected 2-D weight"):
        F.linear(jn.zeros(2, 4), jn.zeros(4))
    with pytest.raises(ValueError, match=r"linear: expected bias of shape \(3,\)"):
        F.linear(jn.zeros(2, 5), jn.zeros(3, 5), jn.zeros(5))
