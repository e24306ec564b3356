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
outside) -- pure arithmetic, so the CPU loop vectorises, where a libm ``tanh``
call per gate cost ~15 ns (an LSTM step's five ``tanh`` per unit were most of its
time).  float64 keeps ``math.tanh``.

Constants are named (``HALF``, ``ONE``, the tanh coefficients) so that a compiler
that types them can be handed ``FLOAT32``, the same values as float32: the CPU
compiles the formulas with it (``kernels/cpu/rnn.py``), so float32 data stays
float32 inside the formulas (Python float literals made Numba compute them in
float64: half the vector width, 42.7 -> 24.7 us per (64, 128) LSTM step), and
float64 data still computes in float64 (float32 * float64 is float64; 0.5 and 1.0
are exact).  Evaluated that way the rational tanh is within 3.3e-7 of tanh (5.5
float32 ulps near +-1; 2.6e-7 evaluated in float64, which CUDA and the simulator
do).  Plain Python keeps the Python floats: under NumPy 2 a float32 scalar times a
float64 Python value is float32, so the simulator must not see them.

PyTorch's gate order: LSTM (i, f, g, o), GRU (r, z, n) with
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``; the Elman RNN has one gate and
``act`` = tanh or relu.
"""
from __future__ import annotations

import math

import numpy as np

TANH_CLAMP = 7.90531110763549805
"""Where the rational tanh stops: beyond it tanh is 1 to within its error."""
HALF, ONE = 0.5, 1.0
# the rational tanh's numerator (P) and denominator (Q) coefficients, highest power first
P0 = -2.76076847742355e-16
P1 = 2.00018790482477e-13
P2 = -8.60467152213735e-11
P3 = 5.12229709037114e-08
P4 = 1.48572235717979e-05
P5 = 6.37261928875436e-04
P6 = 4.89352455891786e-03
Q0 = 1.19825839466702e-06
Q1 = 1.18534705686654e-04
Q2 = 2.26843463243900e-03
Q3 = 4.89352518554385e-03

_CONSTANTS = ("TANH_CLAMP", "HALF", "ONE", "P0", "P1", "P2", "P3", "P4", "P5", "P6", "Q0", "Q1",
              "Q2", "Q3")
FLOAT32 = {name: np.float32(globals()[name]) for name in _CONSTANTS}
"""The constants above as float32, for a compiler that types them (module docstring)."""


def tanh_(x, fast):
    """tanh(x): ``math.tanh``, or with ``fast`` the float32-accurate rational approximation."""
    if not fast:
        return math.tanh(x)
    # a conditional expression, not min/max: Numba's min/max branch (NaN rules), which
    # stops LLVM vectorising the loop; NaN passes through either way
    x = -TANH_CLAMP if x < -TANH_CLAMP else (TANH_CLAMP if x > TANH_CLAMP else x)
    x2 = x * x
    p = x2 * P0 + P1
    p = x2 * p + P2
    p = x2 * p + P3
    p = x2 * p + P4
    p = x2 * p + P5
    p = x2 * p + P6
    q = x2 * Q0 + Q1
    q = x2 * q + Q2
    q = x2 * q + Q3
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
    return dh * (ONE - h * h)


def lstm_fwd(ai, af, ag, ao, c_prev, fast):
    """One LSTM unit from its four gate pre-activations -> (i, f, g, o, c, tanh(c), h)."""
    i = HALF + HALF * tanh_(HALF * ai, fast)
    f = HALF + HALF * tanh_(HALF * af, fast)
    g = tanh_(ag, fast)
    o = HALF + HALF * tanh_(HALF * ao, fast)
    c = f * c_prev + i * g
    tc = tanh_(c, fast)
    return i, f, g, o, c, tc, o * tc


def lstm_bwd(i, f, g, o, tc, c_prev, dh, dc):
    """Gradients of ``lstm_fwd`` given dL/dh and dL/dc (from the step above and the output)
    -> (d ai, d af, d ag, d ao, d c_prev)."""
    dct = dc + dh * o * (ONE - tc * tc)
    return (dct * g * i * (ONE - i), dct * c_prev * f * (ONE - f), dct * i * (ONE - g * g),
            dh * tc * o * (ONE - o), dct * f)


def gru_fwd(xr, xz, xn, hr, hz, hn, h_prev, fast):
    """One GRU unit from the input part (xr, xz, xn) and the hidden part (hr, hz, hn) of its
    gates (biases included) -> (r, z, n, h)."""
    r = HALF + HALF * tanh_(HALF * (xr + hr), fast)
    z = HALF + HALF * tanh_(HALF * (xz + hz), fast)
    n = tanh_(xn + r * hn, fast)
    return r, z, n, (ONE - z) * n + z * h_prev


def gru_bwd(r, z, n, hn, h_prev, dh):
    """Gradients of ``gru_fwd`` given dL/dh -> (d xr, d xz, d xn, d hn, d h_prev through z);
    d hr = d xr and d hz = d xz (each gate adds its two parts)."""
    dxn = dh * (ONE - z) * (ONE - n * n)
    dr = dxn * hn
    return (dr * r * (ONE - r), dh * (h_prev - n) * z * (ONE - z), dxn, dxn * r, dh * z)
