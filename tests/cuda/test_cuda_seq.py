"""Sequence layers on CUDA (simulator or GPU) against PyTorch, a PyTorch state_dict loaded:
the fused RNN/LSTM/GRU step kernels, layer/group norm, the fused attention softmax."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import requires_torch
from seq_helpers import check_module, heads_in_place_call, heads_in_place_inputs

import jitnet as jn
import jitnet.nn.functional as F
from jitnet import nn

pytestmark = requires_torch


@pytest.fixture
def rng():
    return np.random.default_rng(7)


@pytest.mark.parametrize("kind, extra", [("LSTM", {}), ("GRU", {}), ("RNN", {}),
                                         ("RNN", {"nonlinearity": "relu"})])
def test_recurrent_layers(rng, kind, extra):
    import torch

    kw = dict(num_layers=2, bidirectional=True, batch_first=True, **extra)
    x, h0 = rng.standard_normal((2, 3, 3)), rng.standard_normal((4, 2, 5))
    if kind == "LSTM":
        arrays, call = [x, h0, rng.standard_normal((4, 2, 5))], \
            lambda lib, m, t: m(t[0], (t[1], t[2]))
    else:
        arrays, call = [x, h0], lambda lib, m, t: m(t[0], t[1])
    check_module(getattr(torch.nn, kind)(3, 5, **kw), getattr(nn, kind)(3, 5, **kw), arrays,
                 call, device="cuda")


def test_cells(rng):
    import torch

    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    check_module(torch.nn.LSTMCell(3, 4), nn.LSTMCell(3, 4), [x, h, h * 0.5],
                 lambda lib, m, t: m(t[0], (t[1], t[2])), device="cuda")
    check_module(torch.nn.GRUCell(3, 4, bias=False), nn.GRUCell(3, 4, bias=False), [x, h],
                 lambda lib, m, t: m(t[0], t[1]), device="cuda")
    check_module(torch.nn.RNNCell(3, 4, bias=False, nonlinearity="relu"),
                 nn.RNNCell(3, 4, bias=False, nonlinearity="relu"), [x, h],
                 lambda lib, m, t: m(t[0], t[1]), device="cuda")


@pytest.mark.parametrize("kind", ["LSTM", "RNN"])
def test_float32_recurrence_matches_the_cpu(rng, kind):
    """float32 takes the rational tanh on both devices: CPU and CUDA agree."""
    m = getattr(nn, kind)(3, 4)
    x = rng.standard_normal((3, 2, 3)).astype(np.float32)
    cpu = m(jn.tensor(x))[0].detach().numpy()
    gpu = m.to("cuda")(jn.tensor(x, device="cuda"))[0].detach().cpu().numpy()
    np.testing.assert_allclose(gpu, cpu, atol=1e-6)


@pytest.mark.parametrize("make, shape", [(lambda m: m.LayerNorm((2, 5)), (3, 2, 5)),
                                         (lambda m: m.GroupNorm(2, 4), (2, 4, 3)),
                                         (lambda m: m.LayerNorm(3, bias=False), (2, 3))])
def test_norms(rng, make, shape):
    import torch

    t = make(torch.nn)
    with torch.no_grad():
        for p in t.parameters():
            p.copy_(torch.randn(p.shape, dtype=p.dtype))
    check_module(t, make(nn), [rng.standard_normal(shape) + 2], lambda lib, m, x: m(x[0]),
                 device="cuda")


def test_sdpa_and_multihead_attention(rng):
    import torch

    q, k, v = (rng.standard_normal(s) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 3)])
    mask = rng.standard_normal((3, 5))

    def sdpa(lib, _m, t):
        f = torch.nn.functional if lib is torch else F
        return (f.scaled_dot_product_attention(t[0], t[1], t[2], attn_mask=t[3]),
                f.scaled_dot_product_attention(t[0], t[1], t[2], is_causal=True, scale=0.5))

    check_module(torch.nn.Identity(), nn.Identity(), [q, k, v, mask], sdpa, device="cuda")
    x = rng.standard_normal((3, 2, 4))
    kpm = np.array([[False, False, True], [False, False, False]])
    check_module(torch.nn.MultiheadAttention(4, 2), nn.MultiheadAttention(4, 2), [x, kpm],
                 lambda lib, m, t: m(t[0], t[0], t[0], key_padding_mask=t[1]), device="cuda")


def test_multihead_attention_heads_in_place(rng):
    """need_weights=False: the table's mha_fwd/mha_bwd (gather, bmm, softmax, scatter)."""
    import torch

    for roles in ("self", "kv", "qkv"):
        for batch_first in (False, True):
            arrays = heads_in_place_inputs(rng, batch_first, n=2, tgt=3, src=3, e=4)
            check_module(torch.nn.MultiheadAttention(4, 2, batch_first=batch_first),
                         nn.MultiheadAttention(4, 2, batch_first=batch_first), arrays,
                         heads_in_place_call(roles), device="cuda")


def test_encoder_layer(rng):
    import torch

    def make(lib):
        return lib.nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, batch_first=True)

    check_module(make(torch), make(jn), [rng.standard_normal((2, 3, 4))],
                 lambda lib, m, t: m(t[0]), device="cuda")
