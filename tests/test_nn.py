"""jitnet.nn: Module mechanics, layers against PyTorch, init, RNN, gradient clipping."""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import requires_torch

import jitnet as jn
from jitnet import nn
from jitnet.nn import init


def small_net():
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def _torch_state(module):
    return {k: jn.tensor(v.detach().numpy()) for k, v in module.state_dict().items()}


# ---------------------------------------------------------------------- Module mechanics

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.scale = nn.Parameter(jn.ones(3))
        self.register_buffer("count", jn.zeros(1))
        self.register_buffer("scratch", jn.zeros(2), persistent=False)
        self.blocks = nn.ModuleList([nn.Linear(3, 3), nn.Tanh()])

    def forward(self, x):
        x = self.fc(x) * self.scale
        for b in self.blocks:
            x = b(x)
        return x


def test_registration_and_traversal():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc.weight", "fc.bias", "blocks.0.weight", "blocks.0.bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert [n for n, _ in net.named_buffers()] == ["count", "scratch"]
    assert [n for n, _ in net.named_children()] == ["fc", "blocks"]
    assert [n for n, _ in net.named_modules()] == ["", "fc", "blocks", "blocks.0", "blocks.1"]
    assert list(net.state_dict()) == ["scale", "count", "fc.weight", "fc.bias",
                                      "blocks.0.weight", "blocks.0.bias"]
    assert net.get_submodule("blocks.0") is net.blocks[0]
    # a shared parameter is listed once
    shared = nn.Sequential(net.fc, net.fc)
    assert len(list(shared.parameters())) == 2
    out = net(jn.randn(5, 4))
    assert tuple(out.shape) == (5, 3)


def test_setattr_rules():
    net = Net()
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        net.scale = jn.ones(3)
    net.scale = None
    assert "scale" not in dict(net.named_parameters())
    with pytest.raises(TypeError, match="as buffer 'count'"):
        net.count = 3
    net.count = jn.ones(1)
    assert net.state_dict()["count"].item() == 1
    with pytest.raises(TypeError, match="as child module 'fc'"):
        net.fc = 3
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = net.nope
    del net.fc
    assert "fc" not in dict(net.named_children())

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(jn.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(KeyError, match="empty or contain"):
        nn.Module().register_buffer("a.b", jn.ones(1))
    with pytest.raises(TypeError, match="jitnet.nn.Parameter or None required"):
        nn.Module().register_parameter("w", jn.ones(1))
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_train_eval_requires_grad_zero_grad_apply():
    net = Net()
    assert net.eval() is net and not net.blocks[0].training
    net.train()
    assert all(m.training for m in net.modules())
    net(jn.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "Linear", "Tanh", "ModuleList", "Net"]
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")


def test_to_dtype_keeps_parameter_objects():
    net = Net()
    weight = net.fc.weight
    net(jn.randn(2, 4)).sum().backward()
    assert net.to(jn.float64) is net
    assert net.fc.weight is weight and weight.dtype is jn.float64
    assert weight.grad.dtype is jn.float64
    assert net.count.dtype is jn.float64
    y = net(jn.randn(2, 4, dtype=jn.float64))
    assert y.dtype is jn.float64
    net.float()
    assert weight.dtype is jn.float32
    assert net.to("cpu") is net
    with pytest.raises(TypeError, match="floating point dtypes"):
        net.to(jn.int64)


def test_state_dict_roundtrip_and_errors():
    a, b = small_net(), small_net()
    x = jn.randn(3, 4)
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    # load copies in place: the parameter objects stay
    w = b[0].weight
    b.load_state_dict({k: v.numpy() * 0 for k, v in a.state_dict().items()})
    assert b[0].weight is w and np.all(w.detach().numpy() == 0)

    sd = a.state_dict()
    del sd["0.bias"]
    sd["extra.weight"] = jn.zeros(1)
    sd["2.weight"] = jn.zeros(5, 5)
    with pytest.raises(RuntimeError) as err:
        b.load_state_dict(sd)
    msg = str(err.value)
    assert 'Missing key(s) in state_dict: "0.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert "size mismatch for 2.weight: copying a param with shape (5, 5)" in msg
    assert "the shape in current model is (2, 3)" in msg
    del sd["2.weight"]
    res = b.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["0.bias", "2.weight"] and res.unexpected_keys == ["extra.weight"]
    with pytest.raises(RuntimeError, match="expected a Tensor or NumPy array"):
        b.load_state_dict({**a.state_dict(), "0.bias": [1, 2, 3]})
    with pytest.raises(TypeError, match="expected a dict"):
        b.load_state_dict([1, 2])


@requires_torch
def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    for lib_nn, ref in ((nn, torch.nn),):
        def build(m):
            return m.Sequential(m.Conv2d(1, 4, 3, padding=1), m.BatchNorm2d(4), m.ReLU(),
                                m.MaxPool2d(2), m.Flatten(), m.Linear(16, 10, bias=False),
                                m.Dropout(0.1), m.LeakyReLU(0.2), m.Embedding(5, 3))
        assert repr(build(lib_nn)) == repr(build(ref))
    assert repr(nn.Parameter(jn.ones(2))).startswith("Parameter containing:\ntensor(")


# ---------------------------------------------------------------------- containers

def test_containers():
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and isinstance(seq[-1], nn.Linear)
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    seq.append(nn.Sigmoid())
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    with pytest.raises(IndexError, match="out of range"):
        seq[7]
    from collections import OrderedDict

    named = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.Tanh()))
    assert list(dict(named.named_children())) == ["fc", "act"]
    ml = nn.ModuleList([nn.Linear(2, 2)])
    ml.append(nn.ReLU())
    ml += [nn.Tanh()]
    assert len(ml) == 3 and len(list(ml.parameters())) == 2
    with pytest.raises(TypeError, match="iterable"):
        ml.extend(nn.ReLU())
    md = nn.ModuleDict({"a": nn.Linear(2, 2)})
    md["b"] = nn.ReLU()
    assert list(md.keys()) == ["a", "b"] and "a" in md and len(md) == 2
    assert list(dict(md.named_parameters())) == ["a.weight", "a.bias"]
    assert isinstance(nn.Identity(3, foo=1)(jn.ones(2)), jn.Tensor)


