"""Recurrent cell CUDA kernels: one fused pass per time step for the Elman RNN, LSTM and GRU,
forward and backward, and the per-step product ``step_matmul`` (the tiled ``bmm``).

The twin of ``kernels/cpu/rnn.py`` (read it for the arrays); the formulas are
``kernels/scalar/rnn.py`` compiled as device functions.  Parallel strategy:
one thread per hidden unit (n, j) of the step, grid-stride over N*H; a thread
reads its G gate values, which lie H apart in a row of G*H.
"""
from __future__ import annotations

import numpy as np
from numba import cuda

from ..scalar import rnn as S
from . import _memory as A
from ._launch import device_fn, launch
from .matmul import bmm

_lstm_fwd = device_fn(S.lstm_fwd, S.tanh_)
_lstm_bwd = device_fn(S.lstm_bwd)
_gru_fwd = device_fn(S.gru_fwd, S.tanh_)
_gru_bwd = device_fn(S.gru_bwd)
_elman_fwd = device_fn(S.elman_fwd, S.tanh_)
_elman_bwd = device_fn(S.elman_bwd)


@cuda.jit
def _elman_fwd_kernel(gi_all, t, gh, b, has_b, relu, fast, h, n_b, hid):
    total = n_b * hid
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        a = gi_all[t * total + e] + gh[e]
        if has_b:
            a += b[e % hid]
        h[e] = _elman_fwd(a, relu, fast)


@cuda.jit
def _elman_bwd_kernel(h, g_out, t, dh, relu, dgates, total):
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        dgates[e] = _elman_bwd(h[e], g_out[t * total + e] + dh[e], relu)


@cuda.jit
def _lstm_fwd_kernel(gi_all, t, gh, b, has_b, fast, c_prev, h, c, saved, n_b, hid):
    total = n_b * hid
    base_t = t * total * 4
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        n = e // hid
        j = e - n * hid
        row = n * 4 * hid + j
        a0 = gi_all[base_t + row] + gh[row]
        a1 = gi_all[base_t + row + hid] + gh[row + hid]
        a2 = gi_all[base_t + row + 2 * hid] + gh[row + 2 * hid]
        a3 = gi_all[base_t + row + 3 * hid] + gh[row + 3 * hid]
        if has_b:
            a0 += b[j]
            a1 += b[hid + j]
            a2 += b[2 * hid + j]
            a3 += b[3 * hid + j]
        i, f, g, o, cv, tc, hv = _lstm_fwd(a0, a1, a2, a3, c_prev[e], fast)
        s = n * 5 * hid + j
        saved[s] = i
        saved[s + hid] = f
        saved[s + 2 * hid] = g
        saved[s + 3 * hid] = o
        saved[s + 4 * hid] = tc
        c[e] = cv
        h[e] = hv


@cuda.jit
def _lstm_bwd_kernel(saved, c_prev, g_out, t, dh, dc, dgates, dc_prev, n_b, hid):
    total = n_b * hid
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        n = e // hid
        j = e - n * hid
        s = n * 5 * hid + j
        d0, d1, d2, d3, dcp = _lstm_bwd(saved[s], saved[s + hid], saved[s + 2 * hid],
                                        saved[s + 3 * hid], saved[s + 4 * hid], c_prev[e],
                                        g_out[t * total + e] + dh[e], dc[e])
        row = n * 4 * hid + j
        dgates[row] = d0
        dgates[row + hid] = d1
        dgates[row + 2 * hid] = d2
        dgates[row + 3 * hid] = d3
        dc_prev[e] = dcp


@cuda.jit
def _gru_fwd_kernel(gi_all, t, gh, b, has_b, fast, h_prev, h, saved, n_b, hid):
    total = n_b * hid
    base_t = t * total * 3
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        n = e // hid
        j = e - n * hid
        row = n * 3 * hid + j
        hr = gh[row]
        hz = gh[row + hid]
        hn = gh[row + 2 * hid]
        if has_b:
            hr += b[j]
            hz += b[hid + j]
            hn += b[2 * hid + j]
        r, z, nv, hv = _gru_fwd(gi_all[base_t + row], gi_all[base_t + row + hid],
                                gi_all[base_t + row + 2 * hid], hr, hz, hn, h_prev[e], fast)
        s = n * 4 * hid + j
        saved[s] = r
        saved[s + hid] = z
        saved[s + 2 * hid] = nv
        saved[s + 3 * hid] = hn
        h[e] = hv


