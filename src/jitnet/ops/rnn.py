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
from ..tensor import Tensor
from .linear import project, project_grads


def _initial(k, state, gi_all, hid: int):
    """An initial state (N, H) for the kernels: ``state``, or zeros for None."""
    if state is not None:
        return state
    return k.full((gi_all.shape[1], hid), 0, gi_all.dtype)


def _weight_grad(k, need_w, dgh, hs, h0, reverse: bool, w_shape):
    """dW_hh = sum_t dgh_t^T h_prev(t) over all steps at once (None without ``need_w``).

    h_prev(t), the state step t started from, is h0 for the first step run and hs of the
    step before otherwise, so the sum is one GEMM of aligned views of dgh and hs (the
    L-1 steps that started from an earlier output, hs shifted by one step) plus one
    (N-row) GEMM for the step that started from h0, none when h0 is None (zeros): no
    (L, N, H) stack of previous states is built (that stack cost 0.24 ms of a 32-step
    LSTM backward).  The bias gradient, the column sum of dgh, comes from the
    recurrence's backward kernel itself.
    """
    if not need_w:
        return None
    length, n, g = dgh.shape[0], dgh.shape[1], dgh.shape[2]
    dw = None
    if h0 is not None:
        first = length - 1 if reverse else 0
        dw = k.bmm(k.reshape(k.getitem(dgh, first), (1, n, g)),
                   k.reshape(h0, (1, n, w_shape[1])), trans_a=True)
    if length > 1:
        # forward: step t >= 1 started from hs[t-1]; reverse: step t < L-1 from hs[t+1]
        grads = k.getitem(dgh, slice(0, length - 1) if reverse else slice(1, length))
        prev = k.getitem(hs, slice(1, length) if reverse else slice(0, length - 1))
        rest = k.bmm(k.reshape(grads, (1, (length - 1) * n, g)),
                     k.reshape(prev, (1, (length - 1) * n, w_shape[1])), trans_a=True)
        dw = rest if dw is None else k.binary("add", rest, dw)
    if dw is None:  # one step from a zero state
        return k.full(w_shape, 0, dgh.dtype)
    return k.reshape(dw, w_shape)


def _both_biases(k, b_hh, b_ih):
    """The one bias the cell kernel adds: b_hh + b_ih (either may be None)."""
    if b_ih is None or b_hh is None:
        return b_hh if b_ih is None else b_ih
    return k.binary("add", b_hh, b_ih)


def _bias_grads(k, need_hh: bool, need_ih: bool, db):
    """(db_hh, db_ih): the same column sum for both (a copy for the second, so the two
    parameters' .grad never share memory)."""
    if not need_ih:
        return (db if need_hh else None), None
    return (db, k.copy(db)) if need_hh else (None, db)


class RNNLayer(Function):
    @staticmethod
    def forward(ctx, gi_all, w_hh, b_hh, h0, relu, reverse, b_ih):
        k = ctx.k
        hs = k.rnn_seq_fwd(k.contiguous(gi_all), k.contiguous(w_hh), _both_biases(k, b_hh, b_ih),
                           _initial(k, h0, gi_all, w_hh.shape[1]), relu, reverse)
        ctx.saved = (w_hh, hs, h0, relu, reverse)
        return hs

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        w_hh, hs, h0, relu, reverse = ctx.saved
        dg_all, dh, db = k.rnn_seq_bwd(hs, k.contiguous(g), w_hh, relu, reverse,
                                       need[2] or need[6])
        dw = _weight_grad(k, need[1], dg_all, hs, h0, reverse, tuple(w_hh.shape))
        db_hh, db_ih = _bias_grads(k, need[2], need[6], db)
        return dg_all, dw, db_hh, dh, None, None, db_ih


class LSTMLayer(Function):
    @staticmethod
    def forward(ctx, x, w_hh, b_hh, h0, c0, reverse, b_ih, w_ih):
        k = ctx.k
        if w_ih is None:  # x is the caller's projection: computed over a copy
            gi_all, proj = k.contiguous(x), None
        else:  # the layer's own projection: the gates overwrite it
            gi2, x3, w3 = project(k, x, w_ih)
            gi_all, proj = k.reshape(gi2, tuple(x.shape[:-1]) + (w_ih.shape[0],)), (x3, w3)
        hid = w_hh.shape[1]
        c0 = _initial(k, c0, gi_all, hid)
        out, cs, saved = k.lstm_seq_fwd(gi_all, k.contiguous(w_hh), _both_biases(k, b_hh, b_ih),
                                        _initial(k, h0, gi_all, hid), c0, reverse,
                                        proj is not None)
        ctx.saved = (w_hh, out, h0, c0, cs, saved, reverse, proj, tuple(x.shape))
        return out

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        w_hh, out, h0, c0, cs, saved, reverse, proj, x_shape = ctx.saved
        dg_all, dh, dc, db = k.lstm_seq_bwd(saved, cs, c0, k.contiguous(g), w_hh, reverse,
                                            need[2] or need[6], ctx.final, need[3])
        hs = k.getitem(out, slice(0, cs.shape[0]))
        dw = _weight_grad(k, need[1], dg_all, hs, h0, reverse, tuple(w_hh.shape))
        db_hh, db_ih = _bias_grads(k, need[2], need[6], db)
        dx, dw_ih = dg_all, None
        if proj is not None:
            dx, dw_ih = project_grads(k, dg_all, *proj, x_shape, need[0], need[7])
        return dx, dw, db_hh, dh, dc, None, db_ih, dw_ih


