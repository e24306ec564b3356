"""jitnet.optim: every optimizer tracks PyTorch step by step; groups, state dicts, schedulers,
bad hyper-parameters, and the fused kernel's own checks."""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import requires_torch

import jitnet as jn
from jitnet import nn, optim
from jitnet.kernels.cpu import adam_step, sgd_step
from jitnet.kernels.scalar.optim import AdamArgs, SGDArgs
from jitnet.optim import lr_scheduler as sched

SHAPES = [(3, 4), (4,), (2, 1, 3)]

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True, weight_decay=0.1, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.9, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("Adadelta", dict(lr=1.0, rho=0.8, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.02, betas=(0.3, 0.9), weight_decay=0.1, momentum_decay=0.01,
                   maximize=True)),
    ("NAdam", dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.9))),  # rho_t > 5 from step 6: both branches
    ("RAdam", dict(lr=0.01, betas=(0.3, 0.5), weight_decay=0.1, maximize=True)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.02, betas=(0.2, 0.9), eps=0.5, weight_decay=0.1, maximize=True)),
]


def _track(name, kw, dtype, steps=8, sizes=SHAPES):
    """Run jitnet's and torch's optimizer on the same parameters and gradients; returns the
    largest parameter difference over all steps."""
    import torch

    if dtype == np.float64:  # NAdam's mu_product: float32 in PyTorch unless this is set
        old = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            return _track_run(torch, name, kw, dtype, steps, sizes)
        finally:
            torch.set_default_dtype(old)
    return _track_run(torch, name, kw, dtype, steps, sizes)


def _track_run(torch, name, kw, dtype, steps, sizes):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(dtype) for s in sizes]
    jp = [nn.Parameter(jn.tensor(a)) for a in init]
    tp = [torch.nn.Parameter(torch.tensor(a)) for a in init]
    jo, to = getattr(optim, name)(jp, **kw), getattr(torch.optim, name)(tp, **kw)
    worst = 0.0
    for _ in range(steps):
        grads = [rng.standard_normal(s).astype(dtype) for s in sizes]
        for p, g in zip(jp, grads):
            p.grad = jn.tensor(g)
        for p, g in zip(tp, grads):
            p.grad = torch.tensor(g)
        jo.step()
        to.step()
        for a, b in zip(jp, tp):
            scale = max(1.0, float(np.abs(b.detach().numpy()).max()))
            worst = max(worst, float(np.abs(a.detach().numpy() - b.detach().numpy()).max())
                        / scale)
    return worst


@requires_torch
@pytest.mark.parametrize("name,kw", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in
                                                  enumerate(CONFIGS)])
def test_tracks_torch_float64(name, kw):
    pytest.importorskip("torch")
    assert _track(name, kw, np.float64) < 1e-13


@requires_torch
@pytest.mark.parametrize("name,kw", CONFIGS[::2], ids=[n for n, _ in CONFIGS[::2]])
def test_tracks_torch_float32(name, kw):
    pytest.importorskip("torch")
    assert _track(name, kw, np.float32) < 2e-6


@requires_torch
@pytest.mark.parametrize("name,kw", [
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    # one and two states: the unused slots of the shared parallel template are empty
    # placeholders, sliced per chunk like the real states
    ("SGD", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
])
def test_parallel_kernel_tracks_torch(name, kw):
    """A parameter above PARALLEL_MIN elements runs the prange kernel."""
    pytest.importorskip("torch")
    assert _track(name, kw, np.float32, steps=3, sizes=[(200, 200)]) < 2e-6


def test_updates_in_place_and_skips_params_without_grad():
    p, q = nn.Parameter(jn.ones(3)), nn.Parameter(jn.ones(2))
    storage = p._data
    opt = optim.SGD([p, q], lr=0.5)
    p.grad = jn.tensor([1.0, 2.0, 3.0])
    opt.step()
    assert p._data is storage
    assert p.detach().tolist() == [0.5, 0.0, -0.5] and q.detach().tolist() == [1.0, 1.0]
    assert q not in opt.state


@requires_torch
def test_param_groups_and_lr_edits_are_honoured():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a0, b0 = rng.standard_normal(3), rng.standard_normal(2)
    ja, jb = nn.Parameter(jn.tensor(a0)), nn.Parameter(jn.tensor(b0))
    ta, tb = torch.nn.Parameter(torch.tensor(a0)), torch.nn.Parameter(torch.tensor(b0))
    jo = optim.SGD([{"params": [ja]}, {"params": [jb], "lr": 0.01, "momentum": 0.5}], lr=0.1)
    to = torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.01, "momentum": 0.5}],
                         lr=0.1)
    assert jo.param_groups[1]["lr"] == 0.01 and jo.param_groups[0]["momentum"] == 0
    for step in range(4):
        if step == 2:
            jo.param_groups[0]["lr"] = to.param_groups[0]["lr"] = 1.0
            jo.param_groups[1]["momentum"] = to.param_groups[1]["momentum"] = 0.0
        g1, g2 = rng.standard_normal(3), rng.standard_normal(2)
        ja.grad, jb.grad = jn.tensor(g1), jn.tensor(g2)
        ta.grad, tb.grad = torch.tensor(g1), torch.tensor(g2)
        jo.step()
        to.step()
    np.testing.assert_allclose(ja.detach().numpy(), ta.detach().numpy(), atol=1e-14)
    np.testing.assert_allclose(jb.detach().numpy(), tb.detach().numpy(), atol=1e-14)
    c = nn.Parameter(jn.ones(1))
    jo.add_param_group({"params": c, "lr": 0.3})
    assert jo.param_groups[2]["momentum"] == 0 and jo.param_groups[2]["params"][0] is c
    with pytest.raises(ValueError, match="more than one parameter group"):
        jo.add_param_group({"params": [ja]})


