"""PyTorch's device queries, legacy constructors, return types, checkpoints on file objects,
LBFGS and the warm-up/restart schedulers (issue 17), checked against PyTorch where it is
installed."""
from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import jitnet as jn
from jitnet import nn

try:
    import torch
except ImportError:  # pragma: no cover - the cross-checks skip
    torch = None
requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")


# ------------------------------------------------------------------ devices and backends

def test_accelerator_and_backends_answer_like_a_cpu_only_torch(monkeypatch):
    monkeypatch.setattr(jn.cuda, "_status", (False, "no GPU in this test"))
    assert jn.accelerator.is_available() is False
    assert jn.accelerator.current_accelerator() is None
    assert jn.accelerator.device_count() == 0 == jn.cuda.device_count()
    assert jn.accelerator.current_device_index() == -1
    with pytest.raises(RuntimeError, match="no accelerator device"):
        jn.accelerator.set_device_index(0)
    monkeypatch.setattr(jn.cuda, "_status", (True, ""))
    assert jn.accelerator.current_accelerator() == jn.device("cuda")
    assert jn.accelerator.is_available() is True
    assert jn.backends.mps.is_available() is False and jn.backends.mps.is_built() is False
    assert jn.backends.cudnn.is_available() is False


def test_cudnn_flags_are_settable(monkeypatch):
    cudnn = jn.backends.cudnn
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (True, False, False)
    monkeypatch.setattr(cudnn, "benchmark", True)
    monkeypatch.setattr(cudnn, "deterministic", True)
    import jitnet.backends.cudnn as same

    assert same.benchmark is True and same.deterministic is True


def test_manual_seed_all_seeds_the_one_generator():
    jn.cuda.manual_seed_all(7)
    a = jn.rand(3).tolist()
    jn.manual_seed(7)
    assert jn.rand(3).tolist() == a


def test_device_objects_work_where_strings_do():
    cpu = jn.device("cpu")
    assert jn.zeros(2, device=cpu).device == cpu and jn.tensor([1.0], device=cpu).device == cpu
    assert jn.ones(2).to(cpu).device == "cpu" and jn.ones(2).to(device=cpu, dtype=jn.float64)\
        .dtype is jn.float64
    assert nn.Linear(2, 2).to(cpu).weight.device == cpu
    made = [jn.zeros(2, device=cpu), jn.full((2,), 1.0, device=cpu), jn.arange(3, device=cpu),
            jn.linspace(0, 1, 3, device=cpu), jn.eye(2, device=cpu), jn.rand(2, device=cpu),
            jn.randn(2, device=cpu), jn.randint(0, 3, (2,), device=cpu),
            jn.randperm(3, device=cpu), jn.as_tensor([1.0], device=cpu),
            jn.zeros_like(jn.ones(2), device=cpu), jn.ones(2).new_zeros(2, device=cpu),
            jn.ones(2).new_tensor([1.0], device=cpu)]
    assert all(t.device == cpu for t in made)
    assert jn.device(0) == jn.device("cuda:0") == jn.device("cuda", 0)
    with pytest.raises(RuntimeError, match="unknown device 'mps'"):
        jn.device("mps")


# ------------------------------------------------------------------ legacy constructors

def test_legacy_tensor_constructor():
    x = jn.Tensor([1, 2])
    assert x.dtype is jn.float32 and x.tolist() == [1.0, 2.0] and x.shape == (2,)
    assert (x * 2).tolist() == [2.0, 4.0]  # a real tensor, not a list inside one
    assert jn.Tensor(2, 3).shape == (2, 3) and jn.Tensor(2, 3).dtype is jn.float32
    assert jn.Tensor(jn.Size([4])).shape == (4,) and jn.Tensor((2, 3)).tolist() == [2.0, 3.0]
    assert jn.Tensor().shape == (0,)
    assert jn.Tensor([[1, 2]], device="cpu").shape == (1, 2)
    with pytest.raises(TypeError, match="sizes must be ints"):
        jn.Tensor(2, [3])
    with pytest.raises(TypeError, match="jn.tensor"):
        jn.Tensor(2.5)