# ---------------------------------------------------------------------- layers vs torch

@requires_torch
@pytest.mark.parametrize("name", ["linear", "conv", "conv_groups", "pools", "acts", "bn1d",
                                  "bn2d", "embedding", "rnn"])
def test_layers_match_torch(name):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    rng = np.random.default_rng(0)

    def both(build):
        ref = build(torch.nn)
        mine = build(nn)
        mine.load_state_dict(_torch_state(ref))
        return mine, ref

    if name == "linear":
        pair, x = both(lambda m: m.Linear(5, 3)), rng.standard_normal((4, 2, 5))
    elif name == "conv":
        pair = both(lambda m: m.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1, dilation=1))
        x = rng.standard_normal((2, 2, 7, 6))
    elif name == "conv_groups":
        pair, x = both(lambda m: m.Conv2d(4, 6, 3, groups=2, padding="same")), \
            rng.standard_normal((2, 4, 5, 5))
    elif name == "pools":
        pair = both(lambda m: m.Sequential(m.MaxPool2d(2), m.AvgPool2d(2, stride=1, padding=1),
                                           m.AdaptiveAvgPool2d((2, 3))))
        x = rng.standard_normal((2, 3, 8, 8))
    elif name == "acts":
        pair = both(lambda m: m.Sequential(m.LeakyReLU(0.1), m.GELU(), m.Tanh(), m.Sigmoid(),
                                           m.Softmax(dim=1), m.LogSoftmax(dim=1),
                                           m.Flatten(0)))
        x = rng.standard_normal((3, 4))
    elif name == "bn1d":
        pair, x = both(lambda m: m.BatchNorm1d(3, momentum=None)), rng.standard_normal((6, 3, 2))
    elif name == "bn2d":
        pair, x = both(lambda m: m.BatchNorm2d(3)), rng.standard_normal((4, 3, 2, 2))
    elif name == "embedding":
        pair = both(lambda m: m.Embedding(6, 3, padding_idx=1))
        x = np.array([[0, 1, 5], [1, 2, 2]])
    else:
        pair = both(lambda m: m.RNN(3, 4, num_layers=2, batch_first=True))
        x = rng.standard_normal((2, 5, 3))
    mine, ref = pair
    mine.double()
    ref.double()
    if x.dtype.kind == "f":
        xj, xt = jn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    else:
        xj, xt = jn.tensor(x), torch.tensor(x)
    for _step in range(2):  # twice: batch norm's running stats move in between
        yj, yt = mine(xj), ref(xt)
        if name == "rnn":
            np.testing.assert_allclose(yj[1].detach().numpy(), yt[1].detach().numpy(),
                                       atol=1e-10)
            yj, yt = yj[0], yt[0]
        np.testing.assert_allclose(yj.detach().numpy(), yt.detach().numpy(), atol=1e-10)
        w = rng.standard_normal(tuple(yt.shape))
        (yj * jn.tensor(w)).sum().backward()
        (yt * torch.tensor(w)).sum().backward()
    for (kj, pj), (kt, pt) in zip(mine.named_parameters(), ref.named_parameters()):
        assert kj == kt
        np.testing.assert_allclose(pj.grad.numpy(), pt.grad.numpy(), atol=1e-9, err_msg=kj)
    if x.dtype.kind == "f":
        np.testing.assert_allclose(xj.grad.numpy(), xt.grad.numpy(), atol=1e-9)
    for k, v in ref.state_dict().items():  # running statistics and num_batches_tracked
        np.testing.assert_allclose(mine.state_dict()[k].numpy(), v.numpy(), atol=1e-12,
                                   err_msg=k)
    mine.eval()
    ref.eval()
    out_j, out_t = mine(xj), ref(xt)
    if name == "rnn":
        out_j, out_t = out_j[0], out_t[0]
    np.testing.assert_allclose(out_j.detach().numpy(), out_t.detach().numpy(), atol=1e-10)


