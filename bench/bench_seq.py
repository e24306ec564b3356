"""Sequence layers forward+backward vs PyTorch CPU: LSTM, GRU, RNN, TransformerEncoderLayer.

- LSTM, GRU and the Elman RNN (tanh): 1 layer, seq 32, batch 64, input 64, hidden 128
  (time-major input);
- TransformerEncoderLayer: batch 32, seq 64, d_model 128, 4 heads, feed-forward 512,
  dropout 0, batch_first.

Both libraries get the same float32 weights (PyTorch's init, loaded into jitnet
as a state_dict) and inputs; a step is forward, then backward of ``sum(out * g)``
to the input and every parameter.

    python -m pytest bench/bench_seq.py --benchmark-only -q
"""
from __future__ import annotations

import pytest
from conftest import NN, rand, run, to_lib, torch

import jitnet as jn

SEQ, BATCH, IN, HID = 32, 64, 64, 128
TF_BATCH, TF_SEQ, D_MODEL, HEADS = 32, 64, 128, 4


def _pair(lib, make):
    """The same float32 module in ``lib``: PyTorch builds it, jitnet loads its state_dict."""
    tmod = make(torch.nn)
    if lib == "torch":
        return tmod
    mod = make(jn.nn)
    mod.load_state_dict({k: jn.tensor(v.detach().numpy()) for k, v in tmod.state_dict().items()})
    return mod


def sequence_step(lib, make, x_shape, out_shape, first):
    """One step of a case in ``lib``: forward, then backward of ``sum(out * g)`` to the
    input and every parameter (``first``: the module returns (output, state)).  Also
    ``ab_conv.py``'s lstm/gru/transformer cases."""
    mod = _pair(lib, make)
    x = to_lib(lib, rand(*x_shape, seed=1), True)
    g = to_lib(lib, rand(*out_shape, seed=2))

    def step():
        x.grad = None
        for p in mod.parameters():
            p.grad = None
        out = mod(x)
        (out[0] if first else out).backward(g)

    return step


CASES = {
    "lstm": (lambda m: m.LSTM(IN, HID), (SEQ, BATCH, IN), (SEQ, BATCH, HID), True),
    "gru": (lambda m: m.GRU(IN, HID), (SEQ, BATCH, IN), (SEQ, BATCH, HID), True),
    "rnn": (lambda m: m.RNN(IN, HID), (SEQ, BATCH, IN), (SEQ, BATCH, HID), True),
    "transformer": (lambda m: m.TransformerEncoderLayer(D_MODEL, HEADS, 4 * D_MODEL, dropout=0.0,
                                                        batch_first=True),
                    (TF_BATCH, TF_SEQ, D_MODEL), (TF_BATCH, TF_SEQ, D_MODEL), False),
}
"""Each case's (module maker given ``torch.nn`` or ``jitnet.nn``, input shape, output
shape, whether the module returns (output, state))."""


def _bench(benchmark, lib, case):
    benchmark.extra_info["target_torch"] = 1.0
    run(benchmark, sequence_step(lib, *CASES[case]))


@pytest.mark.benchmark(group="lstm fwd+bwd")
@pytest.mark.parametrize("lib", NN)
def test_lstm(benchmark, lib):
    """nn.LSTM(64, 128), (32, 64, 64) input, forward + backward."""
    benchmark.group = f"LSTM fwd+bwd seq {SEQ} batch {BATCH} in {IN} hidden {HID}"
    _bench(benchmark, lib, "lstm")


@pytest.mark.benchmark(group="gru fwd+bwd")
@pytest.mark.parametrize("lib", NN)
def test_gru(benchmark, lib):
    """nn.GRU(64, 128), (32, 64, 64) input, forward + backward."""
    benchmark.group = f"GRU fwd+bwd seq {SEQ} batch {BATCH} in {IN} hidden {HID}"
    _bench(benchmark, lib, "gru")


@pytest.mark.benchmark(group="rnn fwd+bwd")
@pytest.mark.parametrize("lib", NN)
def test_rnn(benchmark, lib):
    """nn.RNN(64, 128) (tanh), (32, 64, 64) input, forward + backward."""
    benchmark.group = f"RNN fwd+bwd seq {SEQ} batch {BATCH} in {IN} hidden {HID}"
    _bench(benchmark, lib, "rnn")


@pytest.mark.benchmark(group="transformer fwd+bwd")
@pytest.mark.parametrize("lib", NN)
def test_transformer_encoder_layer(benchmark, lib):
    """nn.TransformerEncoderLayer(128, 4, 512, dropout=0), (32, 64, 128), forward + backward."""
    benchmark.group = (f"TransformerEncoderLayer fwd+bwd batch {TF_BATCH} seq {TF_SEQ} "
                       f"d_model {D_MODEL} heads {HEADS}")
    _bench(benchmark, lib, "transformer")
