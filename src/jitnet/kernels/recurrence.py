"""Recurrences over a whole sequence, step by step, on any kernel table ``k``: the CUDA
table's ``rnn_seq_fwd`` / ``lstm_seq_fwd`` / ``gru_seq_fwd`` and their backward passes.

Each step is one product ``h @ W_hh^T`` (``k.step_matmul``) and one fused cell kernel
(``k.lstm_cell_fwd`` ...), backward one cell kernel and one product, driven from
Python.  The CPU table runs the same recurrences as single kernels instead
(``kernels/cpu/rnn.py``: each thread walks every step for its own samples); the
results are the same to rounding, and ``ops/rnn.py`` calls either through the table.
Argument and return conventions are those of the CPU functions of the same names.
"""
from __future__ import annotations

from . import opcodes as oc


def _steps(length: int, reverse: bool):
    return range(length - 1, -1, -1) if reverse else range(length)


def _zeros_like_state(k, h0):
    return k.full(tuple(h0.shape), 0, h0.dtype)


def rnn_seq_fwd(k, gi_all, w_hh, b_hh, h0, relu: bool, reverse: bool):
    """Elman recurrence -> hs (L, N, H)."""
    hs, h = [None] * gi_all.shape[0], h0
    for t in _steps(gi_all.shape[0], reverse):
        h = hs[t] = k.rnn_cell_fwd(gi_all, t, k.step_matmul(h, w_hh, True), b_hh, relu)
    return k.stack(hs, 0)


def _bias_grad(k, grads, need_b: bool):
    """The column sum of the (L, N, G) gate gradients over all steps, or None."""
    if not need_b:
        return None
    return k.reduce(oc.SUM, k.reshape(grads, (grads.shape[0] * grads.shape[1], grads.shape[2])),
                    (0,), False)


def rnn_seq_bwd(k, hs, g, w_hh, relu: bool, reverse: bool, need_b: bool = True):
    """Backward of ``rnn_seq_fwd`` -> (dgates (L, N, H), dh0, db)."""
    length = hs.shape[0]
    dh = _zeros_like_state(k, k.getitem(hs, 0))
    dgates = [None] * length
    for t in _steps(length, not reverse):
        dgates[t] = k.rnn_cell_bwd(k.getitem(hs, t), g, t, dh, relu)
        dh = k.step_matmul(dgates[t], w_hh, False)
    dgates = k.stack(dgates, 0)
    return dgates, dh, _bias_grad(k, dgates, need_b)


def lstm_seq_fwd(k, gi_all, w_hh, b_hh, h0, c0, reverse: bool):
    """LSTM recurrence -> (out (L + 1, N, H): every h then c_n; cs (L, N, H); saved)."""
    length = gi_all.shape[0]
    hs, cs, saved = [None] * length, [None] * length, [None] * length
    h, c = h0, c0
    for t in _steps(length, reverse):
        h, c, saved[t] = k.lstm_cell_fwd(gi_all, t, k.step_matmul(h, w_hh, True), b_hh, c)
        hs[t], cs[t] = h, c
    return k.stack(hs + [c], 0), k.stack(cs, 0), k.stack(saved, 0)


def lstm_seq_bwd(k, saved, cs, c0, g, w_hh, reverse: bool, need_b: bool = True,
                 need_dh0: bool = True):
    """Backward of ``lstm_seq_fwd`` -> (dgates (L, N, 4H), dh0 (None without
    ``need_dh0``: the first step's product is skipped), dc0, db)."""
    length = saved.shape[0]
    order = list(_steps(length, reverse))
    dh = _zeros_like_state(k, c0)
    dc = k.contiguous(k.getitem(g, length))
    dgates = [None] * length
    for s in range(length - 1, -1, -1):
        t = order[s]
        c_prev = c0 if s == 0 else k.getitem(cs, order[s - 1])
        dgates[t], dc = k.lstm_cell_bwd(k.contiguous(k.getitem(saved, t)), c_prev, g, t, dh,
                                        dc)
        dh = k.step_matmul(dgates[t], w_hh, False) if s > 0 or need_dh0 else None
    dgates = k.stack(dgates, 0)
    return dgates, dh, dc, _bias_grad(k, dgates, need_b)


def gru_seq_fwd(k, gi_all, w_hh, b_hh, h0, reverse: bool):
    """GRU recurrence -> (hs (L, N, H), saved (L, N, 4H))."""
    length = gi_all.shape[0]
    hs, saved = [None] * length, [None] * length
    h = h0
    for t in _steps(length, reverse):
        h, saved[t] = k.gru_cell_fwd(gi_all, t, k.step_matmul(h, w_hh, True), b_hh, h)
        hs[t] = h
    return k.stack(hs, 0), k.stack(saved, 0)


def gru_seq_bwd(k, saved, hs, h0, g, w_hh, reverse: bool, need_b: bool = True):
    """Backward of ``gru_seq_fwd`` -> (dgi (L, N, 3H), dgh (L, N, 3H), dh0, db)."""
    length = saved.shape[0]
    order = list(_steps(length, reverse))
    dh = _zeros_like_state(k, h0)
    dgi, dgh = [None] * length, [None] * length
    for s in range(length - 1, -1, -1):
        t = order[s]
        h_prev = h0 if s == 0 else k.getitem(hs, order[s - 1])
        dgi[t], dgh[t], dh_z = k.gru_cell_bwd(k.contiguous(k.getitem(saved, t)), h_prev, g, t,
                                              dh)
        dh = k.binary("add", k.step_matmul(dgh[t], w_hh, False), dh_z)
    dgh = k.stack(dgh, 0)
    return k.stack(dgi, 0), dgh, dh, _bias_grad(k, dgh, need_b)
