"""Tensor hooks, retain_grad, next_functions, autograd.grad and Module hooks vs PyTorch.

Each program is written once against a library ``lib`` (jitnet or torch) and
records the hooks it sees; the two event logs and the gradients must agree.
"""
import numpy as np
import pytest
from helpers import requires_torch

import jitnet as jn

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3))
W1, B1 = RNG.standard_normal((5, 3)), RNG.standard_normal(5)
W2, B2 = RNG.standard_normal((2, 5)), RNG.standard_normal(2)


def _host(t):
    return None if t is None else np.asarray(t.detach().cpu().numpy(), dtype=np.float64)


def _mlp(lib):
    nn = lib.nn
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2)).double()
    with lib.no_grad():
        for p, a in zip(model.parameters(), (W1, B1, W2, B2)):
            p.copy_(lib.tensor(a, dtype=lib.float64))
    return model


def _module_program(lib):
    """Every kind of module hook on a small MLP: returns the event log and gradients."""
    log = []
    model = _mlp(lib)
    handles = []
    for name, m in (("seq", model), ("lin1", model[0]), ("lin2", model[2])):
        handles.append(m.register_forward_pre_hook(
            lambda mod, args, n=name: log.append(("pre", n, tuple(args[0].shape)))))
        handles.append(m.register_forward_hook(
            lambda mod, args, out, n=name: log.append(("fwd", n, tuple(out.shape)))))
        handles.append(m.register_full_backward_hook(
            lambda mod, gin, gout, n=name: log.append(
                ("bwd", n, [_host(g) is not None for g in gin], _host(gout[0]).sum().round(8)))))
    # a pre-hook that changes the input, a forward hook that changes the output
    model[2].register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    model[0].register_forward_hook(lambda mod, args, out: out + 1)
    # a backward hook that replaces grad_input
    model[1].register_full_backward_hook(lambda mod, gin, gout: (gin[0] * 3,))
    x = lib.tensor(X, dtype=lib.float64, requires_grad=True)
    y = model(x)
    (y * y).sum().backward()
    out = {"log": log, "y": _host(y), "x": _host(x.grad)}
    for n, p in model.named_parameters():
        out[n] = _host(p.grad)
    handles[0].remove()  # removed hooks stay silent
    log.clear()
    model(x)
    out["after_remove"] = list(log)
    return out


def _tensor_program(lib):
    """Tensor hooks on leaves and non-leaves, retain_grad, post-accumulate hooks."""
    log = []
    a = lib.tensor(X, dtype=lib.float64, requires_grad=True)
    w = lib.tensor(W1.T, dtype=lib.float64, requires_grad=True)
    h = a @ w
    h.retain_grad()
    h.register_hook(lambda g: log.append(("h", _host(g).sum().round(8))))
    h.register_hook(lambda g: g * 2)  # replaces the gradient flowing on
    h.register_hook(lambda g: log.append(("h-after", _host(g).sum().round(8))))
    a.register_hook(lambda g: log.append(("a", _host(g).sum().round(8))) or g + 1)
    w.register_post_accumulate_grad_hook(lambda t: log.append(("w-acc", _host(t.grad).sum()
                                                                .round(8))))
    z = h.tanh()
    u = (z * z).sum() + (h * 3).sum()  # h feeds two nodes: its hooks see the sum once
    u.backward()
    return {"log": log, "a": _host(a.grad), "w": _host(w.grad), "h": _host(h.grad),
            "retains": (h.retains_grad, a.retains_grad), "leaf": (a.is_leaf, h.is_leaf)}


def _same(a, b):
    assert type(a) is type(b) or (a is None) == (b is None), (a, b)
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-7, abs=1e-7)
    else:
        assert a == b


@requires_torch
@pytest.mark.parametrize("program", [_module_program, _tensor_program])
def test_hooks_match_pytorch_call_order_and_gradients(program):
    import torch

    _same(program(jn), program(torch))


@requires_torch
def test_autograd_grad_matches_pytorch():
    import torch

    def prog(lib):
        a = lib.tensor(X, dtype=lib.float64, requires_grad=True)
        b = lib.tensor(W1.T, dtype=lib.float64, requires_grad=True)
        c = lib.tensor(B1, dtype=lib.float64, requires_grad=True)
        h = (a @ b).sigmoid()
        y = h * c
        go = lib.tensor(np.arange(20.0).reshape(4, 5), dtype=lib.float64)
        ga, gh = lib.autograd.grad(y, (a, h), grad_outputs=go, retain_graph=True)
        (gb,) = lib.autograd.grad(y.sum(), b, retain_graph=True)
        gc, unused = lib.autograd.grad(y.sum(), (c, lib.ones(2, dtype=lib.float64,
                                                             requires_grad=True)),
                                       allow_unused=True)
        return [_host(ga), _host(gh), _host(gb), _host(gc), unused,
                a.grad, b.grad, c.grad]  # nothing accumulated

    _same(prog(jn), prog(torch))


