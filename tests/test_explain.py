"""jitnet.explain: values against closed forms and PyTorch, completeness of integrated
gradients, Grad-CAM through hooks, occlusion, plotting, errors."""
import numpy as np
import pytest
from helpers import requires_torch

import jitnet as jn
from jitnet import explain

RNG = np.random.default_rng(0)
X = RNG.random((3, 1, 6, 6)).astype(np.float32)


def _cnn(lib, seed=0):
    nn = lib.nn
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 5, 3),
                          nn.ReLU(), nn.Flatten(), nn.Linear(5 * 4 * 4, 3))
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3))
    return model.eval()


def _linear():
    model = jn.nn.Sequential(jn.nn.Flatten(), jn.nn.Linear(36, 3))
    return model, model[1].weight.detach().numpy()


def test_saliency_and_occlusion_of_a_linear_model_are_closed_form():
    model, w = _linear()
    s = explain.saliency(model, jn.tensor(X), target=[0, 1, 2])
    expect = np.abs(w[[0, 1, 2]]).reshape(3, 1, 6, 6)
    np.testing.assert_allclose(s.numpy(), expect, rtol=1e-6)
    occ = explain.occlusion(model, jn.tensor(X), target=2, window=1, stride=1)
    np.testing.assert_allclose(occ.numpy(), w[2].reshape(1, 1, 6, 6) * X, rtol=1e-4,
                               atol=1e-6)
    ig = explain.integrated_gradients(model, jn.tensor(X), target=1, steps=4)
    np.testing.assert_allclose(ig.numpy(), w[1].reshape(1, 1, 6, 6) * X, rtol=1e-4, atol=1e-6)


def _digits_mlp():
    train, test = jn.data.datasets.load_digits()
    jn.manual_seed(0)
    model = jn.nn.Sequential(jn.nn.Flatten(), jn.nn.Linear(64, 32), jn.nn.ReLU(),
                             jn.nn.Linear(32, 10))
    opt = jn.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(3):
        for x, y in jn.data.DataLoader(train, batch_size=64, shuffle=True):
            opt.zero_grad()
            jn.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    return model.eval(), test


def _completeness(model, x, target, **kw):
    attr, delta = explain.integrated_gradients(model, x, target, return_convergence_delta=True,
                                               **kw)
    assert tuple(attr.shape) == tuple(x.shape)
    with jn.no_grad():
        rows = np.arange(x.shape[0])
        gap = model(x).numpy()[rows, target] - model(jn.zeros_like(x)).numpy()[rows, target]
    np.testing.assert_allclose(attr.numpy().reshape(len(rows), -1).sum(1) - gap,
                               delta.numpy(), atol=1e-5)
    return np.abs(delta.numpy()) / np.abs(gap)


def test_integrated_gradients_completeness_within_one_percent():
    model, test = _digits_mlp()  # the default: 50 Gauss-Legendre steps
    x, y = test.tensors[0][:16], test.tensors[1][:16].numpy()
    assert np.all(_completeness(model, x, y) <= 0.01)
    # a random ReLU net has many kinks along the path: more steps, either rule
    cnn, target = _cnn(jn), np.array([0, 1, 2])
    for method in ("gausslegendre", "riemann_trapezoid"):
        err = _completeness(cnn, jn.tensor(X), target, steps=400, method=method,
                            internal_batch_size=300)
        assert np.all(err <= 0.01), (method, err)


@requires_torch
def test_saliency_and_grad_cam_match_pytorch():
    import torch

    jm, tm = _cnn(jn), _cnn(torch)
    sal = explain.saliency(jm, jn.tensor(X), target=1, abs=False).numpy()
    xt = torch.tensor(X, requires_grad=True)
    tm(xt)[:, 1].sum().backward()
    np.testing.assert_allclose(sal, xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    cam = explain.grad_cam(jm, jn.tensor(X), target=[2, 0, 1], layer=jm[2]).numpy()
    acts = []

    def keep(module, args, out):
        out.retain_grad()
        acts.append(out)

    tm[2].register_forward_hook(keep)
    out = tm(torch.tensor(X))
    out[[0, 1, 2], [2, 0, 1]].sum().backward()
    a = acts[0]
    ref = torch.relu((a.grad.mean((2, 3), keepdim=True) * a).sum(1)).detach().numpy()
    assert cam.shape == (3, 4, 4)
    np.testing.assert_allclose(cam, ref, rtol=1e-4, atol=1e-6)
    same = explain.grad_cam(jm, jn.tensor(X), target=[2, 0, 1], layer="2").numpy()
    np.testing.assert_allclose(same, cam)
    assert not jm[2]._forward_hooks  # the hook is removed again


def test_explain_errors():
    model = _cnn(jn)
    x = jn.tensor(X)
    with pytest.raises(IndexError, match=r"target 3 is out of range for a model with 3 outputs"):
        explain.saliency(model, x, target=3)
    with pytest.raises(ValueError, match="got 2 targets for a batch of 3"):
        explain.saliency(model, x, target=[0, 1])
    with pytest.raises(ValueError, match="is not a sub-module of Sequential"):
        explain.grad_cam(model, x, 0, layer=jn.nn.Conv2d(1, 1, 1))
    with pytest.raises(ValueError, match="no submodule"):
        explain.grad_cam(model, x, 0, layer="7")
    with pytest.raises(ValueError, match=r"returns shape .*expected \(N, C, H, W\)"):
        explain.grad_cam(model, x, 0, layer=model[5])
    with pytest.raises(ValueError, match="no larger than the image"):
        explain.occlusion(model, x, 0, window=7)
    with pytest.raises(ValueError, match="steps must be an int >= 2"):
        explain.integrated_gradients(model, x, 0, steps=1)
    with pytest.raises(ValueError, match=r"expected a batch \(N, ...\)"):
        explain.saliency(model, jn.zeros(6), 0)


def test_plot_overlays_an_attribution(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    model = _cnn(jn)
    cam = explain.grad_cam(model, jn.tensor(X[:1]), 0, layer=model[2])
    ax = explain.plot(X[0], cam[0], title="grad-cam")
    assert ax.get_title() == "grad-cam" and len(ax.images) == 2
    assert ax.images[1].get_array().shape == (6, 6)  # stretched to the image
    ax.figure.savefig(tmp_path / "x.png")
    with pytest.raises(ValueError, match="must be"):
        explain.plot(np.zeros(5), np.zeros(5))
