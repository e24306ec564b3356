"""Recurrent cell CPU kernels: one fused pass per time step for the Elman RNN, LSTM and GRU,
forward and backward, and the per-step product ``step_matmul``.

The gate matmuls stay GEMMs (the input projection of every step in one ``bmm``
before the loop, ``h @ W_hh^T`` once per step in ``step_matmul``); what these kernels fuse
is everything else of a step: adding the two halves of the gates and the
hidden bias, the gate nonlinearities and the state update (forward), and
their derivatives (backward), in one pass over the (N, H) units.  The
per-element formulas are in ``kernels/scalar/rnn.py``.

Arrays: ``gi_all`` (L, N, G*H) the input projection of every step (biases
``b_ih`` included; the kernel reads step ``t``), ``gh`` (N, G*H) this step's
``h @ W_hh^T``, ``b_hh`` (G*H,) or None, G = 4 (LSTM), 3 (GRU) or 1 (RNN).
``g_out`` (L or L+1, N, H): the upstream gradient of every step's output
(step ``t`` is read).  Serial: a step is small (N*H units) and the steps are
sequential; the GEMMs around it are where threads help.  float32 data runs the
formulas with ``fast`` (a rational tanh, see ``kernels/scalar/rnn.py``).
"""
from __future__ import annotations

import numpy as np

from ... import runtime
from .._jit import kernel, scalar
from ..scalar import rnn as S

_lstm_fwd = scalar(S.lstm_fwd, S.tanh_)
_lstm_bwd = scalar(S.lstm_bwd)
_gru_fwd = scalar(S.gru_fwd, S.tanh_)
_gru_bwd = scalar(S.gru_bwd)
_elman_fwd = scalar(S.elman_fwd, S.tanh_)
_elman_bwd = scalar(S.elman_bwd)


@kernel
def _step_matmul_kernel(a, w, out, trans_w):
    """out = a @ w^T (trans_w) or a @ w: one single-threaded BLAS call."""
    if trans_w:
        np.dot(a, w.T, out)
    else:
        np.dot(a, w, out)


@kernel
def _elman_fwd_kernel(gi_all, t, gh, b, has_b, relu, fast, h):
    n_b, hid = h.shape
    for n in range(n_b):
        for j in range(hid):
            a = gi_all[t, n, j] + gh[n, j]
            if has_b:
                a += b[j]
            h[n, j] = _elman_fwd(a, relu, fast)


@kernel
def _elman_bwd_kernel(h, g_out, t, dh, relu, dgates):
    n_b, hid = h.shape
    for n in range(n_b):
        for j in range(hid):
            dgates[n, j] = _elman_bwd(h[n, j], g_out[t, n, j] + dh[n, j], relu)


@kernel
def _lstm_fwd_kernel(gi_all, t, gh, b, has_b, fast, c_prev, h, c, saved):
    n_b, hid = c_prev.shape
    for n in range(n_b):
        for j in range(hid):
            a0 = gi_all[t, n, j] + gh[n, j]
            a1 = gi_all[t, n, hid + j] + gh[n, hid + j]
            a2 = gi_all[t, n, 2 * hid + j] + gh[n, 2 * hid + j]
            a3 = gi_all[t, n, 3 * hid + j] + gh[n, 3 * hid + j]
            if has_b:
                a0 += b[j]
                a1 += b[hid + j]
                a2 += b[2 * hid + j]
                a3 += b[3 * hid + j]
            i, f, g, o, cv, tc, hv = _lstm_fwd(a0, a1, a2, a3, c_prev[n, j], fast)
            saved[n, j] = i
            saved[n, hid + j] = f
            saved[n, 2 * hid + j] = g
            saved[n, 3 * hid + j] = o
            saved[n, 4 * hid + j] = tc
            c[n, j] = cv
            h[n, j] = hv


@kernel
def _lstm_bwd_kernel(saved, c_prev, g_out, t, dh, dc, dgates, dc_prev):
    n_b, hid = c_prev.shape
    for n in range(n_b):
        for j in range(hid):
            d0, d1, d2, d3, dcp = _lstm_bwd(
                saved[n, j], saved[n, hid + j], saved[n, 2 * hid + j], saved[n, 3 * hid + j],
                saved[n, 4 * hid + j], c_prev[n, j], g_out[t, n, j] + dh[n, j], dc[n, j])
            dgates[n, j] = d0
            dgates[n, hid + j] = d1
            dgates[n, 2 * hid + j] = d2
            dgates[n, 3 * hid + j] = d3
            dc_prev[n, j] = dcp


