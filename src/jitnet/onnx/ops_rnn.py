"""ONNX emitters for the recurrent layers: ``nn.LSTM``, ``nn.GRU`` and ``nn.RNN`` as ONNX
``LSTM`` / ``GRU`` / ``RNN`` nodes (one per layer, both directions in one node), and the
time-loop Functions ``LSTMLayer`` / ``GRULayer`` that the cells and ``lstm_layer`` /
``gru_layer`` record.

Why the layers are exported whole: their trace is one ``F.linear`` (the input
projection of every step) and one time-loop Function per layer and direction,
plus the Elman RNN's per-step ops; ONNX's recurrent nodes take the input
projection's weight themselves and loop over any sequence length, so a whole
layer is one node and the sequence axis may be dynamic.

Gate order: PyTorch packs LSTM gates as (i, f, g, o) and GRU gates as
(r, z, n); ONNX as (i, o, f, c) and (z, r, h).  The weights and biases are
reordered into new initializers; PyTorch's GRU is ONNX's with
``linear_before_reset=1`` (``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``).
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..ops import rnn
from ..tensor import Tensor
from .graph import _np
from .registry import register_function, register_module

# ONNX gate block j is PyTorch gate block ORDER[mode][j]
ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}
ONNX_OP = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}


def _rows(order, hidden: int) -> np.ndarray:
    """Row indices that reorder a (G*H, ...) gate-packed matrix from PyTorch's to ONNX's order."""
    return np.concatenate([np.arange(k * hidden, (k + 1) * hidden) for k in order])


def _reordered(g, t: Tensor, order, hidden: int) -> str:
    """``t`` (G*H, ...) or (G*H,) with its gate blocks in ONNX's order, with a leading
    num_directions axis of 1: a new initializer when ``t`` is static, else Gather nodes."""
    name = g.value(t)  # also registers a constant for the two-trace check
    rows = _rows(order, hidden)
    if name in g.inits and not g.is_dynamic(t):
        return g.literal(g.inits[name][rows][None], "gates")
    picked = g.node("Gather", [name, g.ints(rows, "gate_rows")], axis=0)
    return g.axes_op("Unsqueeze", [picked], [0])


def _attrs(mode: str, hidden: int, direction: str, dirs: int) -> dict:
    attrs = {"hidden_size": int(hidden), "direction": direction}
    if mode == "GRU":
        attrs["linear_before_reset"] = 1
    if mode == "RNN_RELU":
        attrs["activations"] = ["Relu"] * dirs
    return attrs


def _is_zero(t, t_alt) -> bool:
    """An all-zero tensor in both traces (an initial state the model made with zeros)."""
    return all(isinstance(x, Tensor) and (x.numel() == 0 or not np.any(_np(x)))
               for x in (t, t_alt))


# ---------------------------------------------------------------------- the time-loop Functions

def _permutation(g, order, hidden: int, dtype) -> str:
    """ONNX's W when X is already the input projection: a permutation matrix that only puts
    PyTorch's gate blocks in ONNX's order (it costs a (G*H, G*H) product per step; the
    whole layers, exported below, pass the real input weights instead)."""
    return g.literal(np.eye(len(order) * hidden, dtype=dtype)[_rows(order, hidden)][None],
                     "W_perm")


def _loop_node(g, rec, mode: str, states, reverse: bool, b_ih_t=None, w_ih_t=None) -> list:
    """The ONNX node for an LSTMLayer / GRULayer record: X = the traced input projection
    and W a permutation, or, when the layer projects its input itself (``w_ih_t``, as
    ``lstm_layer(..., w_ih=)``), X = that input and W = w_ih; b_ih_t the input bias the
    layer adds itself (``lstm_layer(..., b_ih=)``) or None."""
    gi_t, w_hh_t, b_hh_t = rec.args[:3]
    hidden = int(w_hh_t.shape[1])
    order = ORDER[mode]
    gates = len(order)
    dtype = gi_t._data.dtype
    w = (_permutation(g, order, hidden, dtype) if w_ih_t is None
         else _reordered(g, w_ih_t, order, hidden))
    r = _reordered(g, w_hh_t, order, hidden)
    if b_hh_t is not None or b_ih_t is not None:
        wb, rb = (_reordered(g, t, order, hidden) if t is not None else
                  g.literal(np.zeros((1, gates * hidden), dtype), "zero_bias")
                  for t in (b_ih_t, b_hh_t))
        b = g.node("Concat", [wb, rb], axis=1)
    else:
        b = ""
    inits = ["" if s is None else g.axes_op("Unsqueeze", [g.value(s)], [0]) for s in states]
    return g.node(ONNX_OP[mode], [g.value(gi_t), w, r, b, ""] + inits,
                  n_out=3 if mode == "LSTM" else 2,
                  **_attrs(mode, hidden, "reverse" if reverse else "forward", 1))


@register_function(rnn.LSTMLayer)
def _lstm_layer(g, rec, alt):
    # args: gi_all (or x with w_ih), w_hh, b_hh, h0, c0, reverse, b_ih, w_ih
    y, _, y_c = _loop_node(g, rec, "LSTM", rec.args[3:5], rec.args[5], rec.args[6],
                           rec.args[7])
    # jitnet's result stacks every h_t and then c_n: (L + 1, N, H)
    return [g.node("Concat", [g.axes_op("Squeeze", [y], [1]), y_c], axis=0)]


@register_function(rnn.GRULayer)
def _gru_layer(g, rec, alt):
    y, _ = _loop_node(g, rec, "GRU", rec.args[3:4], rec.args[4])  # gi, w_hh, b_hh, h0, rev
    return [g.axes_op("Squeeze", [y], [1])]


# ---------------------------------------------------------------------- whole layers

def _states(rec, alt):
    """The layer's (h0, c0) / h0 arguments of this trace and the other (None: not given)."""
    def given(r):
        if r is None:
            return None
        hx = r.args[1] if len(r.args) > 1 else r.kwargs.get("hx")
        if rec.module.mode == "LSTM":
            return (None, None) if hx is None else tuple(hx)
        return (hx,)
    mine = given(rec)
    other = given(alt) if alt is not None else mine
    return list(zip(mine, other))