def test_state_dict_resume_matches_uninterrupted():
    def run(split: bool):
        jn.manual_seed(0)
        model = nn.Linear(3, 2)
        opt = optim.Adam(model.parameters(), lr=0.05, amsgrad=True)
        rng = np.random.default_rng(0)
        for step in range(6):
            if split and step == 3:  # a fresh optimizer restored from a saved state
                saved = opt.state_dict()
                opt = optim.Adam(model.parameters(), lr=1.0)
                opt.load_state_dict(saved)
            x = jn.tensor(rng.standard_normal((4, 3)).astype(np.float32))
            loss = (model(x) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return model.weight.detach().numpy().copy(), opt

    w1, _ = run(False)
    w2, opt = run(True)
    np.testing.assert_array_equal(w1, w2)
    sd = opt.state_dict()
    assert sd["param_groups"][0]["lr"] == 0.05 and sd["param_groups"][0]["params"] == [0, 1]
    assert sorted(sd["state"]) == [0, 1] and sd["state"][0]["step"] == 6
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}


def test_load_state_dict_errors():
    p = nn.Parameter(jn.ones(3))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = jn.ones(3)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [nn.Parameter(jn.ones(3))]},
                   {"params": [nn.Parameter(jn.ones(3))]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([nn.Parameter(jn.ones(3)), nn.Parameter(jn.ones(1))]).load_state_dict(sd)
    with pytest.raises(ValueError, match="has shape \\(3,\\), but the parameter has shape"):
        optim.SGD([nn.Parameter(jn.ones(4))], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="expected a dict with 'state'"):
        opt.load_state_dict({"state": {}})


def test_zero_grad():
    p = nn.Parameter(jn.ones(2))
    opt = optim.SGD([p])
    p.grad = jn.ones(2)
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_closure_is_called_with_grad_enabled():
    p = nn.Parameter(jn.tensor([2.0]))
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with jn.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0 and p.detach().tolist() == [1.0]


@pytest.mark.parametrize("make,msg", [
    (lambda ps: optim.SGD(ps, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda ps: optim.SGD(ps, momentum=-1), "Invalid momentum value: -1"),
    (lambda ps: optim.SGD(ps, nesterov=True), "Nesterov momentum requires a momentum"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), "Invalid epsilon value"),
    (lambda ps: optim.AdamW(ps, weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (lambda ps: optim.RMSprop(ps, alpha=-0.5), "Invalid alpha value"),
    (lambda ps: optim.Adagrad(ps, lr_decay=-1), "Invalid lr_decay value"),
    (lambda ps: optim.Adadelta(ps, rho=1.5), "Invalid rho value"),
    (lambda ps: optim.NAdam(ps, momentum_decay=-1), "Invalid momentum_decay value: -1"),
    (lambda ps: optim.RAdam(ps, betas=(0.9, 1.0)), "Invalid beta parameter at index 1"),
    (lambda ps: optim.Adamax(ps, eps=-1.0), "Invalid epsilon value"),
])
def test_invalid_hyper_parameters(make, msg):
    with pytest.raises(ValueError, match=msg.replace("(", r"\(")):
        make([nn.Parameter(jn.ones(2))])


def test_invalid_params_and_options():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(nn.Parameter(jn.ones(1)))
    with pytest.raises(TypeError, match="ordered collections"):
        optim.Adam([{"params": {nn.Parameter(jn.ones(1))}}])
    leaf = jn.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([leaf * 2])
    with pytest.raises(ValueError, match="duplicate parameters"):
        optim.SGD([leaf, leaf])
    with pytest.raises(TypeError, match="floating point"):
        optim.SGD([jn.ones(2, dtype=jn.int64)])
    with pytest.raises(NotImplementedError, match="capturable=True"):
        optim.Adam([leaf], capturable=True)
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        optim.SGD([leaf], differentiable=True)
    opt = optim.SGD([leaf], lr=0.1)
    opt.param_groups[0]["lr"] = -1.0
    leaf.grad = jn.ones(2)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.step()


def test_kernel_checks():
    p = np.ones(4, np.float32)
    g = np.ones(4, np.float32)
    h = AdamArgs(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, step_size=0.1,
                 bc2_sqrt=1.0, amsgrad=True, maximize=False, decoupled=False)
    plain = SGDArgs(lr=0.5, weight_decay=0.0, momentum=0.0, dampening=0.0, nesterov=False,
                    maximize=False, first=False)
    z = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="adam_step: needs state max_exp_avg_sq"):
        adam_step(p, g, z, z.copy(), None, h)
    with pytest.raises(ValueError, match="C-contiguous float array"):
        sgd_step(np.ones((4, 4), np.float32)[:, 0], g, None, plain)
    with pytest.raises(ValueError, match="does not match param"):
        sgd_step(p, np.ones(4), None, plain)
    with pytest.raises(ValueError, match="state exp_avg_sq"):
        adam_step(p, g, z, np.zeros(3, np.float32), z.copy(), h)
    with pytest.raises(TypeError, match="must be a AdamArgs, got SGDArgs"):
        adam_step(p, g, z, z.copy(), z.copy(), plain)
    with pytest.raises(ValueError, match="needs state momentum_buffer"):
        sgd_step(p, g, None, plain._replace(momentum=0.9))
    # a non-contiguous gradient is read through a copy
    g2 = np.ones((4, 2), np.float32)[:, 0]
    sgd_step(p, g2, None, plain)
    assert p.tolist() == [0.5] * 4
    # a zero divisor is IEEE, as PyTorch (no ZeroDivisionError from the kernel)
    q = np.ones(2)
    adam_step(q, np.zeros(2), np.zeros(2), np.zeros(2), None,
              h._replace(eps=0.0, amsgrad=False))
    assert np.isnan(q).all()


def _resume_run(name, split, as_tensor=False):
    p = nn.Parameter(jn.tensor([1.0, -2.0, 3.0], dtype=jn.float64))
    opt = getattr(optim, name)([p], lr=0.1)
    for step in range(7):
        if split and step == 3:
            sd = opt.state_dict()
            if as_tensor:  # numbers saved as 0-d tensors, as PyTorch saves them
                sd["state"][0] = {k: jn.tensor(v, dtype=jn.float64) if k == "mu_product"
                                  else v for k, v in sd["state"][0].items()}
            opt = getattr(optim, name)([p], lr=0.1)
            opt.load_state_dict(sd)
        p.grad = jn.tensor([0.5, -1.0, float(step)], dtype=jn.float64)
        opt.step()
    return p.detach().numpy().copy(), opt


@pytest.mark.parametrize("name,keys", [
    ("NAdam", {"step", "mu_product", "exp_avg", "exp_avg_sq"}),
    ("RAdam", {"step", "exp_avg", "exp_avg_sq"}),
    ("Adamax", {"step", "exp_avg", "exp_inf"}),
])
def test_new_optimizers_state_dict_keys_and_resume(name, keys):
    """PyTorch's state keys; a resumed run matches an uninterrupted one (NAdam's
    mu_product survives the round trip, also when saved as a 0-d tensor)."""
    w1, opt = _resume_run(name, False)
    assert set(opt.state_dict()["state"][0]) == keys
    np.testing.assert_array_equal(w1, _resume_run(name, True)[0])
    np.testing.assert_array_equal(w1, _resume_run(name, True, as_tensor=True)[0])


def test_training_reduces_loss():
    jn.manual_seed(0)
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((64, 5)).astype(np.float32)
    x, y = jn.tensor(xs), jn.tensor(xs @ rng.standard_normal((5, 1)).astype(np.float32))
    for name in ("SGD", "Adam", "RMSprop"):
        model = nn.Linear(5, 1)
        opt = getattr(optim, name)(model.parameters(), lr=0.05)
        first = None
        for _ in range(60):
            loss = nn.functional.mse_loss(model(x), y)
            first = first if first is not None else loss.item()
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert loss.item() < 0.2 * first, name


# ---------------------------------------------------------------------- schedulers

def _lr_sequence(lib, make, steps, metrics=None):
    if lib == "torch":
        import torch

        params = [torch.nn.Parameter(torch.zeros(1))]
        mod = torch.optim
    else:
        params = [nn.Parameter(jn.zeros(1))]
        mod = optim
    opt_name, opt_kw, build = make
    opt = getattr(mod, opt_name)(params, **opt_kw)
    s = build(mod.lr_scheduler, opt)
    lrs, moms = [], []
    for i in range(steps):
        opt.step()
        if metrics is not None:
            s.step(metrics[i])
        else:
            s.step()
        lrs.append(opt.param_groups[0]["lr"])
        group = opt.param_groups[0]
        moms.append(group["betas"][0] if "betas" in group else group.get("momentum", 0))
    return lrs, moms, s.get_last_lr()


SCHEDULES = {
    "StepLR": (("SGD", dict(lr=0.5)), lambda m, o: m.StepLR(o, 3, gamma=0.5), 10),
    "MultiStepLR": (("SGD", dict(lr=0.5)), lambda m, o: m.MultiStepLR(o, [2, 5, 5], 0.1), 8),
    "ExponentialLR": (("Adam", dict(lr=0.1)), lambda m, o: m.ExponentialLR(o, 0.9), 6),
    "CosineAnnealingLR": (("SGD", dict(lr=0.1)),
                          lambda m, o: m.CosineAnnealingLR(o, T_max=4, eta_min=0.01), 12),
    "LambdaLR": (("SGD", dict(lr=0.2)), lambda m, o: m.LambdaLR(o, lambda e: 1 / (1 + e)), 5),
    "OneCycleLR-adam": (("Adam", dict(lr=0.1)),
                        lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=20), 19),
    "OneCycleLR-sgd-linear": (("SGD", dict(lr=0.1, momentum=0.9)),
                              lambda m, o: m.OneCycleLR(o, 0.3, epochs=3, steps_per_epoch=4,
                                                        anneal_strategy="linear",
                                                        three_phase=True), 11),
}


@requires_torch
@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedulers_match_torch(name):
    pytest.importorskip("torch")
    opt, build, steps = SCHEDULES[name]
    mine = _lr_sequence("jitnet", (*opt, build), steps)
    ref = _lr_sequence("torch", (*opt, build), steps)
    np.testing.assert_allclose(mine[0], ref[0], rtol=1e-15, atol=0)
    np.testing.assert_allclose(mine[1], ref[1], rtol=1e-15)
    np.testing.assert_allclose(mine[2], ref[2], rtol=1e-15)


@requires_torch
def test_reduce_lr_on_plateau_matches_torch():
    pytest.importorskip("torch")
    metrics = [1.0, 0.9, 0.95, 0.95, 0.96, 0.8, 0.85, 0.9, 0.9, 0.9, 0.9, 0.9]
    for kw in (dict(patience=1, factor=0.5), dict(mode="max", patience=0, cooldown=1,
                                                 threshold_mode="abs", min_lr=0.02)):
        def build(m, o, kw=kw):
            return m.ReduceLROnPlateau(o, **kw)

        mine = _lr_sequence("jitnet", ("SGD", dict(lr=0.1), build), len(metrics), metrics)
        ref = _lr_sequence("torch", ("SGD", dict(lr=0.1), build), len(metrics), metrics)
        np.testing.assert_allclose(mine[0], ref[0], rtol=1e-15)


def test_scheduler_state_dict_and_errors():
    opt = optim.SGD([nn.Parameter(jn.zeros(1))], lr=1.0)
    s = sched.StepLR(opt, 2, gamma=0.5)
    for _ in range(3):
        s.step()
    state = s.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 3
    opt2 = optim.SGD([nn.Parameter(jn.zeros(1))], lr=1.0)
    s2 = sched.StepLR(opt2, 2, gamma=0.5)
    s2.load_state_dict(state)
    assert s2.last_epoch == 3 and s2.get_last_lr() == s.get_last_lr()
    lam = sched.LambdaLR(opt, lambda e: 0.5)
    assert lam.state_dict()["lr_lambdas"] == [None]
    with pytest.raises(TypeError, match="is not an Optimizer"):
        sched.StepLR(object(), 2)
    with pytest.raises(ValueError, match="step_size must be a positive int"):
        sched.StepLR(opt, 0)
    with pytest.raises(ValueError, match="You must define either total_steps"):
        sched.OneCycleLR(opt, 0.1)
    one = sched.OneCycleLR(opt, 0.1, total_steps=2)
    one.step()
    one.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        one.step()
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        sched.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown"):
        sched.ReduceLROnPlateau(opt, mode="avg")
    with pytest.raises(KeyError, match="initial_lr"):
        sched.ExponentialLR(optim.SGD([nn.Parameter(jn.zeros(1))]), 0.9, last_epoch=3)
    with pytest.raises(ValueError, match="Expected 1 lr_lambdas"):
        sched.LambdaLR(opt, [lambda e: 1, lambda e: 2])
    assert math.isclose(sched.CosineAnnealingLR(opt, 10).get_last_lr()[0],
                        opt.param_groups[0]["lr"])