@requires_torch
def test_typed_tensor_classes_match_torch():
    for name in ("FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor",
                 "ByteTensor"):
        j, t = getattr(jn, name)([1, 0, 2]), getattr(torch, name)([1, 0, 2])
        assert j.tolist() == t.tolist() and j.dtype.name == str(t.dtype).split(".")[1], name
        assert getattr(jn, name)(2, 3).shape == tuple(getattr(torch, name)(2, 3).shape)
        assert j.type() == t.type().replace("torch.", "jitnet."), name
    assert isinstance(jn.zeros(1), jn.FloatTensor) and not isinstance(jn.zeros(1), jn.LongTensor)
    assert jn.LongTensor().shape == (0,)


@requires_torch
def test_tensor_type_casts_like_torch():
    data = [1.7, -2.2]
    for spec in ("torch.LongTensor", "torch.IntTensor", "torch.DoubleTensor", "torch.BoolTensor"):
        j, t = jn.tensor(data).type(spec), torch.tensor(data).type(spec)
        assert j.tolist() == t.tolist() and j.type() == t.type().replace("torch.", "jitnet.")
    assert jn.tensor(data).type(jn.LongTensor).tolist() == [1, -2]
    assert jn.tensor(data).type(jn.float64).dtype is jn.float64
    assert jn.tensor(data).type("float64").dtype is jn.float64  # names: a jitnet extension
    assert jn.tensor(data).type("jitnet.IntTensor").dtype is jn.int32
    with pytest.raises(TypeError, match="unknown type"):
        jn.tensor(data).type("numpy.FloatTensor")