@kernel
def _gru_fwd_kernel(gi_all, t, gh, b, has_b, fast, h_prev, h, saved):
    n_b, hid = h_prev.shape
    for n in range(n_b):
        for j in range(hid):
            hr = gh[n, j]
            hz = gh[n, hid + j]
            hn = gh[n, 2 * hid + j]
            if has_b:
                hr += b[j]
                hz += b[hid + j]
                hn += b[2 * hid + j]
            r, z, nv, hv = _gru_fwd(gi_all[t, n, j], gi_all[t, n, hid + j],
                                    gi_all[t, n, 2 * hid + j], hr, hz, hn, h_prev[n, j], fast)
            saved[n, j] = r
            saved[n, hid + j] = z
            saved[n, 2 * hid + j] = nv
            saved[n, 3 * hid + j] = hn
            h[n, j] = hv


@kernel
def _gru_bwd_kernel(saved, h_prev, g_out, t, dh, dgi, dgh, dh_prev):
    n_b, hid = h_prev.shape
    for n in range(n_b):
        for j in range(hid):
            dxr, dxz, dxn, dhn, dhp = _gru_bwd(
                saved[n, j], saved[n, hid + j], saved[n, 2 * hid + j], saved[n, 3 * hid + j],
                h_prev[n, j], g_out[t, n, j] + dh[n, j])
            dgi[n, j] = dxr
            dgi[n, hid + j] = dxz
            dgi[n, 2 * hid + j] = dxn
            dgh[n, j] = dxr
            dgh[n, hid + j] = dxz
            dgh[n, 2 * hid + j] = dhn
            dh_prev[n, j] = dhp


def _bias(b, like):
    if b is None:
        return np.zeros(1, dtype=like.dtype), False
    return np.ascontiguousarray(b, like.dtype), True


def _fast(like) -> bool:
    return bool(like.dtype == np.float32)


def step_matmul(a: np.ndarray, w: np.ndarray, trans_w: bool) -> np.ndarray:
    """One step's product of a recurrence: a (N, K) @ w^T (w (M, K), ``trans_w``) or
    a @ w (w (K, M)) -> (N, M), C-contiguous.  Also the recurrence's bias gradient
    (a row of ones @ the stacked gate gradients, one GEMV).

    Always one thread (``bmm`` would split a product this size over the pool): the
    2L products of a layer form a chain of small GEMMs, each waiting for the last,
    and waking the pool twice per step costs about what a 64x128x512 split saves --
    far more when another process holds a core (a stalled worker stalls the step).
    """
    if not runtime._state["applied"]:
        runtime.apply_cpu_settings()  # SciPy's BLAS to one thread (as bmm does)
    a = np.ascontiguousarray(a)
    w = np.ascontiguousarray(w, a.dtype)
    out = np.empty((a.shape[0], w.shape[0] if trans_w else w.shape[1]), a.dtype)
    _step_matmul_kernel(a, w, out, bool(trans_w))
    return out


def rnn_cell_fwd(gi_all: np.ndarray, t: int, gh: np.ndarray, b_hh, relu: bool) -> np.ndarray:
    """One Elman step: h = act(gi_all[t] + gh (+ b_hh)), act = relu or tanh -> h (N, H).

    h is also all the backward needs.
    """
    gi_all = np.ascontiguousarray(gi_all)
    gh = np.ascontiguousarray(gh, gi_all.dtype)
    b, has_b = _bias(b_hh, gi_all)
    h = np.empty(gh.shape, gi_all.dtype)
    _elman_fwd_kernel(gi_all, int(t), gh, b, has_b, bool(relu), _fast(gi_all), h)
    return h


def rnn_cell_bwd(h: np.ndarray, g_out: np.ndarray, t: int, dh: np.ndarray,
                 relu: bool) -> np.ndarray:
    """Backward of one Elman step with dL/dh = g_out[t] + dh -> the gradient (N, H) of the
    summed pre-activation (so of gi_all[t], gh and b_hh alike)."""
    g_out = np.ascontiguousarray(g_out, h.dtype)
    dgates = np.empty(h.shape, h.dtype)
    _elman_bwd_kernel(h, g_out, int(t), np.ascontiguousarray(dh, h.dtype), bool(relu), dgates)
    return dgates