@requires_torch
def test_losses_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    probs = 1 / (1 + np.exp(-rng.standard_normal((5, 4))))
    target = (rng.random((5, 4)) > 0.5).astype(np.float64)
    cw = np.array([1.0, 2.0, 0.5, 1.0])
    cases = [
        ("CrossEntropyLoss", dict(label_smoothing=0.1), logits, labels),
        ("CrossEntropyLoss", dict(weight=cw, ignore_index=1), logits, labels),
        ("NLLLoss", dict(reduction="sum"), np.log(probs / probs.sum(1, keepdims=True)), labels),
        ("MSELoss", {}, logits, target),
        ("L1Loss", dict(reduction="none"), logits, target),
        ("HuberLoss", dict(delta=0.5), logits, target),
        ("SmoothL1Loss", dict(beta=0.5), logits, target),
        ("BCELoss", {}, probs, target),
        ("BCEWithLogitsLoss", dict(pos_weight=cw), logits, target),
    ]
    for name, kw, inp, tgt in cases:
        kj = {k: jn.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        kt = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        xj, xt = jn.tensor(inp, requires_grad=True), torch.tensor(inp, requires_grad=True)
        lj = getattr(nn, name)(**kj)(xj, jn.tensor(tgt))
        lt = getattr(torch.nn, name)(**kt)(xt, torch.tensor(tgt))
        np.testing.assert_allclose(lj.detach().numpy(), lt.detach().numpy(), atol=1e-10,
                                   err_msg=name)
        lj.sum().backward()
        lt.sum().backward()
        np.testing.assert_allclose(xj.grad.numpy(), xt.grad.numpy(), atol=1e-10, err_msg=name)
    with pytest.raises(NotImplementedError, match="size_average"):
        nn.MSELoss(size_average=True)
    with pytest.raises(ValueError, match="reduction must be"):
        nn.L1Loss(reduction="avg")
    with pytest.raises(ValueError, match="delta must be > 0"):
        nn.HuberLoss(delta=0)


def test_dropout_layers_follow_mode():
    x = jn.ones(64, 8, 2, 2)
    drop, drop2d = nn.Dropout(0.5), nn.Dropout2d(0.5)
    y = drop(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 0 < (y == 0).mean() < 1
    y2 = drop2d(x).numpy()
    per_channel = y2.reshape(64, 8, 4)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # whole channels
    drop.eval()
    drop2d.eval()
    assert drop(x) is x and drop2d(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_batchnorm_input_checks_and_no_tracking():
    with pytest.raises(ValueError, match=r"expected 4D \(N, C, H, W\) input, got 3D"):
        nn.BatchNorm2d(3)(jn.ones(2, 3, 4))
    with pytest.raises(ValueError, match="expected 2D"):
        nn.BatchNorm1d(3)(jn.ones(2, 3, 4, 4))
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(bn.state_dict()) == [] and list(bn.parameters()) == []
    x = jn.randn(8, 3)
    bn.eval()  # no running stats: batch statistics even in eval mode
    y = bn(x).numpy()
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)


def test_unsupported_constructor_arguments():
    cases = [
        (lambda: nn.Conv2d(1, 1, 3, padding_mode="reflect"), "Conv2d: padding_mode='reflect'"),
        (lambda: nn.LSTM(2, 2, proj_size=1), "LSTM: proj_size=1"),
        (lambda: nn.Embedding(3, 2, sparse=True), "Embedding: sparse=True"),
        (lambda: nn.Embedding(3, 2, max_norm=1.0), "Embedding: max_norm=1.0"),
        (lambda: nn.Dropout(inplace=True), "Dropout: inplace=True"),
    ]
    for make, msg in cases:
        with pytest.raises(NotImplementedError, match=msg.replace("(", r"\(")):
            make()
    with pytest.raises(ValueError, match="in_channels \\(3\\) must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_features must be a positive int"):
        nn.Linear(3, 0)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        nn.RNN(2, 2, nonlinearity="sigmoid")


# ---------------------------------------------------------------------- init

def test_default_initialisation_bounds():
    jn.manual_seed(0)
    lin = nn.Linear(50, 40)
    bound = 1 / math.sqrt(50)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    conv = nn.Conv2d(4, 8, 3)
    cb = 1 / math.sqrt(4 * 9)
    assert np.abs(conv.weight.detach().numpy()).max() <= cb
    emb = nn.Embedding(400, 50, padding_idx=0)
    e = emb.weight.detach().numpy()
    assert np.all(e[0] == 0) and abs(e[1:].std() - 1) < 0.05
    rnn = nn.RNN(3, 25)
    assert all(np.abs(p.detach().numpy()).max() <= 0.2 for p in rnn.parameters())
    bn = nn.BatchNorm2d(3)
    assert np.all(bn.weight.detach().numpy() == 1) and np.all(bn.bias.detach().numpy() == 0)
    assert repr(nn.BatchNorm2d(3, bias=False)).endswith("bias=False, track_running_stats=True)")
    assert list(nn.BatchNorm2d(3, bias=False).state_dict())[:2] == ["weight", "running_mean"]


@requires_torch
def test_init_functions():
    torch = pytest.importorskip("torch")
    for nl, param in [("linear", None), ("relu", None), ("tanh", None), ("leaky_relu", None),
                      ("leaky_relu", 0.2), ("selu", None), ("sigmoid", None)]:
        assert init.calculate_gain(nl, param) == pytest.approx(
            torch.nn.init.calculate_gain(nl, param))
    jn.manual_seed(0)
    t = jn.empty(200, 300)
    fan_in, fan_out = 300, 200
    init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")
    assert t.numpy().std() == pytest.approx(math.sqrt(2 / fan_out), rel=0.03)
    init.kaiming_uniform_(t, a=math.sqrt(5))
    assert np.abs(t.numpy()).max() <= 1 / math.sqrt(fan_in)
    init.xavier_uniform_(t, gain=2.0)
    a = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(t.numpy()).max() <= a and np.abs(t.numpy()).max() > 0.95 * a
    init.xavier_normal_(t)
    assert t.numpy().std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.03)
    init.normal_(t, 3.0, 0.5)
    assert t.numpy().mean() == pytest.approx(3.0, abs=0.01)
    init.uniform_(t, -1, 2)
    assert t.numpy().min() >= -1 and t.numpy().max() < 2
    assert np.all(init.constant_(t, 0.5).numpy() == 0.5)
    assert np.all(init.zeros_(t).numpy() == 0) and np.all(init.ones_(t).numpy() == 1)
    g1, g2 = jn.Generator().manual_seed(3), jn.Generator().manual_seed(3)
    np.testing.assert_array_equal(init.normal_(jn.empty(4), generator=g1).numpy(),
                                  init.normal_(jn.empty(4), generator=g2).numpy())
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(jn.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(jn.empty(2, 2), mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(TypeError, match="expected a Tensor"):
        init.zeros_(np.zeros(3))


# ---------------------------------------------------------------------- RNN

def test_rnn_shapes_and_errors():
    rnn = nn.RNN(3, 4, num_layers=2)
    out, h = rnn(jn.randn(5, 2, 3))
    assert tuple(out.shape) == (5, 2, 4) and tuple(h.shape) == (2, 2, 4)
    out, h = rnn(jn.randn(5, 3))  # unbatched
    assert tuple(out.shape) == (5, 4) and tuple(h.shape) == (2, 4)
    out, h = nn.RNN(3, 4, batch_first=True)(jn.randn(2, 5, 3), jn.zeros(1, 2, 4))
    assert tuple(out.shape) == (2, 5, 4)
    np.testing.assert_allclose(out[:, -1].detach().numpy(), h[0].detach().numpy())
    with pytest.raises(ValueError, match="input.size\\(-1\\) must be equal to input_size"):
        rnn(jn.randn(5, 2, 4))
    with pytest.raises(ValueError, match="Expected hidden size \\(2, 2, 4\\)"):
        rnn(jn.randn(5, 2, 3), jn.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D"):
        rnn(jn.randn(3))


def test_rnn_learns_to_remember_the_first_input():
    """Toy sequence task: after 6 random steps, output the sign of the first input."""
    jn.manual_seed(0)
    rng = np.random.default_rng(0)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(1, 16, batch_first=True)
            self.head = nn.Linear(16, 2)

        def forward(self, x):
            _, h = self.rnn(x)
            return self.head(h[0])

    model = Model()
    opt = jn.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.CrossEntropyLoss()

    def batch(n):
        x = rng.standard_normal((n, 6, 1)).astype(np.float32)
        return jn.tensor(x), jn.tensor((x[:, 0, 0] > 0).astype(np.int64))

    for _ in range(150):
        x, y = batch(32)
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, y = batch(256)
    with jn.no_grad():
        acc = (model(x).argmax(1) == y).numpy().mean()
    assert acc > 0.9


# ---------------------------------------------------------------------- utils

@requires_torch
def test_clip_grad_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)) * 3, rng.standard_normal(5)]
    for norm_type in (2.0, 1.0, math.inf):
        pj = [jn.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
        pt = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for p, g in zip(pj, grads):
            p.grad = jn.tensor(g)
        for p, g in zip(pt, grads):
            p.grad = torch.tensor(g)
        total_j = nn.utils.clip_grad_norm_(pj, 1.5, norm_type)
        total_t = torch.nn.utils.clip_grad_norm_(pt, 1.5, norm_type)
        assert total_j.item() == pytest.approx(total_t.item(), rel=1e-7)
        for a, b in zip(pj, pt):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-7)
    p = jn.tensor([0.0, 0.0, 0.0], requires_grad=True)
    p.grad = jn.tensor([-3.0, 0.5, 2.0])
    g = p.grad
    nn.utils.clip_grad_value_([p], 1.0)
    assert p.grad is g and p.grad.tolist() == [-1.0, 0.5, 1.0]
    p.grad = jn.tensor([math.nan, 1.0, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        nn.utils.clip_grad_value_(p, -1)
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_functional_is_importable_from_nn():
    import jitnet.nn.functional as F

    assert nn.functional is F and callable(F.conv2d)
    assert nn.init is init
