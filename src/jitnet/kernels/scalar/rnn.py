"""Per-element formulas of the recurrent cells (Elman RNN, LSTM, GRU): one hidden unit of one
time step.

Compiled by ``kernels/cpu/rnn.py`` and ``kernels/cuda/rnn.py``.  Every formula
calls one helper, ``tanh_``, which each backend compiles beside it (``scalar`` /
``device_fn`` with ``helpers=``); everything else is ``math``.  The sigmoid is
written ``0.5 + 0.5 * tanh(x / 2)``: the same function as ``1 / (1 + exp(-x))``,
but it cannot overflow, so the formulas also run as plain Python under the CUDA
simulator.

``fast`` (True for float32 data): ``tanh_`` is then a rational approximation
(Eigen's float ``tanh``: a degree-13/6 odd rational on [-7.9, 7.9], clamped
outside), within 2.6e-7 of tanh (4 float32 ulps) -- pure arithmetic, so the CPU
loop vectorises, where a libm ``tanh`` call per gate cost ~15 ns (an LSTM step's
five ``tanh`` per unit were most of its time).  float64 keeps ``math.tanh``.

PyTorch's gate order: LSTM (i, f, g, o), GRU (r, z, n) with
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``; the Elman RNN has one gate and
``act`` = tanh or relu.
"""
from __future__ import annotations

import math

TANH_CLAMP = 7.90531110763549805
"""Where the rational tanh stops: beyond it tanh is 1 to within its error."""


def tanh_(x, fast):
    """tanh(x): ``math.tanh``, or with ``fast`` the float32-accurate rational approximation."""
    if not fast:
        return math.tanh(x)
    # a conditional expression, not min/max: Numba's min/max branch (NaN rules), which
    # stops LLVM vectorising the loop; NaN passes through either way
    x = -TANH_CLAMP if x < -TANH_CLAMP else (TANH_CLAMP if x > TANH_CLAMP else x)
    x2 = x * x
    p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13
    p = x2 * p + -8.60467152213735e-11
    p = x2 * p + 5.12229709037114e-08
    p = x2 * p + 1.48572235717979e-05
    p = x2 * p + 6.37261928875436e-04
    p = x2 * p + 4.89352455891786e-03
    q = x2 * 1.19825839466702e-06 + 1.18534705686654e-04
    q = x2 * q + 2.26843463243900e-03
    q = x2 * q + 4.89352518554385e-03
    return x * p / q


def elman_fwd(a, relu, fast):
    """One Elman unit from its summed pre-activation: tanh(a), or relu(a) (NaN stays NaN)."""
    if relu:
        return 0.0 if a < 0.0 else a
    return tanh_(a, fast)


def elman_bwd(h, dh, relu):
    """Gradient of ``elman_fwd`` w.r.t. its pre-activation, from the output h and dL/dh
    (relu: PyTorch's ``h > 0`` rule, so 0 at 0)."""
    if relu:
        return dh if h > 0.0 else 0.0
    return dh * (1.0 - h * h)


def lstm_fwd(ai, af, ag, ao, c_prev, fast):
    """One LSTM unit from its four gate pre-activations -> (i, f, g, o, c, tanh(c), h)."""
    i = 0.5 + 0.5 * tanh_(0.5 * ai, fast)
    f = 0.5 + 0.5 * tanh_(0.5 * af, fast)
    g = tanh_(ag, fast)
    o = 0.5 + 0.5 * tanh_(0.5 * ao, fast)
    c = f * c_prev + i * g
    tc = tanh_(c, fast)
    return i, f, g, o, c, tc, o * tc


def lstm_bwd(i, f, g, o, tc, c_prev, dh, dc):
    """Gradients of ``lstm_fwd`` given dL/dh and dL/dc (from the step above and the output)
    -> (d ai, d af, d ag, d ao, d c_prev)."""
    dct = dc + dh * o * (1.0 - tc * tc)
    return (dct * g * i * (1.0 - i), dct * c_prev * f * (1.0 - f), dct * i * (1.0 - g * g),
            dh * tc * o * (1.0 - o), dct * f)


def gru_fwd(xr, xz, xn, hr, hz, hn, h_prev, fast):
    """One GRU unit from the input part (xr, xz, xn) and the hidden part (hr, hz, hn) of its
    gates (biases included) -> (r, z, n, h)."""
    r = 0.5 + 0.5 * tanh_(0.5 * (xr + hr), fast)
    z = 0.5 + 0.5 * tanh_(0.5 * (xz + hz), fast)
    n = tanh_(xn + r * hn, fast)
    return r, z, n, (1.0 - z) * n + z * h_prev


def gru_bwd(r, z, n, hn, h_prev, dh):
    """Gradients of ``gru_fwd`` given dL/dh -> (d xr, d xz, d xn, d hn, d h_prev through z);
    d hr = d xr and d hz = d xz (each gate adds its two parts)."""
    dxn = dh * (1.0 - z) * (1.0 - n * n)
    dr = dxn * hn
    return (dr * r * (1.0 - r), dh * (h_prev - n) * z * (1.0 - z), dxn, dxn * r, dh * z)