@register_module(nn.LSTM, nn.GRU, nn.RNN,
                 accepts=lambda m, args, kw: len(args) >= 1 and isinstance(args[0], Tensor))
def _recurrent(g, rec, alt):
    """One ONNX LSTM/GRU/RNN node per layer; (output, h_n[, c_n]) as the layer returns them."""
    m = rec.module
    mode, hidden, dirs = m.mode, m.hidden_size, 2 if m.bidirectional else 1
    order = ORDER[mode]
    x_t = rec.args[0]
    unbatched = x_t.ndim == 2
    x = g.value(x_t)
    if unbatched:
        x = g.axes_op("Unsqueeze", [x], [1])
    elif m.batch_first:
        x = g.node("Transpose", [x], perm=[1, 0, 2])
    states = []
    for t, t_alt in _states(rec, alt):
        # zeros not computed from an input (a constant, or jn.zeros sized by a dynamic axis)
        # are ONNX's default initial state
        if t is None or ((not g.is_dynamic(t) or g._known(t) in g.uniform)
                         and _is_zero(t, t_alt)):
            states.append(None)
            continue
        s = g.value(t)
        states.append(g.axes_op("Unsqueeze", [s], [1]) if unbatched else s)
    direction = "bidirectional" if dirs == 2 else "forward"
    h_n, c_n = [], []
    for layer in range(m.num_layers):
        params = [m._params(layer, d == 1) for d in range(dirs)]
        w = g.literal(np.stack([_np(p[0])[_rows(order, hidden)] for p in params]),
                      f"{rec.path}.W_l{layer}")
        r = g.literal(np.stack([_np(p[1])[_rows(order, hidden)] for p in params]),
                      f"{rec.path}.R_l{layer}")
        b = ""
        if m.bias:
            b = g.literal(np.stack([np.concatenate([_np(p[2])[_rows(order, hidden)],
                                                    _np(p[3])[_rows(order, hidden)]])
                                    for p in params]), f"{rec.path}.B_l{layer}")
        inits = []
        for s in states:
            inits.append("" if s is None else g.node(
                "Slice", [s, g.ints([layer * dirs]), g.ints([(layer + 1) * dirs]), g.ints([0])]))
        outs = g.node(ONNX_OP[mode], [x, w, r, b, ""] + inits,
                      n_out=3 if mode == "LSTM" else 2,
                      **_attrs(mode, hidden, direction, dirs))
        y = outs[0]  # (L, D, N, H) -> (L, N, D*H), directions side by side as PyTorch
        if dirs == 1:
            x = g.axes_op("Squeeze", [y], [1])
        else:
            x = g.node("Reshape", [g.node("Transpose", [y], perm=[0, 2, 1, 3]),
                                   g.ints([0, 0, dirs * hidden], "shape")])
        h_n.append(outs[1])
        if mode == "LSTM":
            c_n.append(outs[2])
    finals = [h_n] + ([c_n] if mode == "LSTM" else [])
    finals = [f[0] if len(f) == 1 else g.node("Concat", f, axis=0) for f in finals]
    if unbatched:
        x = g.axes_op("Squeeze", [x], [1])
        finals = [g.axes_op("Squeeze", [f], [1]) for f in finals]
    elif m.batch_first:
        x = g.node("Transpose", [x], perm=[1, 0, 2])
    return [x] + finals
