"""The CPU conv2d's execution plans (kernels/cpu/conv.py ``conv2d_fwd``/``conv2d_bwd``): one
chunk or many, one task or several, the whole-batch fallback, and the empty batch. Each plan
must give the same values and gradients as the direct NumPy reference."""
import numba
import numpy as np
import pytest
from helpers import requires_torch, t64
from test_conv import ref_conv2d

import jitnet as jn
import jitnet.nn.functional as F
from jitnet.autograd import gradcheck
from jitnet.kernels.cpu import conv as C
from jitnet.ops._nn_args import window2d

PLANS = {  # name: (tasks, images per chunk); tasks 0 = the whole-batch im2col path
    "serial, one chunk": (1, 64),
    "serial, chunks of 2 (the last one short)": (1, 2),
    "two tasks, chunks of 2": (2, 2),
    "three tasks, one image per chunk": (3, 1),
    "whole batch": (0, 0),
}


@pytest.fixture(params=list(PLANS))
def plan(request, monkeypatch):
    """Force conv2d's plan (the kernels take tasks and chunk size as arguments, so any
    plan runs on any number of threads)."""
    tasks, nb = PLANS[request.param]
    monkeypatch.setattr(C, "_plan", lambda g, o, itemsize: (tasks, nb))
    return request.param


# (x shape, w shape, stride, padding, dilation, groups): 5 images split unevenly over
# tasks; groups with strides and dilation; a 'same' 3x3 (the block-copy fast paths)
SHAPES = [
    ((5, 4, 7, 6), (6, 2, 3, 2), (2, 1), (1, 0), (1, 2), 2),
    ((5, 3, 6, 6), (4, 3, 3, 3), 1, 1, 1, 1),
]


@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", SHAPES)
def test_conv2d_every_plan_matches_the_reference(rng, plan, xs, ws, stride, padding, dilation,
                                                 groups):
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    jx, jw, jb = t64(x), t64(w), t64(b)
    y = F.conv2d(jx, jw, jb, stride, padding, dilation, groups)
    np.testing.assert_allclose(y.detach().numpy(),
                               ref_conv2d(x, w, b, stride, padding, dilation, groups), atol=1e-12)
    # gradients of sum(y * r) = the reference's vector-Jacobian product, by finite differences
    assert gradcheck(lambda a, c, d: F.conv2d(a, c, d, stride, padding, dilation, groups),
                     (t64(x[:3]), t64(w), t64(b)))


@requires_torch
@pytest.mark.parametrize("which", ["input", "weight", "both"])
def test_conv2d_backward_computes_only_what_is_needed(rng, plan, which):
    """need_x / need_w each skip their half; the other half and the bias grad stay right."""
    torch = pytest.importorskip("torch")
    x, w, b = rng.standard_normal((5, 4, 6, 6)), rng.standard_normal((6, 4, 3, 3)), \
        rng.standard_normal(6)
    jx, jw, jb = t64(x, which != "weight"), t64(w, which != "input"), t64(b)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    g = rng.standard_normal((5, 6, 6, 6))
    F.conv2d(jx, jw, jb, padding=1).backward(jn.tensor(g))
    torch.nn.functional.conv2d(tx, tw, tb, padding=1).backward(torch.tensor(g))
    assert (jx.grad is None) == (which == "weight") and (jw.grad is None) == (which == "input")
    for a, t in ((jx, tx), (jw, tw), (jb, tb)):
        if a.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-11)


def test_conv2d_float32_plans_agree(rng, plan):
    """float32 through BLAS's sgemm: within float32 rounding of the float64 reference."""
    x = rng.standard_normal((6, 8, 10, 10)).astype(np.float32)
    w = (rng.standard_normal((16, 8, 3, 3)) * 0.1).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    jx, jw, jb = (jn.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(jx, jw, jb, padding=1)
    assert y.dtype is jn.float32
    ref = ref_conv2d(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), padding=1)
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-4, atol=1e-4)
    y.sum().backward()
    np.testing.assert_allclose(jb.grad.numpy(), np.full(16, 6 * 10 * 10), rtol=1e-6)
    # d sum / d w[o, c, i, j] = sum of x over the pixels tap (i, j) reads: the same for every o
    win = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    taps = np.array([[win[:, :, i:i + 10, j:j + 10].sum(axis=(0, 2, 3)) for j in range(3)]
                     for i in range(3)]).transpose(2, 0, 1)
    np.testing.assert_allclose(jw.grad.numpy(), np.broadcast_to(taps, (16, 8, 3, 3)),
                               rtol=1e-4, atol=1e-3)


@requires_torch
def test_conv2d_empty_batch_as_torch():
    """A batch of 0 images gives an empty output and zero weight and bias gradients."""
    torch = pytest.importorskip("torch")
    x = jn.zeros(0, 3, 8, 8, requires_grad=True)
    w, b = jn.ones(4, 3, 3, 3, requires_grad=True), jn.ones(4, requires_grad=True)
    y = F.conv2d(x, w, b, stride=2, padding=1)
    tx = torch.zeros(0, 3, 8, 8, requires_grad=True)
    tw, tb = torch.ones(4, 3, 3, 3, requires_grad=True), torch.ones(4, requires_grad=True)
    yt = torch.nn.functional.conv2d(tx, tw, tb, stride=2, padding=1)
    assert y.shape == tuple(yt.shape) == (0, 4, 4, 4)
    y.sum().backward()
    yt.sum().backward()
    assert x.grad.shape == (0, 3, 8, 8)
    np.testing.assert_array_equal(w.grad.numpy(), tw.grad.numpy())
    np.testing.assert_array_equal(b.grad.numpy(), tb.grad.numpy())
    assert jn.nn.Conv2d(3, 4, 3)(jn.zeros(0, 3, 5, 5)).shape == (0, 4, 3, 3)


def test_plan_rule():
    """Whole images per thread when the batch allows, else the whole-batch GEMMs; small
    convolutions on one thread; chunks of whole images within CHUNK_BYTES."""
    threads = numba.get_num_threads()
    big = window2d((4 * threads, 32, 16, 16), (3, 3), (1, 1), (1, 1), (1, 1), (16, 16))
    tasks, nb = C._plan(big, 64, 4)
    assert tasks == threads and nb == max(1, C.CHUNK_BYTES // (32 * 9 * 256 * 4))
    tiny = window2d((2, 1, 4, 4), (3, 3), (1, 1), (1, 1), (1, 1), (4, 4))
    assert C._plan(tiny, 2, 8) == (1, 2)  # one chunk holds the whole small batch
    if threads >= 2:
        one = window2d((1, 32, 64, 64), (3, 3), (1, 1), (1, 1), (1, 1), (64, 64))
        assert C._plan(one, 64, 4) == (0, 0)