def test_variable_is_the_tensor():
    x = jn.ones(2)
    v = jn.autograd.Variable(x, requires_grad=True)
    assert v is x and v.requires_grad
    (v * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    assert jn.autograd.Variable(jn.zeros(1)).requires_grad is False
    with pytest.raises(TypeError, match="Variable: data must be a Tensor"):
        jn.autograd.Variable([1.0])


# ------------------------------------------------------------------ printing

@requires_torch
def test_reprs_match_torch_but_for_the_name():
    def same(j, t):
        assert repr(j) == repr(t).replace("torch.", "jitnet."), (repr(j), repr(t))

    same(jn.tensor([1, 2]), torch.tensor([1, 2]))
    same(jn.tensor([1, 2], dtype=jn.int32), torch.tensor([1, 2], dtype=torch.int32))
    same(jn.tensor([1.0, 2.0], dtype=jn.float64), torch.tensor([1.0, 2.0], dtype=torch.float64))
    same(jn.tensor(True), torch.tensor(True))
    same(jn.zeros(0, 3), torch.zeros(0, 3))
    same(jn.zeros(0, dtype=jn.int64), torch.zeros(0, dtype=torch.int64))
    same(jn.tensor([1.0], requires_grad=True), torch.tensor([1.0], requires_grad=True))
    same(jn.Size([2, 3]), torch.Size([2, 3]))
    x = [3.0, 1.0, 2.0]
    same(jn.tensor(x).sort(), torch.tensor(x).sort())
    same(jn.tensor(x).max(0), torch.tensor(x).max(0))
    same(jn.tensor(x).min(dim=0), torch.tensor(x).min(dim=0))
    same(jn.tensor(x).topk(2), torch.tensor(x).topk(2))


def test_return_types_are_named_tuples():
    r = jn.tensor([[3.0, 1.0], [0.0, 4.0]]).max(dim=1)
    assert type(r) is jn.return_types.max and r._fields == ("values", "indices")
    values, indices = r
    assert values.tolist() == [3.0, 4.0] and r.indices.tolist() == [0, 1] == indices.tolist()
    assert isinstance(jn.sort(jn.tensor([2.0, 1.0])), jn.return_types.sort)
    assert isinstance(jn.topk(jn.tensor([2.0, 1.0]), 1), jn.return_types.topk)
    assert isinstance(jn.min(jn.tensor([2.0, 1.0]), 0), jn.return_types.min)


def test_repr_of_a_module_whose_init_raised():
    with pytest.raises(ValueError, match="unknown nonlinearity") as info:
        nn.RNN(2, 3, nonlinearity="bad")
    tb = info.tb
    while tb.tb_next is not None:
        tb = tb.tb_next
    half = tb.tb_frame.f_locals["self"]  # the object the failed __init__ left behind
    assert repr(half) == "RNN(<partly initialised>)"

    class Odd(nn.Module):
        def extra_repr(self):
            return f"size={self.size}"

    assert repr(Odd.__new__(Odd)) == "Odd(<partly initialised>)"  # not even Module.__init__


# ------------------------------------------------------------------ save / load

def test_save_load_file_objects_and_nesting(tmp_path):
    obj = {"w": jn.arange(6.0).reshape(2, 3), "arr": np.arange(4, dtype=np.int32),
           "meta": [1, 2.5, "x", None, True, (jn.ones(1), {"k": -3})]}
    buf = io.BytesIO()
    jn.save(obj, buf)
    buf.seek(0)
    back = jn.load(buf, weights_only=True)
    assert back["w"].tolist() == obj["w"].tolist() and back["arr"].dtype == np.int32
    assert back["meta"][:5] == [1, 2.5, "x", None, True]
    assert back["meta"][5][0].tolist() == [1.0] and back["meta"][5][1] == {"k": -3}
    path = tmp_path / "model.pt"
    with open(path, "wb") as fh:
        jn.save(np.eye(2), fh)
    with open(path, "rb") as fh:
        assert np.array_equal(jn.load(fh, map_location="cpu", weights_only=False), np.eye(2))


def test_load_map_location_forms(tmp_path):
    path = tmp_path / "m.safetensors"
    jn.save({"w": jn.ones(2)}, path)
    assert jn.load(path, map_location=jn.device("cpu"))["w"].device == "cpu"
    assert jn.load(path, map_location={"cpu": "cpu"})["w"].tolist() == [1.0, 1.0]
    seen = []
    back = jn.load(path, map_location=lambda storage, loc: seen.append(loc) or storage)
    assert seen == ["cpu"] and back["w"].tolist() == [1.0, 1.0]
    assert jn.load(path, map_location=lambda s, loc: "cpu")["w"].device == "cpu"
    with pytest.raises(TypeError, match="map_location returned int"):
        jn.load(path, map_location=lambda s, loc: 3)
    with pytest.raises(TypeError, match="map_location must be"):
        jn.load(path, map_location=3)
    with pytest.raises(NotImplementedError, match="pickle_module"):
        jn.load(path, pickle_module=object())


def test_loading_a_foreign_file_says_what_jitnet_reads(tmp_path):
    zip_like = tmp_path / "model.pt"
    zip_like.write_bytes(b"PK\x03\x04" + b"\0" * 60)
    with pytest.raises(ValueError, match=r"not a jitnet checkpoint: it is a zip archive.*"
                                         r"torch.save.*jitnet reads safetensors"):
        jn.load(zip_like)
    pickled = tmp_path / "old.pt"
    pickled.write_bytes(b"\x80\x02" + b"\0" * 60)
    with pytest.raises(ValueError, match="Python pickle"):
        jn.load(pickled)
    with pytest.raises(ValueError, match="not a jitnet checkpoint.*jitnet reads safetensors"):
        jn.load(io.BytesIO(b"hello, world, not a checkpoint at all"))
    with pytest.raises(TypeError, match="binary mode"):
        jn.load(io.StringIO("text"))


@requires_torch
def test_a_real_torch_checkpoint_is_refused_clearly(tmp_path):
    path = tmp_path / "torch.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(ValueError, match="zip archive, the format torch.save writes"):
        jn.load(path)


# ------------------------------------------------------------------ LBFGS

def _rosenbrock_run(lib, line_search_fn, steps=5):
    x = lib.tensor([-1.5, 2.0, -0.5, 1.0], dtype=lib.float64, requires_grad=True)
    opt = lib.optim.LBFGS([x], lr=0.5 if line_search_fn is None else 1, max_iter=4,
                          history_size=3, line_search_fn=line_search_fn)

    def closure():
        opt.zero_grad()
        loss = (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
        loss.backward()
        return loss

    traj = []
    for _ in range(steps):
        loss = opt.step(closure)
        traj.append([float(loss.detach())] + x.detach().numpy().tolist())
    return np.array(traj), opt.state[x]["func_evals"]


@requires_torch
@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_follows_torchs_trajectory(line_search_fn):
    j, j_evals = _rosenbrock_run(jn, line_search_fn)
    t, t_evals = _rosenbrock_run(torch, line_search_fn)
    assert j_evals == t_evals  # same number of closure calls: the same branches taken
    np.testing.assert_allclose(j, t, rtol=1e-10, atol=1e-12)
    assert j[-1, 0] < 0.01 * j[0, 0]  # and it does minimise


def test_lbfgs_state_dict_round_trip_through_a_checkpoint():
    def build():
        jn.manual_seed(0)
        model = nn.Linear(3, 2).double()
        opt = jn.optim.LBFGS(model.parameters(), max_iter=3, history_size=2)
        x = jn.randn(8, 3, dtype=jn.float64)
        y = jn.randn(8, 2, dtype=jn.float64)

        def closure():
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            return loss

        return model, opt, closure

    model, opt, closure = build()
    opt.step(closure)
    buf = io.BytesIO()
    jn.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    saved = jn.load(buf)
    expected = float(opt.step(closure)), model.weight.detach().numpy().copy()

    model2, opt2, closure2 = build()
    model2.load_state_dict(saved["model"])
    opt2.load_state_dict(saved["opt"])
    got = float(opt2.step(closure2)), model2.weight.detach().numpy()
    assert got[0] == expected[0]
    np.testing.assert_array_equal(got[1], expected[1])


def test_lbfgs_bad_arguments():
    p = jn.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="line_search_fn"):
        jn.optim.LBFGS([p], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="history_size"):
        jn.optim.LBFGS([p], history_size=0)
    with pytest.raises(ValueError, match="parameter groups"):
        jn.optim.LBFGS([{"params": [p]}, {"params": [jn.zeros(1, requires_grad=True)]}])
    with pytest.raises(RuntimeError, match="closure"):
        jn.optim.LBFGS([p]).step(None)


# ------------------------------------------------------------------ schedulers

SCHEDULES = {
    "linear": lambda L, o: L.LinearLR(o, start_factor=0.25, total_iters=4),
    "linear_decay": lambda L, o: L.LinearLR(o, start_factor=1.0, end_factor=0.1,
                                            total_iters=6),
    "warmup_cosine": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, 0.1, total_iters=3), L.CosineAnnealingLR(o, T_max=8)],
        milestones=[3]),
    "three": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, 0.5, total_iters=2), L.StepLR(o, 2, 0.5), L.ExponentialLR(o, 0.9)],
        milestones=[3, 7]),
    "sgdr": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01),
    "sgdr_fixed": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=4),
}


