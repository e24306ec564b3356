"""scaled_dot_product_attention, MultiheadAttention and the Transformer encoder against
PyTorch (float64, state_dict loaded), gradcheck through the fused softmax, bad input."""
from __future__ import annotations

import numpy as np
import pytest
from helpers import requires_torch
from seq_helpers import check_module, heads_in_place_call, heads_in_place_inputs

import jitnet as jn
import jitnet.nn.functional as F
from jitnet import nn
from jitnet.ops.attention import attn_softmax

pytestmark = requires_torch


@pytest.mark.parametrize("mask, causal, scale", [
    (None, False, None), (None, True, 0.3), ("float", False, None), ("bool", False, None)])
def test_sdpa_matches_torch(rng, mask, causal, scale):
    import torch

    q, k, v = (rng.standard_normal(s) for s in [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)])
    arrays = [q, k, v]
    if mask == "float":
        arrays.append(rng.standard_normal((4, 6)))
    elif mask == "bool":
        m = rng.random((2, 1, 4, 6)) > 0.3
        m[..., 0] = True  # no fully masked row
        arrays.append(m)

    def call(lib, _m, t):
        f = torch.nn.functional if lib is torch else F
        return f.scaled_dot_product_attention(t[0], t[1], t[2], attn_mask=t[3] if mask else None,
                                              is_causal=causal, scale=scale)

    check_module(torch.nn.Identity(), nn.Identity(), arrays, call)


def test_sdpa_dropout_drops_weights():
    jn.manual_seed(0)
    q = jn.ones(1, 8, 4)
    v = jn.randn(1, 8, 4)
    full = F.scaled_dot_product_attention(q, q, v).numpy()
    dropped = F.scaled_dot_product_attention(q, q, v, dropout_p=0.5).numpy()
    assert not np.allclose(full, dropped)


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_matches_torch(rng, batch_first):
    import torch

    e, heads, n, tgt, src = 8, 2, 3, 3, 4
    x = rng.standard_normal((n, tgt, e) if batch_first else (tgt, n, e))
    kv = rng.standard_normal((n, src, e) if batch_first else (src, n, e))
    attn_mask = rng.random((tgt, src)) > 0.7
    attn_mask[:, 0] = False
    kpm = np.zeros((n, src), bool)
    kpm[0, 3] = True

    def cross(lib, m, t):
        return m(t[0], t[1], t[1], attn_mask=t[2], key_padding_mask=t[3])

    def self_attn(lib, m, t):
        return m(t[0], t[0], t[0], attn_mask=t[1], average_attn_weights=False)

    def make(lib):
        return lib.nn.MultiheadAttention(e, heads, batch_first=batch_first)

    check_module(make(torch), make(jn), [x, kv, attn_mask, kpm], cross)
    check_module(make(torch), make(jn), [x, rng.standard_normal((n * heads, tgt, tgt))],
                 self_attn)


def test_multihead_attention_unbatched_and_no_bias(rng):
    import torch

    x, kv = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    check_module(torch.nn.MultiheadAttention(4, 1, bias=False),
                 nn.MultiheadAttention(4, 1, bias=False), [x, kv],
                 lambda lib, m, t: m(t[0], t[1], t[1], need_weights=False))
    kpm = np.array([False, True, False])
    check_module(torch.nn.MultiheadAttention(4, 2), nn.MultiheadAttention(4, 2), [x, kpm],
                 lambda lib, m, t: m(t[0], t[0], t[0], key_padding_mask=t[1]))


ROLES = ["self", "kv", "qkv"]  # q is k is v; k is v; three tensors


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("roles", ROLES)
@pytest.mark.parametrize("bias", [True, False])
def test_heads_in_place_match_torch(rng, batch_first, roles, bias):
    """The in-place heads path (need_weights=False) against PyTorch: output, the input
    gradients (one for a tensor that serves as q, k and v) and every parameter's."""
    import torch

    arrays = heads_in_place_inputs(rng, batch_first)
    if roles == "self":  # self-attention: the keys are the queries
        arrays[3] = rng.standard_normal((4, 4))
        arrays[4] = arrays[4][:, :4]

    def make(lib):
        return lib.nn.MultiheadAttention(8, 2, bias=bias, batch_first=batch_first)

    check_module(make(torch), make(jn), arrays, heads_in_place_call(roles))


def test_heads_in_place_3d_mask_and_unbatched(rng):
    import torch

    def make(lib):
        return lib.nn.MultiheadAttention(8, 4)

    x = rng.standard_normal((5, 3, 8))
    check_module(make(torch), make(jn), [x, rng.standard_normal((12, 5, 5))],
                 lambda lib, m, t: m(t[0], t[0], t[0], attn_mask=t[1], need_weights=False))
    check_module(make(torch), make(jn), [x[:, 0], x[:4, 1]],
                 lambda lib, m, t: m(t[0], t[1], t[1], need_weights=False))


def test_heads_in_place_refuses_a_tensor_passed_twice():
    from jitnet.ops.attention import heads_attention

    x = jn.randn(4, 2, 24)
    with pytest.raises(ValueError, match="heads_attention: pass a tensor"):
        heads_attention(x, x, None, (0, 8, 16), 2, 4, False, None, 0.5)


