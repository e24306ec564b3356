"""Recurrent layers' time loops as Functions: ``rnn_layer``, ``lstm_layer`` and ``gru_layer``.

One layer, one direction, over a whole sequence.  The caller (``nn.RNN``,
``nn.LSTM``, ``nn.GRU``, the cells) computes the input projection of every step
in one GEMM with autograd (``gi_all = F.linear(x, W_ih, b_ih)``); the Function
then runs the recurrence itself, calling kernels directly (no Tensor or
Function per step): per step one product ``h @ W_hh^T`` (``step_matmul``) and
one fused cell kernel (``kernels/*/rnn.py``) forward, one fused cell kernel and
one product backward.  The weight gradient of ``W_hh`` is a single GEMM over
all steps at the end, not one per step, so forward and backward are linear in
the sequence length.
"""
from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor


def _steps(length: int, reverse: bool):
    return range(length - 1, -1, -1) if reverse else range(length)


def _weight_grads(k, need_w, need_b, dgh, h_prev, w_shape):
    """dW_hh = sum_t dgh_t^T h_{t-1} and db_hh = sum dgh, each one call over all steps.

    db is a product with a row of ones (one GEMV: ~30x faster than the column
    reduction kernel on a (L*N, G*H) gradient).
    """
    length, n, g = dgh.shape[0], dgh.shape[1], dgh.shape[2]
    flat_g = k.reshape(dgh, (1, length * n, g))
    dw = db = None
    if need_w:
        hp = k.reshape(k.stack(h_prev, 0), (1, length * n, w_shape[1]))
        dw = k.reshape(k.bmm(flat_g, hp, trans_a=True), w_shape)
    if need_b:
        ones = k.full((1, length * n), 1, dgh.dtype)
        db = k.reshape(k.step_matmul(ones, k.reshape(flat_g, (length * n, g)), False), (g,))
    return dw, db


class RNNLayer(Function):
    @staticmethod
    def forward(ctx, gi_all, w_hh, b_hh, h0, relu, reverse):
        k = ctx.k
        gi_all, w_hh = k.contiguous(gi_all), k.contiguous(w_hh)
        length = gi_all.shape[0]
        h = h0
        hs, h_prev = [None] * length, [None] * length
        for t in _steps(length, reverse):
            h_prev[t] = h
            h = k.rnn_cell_fwd(gi_all, t, k.step_matmul(h, w_hh, True), b_hh, relu)
            hs[t] = h
        ctx.saved = (w_hh, hs, h_prev, relu, reverse)
        return k.stack(hs, 0)

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        w_hh, hs, h_prev, relu, reverse = ctx.saved
        g = k.contiguous(g)
        length = len(hs)
        dh = k.full(tuple(h_prev[0].shape), 0, g.dtype)
        dgates = [None] * length
        for t in _steps(length, not reverse):
            dgates[t] = k.rnn_cell_bwd(hs[t], g, t, dh, relu)
            dh = k.step_matmul(dgates[t], w_hh, False)
        dg_all = k.stack(dgates, 0)
        dw, db = _weight_grads(k, need[1], need[2], dg_all, h_prev, tuple(w_hh.shape))
        return dg_all, dw, db, dh, None, None


class LSTMLayer(Function):
    @staticmethod
    def forward(ctx, gi_all, w_hh, b_hh, h0, c0, reverse):
        k = ctx.k
        gi_all, w_hh = k.contiguous(gi_all), k.contiguous(w_hh)
        length = gi_all.shape[0]
        h, c = h0, c0
        hs, h_prev, c_prev, saved = [None] * length, [None] * length, [None] * length, \
            [None] * length
        for t in _steps(length, reverse):
            gh = k.step_matmul(h, w_hh, True)
            h_prev[t], c_prev[t] = h, c
            h, c, saved[t] = k.lstm_cell_fwd(gi_all, t, gh, b_hh, c)
            hs[t] = h
        ctx.saved = (w_hh, h_prev, c_prev, saved, reverse)
        return k.stack(hs + [c], 0)

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        w_hh, h_prev, c_prev, saved, reverse = ctx.saved
        g = k.contiguous(g)
        length = len(saved)
        dh = k.full(tuple(c_prev[0].shape), 0, g.dtype)
        dc = k.contiguous(k.getitem(g, length))
        dgates = [None] * length
        for t in _steps(length, not reverse):
            dgates[t], dc = k.lstm_cell_bwd(saved[t], c_prev[t], g, t, dh, dc)
            dh = k.step_matmul(dgates[t], w_hh, False)
        dg_all = k.stack(dgates, 0)
        dw, db = _weight_grads(k, need[1], need[2], dg_all, h_prev, tuple(w_hh.shape))
        return dg_all, dw, db, dh, dc, None


class GRULayer(Function):
    @staticmethod
    def forward(ctx, gi_all, w_hh, b_hh, h0, reverse):
        k = ctx.k
        gi_all, w_hh = k.contiguous(gi_all), k.contiguous(w_hh)
        length = gi_all.shape[0]
        h = h0
        hs, h_prev, saved = [None] * length, [None] * length, [None] * length
        for t in _steps(length, reverse):
            gh = k.step_matmul(h, w_hh, True)
            h_prev[t] = h
            h, saved[t] = k.gru_cell_fwd(gi_all, t, gh, b_hh, h)
            hs[t] = h
        ctx.saved = (w_hh, h_prev, saved, reverse)
        return k.stack(hs, 0)

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        w_hh, h_prev, saved, reverse = ctx.saved
        g = k.contiguous(g)
        length = len(saved)
        dh = k.full(tuple(h_prev[0].shape), 0, g.dtype)
        dgi, dgh = [None] * length, [None] * length
        for t in _steps(length, not reverse):
            dgi[t], dgh[t], dh_z = k.gru_cell_bwd(saved[t], h_prev[t], g, t, dh)
            dh = k.binary("add", k.step_matmul(dgh[t], w_hh, False), dh_z)
        dgh_all = k.stack(dgh, 0)
        dw, db = _weight_grads(k, need[1], need[2], dgh_all, h_prev, tuple(w_hh.shape))
        return k.stack(dgi, 0), dw, db, dh, None


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
