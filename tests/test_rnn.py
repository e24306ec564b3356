"""nn.RNN / LSTM / GRU and the cells against PyTorch (float64, a PyTorch state_dict loaded),
gradcheck through the fused cell kernels, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import requires_torch
from seq_helpers import check_module

import jitnet as jn
from jitnet import nn
from jitnet.kernels.scalar import rnn as formulas
from jitnet.nn import functional as F
from jitnet.ops.rnn import gru_layer, lstm_layer, rnn_layer

pytestmark = requires_torch


def _seq(rng, batch_first=False, steps=4, batch=2, features=3):
    return rng.standard_normal((batch, steps, features) if batch_first
                               else (steps, batch, features))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("kw", [dict(num_layers=2, bidirectional=True),
                                dict(batch_first=True, bias=False)])
def test_recurrent_layers_match_torch(rng, kind, kw):
    import torch

    x = _seq(rng, kw.get("batch_first", False))
    check_module(getattr(torch.nn, kind)(3, 4, **kw), getattr(nn, kind)(3, 4, **kw), [x],
                 lambda lib, m, t: m(t[0]))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_initial_states_and_unbatched_input(rng, kind):
    import torch

    dirs, layers = 2, 2
    h0 = rng.standard_normal((dirs * layers, 2, 4))
    x = _seq(rng)
    kw = dict(num_layers=layers, bidirectional=True)
    if kind == "LSTM":
        c0 = rng.standard_normal((dirs * layers, 2, 4))
        call = lambda lib, m, t: m(t[0], (t[1], t[2]))  # noqa: E731
        arrays = [x, h0, c0]
        arrays_u = [x[:, 0], h0[:, 0], c0[:, 0]]
    else:
        call = lambda lib, m, t: m(t[0], t[1])  # noqa: E731
        arrays, arrays_u = [x, h0], [x[:, 0], h0[:, 0]]
    check_module(getattr(torch.nn, kind)(3, 4, **kw), getattr(nn, kind)(3, 4, **kw), arrays,
                 call)
    check_module(getattr(torch.nn, kind)(3, 4, **kw), getattr(nn, kind)(3, 4, **kw), arrays_u,
                 call)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_batches_split_over_threads_match_torch(rng, kind):
    """A batch big enough that the CPU sequence kernels give each thread its own samples
    (kernels/cpu/rnn.py, ``_seq_tasks``), both directions, initial states included."""
    import torch

    n, hid, dirs = 40, 64, 2
    x = _seq(rng, batch=n)
    h0 = rng.standard_normal((dirs, n, hid))
    kw = dict(bidirectional=True)
    if kind == "LSTM":
        call = lambda lib, m, t: m(t[0], (t[1], t[2]))  # noqa: E731
        arrays = [x, h0, rng.standard_normal((dirs, n, hid))]
    else:
        call = lambda lib, m, t: m(t[0], t[1])  # noqa: E731
        arrays = [x, h0]
    check_module(getattr(torch.nn, kind)(3, hid, **kw), getattr(nn, kind)(3, hid, **kw), arrays,
                 call)


@pytest.mark.parametrize("family", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("n", [3, 40])  # one task; one per thread (``_seq_tasks``)
def test_sequence_backward_sums_the_bias_gradient_in_its_pass(rng, family, reverse, n):
    """The CPU sequence kernels return the bias gradient summed while they write the gate
    gradients (per-task float64 partials): it equals the column sum of those gradients,
    and is None when not asked for."""
    from jitnet.kernels import cpu as k

    length, hid = 5, 64
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[family]
    gi = rng.standard_normal((length, n, gates * hid)).astype(np.float32)
    w = (rng.standard_normal((gates * hid, hid)) * 0.1).astype(np.float32)
    b = rng.standard_normal(gates * hid).astype(np.float32)
    h0 = rng.standard_normal((n, hid)).astype(np.float32)
    if family == "rnn":
        hs = k.rnn_seq_fwd(gi, w, b, h0, False, reverse)
        g = rng.standard_normal(hs.shape).astype(np.float32)
        args = (hs, g, w, False, reverse)
    elif family == "lstm":
        c0 = rng.standard_normal((n, hid)).astype(np.float32)
        out, cs, saved = k.lstm_seq_fwd(gi, w, b, h0, c0, reverse)
        g = rng.standard_normal(out.shape).astype(np.float32)
        args = (saved, cs, c0, g, w, reverse)
    else:
        hs, saved = k.gru_seq_fwd(gi, w, b, h0, reverse)
        g = rng.standard_normal(hs.shape).astype(np.float32)
        args = (saved, hs, h0, g, w, reverse)
    res = getattr(k, f"{family}_seq_bwd")(*args, True)
    db = res[-1]
    grads = res[1] if family == "gru" else res[0]  # GRU: b_hh's gradient is dgh's sum
    want = grads.astype(np.float64).sum(axis=(0, 1))
    assert db.dtype == np.float32 and db.shape == (gates * hid,)
    np.testing.assert_allclose(db, want, rtol=1e-5, atol=1e-5)
    assert getattr(k, f"{family}_seq_bwd")(*args, False)[-1] is None


def test_rnn_relu_and_cells_match_torch(rng):
    import torch

    x = _seq(rng)
    check_module(torch.nn.RNN(3, 4, nonlinearity="relu", bidirectional=True),
                 nn.RNN(3, 4, nonlinearity="relu", bidirectional=True), [x],
                 lambda lib, m, t: m(t[0]))
    kw = dict(nonlinearity="relu", num_layers=2, batch_first=True)
    check_module(torch.nn.RNN(3, 4, **kw), nn.RNN(3, 4, **kw),
                 [_seq(rng, True), rng.standard_normal((2, 2, 4))],
                 lambda lib, m, t: m(t[0], t[1]))
    xb, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), \
        rng.standard_normal((2, 4))
    check_module(torch.nn.LSTMCell(3, 4), nn.LSTMCell(3, 4), [xb, h, c],
                 lambda lib, m, t: m(t[0], (t[1], t[2])))
    check_module(torch.nn.LSTMCell(3, 4, bias=False), nn.LSTMCell(3, 4, bias=False), [xb[0]],
                 lambda lib, m, t: m(t[0]))
    check_module(torch.nn.GRUCell(3, 4), nn.GRUCell(3, 4), [xb, h],
                 lambda lib, m, t: m(t[0], t[1]))
    check_module(torch.nn.RNNCell(3, 4, nonlinearity="relu"),
                 nn.RNNCell(3, 4, nonlinearity="relu"), [xb[1], h[1]],
                 lambda lib, m, t: m(t[0], t[1]))
    check_module(torch.nn.RNNCell(3, 4, bias=False), nn.RNNCell(3, 4, bias=False), [xb, h],
                 lambda lib, m, t: m(t[0], t[1]))
    check_module(torch.nn.RNNCell(3, 4), nn.RNNCell(3, 4), [xb], lambda lib, m, t: m(t[0]))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_float32_cells_match_torch(rng, kind):
    """float32 runs the cells with the rational tanh: still PyTorch's float32 values."""
    import torch

    tm = getattr(torch.nn, kind)(5, 6, num_layers=2)
    jm = getattr(nn, kind)(5, 6, num_layers=2)
    jm.load_state_dict({k: jn.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = (3 * rng.standard_normal((7, 3, 5))).astype(np.float32)
    g = rng.standard_normal((7, 3, 6)).astype(np.float32)
    tx, jx = torch.tensor(x, requires_grad=True), jn.tensor(x, requires_grad=True)
    out_t, out_j = tm(tx)[0], jm(jx)[0]
    out_t.backward(torch.tensor(g))
    out_j.backward(jn.tensor(g))
    assert out_j.dtype is jn.float32
    np.testing.assert_allclose(out_j.detach().numpy(), out_t.detach().numpy(), atol=2e-6)
    np.testing.assert_allclose(jx.grad.numpy(), tx.grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(jm.weight_hh_l0.grad.numpy(), tm.weight_hh_l0.grad.numpy(),
                               atol=1e-4, rtol=1e-5)


def test_fast_tanh_is_float32_accurate():
    x = np.concatenate([np.linspace(-12, 12, 20001), [0.0, -0.0, 1e-30, -1e-8]])
    fast = np.array([formulas.tanh_(v, True) for v in x])
    np.testing.assert_allclose(fast, np.tanh(x), atol=2.7e-7, rtol=0)
    assert np.all(np.abs(fast) <= 1.0) and np.all(np.sign(fast) == np.sign(x))
    assert formulas.tanh_(0.3, False) == np.tanh(0.3)
    # as the CPU compiles it for float32 data: every constant and operation in float32
    tanh32 = jn.kernels._jit.with_globals(formulas.tanh_, formulas.FLOAT32)
    x32 = x.astype(np.float32)
    fast32 = np.array([tanh32(v, True) for v in x32])
    assert fast32.dtype == np.float32
    np.testing.assert_allclose(fast32, np.tanh(x32.astype(np.float64)), atol=3.3e-7, rtol=0)


def test_dropout_between_layers_only_in_training(rng):
    jn.manual_seed(0)
    lstm = nn.LSTM(3, 5, num_layers=2, dropout=0.5).double()
    x = jn.tensor(_seq(rng))
    with jn.no_grad():
        out1, _ = lstm(x)
        out2, _ = lstm(x)
        assert not np.allclose(out1.numpy(), out2.numpy())
        lstm.eval()
        np.testing.assert_array_equal(lstm(x)[0].numpy(), lstm(x)[0].numpy())
        single = nn.GRU(3, 5, dropout=0.5).double()  # one layer: nothing between layers
        np.testing.assert_array_equal(single(x)[0].numpy(), single(x)[0].numpy())


def test_state_dict_keys_and_init_bounds():
    lstm = nn.LSTM(3, 25, num_layers=2, bidirectional=True)
    keys = list(lstm.state_dict())
    assert keys[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert "bias_hh_l1_reverse" in keys and len(keys) == 16
    assert tuple(lstm.weight_ih_l1.shape) == (100, 50)
    assert all(np.abs(p.detach().numpy()).max() <= 0.2 for p in lstm.parameters())
    assert tuple(nn.GRU(3, 4).weight_hh_l0.shape) == (12, 4)
    assert list(nn.GRUCell(3, 4, bias=False).state_dict()) == ["weight_ih", "weight_hh"]


@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_through_the_fused_cell_kernels(rng, reverse):
    def t(*shape):
        return jn.tensor(rng.standard_normal(shape), requires_grad=True)

    gi, w, b, h0, c0 = t(3, 2, 8), t(8, 2), t(8), t(2, 2), t(2, 2)
    assert jn.autograd.gradcheck(lambda *a: lstm_layer(*a, reverse=reverse),
                                 (gi, w, b, h0, c0))
    # the layer's own input projection (w_ih), which its gates overwrite
    x, w_ih, b_ih = t(3, 2, 5), t(8, 5), t(8)
    assert jn.autograd.gradcheck(
        lambda x_, wi, w_, b_, bi, h, c: lstm_layer(x_, w_, b_, h, c, reverse, bi, wi),
        (x, w_ih, w, b, b_ih, h0, c0))
    gi3, w3, b3 = t(3, 2, 6), t(6, 2), t(6)
    assert jn.autograd.gradcheck(lambda *a: gru_layer(*a, reverse=reverse), (gi3, w3, b3, h0))
    assert jn.autograd.gradcheck(lambda g, w_, h: gru_layer(g, w_, None, h), (gi3, w3, h0))
    gi1, w1, b1 = t(3, 2, 2), t(2, 2), t(2)
    for act in ("tanh", "relu"):
        assert jn.autograd.gradcheck(lambda *a, act=act: rnn_layer(*a, act, reverse=reverse),
                                     (gi1, w1, b1, h0))
    assert jn.autograd.gradcheck(lambda g, w_, h: rnn_layer(g, w_, None, h), (gi1, w1, h0))


@pytest.mark.parametrize("n", [3, 40])  # one task; one per thread
def test_lstm_layer_projecting_its_input_matches_a_given_projection(rng, n):
    """lstm_layer(x, ..., w_ih=W) computes its gates over its own projection in place; it
    equals lstm_layer over F.linear(x, W), forward and every gradient, and a projection
    handed in is left as it was."""
    def t(*shape):
        return jn.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)

    hid = 64
    x, w_ih, w_hh, b = t(6, n, 5), t(4 * hid, 5), t(4 * hid, hid), t(4 * hid)
    h0, c0 = t(n, hid), t(n, hid)
    g = rng.standard_normal((7, n, hid)).astype(np.float32)
    gi = F.linear(x, w_ih, None)
    before = gi.detach().numpy().copy()
    want = lstm_layer(gi, w_hh, b, h0, c0)
    np.testing.assert_array_equal(gi.detach().numpy(), before)
    want.backward(jn.tensor(g))
    wants = [p.grad.numpy().copy() for p in (x, w_ih, w_hh, b, h0, c0)]
    for p in (x, w_ih, w_hh, b, h0, c0):
        p.grad = None
    got = lstm_layer(x, w_hh, b, h0, c0, w_ih=w_ih)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6,
                               atol=1e-6)
    got.backward(jn.tensor(g))
    for p, w in zip((x, w_ih, w_hh, b, h0, c0), wants):
        np.testing.assert_allclose(p.grad.numpy(), w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("length", [1, 4])
@pytest.mark.parametrize("family", ["rnn", "lstm", "gru"])
def test_absent_initial_state_is_zeros(rng, family, length):
    """h0 (and c0) None: the layers start from zeros without multiplying them (no h0
    product forward, no h0 term in dW_hh), with the outputs and gradients of explicit
    zeros -- also for one step, whose dW_hh is then all zero."""
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[family]
    hid = 6

    def run(zero):
        r = np.random.default_rng(5)
        gi = jn.tensor(r.standard_normal((length, 3, gates * hid)), requires_grad=True)
        w = jn.tensor(r.standard_normal((gates * hid, hid)), requires_grad=True)
        b = jn.tensor(r.standard_normal(gates * hid), requires_grad=True)
        z = jn.zeros(3, hid, dtype=jn.float64) if zero else None
        if family == "lstm":
            out = lstm_layer(gi, w, b, z, z)
        elif family == "gru":
            out = gru_layer(gi, w, b, z)
        else:
            out = rnn_layer(gi, w, b, z)
        (out * out).sum().backward()
        return [out.detach().numpy(), gi.grad.numpy(), w.grad.numpy(), b.grad.numpy()]

    for got, want in zip(run(False), run(True)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_lstm_backward_twice_with_retain_graph(rng):
    """The last backward computes the gate gradients over the saved gates in place; one
    with retain_graph=True must leave them, so a second backward gives the same
    gradients, and a third (after the graph is freed) raises."""
    lstm = nn.LSTM(5, 64)
    x = jn.tensor(rng.standard_normal((4, 40, 5)).astype(np.float32), requires_grad=True)
    out = (lstm(x)[0] ** 2).sum()
    out.backward(retain_graph=True)
    first = [p.grad.numpy().copy() for p in (x, *lstm.parameters())]
    for p in (x, *lstm.parameters()):
        p.grad = None
    out.backward()
    for p, want in zip((x, *lstm.parameters()), first):
        np.testing.assert_array_equal(p.grad.numpy(), want)
    with pytest.raises(RuntimeError, match="retain_graph"):
        out.backward()


def test_long_sequence_backward_is_one_node_per_layer(rng):
    """The recurrence is one autograd node per layer and direction, however long the
    sequence (the composed Elman RNN recorded ~4 per step, and a gi[t] slice each, whose
    backward allocated a full-length gradient: quadratic in the length)."""
    rnn = nn.RNN(3, 4, num_layers=2).double()
    x = jn.tensor(rng.standard_normal((200, 2, 3)), requires_grad=True)
    out, h_n = rnn(x)
    nodes, todo, seen = 0, [out.grad_fn], set()
    while todo:
        node = todo.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nodes += 1
        todo.extend(getattr(i, "grad_fn", None) for i in node.inputs)
    assert nodes < 12
    out.sum().backward()
    assert x.grad is not None and np.isfinite(x.grad.numpy()).all()


def test_bad_input():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"input.size\(-1\) must be equal to input_size. "
                                         "Expected 3, got 5"):
        lstm(jn.randn(4, 2, 5))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        lstm(jn.randn(4, 2, 3, 1))
    with pytest.raises(ValueError, match=r"Expected hidden\[0\] size \(2, 2, 4\), got "
                                         r"\(1, 2, 4\)"):
        lstm(jn.randn(4, 2, 3), (jn.zeros(1, 2, 4), jn.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match=r"Expected hidden\[1\] size"):
        lstm(jn.randn(4, 2, 3), (jn.zeros(2, 2, 4), jn.zeros(2, 2, 5)))
    with pytest.raises(TypeError, match="hx must be a tuple"):
        lstm(jn.randn(4, 2, 3), jn.zeros(2, 2, 4))
    with pytest.raises(ValueError, match="Expected hidden size \\(2, 3, 4\\)"):
        nn.GRU(3, 4, bidirectional=True)(jn.randn(4, 3, 3), jn.zeros(1, 3, 4))
    with pytest.raises(ValueError, match="should also be 2-D"):
        nn.GRU(3, 4)(jn.randn(4, 3), jn.zeros(1, 1, 4))
    with pytest.raises(TypeError, match="input is jitnet.float32 but hidden is jitnet.float64"):
        nn.GRU(3, 4)(jn.randn(4, 1, 3), jn.zeros(1, 1, 4, dtype=jn.float64))
    with pytest.raises(ValueError, match="inconsistent input_size: got 2 expected 3"):
        nn.LSTMCell(3, 4)(jn.randn(5, 2))
    with pytest.raises(ValueError, match=r"Expected hx\[1\] size \(5, 4\), got \(5, 3\)"):
        nn.LSTMCell(3, 4)(jn.randn(5, 3), (jn.zeros(5, 4), jn.zeros(5, 3)))
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.LSTM(3, 4, dropout=1.5)
    with pytest.raises(NotImplementedError, match="LSTM: proj_size=2"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="RNN: unknown nonlinearity 'gelu'"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="rnn_layer: unknown nonlinearity 'sigmoid'"):
        rnn_layer(jn.randn(2, 1, 4), jn.randn(4, 4), None, jn.zeros(1, 4), "sigmoid")
    with pytest.raises(ValueError, match=r"Expected hidden size \(1, 2, 4\), got \(2, 2, 4\)"):
        nn.RNN(3, 4)(jn.randn(5, 2, 3), jn.zeros(2, 2, 4))