class GRULayer(Function):
    @staticmethod
    def forward(ctx, gi_all, w_hh, b_hh, h0, reverse):
        k = ctx.k
        h_init = _initial(k, h0, gi_all, w_hh.shape[1])
        hs, saved = k.gru_seq_fwd(k.contiguous(gi_all), k.contiguous(w_hh), b_hh, h_init, reverse)
        ctx.saved = (w_hh, hs, h0, h_init, saved, reverse)
        return hs

    @staticmethod
    def backward(ctx, g):
        k, need = ctx.k, ctx.needs_input_grad
        w_hh, hs, h0, h_init, saved, reverse = ctx.saved
        dgi, dgh, dh, db = k.gru_seq_bwd(saved, hs, h_init, k.contiguous(g), w_hh, reverse,
                                         need[2])
        dw = _weight_grad(k, need[1], dgh, hs, h0, reverse, tuple(w_hh.shape))
        return dgi, dw, db, dh, None


def rnn_layer(gi_all: Tensor, w_hh: Tensor, b_hh: Tensor | None, h0: Tensor | None,
              nonlinearity: str = "tanh", reverse: bool = False,
              b_ih: Tensor | None = None) -> Tensor:
    """The Elman recurrence h_t = act(gi_all[t] + h_{t-1} W_hh^T + b_hh + b_ih) over a
    sequence, one layer and one direction.

    gi_all (L, N, H): ``x W_ih^T`` of every step (``+ b_ih`` when the caller added it and
    passes b_ih=None); w_hh (H, H); b_hh, b_ih (H,) or None; h0 (N, H) or None (zeros,
    never multiplied);
    ``nonlinearity`` ``"tanh"`` or ``"relu"``.  Returns the (L, N, H) h_t of every
    step, in time order (also when ``reverse`` runs the recurrence from t = L-1 down).
    Handing b_ih here rather than to the input projection saves a pass over gi_all
    forward and a column sum backward (both biases' gradients are the same sum).
    Shapes are the caller's to check.
    """
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn_layer: unknown nonlinearity {nonlinearity!r} (expected 'tanh' "
                         "or 'relu')")
    return RNNLayer.apply(gi_all, w_hh, b_hh, h0, nonlinearity == "relu", bool(reverse), b_ih)


def lstm_layer(gi_all: Tensor, w_hh: Tensor, b_hh: Tensor | None, h0: Tensor | None,
               c0: Tensor | None, reverse: bool = False, b_ih: Tensor | None = None,
               w_ih: Tensor | None = None) -> Tensor:
    """The LSTM recurrence over a sequence, one layer and one direction.

    gi_all (L, N, 4H): ``x W_ih^T`` of every step, gates in PyTorch's order (i, f, g,
    o), ``+ b_ih`` unless b_ih is handed here (as ``rnn_layer``: the cheaper way); or,
    with ``w_ih`` (4H, I) given, the input x (L, N, I) itself, which the layer projects
    in one GEMM of its own (what ``nn.LSTM`` and ``nn.LSTMCell`` do: the gates are then
    computed in place over that private projection, sparing a (L, N, 4H) store and
    its copy).  w_hh (4H, H); b_hh, b_ih (4H,) or None; h0, c0 (N, H), or None for zeros
    (a zero h0 is never multiplied).
    Returns one (L + 1, N, H) tensor: rows 0..L-1 are h_t of every step (in
    time order, also when ``reverse`` runs the recurrence from t = L-1 down),
    row L is the last cell state c_n.  Shapes are the caller's to check
    (``nn.LSTM`` does, with PyTorch's messages).
    """
    return LSTMLayer.apply(gi_all, w_hh, b_hh, h0, c0, bool(reverse), b_ih, w_ih)


def gru_layer(gi_all: Tensor, w_hh: Tensor, b_hh: Tensor | None, h0: Tensor | None,
              reverse: bool = False) -> Tensor:
    """The GRU recurrence over a sequence, one layer and one direction.

    gi_all (L, N, 3H): ``x W_ih^T + b_ih`` of every step, gates (r, z, n);
    w_hh (3H, H); b_hh (3H,) or None; h0 (N, H) or None (zeros).  Returns the (L, N, H) h_t
    of every step, in time order.
    """
    return GRULayer.apply(gi_all, w_hh, b_hh, h0, bool(reverse))