def lstm_cell_fwd(gi_all: np.ndarray, t: int, gh: np.ndarray, b_hh, c_prev: np.ndarray):
    """One LSTM step: gates = gi_all[t] + gh (+ b_hh) in order (i, f, g, o).

    Returns ``(h, c, saved)``: h, c (N, H), and saved (N, 5H) = (i, f, g, o,
    tanh(c)) for the backward.
    """
    gi_all = np.ascontiguousarray(gi_all)
    gh = np.ascontiguousarray(gh, gi_all.dtype)
    c_prev = np.ascontiguousarray(c_prev, gi_all.dtype)
    b, has_b = _bias(b_hh, gi_all)
    n, hid = c_prev.shape
    h = np.empty((n, hid), gi_all.dtype)
    c = np.empty((n, hid), gi_all.dtype)
    saved = np.empty((n, 5 * hid), gi_all.dtype)
    _lstm_fwd_kernel(gi_all, int(t), gh, b, has_b, _fast(gi_all), c_prev, h, c, saved)
    return h, c, saved


def lstm_cell_bwd(saved: np.ndarray, c_prev: np.ndarray, g_out: np.ndarray, t: int,
                  dh: np.ndarray, dc: np.ndarray):
    """Backward of one LSTM step: dL/dh = g_out[t] + dh (the recurrent part), dL/dc = dc.

    Returns ``(dgates (N, 4H), dc_prev (N, H))``; dgates is the gradient of
    the summed gate pre-activations (so of gi_all[t], gh and b_hh alike).
    """
    g_out = np.ascontiguousarray(g_out, saved.dtype)
    n, hid = c_prev.shape
    dgates = np.empty((n, 4 * hid), saved.dtype)
    dc_prev = np.empty((n, hid), saved.dtype)
    _lstm_bwd_kernel(saved, np.ascontiguousarray(c_prev), g_out, int(t),
                     np.ascontiguousarray(dh, saved.dtype), np.ascontiguousarray(dc, saved.dtype),
                     dgates, dc_prev)
    return dgates, dc_prev


def gru_cell_fwd(gi_all: np.ndarray, t: int, gh: np.ndarray, b_hh, h_prev: np.ndarray):
    """One GRU step from gi_all[t] (input part, b_ih included) and gh (+ b_hh), order (r, z, n).

    Returns ``(h (N, H), saved (N, 4H))``, saved = (r, z, n, W_hn h + b_hn).
    """
    gi_all = np.ascontiguousarray(gi_all)
    gh = np.ascontiguousarray(gh, gi_all.dtype)
    h_prev = np.ascontiguousarray(h_prev, gi_all.dtype)
    b, has_b = _bias(b_hh, gi_all)
    n, hid = h_prev.shape
    h = np.empty((n, hid), gi_all.dtype)
    saved = np.empty((n, 4 * hid), gi_all.dtype)
    _gru_fwd_kernel(gi_all, int(t), gh, b, has_b, _fast(gi_all), h_prev, h, saved)
    return h, saved


def gru_cell_bwd(saved: np.ndarray, h_prev: np.ndarray, g_out: np.ndarray, t: int,
                 dh: np.ndarray):
    """Backward of one GRU step with dL/dh = g_out[t] + dh.

    Returns ``(dgi (N, 3H), dgh (N, 3H), dh_prev (N, H))``: the gradients of
    the input part and of the hidden part (b_hh included) of the gates, and
    the part of dL/dh_prev that flows through z (the rest is dgh @ W_hh).
    """
    g_out = np.ascontiguousarray(g_out, saved.dtype)
    n, hid = h_prev.shape
    dgi = np.empty((n, 3 * hid), saved.dtype)
    dgh = np.empty((n, 3 * hid), saved.dtype)
    dh_prev = np.empty((n, hid), saved.dtype)
    _gru_bwd_kernel(saved, np.ascontiguousarray(h_prev), g_out, int(t),
                    np.ascontiguousarray(dh, saved.dtype), dgi, dgh, dh_prev)
    return dgi, dgh, dh_prev