def _lrs(lib, build, epochs=None, n=14):
    p = lib.zeros(1, requires_grad=True)
    opt = lib.optim.SGD([p], lr=0.1)
    sched = build(lib.optim.lr_scheduler, opt)
    out = [opt.param_groups[0]["lr"]]
    for i in range(n):
        opt.step()
        sched.step() if epochs is None else sched.step(epochs[i])
        out.append(opt.param_groups[0]["lr"])
    return out, sched.get_last_lr()


@requires_torch
@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedulers_match_torchs_lr_sequence(name):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's get_lr-outside-step notes
        expected = _lrs(torch, SCHEDULES[name])
    assert _lrs(jn, SCHEDULES[name]) == expected  # bit for bit


@requires_torch
def test_warm_restarts_with_fractional_epochs():
    epochs = [i / 3 for i in range(1, 15)]
    assert _lrs(jn, SCHEDULES["sgdr"], epochs) == _lrs(torch, SCHEDULES["sgdr"], epochs)


def test_scheduler_bad_arguments():
    L = jn.optim.lr_scheduler
    opt = jn.optim.SGD([jn.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="starting multiplicative factor"):
        L.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="T_0"):
        L.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="number of milestone"):
        L.SequentialLR(opt, [L.LinearLR(opt)], milestones=[2])
    other = jn.optim.SGD([jn.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match="same optimizer"):
        L.SequentialLR(opt, [L.LinearLR(opt), L.LinearLR(other)], milestones=[2])


def test_sequential_lr_state_dict_round_trip():
    L = jn.optim.lr_scheduler

    def build():
        opt = jn.optim.SGD([jn.zeros(1, requires_grad=True)], lr=0.1)
        return opt, L.SequentialLR(opt, [L.LinearLR(opt, 0.1, total_iters=3),
                                         L.ExponentialLR(opt, 0.5)], milestones=[3])

    opt, sched = build()
    for _ in range(5):
        sched.step()
    state = sched.state_dict()
    opt2, sched2 = build()
    sched2.load_state_dict(state)
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