@cuda.jit
def _gru_bwd_kernel(saved, h_prev, g_out, t, dh, dgi, dgh, dh_prev, n_b, hid):
    total = n_b * hid
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        n = e // hid
        j = e - n * hid
        s = n * 4 * hid + j
        dxr, dxz, dxn, dhn, dhp = _gru_bwd(saved[s], saved[s + hid], saved[s + 2 * hid],
                                           saved[s + 3 * hid], h_prev[e],
                                           g_out[t * total + e] + dh[e])
        row = n * 3 * hid + j
        dgi[row] = dxr
        dgi[row + hid] = dxz
        dgi[row + 2 * hid] = dxn
        dgh[row] = dxr
        dgh[row + hid] = dxz
        dgh[row + 2 * hid] = dhn
        dh_prev[e] = dhp


def _fast(dtype) -> bool:
    return bool(np.dtype(dtype) == np.float32)


def step_matmul(a, w, trans_w: bool):
    """One step's product of a recurrence, a @ w^T or a @ w -> (N, M); as the CPU twin
    (here simply the tiled ``bmm``)."""
    n, m = a.shape[0], (w.shape[0] if trans_w else w.shape[1])
    out = bmm(A.reshape(a, (1,) + tuple(a.shape)), A.reshape(w, (1,) + tuple(w.shape)),
              trans_b=bool(trans_w))
    return A.reshape(out, (n, m))


def rnn_cell_fwd(gi_all, t: int, gh, b_hh, relu: bool):
    """One Elman step -> h (N, H); as the CPU twin."""
    n, hid = gh.shape
    dt = gi_all.dtype
    b, has_b = A.opt(b_hh, dt)
    h = A.empty((n, hid), dt)
    launch(_elman_fwd_kernel, n * hid, A.flat(gi_all), int(t), A.flat(gh), A.flat(b), has_b,
           bool(relu), _fast(dt), A.flat(h), n, hid)
    return h


def rnn_cell_bwd(h, g_out, t: int, dh, relu: bool):
    """Backward of one Elman step -> dgates (N, H); as the CPU twin."""
    dgates = A.empty(tuple(h.shape), h.dtype)
    launch(_elman_bwd_kernel, h.size, A.flat(h), A.flat(g_out), int(t), A.flat(dh),
           bool(relu), A.flat(dgates), h.size)
    return dgates


def lstm_cell_fwd(gi_all, t: int, gh, b_hh, c_prev):
    """One LSTM step -> ``(h, c, saved)``; as the CPU twin."""
    n, hid = c_prev.shape
    dt = gi_all.dtype
    b, has_b = A.opt(b_hh, dt)
    h = A.empty((n, hid), dt)
    c = A.empty((n, hid), dt)
    saved = A.empty((n, 5 * hid), dt)
    launch(_lstm_fwd_kernel, n * hid, A.flat(gi_all), int(t), A.flat(gh), A.flat(b), has_b,
           _fast(dt), A.flat(c_prev), A.flat(h), A.flat(c), A.flat(saved), n, hid)
    return h, c, saved


def lstm_cell_bwd(saved, c_prev, g_out, t: int, dh, dc):
    """Backward of one LSTM step -> ``(dgates (N, 4H), dc_prev (N, H))``; as the CPU twin."""
    n, hid = c_prev.shape
    dgates = A.empty((n, 4 * hid), saved.dtype)
    dc_prev = A.empty((n, hid), saved.dtype)
    launch(_lstm_bwd_kernel, n * hid, A.flat(saved), A.flat(c_prev), A.flat(g_out), int(t),
           A.flat(dh), A.flat(dc), A.flat(dgates), A.flat(dc_prev), n, hid)
    return dgates, dc_prev