def test_autograd_grad_errors_and_graph_freeing():
    a = jn.tensor([1.0, 2.0], requires_grad=True)
    other = jn.tensor([3.0], requires_grad=True)
    y = (a * a).sum()
    with pytest.raises(RuntimeError, match="not used in the graph"):
        jn.autograd.grad(y, other, retain_graph=True)
    assert jn.autograd.grad(y, [a, other], allow_unused=True, materialize_grads=True,
                            retain_graph=True)[1].tolist() == [0.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        jn.autograd.grad(y, jn.tensor([1.0]), retain_graph=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        jn.autograd.grad(a * 2, a)
    with pytest.raises(NotImplementedError, match="create_graph"):
        jn.autograd.grad(y, a, create_graph=True)
    jn.autograd.grad(y, a)  # frees the graph
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        jn.autograd.grad(y, a)


def test_next_functions_walk_the_graph_as_pytorch_tutorial():
    w = jn.randn(3, requires_grad=True)
    loss = ((jn.ones(3) * w).relu() - 1).sum()
    fn = loss.grad_fn
    names = []
    while fn is not None:
        names.append(fn.name())
        nxt = [f for f, _ in fn.next_functions if f is not None]
        fn = nxt[0] if nxt else None
    assert names[0] == "SumBackward" and names[-1] == "AccumulateGrad"
    acc = names and loss.grad_fn
    while acc.next_functions:
        acc = next(f for f, _ in acc.next_functions if f is not None)
    assert acc.variable is w


def test_hook_errors():
    x = jn.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        x.register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        x.retain_grad()
    a = jn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (a * 2).register_post_accumulate_grad_hook(lambda t: None)
    h = a * 2
    h.register_hook(lambda g: jn.ones(3))
    with pytest.raises(RuntimeError, match=r"shape \(3,\), but the tensor's gradient has shape"):
        h.sum().backward()
    b = jn.tensor([1.0, 2.0], requires_grad=True)
    handle = b.register_hook(lambda g: g * 10)
    handle.remove()
    (b * 1).sum().backward()
    assert b.grad.tolist() == [1.0, 1.0]
    lin = jn.nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (jn.ones(5),))
    with pytest.raises(RuntimeError, match=r"shape \(5,\), expected \(1, 2\)"):
        lin(jn.ones(1, 2, requires_grad=True)).sum().backward()
    with pytest.raises(TypeError, match="callable"):
        lin.register_forward_hook(3)


def _hook_options_program(lib):
    """prepend, with_kwargs, a backward hook on a layer whose input needs no grad,
    handles as context managers, hooks on a root leaf."""
    log = []
    model = _mlp(lib)
    lin = model[0]
    lin.register_forward_pre_hook(lambda m, a: log.append("pre-1"))
    lin.register_forward_pre_hook(lambda m, a: log.append("pre-0"), prepend=True)
    lin.register_forward_pre_hook(lambda m, a, kw: (log.append(("pre-kw", sorted(kw))), None)[1],
                                  with_kwargs=True)
    lin.register_forward_hook(lambda m, a, kw, out: log.append(("fwd-kw", sorted(kw))),
                              with_kwargs=True)
    lin.register_full_backward_hook(
        lambda m, gin, gout: log.append(("bwd", [g is None for g in gin],
                                         tuple(gout[0].shape))))
    with model[2].register_forward_hook(lambda m, a, out: log.append("gone")):
        pass
    x = lib.tensor(X, dtype=lib.float64)  # needs no grad: grad_input is (None,)
    model(x).sum().backward()
    leaf = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    leaf.register_hook(lambda g: g * 3)
    leaf.backward(lib.tensor([1.0, 1.0], dtype=lib.float64))
    return {"log": log, "leaf": _host(leaf.grad), "w": _host(lin.weight.grad)}


@requires_torch
@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_hook_options_match_pytorch():
    import torch

    _same(_hook_options_program(jn), _hook_options_program(torch))


def _branch_program(lib):
    """Two branches from one input: backward hooks fire in PyTorch's order, and the shared
    input's tensor hook sees the sum of both branches once."""
    log = []
    model = _mlp(lib)
    a, b = model[0], model[2]
    a.register_full_backward_hook(lambda m, gi, go: log.append("a"))
    b.register_full_backward_hook(lambda m, gi, go: log.append("b"))
    x = lib.tensor(X, dtype=lib.float64, requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: log.append(("h", _host(g).sum().round(8))))
    y = a(h).sum() + b(lib.cat([h, h[:, :2]], 1)).sum()
    y.backward()
    return {"log": log, "x": _host(x.grad)}


@requires_torch
def test_branch_order_matches_pytorch():
    import torch

    _same(_branch_program(jn), _branch_program(torch))
