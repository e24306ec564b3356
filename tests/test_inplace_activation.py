"""inplace=True for F.relu / F.leaky_relu / nn.ReLU / nn.LeakyReLU and F.relu_ (ops/activation.py
through ops/inplace.py): writes through without a graph, PyTorch's leaf rule, exact gradients
on the graph (jitnet rebinds the tensor instead of tracking versions)."""
import numpy as np
import pytest
from helpers import requires_torch

import jitnet as jn
import jitnet.nn as nn
import jitnet.nn.functional as F


def test_inplace_writes_into_storage_without_a_graph():
    x = jn.tensor([[-1.0, 2.0], [3.0, -4.0]])
    view = x[0]
    y = F.relu(x, inplace=True)
    assert y is x
    np.testing.assert_array_equal(x.numpy(), [[0, 2], [3, 0]])
    np.testing.assert_array_equal(view.numpy(), [0, 2])  # views see the write
    z = jn.tensor([-2.0, 1.0])
    assert F.leaky_relu_(z, 0.5) is z
    np.testing.assert_array_equal(z.numpy(), [-1.0, 1.0])
    w = jn.tensor([-2.0, 1.0])
    assert nn.LeakyReLU(0.1, inplace=True)(w) is w
    np.testing.assert_allclose(w.numpy(), [-0.2, 1.0])
    assert F.relu_(w) is w and w.numpy().min() == 0


def test_inplace_on_a_leaf_that_requires_grad_raises_at_the_call():
    x = jn.tensor([1.0, -1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="relu_: a leaf Variable that requires grad is being "
                                           "used in an in-place operation"):
        F.relu(x, inplace=True)
    with pytest.raises(RuntimeError, match="leaky_relu_: a leaf Variable"):
        nn.LeakyReLU(inplace=True)(x)
    with jn.no_grad():  # allowed without grad mode, as in PyTorch
        nn.ReLU(inplace=True)(x)
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 0.0])


@requires_torch
def test_inplace_layers_in_a_model_match_torch(rng):
    import torch

    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(inplace=True),
                              torch.nn.Linear(5, 3), torch.nn.LeakyReLU(0.2, inplace=True)).double()
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(inplace=True), nn.Linear(5, 3),
                          nn.LeakyReLU(0.2, inplace=True)).double()
    model.load_state_dict({k: jn.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    assert "inplace=True" in repr(model)
    x = rng.standard_normal((6, 4))
    xj, xt = jn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yj, yt = model(xj), ref(xt)
    np.testing.assert_allclose(yj.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    yj.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xj.grad.numpy(), xt.grad.numpy(), atol=1e-12)
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-12, err_msg=name)


def test_inplace_on_a_tensor_autograd_needs_keeps_the_gradient_exact():
    """PyTorch raises 'one of the variables needed for gradient computation has been modified
    by an inplace operation' at backward here (sigmoid saves its output); jitnet rebinds the
    tensor to the recorded result, so the saved output is intact and the gradient exact."""
    x = jn.tensor([-1.0, 0.5, 2.0], dtype=jn.float64, requires_grad=True)
    s = x.sigmoid()
    F.relu(s - 0.6, inplace=False).sum().backward()
    want = x.grad.numpy().copy()
    x.grad = None
    t = x.sigmoid() - 0.6
    F.relu(t, inplace=True).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), want)
    assert t.grad_fn is not None and t.detach().numpy().min() == 0


@pytest.mark.parametrize("name, make", [
    ("silu", lambda m: m.SiLU(inplace=True)), ("mish", lambda m: m.Mish(inplace=True)),
    ("hardtanh", lambda m: m.Hardtanh(-0.5, 0.4, inplace=True)),
    ("elu", lambda m: m.ELU(0.7, inplace=True)), ("selu", lambda m: m.SELU(inplace=True)),
])
def test_inplace_for_every_activation_module(name, make):
    """The modules that take inplace=True write into their input, as PyTorch's do."""
    xn = np.array([-1.5, -0.2, 0.0, 0.3, 2.0], dtype=np.float32)
    x = jn.tensor(xn.copy())
    out = make(nn)(x)
    assert out is x
    want = make(nn)  # the same layer out of place gives the same numbers
    want.inplace = False
    np.testing.assert_allclose(x.numpy(), want(jn.tensor(xn)).numpy(), rtol=1e-6)
    assert not np.array_equal(x.numpy(), xn)
    with pytest.raises(RuntimeError, match=f"{name}_: a leaf Variable"):
        make(nn)(jn.tensor(xn, requires_grad=True))
    leaf = jn.tensor(xn.astype(np.float64), requires_grad=True)
    y = leaf * 1.0
    make(nn)(y).sum().backward()  # through the graph: exact gradient, as out of place
    ref = jn.tensor(xn.astype(np.float64), requires_grad=True)
    want(ref * 1.0).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), ref.grad.numpy(), rtol=1e-12)