def test_heads_in_place_kernel_matches_the_composition(rng):
    """The CPU kernel (per head, in cache) against the CUDA table's composition run on
    NumPy arrays by the same steps (bmm, attention softmax, bmm), float32."""
    from jitnet.kernels.cpu import attention as fused
    from jitnet.kernels.cpu import matmul, softmax

    x = rng.standard_normal((6, 3, 48)).astype(np.float32)  # (L, N, 3E), E = 16, 4 heads
    mask = rng.standard_normal((12, 6, 6)).astype(np.float32)
    out, w = fused.mha_fwd(x, None, None, (0, 16, 32), 4, 4, False, 0.5, mask, False)
    q, k, v = (np.ascontiguousarray(fused.heads_view(x, o, 4, 4, False)).reshape(12, 6, 4)
               for o in (0, 16, 32))
    want_w = softmax.attn_softmax_fwd(matmul.bmm(q, k, False, True), 0.5, mask, False)
    want = matmul.bmm(want_w, v).reshape(3, 4, 6, 4).transpose(2, 0, 1, 3).reshape(6, 3, 16)
    assert np.allclose(w, want_w, atol=1e-6) and np.allclose(out, want, atol=1e-5)
    g = rng.standard_normal(out.shape).astype(np.float32)
    dx, none_k, none_v = fused.mha_bwd(x, None, None, (0, 16, 32), 4, 4, False, 0.5, w, g)
    assert none_k is None and none_v is None and dx.shape == x.shape
    go = np.ascontiguousarray(fused.heads_view(g, 0, 4, 4, False)).reshape(12, 6, 4)
    ds = softmax.attn_softmax_bwd(w, matmul.bmm(go, v, False, True), 0.5)
    for o, part in ((0, matmul.bmm(ds, k)), (16, matmul.bmm(ds, q, True, False)),
                    (32, matmul.bmm(w, go, True, False))):
        got = np.ascontiguousarray(fused.heads_view(dx, o, 4, 4, False)).reshape(12, 6, 4)
        assert np.allclose(got, part, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Support for mismatched src_key_padding_mask")
@pytest.mark.parametrize("norm_first, activation", [(False, "relu"), (True, "gelu")])
def test_transformer_encoder_matches_torch(rng, norm_first, activation):
    import torch

    def make(lib):
        kw = dict(enable_nested_tensor=False) if lib is torch else {}
        layer = lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=activation,
                                               norm_first=norm_first, batch_first=True)
        return lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(8), **kw)

    causal = np.triu(np.full((5, 5), -np.inf), 1)
    kpm = np.zeros((2, 5), bool)
    kpm[1, 4] = True
    check_module(make(torch), make(jn), [rng.standard_normal((2, 5, 8)), causal, kpm],
                 lambda lib, m, t: m(t[0], mask=t[1], src_key_padding_mask=t[2]))


def test_encoder_layer_state_dict_keys():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    keys = list(layer.state_dict())
    assert keys[:4] == ["self_attn.in_proj_weight", "self_attn.in_proj_bias",
                        "self_attn.out_proj.weight", "self_attn.out_proj.bias"]
    assert "linear1.weight" in keys and "norm2.bias" in keys
    enc = nn.TransformerEncoder(layer, 2)
    assert "layers.1.self_attn.in_proj_weight" in enc.state_dict()
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight


def test_gradcheck_fused_softmax(rng):
    s = jn.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    mask = jn.tensor(rng.standard_normal((1, 3, 4)))
    assert jn.autograd.gradcheck(lambda x: attn_softmax(x, mask, 0.7, False), (s,))
    assert jn.autograd.gradcheck(lambda x: attn_softmax(x, None, 1.3, True), (s,))


def test_bad_input():
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    mha = nn.MultiheadAttention(4, 2)
    x = jn.randn(3, 2, 4)
    with pytest.raises(ValueError, match=r"2D attn_mask is \(3, 4\), but should be \(3, 3\)"):
        mha(x, x, x, attn_mask=jn.zeros(3, 4))
    with pytest.raises(ValueError, match=r"3D attn_mask is \(2, 3, 3\), but should be "
                                         r"\(4, 3, 3\)"):
        mha(x, x, x, attn_mask=jn.zeros(2, 3, 3))
    with pytest.raises(TypeError, match="only bool and floating types of masks"):
        mha(x, x, x, attn_mask=jn.zeros(3, 3, dtype=jn.int64))
    with pytest.raises(ValueError, match=r"expecting key_padding_mask shape of \(2, 3\)"):
        mha(x, x, x, key_padding_mask=jn.zeros(3, 2, dtype=jn.bool))
    with pytest.raises(ValueError, match="expecting embedding dimension of 4"):
        mha(jn.randn(3, 2, 5), x, x)
    with pytest.raises(TypeError, match="float mask must have the query's dtype"):
        mha(x, x, x, attn_mask=jn.zeros(3, 3, dtype=jn.float64))
    q = jn.randn(2, 3, 4)
    with pytest.raises(ValueError, match="does not broadcast to the scores' shape"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=jn.zeros(2, 4, dtype=jn.bool))
    with pytest.raises(ValueError, match="should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=jn.zeros(3, 3), is_causal=True)
    with pytest.raises(ValueError, match="same embedding size"):
        F.scaled_dot_product_attention(q, jn.randn(2, 3, 5), q)
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        nn.TransformerEncoderLayer(4, 2, activation="swish")