def gru_cell_fwd(gi_all, t: int, gh, b_hh, h_prev):
    """One GRU step -> ``(h (N, H), saved (N, 4H))``; as the CPU twin."""
    n, hid = h_prev.shape
    dt = gi_all.dtype
    b, has_b = A.opt(b_hh, dt)
    h = A.empty((n, hid), dt)
    saved = A.empty((n, 4 * hid), dt)
    launch(_gru_fwd_kernel, n * hid, A.flat(gi_all), int(t), A.flat(gh), A.flat(b), has_b,
           _fast(dt), A.flat(h_prev), A.flat(h), A.flat(saved), n, hid)
    return h, saved


def gru_cell_bwd(saved, h_prev, g_out, t: int, dh):
    """Backward of one GRU step -> ``(dgi, dgh, dh_prev)``; as the CPU twin."""
    n, hid = h_prev.shape
    dgi = A.empty((n, 3 * hid), saved.dtype)
    dgh = A.empty((n, 3 * hid), saved.dtype)
    dh_prev = A.empty((n, hid), saved.dtype)
    launch(_gru_bwd_kernel, n * hid, A.flat(saved), A.flat(h_prev), A.flat(g_out), int(t),
           A.flat(dh), A.flat(dgi), A.flat(dgh), A.flat(dh_prev), n, hid)
    return dgi, dgh, dh_prev


# Whole sequences: the per-step driver shared with any table (``kernels/recurrence.py``).

def _table():
    from .. import cuda

    return cuda


def rnn_seq_fwd(gi_all, w_hh, b_hh, h0, relu: bool, reverse: bool):
    """The Elman recurrence over a sequence -> hs (L, N, H); as the CPU twin."""
    from .. import recurrence

    return recurrence.rnn_seq_fwd(_table(), gi_all, w_hh, b_hh, h0, relu, reverse)


def rnn_seq_bwd(hs, g, w_hh, relu: bool, reverse: bool, need_b: bool = True):
    """Backward of ``rnn_seq_fwd`` -> (dgates, dh0, db); as the CPU twin."""
    from .. import recurrence

    return recurrence.rnn_seq_bwd(_table(), hs, g, w_hh, relu, reverse, need_b)


def lstm_seq_fwd(gi_all, w_hh, b_hh, h0, c0, reverse: bool, overwrite: bool = False):
    """The LSTM recurrence over a sequence -> (out, cs, saved); as the CPU twin, whose
    saved layout differs (``saved`` is only handed back to ``lstm_seq_bwd``) and which
    reads ``overwrite`` (here gi_all is never written)."""
    from .. import recurrence

    return recurrence.lstm_seq_fwd(_table(), gi_all, w_hh, b_hh, h0, c0, reverse)


def lstm_seq_bwd(saved, cs, c0, g, w_hh, reverse: bool, need_b: bool = True,
                 overwrite: bool = False, need_dh0: bool = True):
    """Backward of ``lstm_seq_fwd`` -> (dgates, dh0, dc0, db); as the CPU twin (here saved
    is never written, whatever ``overwrite`` says)."""
    from .. import recurrence

    return recurrence.lstm_seq_bwd(_table(), saved, cs, c0, g, w_hh, reverse, need_b,
                                   need_dh0)


def gru_seq_fwd(gi_all, w_hh, b_hh, h0, reverse: bool):
    """The GRU recurrence over a sequence -> (hs, saved); as the CPU twin."""
    from .. import recurrence

    return recurrence.gru_seq_fwd(_table(), gi_all, w_hh, b_hh, h0, reverse)


def gru_seq_bwd(saved, hs, h0, g, w_hh, reverse: bool, need_b: bool = True):
    """Backward of ``gru_seq_fwd`` -> (dgi, dgh, dh0, db); as the CPU twin."""
    from .. import recurrence

    return recurrence.gru_seq_bwd(_table(), saved, hs, h0, g, w_hh, reverse, need_b)
