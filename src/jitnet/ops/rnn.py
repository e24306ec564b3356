"""Recurrent layers' time loops as Functions: ``rnn_layer``, ``lstm_layer`` and ``gru_layer``.

One layer, one direction, over a whole sequence.  The caller (``nn.RNN``,
``nn.LSTM``, ``nn.GRU``, the cells) computes the input projection of every step
in one GEMM with autograd (``gi_all = F.linear(x, W_ih, b_ih)``); the Function
then runs the recurrence through one table call per direction of the pass
(``k.lstm_seq_fwd`` ...; no Tensor or Function per step): per step one product
``h @ W_hh^T`` and one fused cell pass forward, one fused pass and one product
backward, all inside one kernel on the CPU (``kernels/cpu/rnn.py``) and driven
step by step on CUDA (``kernels/recurrence.py``).  The weight gradient of
``W_hh`` is a single GEMM over all steps at the end, not one per step, so
forward and backward are linear in the sequence length.
"""
from __future__ import annotations

from ..autograd import Function
from ..kernels import opcodes as oc
from ..tensor import Tensor


def _prev_states(k, hs, h0, reverse: bool):
    """(L, N, H) stack of the state each step started from: h0 then hs[t-1] (forward), or
    hs[t+1] then h0 last (reverse)."""
    length = hs.shape[0]
    return k.stack([h0 if t == (length - 1 if reverse else 0) else
                    k.getitem(hs, t + 1 if reverse else t - 1) for t in range(length)], 0)


def _weight_grads(k, need_w, need_b, dgh, h_prev, w_shape):
    """dW_hh = sum_t dgh_t^T h_{t-1} and db_hh = sum dgh, each one call over all steps.

    h_prev (L, N, H): the state each step started from.  db is the column sum of the
    (L*N, G*H) gradient (the serial column reduction: 0.1 ms for (2048, 512), where a
    GEMV with a row of ones took 1 ms).
    """
    length, n, g = dgh.shape[0], dgh.shape[1], dgh.shape[2]
    flat_g = k.reshape(dgh, (1, length * n, g))
    dw = db = None
    if need_w:
        hp = k.reshape(h_prev, (1, length * n, w_shape[1]))
        dw = k.reshape(k.bmm(flat_g, hp, trans_a=True), w_shape)
    if need_b:
        db = k.reduce(oc.SUM, k.reshape(dgh, (length * n, g)), (0,), False)
    return dw, db


class RNNLayer(Function):
    @staticmethod
    def forward(ctx, gi_all, w_hh, b_hh, h0, relu, reverse):
        k = ctx.k
        hs = k.rnn_seq_fwd(k.contiguous(gi_all), k.contiguous(w_hh), b_hh, h0, relu, reverse)
        ctx.saved = (w_hh, hs, h0, relu, reverse)
        return hs

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        w_hh, hs, h0, relu, reverse = ctx.saved
        dg_all, dh = k.rnn_seq_bwd(hs, k.contiguous(g), w_hh, relu, reverse)
        dw, db = _weight_grads(k, need[1], need[2], dg_all, _prev_states(k, hs, h0, reverse),
                               tuple(w_hh.shape))
        return dg_all, dw, db, dh, None, None


class LSTMLayer(Function):
    @staticmethod
    def forward(ctx, gi_all, w_hh, b_hh, h0, c0, reverse):
        k = ctx.k
        out, cs, saved = k.lstm_seq_fwd(k.contiguous(gi_all), k.contiguous(w_hh), b_hh, h0, c0,
                                        reverse)
        ctx.saved = (w_hh, out, h0, c0, cs, saved, reverse)
        return out

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        w_hh, out, h0, c0, cs, saved, reverse = ctx.saved
        dg_all, dh, dc = k.lstm_seq_bwd(saved, cs, c0, k.contiguous(g), w_hh, reverse)
        hs = k.getitem(out, slice(0, saved.shape[0]))
        dw, db = _weight_grads(k, need[1], need[2], dg_all, _prev_states(k, hs, h0, reverse),
                               tuple(w_hh.shape))
        return dg_all, dw, db, dh, dc, None


class GRULayer(Function):
    @staticmethod
    def forward(ctx, gi_all, w_hh, b_hh, h0, reverse):
        k = ctx.k
        hs, saved = k.gru_seq_fwd(k.contiguous(gi_all), k.contiguous(w_hh), b_hh, h0, reverse)
        ctx.saved = (w_hh, hs, h0, saved, reverse)
        return hs

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        w_hh, hs, h0, saved, reverse = ctx.saved
        dgi, dgh, dh = k.gru_seq_bwd(saved, hs, h0, k.contiguous(g), w_hh, reverse)
        dw, db = _weight_grads(k, need[1], need[2], dgh, _prev_states(k, hs, h0, reverse),
                               tuple(w_hh.shape))
        return dgi, dw, db, dh, None


def rnn_layer(gi_all: Tensor, w_hh: Tensor, b_hh: Tensor | None, h0: Tensor,
              nonlinearity: str = "tanh", reverse: bool = False) -> Tensor:
    """The Elman recurrence h_t = act(gi_all[t] + h_{t-1} W_hh^T + b_hh) over a sequence, one
    layer and one direction.

    gi_all (L, N, H): ``x W_ih^T + b_ih`` of every step; w_hh (H, H); b_hh (H,)
    or None; h0 (N, H); ``nonlinearity`` ``"tanh"`` or ``"relu"``.  Returns the
    (L, N, H) h_t of every step, in time order (also when ``reverse`` runs the
    recurrence from t = L-1 down).  Shapes are the caller's to check.
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_layer: unknown nonlinearity {nonlinearity!r} (expected 'tanh' "
                         "or 'relu')")
    return RNNLayer.apply(gi_all, w_hh, b_hh, h0, nonlinearity == "relu", bool(reverse))


def lstm_layer(gi_all: Tensor, w_hh: Tensor, b_hh: Tensor | None, h0: Tensor, c0: Tensor,
               reverse: bool = False) -> Tensor:
    """The LSTM recurrence over a sequence, one layer and one direction.

    gi_all (L, N, 4H): ``x W_ih^T + b_ih`` of every step, gates in PyTorch's
    order (i, f, g, o); w_hh (4H, H); b_hh (4H,) or None; h0, c0 (N, H).
    Returns one (L + 1, N, H) tensor: rows 0..L-1 are h_t of every step (in
    time order, also when ``reverse`` runs the recurrence from t = L-1 down),
    row L is the last cell state c_n.  Shapes are the caller's to check
    (``nn.LSTM`` does, with PyTorch's messages).
    """
    return LSTMLayer.apply(gi_all, w_hh, b_hh, h0, c0, bool(reverse))


def gru_layer(gi_all: Tensor, w_hh: Tensor, b_hh: Tensor | None, h0: Tensor,
              reverse: bool = False) -> Tensor:
    """The GRU recurrence over a sequence, one layer and one direction.

    gi_all (L, N, 3H): ``x W_ih^T + b_ih`` of every step, gates (r, z, n);
    w_hh (3H, H); b_hh (3H,) or None; h0 (N, H).  Returns the (L, N, H) h_t
    of every step, in time order.
    """
    return GRULayer.apply(gi_all, w_hh, b_hh, h0, bool(reverse))
