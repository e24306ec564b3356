"""Compare a jitnet layer with its PyTorch twin, a PyTorch state_dict loaded into it.

``check_module(torch_mod, jn_mod, arrays, call, device)``: float64 both; the
jitnet module gets the PyTorch module's state_dict, then moves to ``device``;
``call(lib, module, tensors)`` runs one forward (``lib`` is ``torch`` or
``jitnet``); every output, the gradient of every float input and of every
parameter (by name) of ``sum(out_i * w_i)`` with fixed random weights must
agree.  Used by tests/test_rnn.py, test_attention.py, test_layernorm.py and,
on CUDA, tests/cuda/test_cuda_seq.py.
"""
from __future__ import annotations

import numpy as np

import jitnet as jn


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _flat(x)]
    return [] if out is None else [out]


def check_module(torch_mod, jn_mod, arrays, call, device="cpu", atol=1e-9, rtol=1e-7,
                 seed=0):
    import torch

    torch_mod = torch_mod.double()
    jn_mod = jn_mod.double()
    jn_mod.load_state_dict({k: jn.tensor(v.detach().numpy())
                            for k, v in torch_mod.state_dict().items()})
    jn_mod.to(device)
    assert list(jn_mod.state_dict()) == list(torch_mod.state_dict())
    tt, jt = [], []
    for a in arrays:
        a = np.asarray(a)
        grad = a.dtype.kind == "f"
        tt.append(torch.tensor(a, requires_grad=grad))
        jt.append(jn.tensor(a, requires_grad=grad, device=device))
    outs_t, outs_j = _flat(call(torch, torch_mod, tt)), _flat(call(jn, jn_mod, jt))
    assert len(outs_t) == len(outs_j)
    rng = np.random.default_rng(seed)
    loss_t = loss_j = 0
    for ot, oj in zip(outs_t, outs_j):
        assert tuple(oj.shape) == tuple(ot.shape)
        np.testing.assert_allclose(oj.detach().cpu().numpy(), ot.detach().numpy(), atol=atol,
                                   rtol=rtol)
        w = rng.standard_normal(tuple(ot.shape))
        loss_t = loss_t + (ot * torch.tensor(w)).sum()
        loss_j = loss_j + (oj * jn.tensor(w, device=device)).sum()
    loss_t.backward()
    loss_j.backward()
    for a, b in zip(tt, jt):
        if a.requires_grad:
            ga = np.zeros(tuple(a.shape)) if a.grad is None else a.grad.numpy()
            gb = np.zeros(tuple(b.shape)) if b.grad is None else b.grad.cpu().numpy()
            np.testing.assert_allclose(gb, ga, atol=atol, rtol=rtol)
    jp = dict(jn_mod.named_parameters())
    for name, p in torch_mod.named_parameters():
        assert jp[name].grad is not None, name
        np.testing.assert_allclose(jp[name].grad.cpu().numpy(), p.grad.numpy(), atol=atol,
                                   rtol=rtol, err_msg=name)


def heads_in_place_call(roles: str, **kw):
    """MultiheadAttention without weights (the heads read in place, ops.heads_attention)
    on inputs [x, kv, v, attn_mask, key_padding_mask]."""
    def call(lib, m, t):
        k = t[0] if roles == "self" else t[1]
        v = k if roles != "qkv" else t[2]
        return m(t[0], k, v, need_weights=False, attn_mask=t[3], key_padding_mask=t[4], **kw)
    return call


def heads_in_place_inputs(rng, batch_first, n=3, tgt=4, src=6, e=8):
    """[x, kv, v, float attn_mask, bool key_padding_mask] for MultiheadAttention(e, heads)."""
    def seq(length):
        return rng.standard_normal((n, length, e) if batch_first else (length, n, e))

    kpm = rng.random((n, src)) > 0.7
    kpm[:, 0] = False  # no fully masked row
    return [seq(tgt), seq(src), seq(src), rng.standard_normal((tgt, src)), kpm]
