"""Per-element formulas of the recurrent cells (LSTM, GRU): one hidden unit of one time step.

Leaf functions (``math`` only), compiled by ``kernels/cpu/rnn.py`` and
``kernels/cuda/rnn.py``.  The sigmoid is written ``0.5 + 0.5 * tanh(x / 2)``:
the same function as ``1 / (1 + exp(-x))``, but it cannot overflow, so the
formulas also run as plain Python under the CUDA simulator.

PyTorch's gate order: LSTM (i, f, g, o), GRU (r, z, n) with
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``.
"""
from __future__ import annotations

import math


def lstm_fwd(ai, af, ag, ao, c_prev):
    """One LSTM unit from its four gate pre-activations -> (i, f, g, o, c, tanh(c), h)."""
    i = 0.5 + 0.5 * math.tanh(0.5 * ai)
    f = 0.5 + 0.5 * math.tanh(0.5 * af)
    g = math.tanh(ag)
    o = 0.5 + 0.5 * math.tanh(0.5 * ao)
    c = f * c_prev + i * g
    tc = math.tanh(c)
    return i, f, g, o, c, tc, o * tc


def lstm_bwd(i, f, g, o, tc, c_prev, dh, dc):
    """Gradients of ``lstm_fwd`` given dL/dh and dL/dc (from the step above and the output)
    -> (d ai, d af, d ag, d ao, d c_prev)."""
    dct = dc + dh * o * (1.0 - tc * tc)
    return (dct * g * i * (1.0 - i), dct * c_prev * f * (1.0 - f), dct * i * (1.0 - g * g),
            dh * tc * o * (1.0 - o), dct * f)


def gru_fwd(xr, xz, xn, hr, hz, hn, h_prev):
    """One GRU unit from the input part (xr, xz, xn) and the hidden part (hr, hz, hn) of its
    gates (biases included) -> (r, z, n, h)."""
    r = 0.5 + 0.5 * math.tanh(0.5 * (xr + hr))
    z = 0.5 + 0.5 * math.tanh(0.5 * (xz + hz))
    n = math.tanh(xn + r * hn)
    return r, z, n, (1.0 - z) * n + z * h_prev


def gru_bwd(r, z, n, hn, h_prev, dh):
    """Gradients of ``gru_fwd`` given dL/dh -> (d xr, d xz, d xn, d hn, d h_prev through z);
    d hr = d xr and d hz = d xz (each gate adds its two parts)."""
    dxn = dh * (1.0 - z) * (1.0 - n * n)
    dr = dxn * hn
    return (dr * r * (1.0 - r), dh * (h_prev - n) * z * (1.0 - z), dxn, dxn * r, dh * z)
