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
(step ``t`` is read).  The per-step kernels run on one thread; the sequence
kernels (``*_seq_*``, below) split the samples over the threads.  float32 data runs the
formulas with ``fast`` (a rational tanh, see ``kernels/scalar/rnn.py``), decided
at compile time from the dtype (``fastmath.is_single``).
"""
from __future__ import annotations

import numpy as np

from ... import runtime
from .._jit import kernel, scalar, with_globals
from ..scalar import rnn as S
from .blas import gemm
from .fastmath import is_single
from .tasks import num_threads, run_tasks, span, task


def _formula(fn, *helpers):
    """``scalar`` of a cell formula with its constants as float32 (``S.FLOAT32``): float32
    data then stays float32 inside it, float64 data stays float64 (kernels/scalar/rnn.py)."""
    return scalar(with_globals(fn, S.FLOAT32), *(with_globals(h, S.FLOAT32) for h in helpers))


_lstm_fwd = _formula(S.lstm_fwd, S.tanh_)
_lstm_bwd = _formula(S.lstm_bwd)
_gru_fwd = _formula(S.gru_fwd, S.tanh_)
_gru_bwd = _formula(S.gru_bwd)
_elman_fwd = _formula(S.elman_fwd, S.tanh_)
_elman_bwd = _formula(S.elman_bwd)


@kernel
def _step_matmul_kernel(a, w, out, trans_w):
    """out = a @ w^T (trans_w) or a @ w: one single-threaded BLAS call."""
    if gemm(a, w, out, False, trans_w, 0.0):
        raise ValueError("step_matmul: operands do not match")


# The loops read every operand through 1-D views indexed from 0 (one view per gate of
# one sample): with computed offsets (``gi_all[t, n, 2 * hid + j]``) Numba must wrap
# negative indices on every access, and LLVM then did not vectorise the loop (measured
# ~200 us per LSTM step of 64x128 units before, see bench/bench_seq.py).  An absent
# b_hh arrives as zeros, so the loops have no branch.

@kernel(inline="always")
def _gate(rows, k, hid):
    """Gate k's block ``rows[k*hid:(k+1)*hid]`` of a 1-D row of stacked gates."""
    return rows[k * hid:(k + 1) * hid]


# One step of a cell over a block of samples (rows): the per-step kernels run it on all
# samples, the sequence kernels below on a task's samples at every step.

@kernel(inline="always")
def _elman_rows(gi, gh, b, relu, h):
    """h = act(gi + gh + b) for rows (m, H)."""
    fast = is_single(h)
    for n in range(h.shape[0]):
        x, y, hn = gi[n], gh[n], h[n]
        for j in range(hn.shape[0]):
            hn[j] = _elman_fwd(x[j] + y[j] + b[j], relu, fast)


@kernel(inline="always")
def _elman_bwd_rows(h, go, dh, relu, dgates, db):
    """dgates = act'(.) * (go + dh) for rows (m, H), from the outputs h; db (H,) += their
    column sums."""
    for n in range(h.shape[0]):
        hn, gn, dhn, dg = h[n], go[n], dh[n], dgates[n]
        for j in range(hn.shape[0]):
            v = _elman_bwd(hn[j], gn[j] + dhn[j], relu)
            dg[j] = v
            db[j] += v


@kernel(inline="always")
def _lstm_rows(gates, gh, b, c_prev, h, c, tc):
    """One LSTM step for rows, in place: gates (m, 4H) holds this step's input projection
    and is overwritten by the gate values (i, f, g, o); gh (m, 4H), b (4H,), c_prev (m, H)
    -> h, c, tc = tanh(c) (m, H).  Reading and writing one view keeps the loop
    vectorised (two views that may overlap make LLVM check at run time, and take the
    scalar loop when they do) and spares the sequence a separate (L, N, 4H) store of
    the gates: the forward writes into lines it has just read."""
    fast = is_single(h)
    hid = c_prev.shape[1]
    b0, b1, b2, b3 = _gate(b, 0, hid), _gate(b, 1, hid), _gate(b, 2, hid), _gate(b, 3, hid)
    for n in range(c_prev.shape[0]):
        x, y = gates[n], gh[n]
        x0, x1, x2, x3 = _gate(x, 0, hid), _gate(x, 1, hid), _gate(x, 2, hid), _gate(x, 3, hid)
        y0, y1, y2, y3 = _gate(y, 0, hid), _gate(y, 1, hid), _gate(y, 2, hid), _gate(y, 3, hid)
        cp, hn, cn, tn = c_prev[n], h[n], c[n], tc[n]
        for j in range(hid):
            i, f, g, o, cv, tcv, hv = _lstm_fwd(x0[j] + y0[j] + b0[j], x1[j] + y1[j] + b1[j],
                                                x2[j] + y2[j] + b2[j], x3[j] + y3[j] + b3[j],
                                                cp[j], fast)
            x0[j], x1[j], x2[j], x3[j] = i, f, g, o
            tn[j] = tcv
            cn[j] = cv
            hn[j] = hv


@kernel(inline="always")
def _lstm_bwd_rows(gates, tc, c_prev, go, dh, dc, dc_prev, db):
    """Backward of ``_lstm_rows``, in place: gates (m, 4H), the gate values, are
    overwritten by their gradients (one view read and written, as forward), with tc (m,
    H), dL/dh = go + dh, dL/dc = dc -> dc_prev (m, H); db (4H,) += the column sums of
    the gate gradients."""
    hid = c_prev.shape[1]
    a0, a1, a2, a3 = _gate(db, 0, hid), _gate(db, 1, hid), _gate(db, 2, hid), _gate(db, 3, hid)
    for n in range(c_prev.shape[0]):
        sv = gates[n]
        s0, s1, s2, s3 = _gate(sv, 0, hid), _gate(sv, 1, hid), _gate(sv, 2, hid), _gate(sv, 3, hid)
        tn, cp, gn, dhn, dcn, dcp = tc[n], c_prev[n], go[n], dh[n], dc[n], dc_prev[n]
        for j in range(hid):
            v0, v1, v2, v3, dcp[j] = _lstm_bwd(
                s0[j], s1[j], s2[j], s3[j], tn[j], cp[j], gn[j] + dhn[j], dcn[j])
            s0[j], s1[j], s2[j], s3[j] = v0, v1, v2, v3
            a0[j] += v0
            a1[j] += v1
            a2[j] += v2
            a3[j] += v3


@kernel(inline="always")
def _gru_rows(gi, gh, b, h_prev, h, saved):
    """One GRU step for rows: gi, gh (m, 3H), b (3H,), h_prev (m, H) -> h (m, H), saved
    (m, 4H) = (r, z, n, W_hn h + b_hn)."""
    fast = is_single(h)
    hid = h_prev.shape[1]
    b0, b1, b2 = _gate(b, 0, hid), _gate(b, 1, hid), _gate(b, 2, hid)
    for n in range(h_prev.shape[0]):
        x, y, sv = gi[n], gh[n], saved[n]
        x0, x1, x2 = _gate(x, 0, hid), _gate(x, 1, hid), _gate(x, 2, hid)
        y0, y1, y2 = _gate(y, 0, hid), _gate(y, 1, hid), _gate(y, 2, hid)
        s0, s1, s2, s3 = _gate(sv, 0, hid), _gate(sv, 1, hid), _gate(sv, 2, hid), _gate(sv, 3, hid)
        hp, hn = h_prev[n], h[n]
        for j in range(hid):
            hnj = y2[j] + b2[j]
            r, z, nv, hv = _gru_fwd(x0[j], x1[j], x2[j], y0[j] + b0[j], y1[j] + b1[j], hnj,
                                    hp[j], fast)
            s0[j], s1[j], s2[j], s3[j] = r, z, nv, hnj
            hn[j] = hv


@kernel(inline="always")
def _gru_bwd_rows(saved, h_prev, go, dh, dgi, dgh, dh_prev, db):
    """Backward of ``_gru_rows`` with dL/dh = go + dh -> dgi, dgh (m, 3H), and dh_prev
    (m, H), the part of dL/dh_prev through z (the rest is dgh @ W_hh); db (3H,) += the
    column sums of dgh."""
    hid = h_prev.shape[1]
    a0, a1, a2 = _gate(db, 0, hid), _gate(db, 1, hid), _gate(db, 2, hid)
    for n in range(h_prev.shape[0]):
        sv, gi, gh = saved[n], dgi[n], dgh[n]
        s0, s1, s2, s3 = _gate(sv, 0, hid), _gate(sv, 1, hid), _gate(sv, 2, hid), _gate(sv, 3, hid)
        i0, i1, i2 = _gate(gi, 0, hid), _gate(gi, 1, hid), _gate(gi, 2, hid)
        h0, h1, h2 = _gate(gh, 0, hid), _gate(gh, 1, hid), _gate(gh, 2, hid)
        hp, gn, dhn, dhp = h_prev[n], go[n], dh[n], dh_prev[n]
        for j in range(hid):
            dxr, dxz, dxn, dhnj, dhpj = _gru_bwd(s0[j], s1[j], s2[j], s3[j], hp[j],
                                                 gn[j] + dhn[j])
            i0[j], i1[j], i2[j] = dxr, dxz, dxn
            h0[j], h1[j], h2[j] = dxr, dxz, dhnj
            dhp[j] = dhpj
            a0[j] += dxr
            a1[j] += dxz
            a2[j] += dhnj


@kernel
def _elman_fwd_kernel(gi_all, t, gh, b, relu, h):
    _elman_rows(gi_all[t], gh, b, relu, h)


@kernel
def _elman_bwd_kernel(h, g_out, t, dh, relu, dgates):
    _elman_bwd_rows(h, g_out[t], dh, relu, dgates, np.zeros(h.shape[1], h.dtype))


@kernel
def _lstm_fwd_kernel(gi_all, t, gh, b, c_prev, h, c, saved):
    # saved (N, 5H) = (gates, tanh(c)): the gates are computed in place over a copy of
    # this step's input projection
    gates = saved[:, :gh.shape[1]]
    _copy_rows(gates, gi_all[t])
    _lstm_rows(gates, gh, b, c_prev, h, c, saved[:, gh.shape[1]:])


@kernel
def _lstm_bwd_kernel(saved, c_prev, g_out, t, dh, dc, dgates, dc_prev):
    _copy_rows(dgates, saved[:, :dgates.shape[1]])  # the gradients overwrite the gates
    _lstm_bwd_rows(dgates, saved[:, dgates.shape[1]:], c_prev, g_out[t], dh, dc, dc_prev,
                   np.zeros(dgates.shape[1], dgates.dtype))


@kernel
def _gru_fwd_kernel(gi_all, t, gh, b, h_prev, h, saved):
    _gru_rows(gi_all[t], gh, b, h_prev, h, saved)


@kernel
def _gru_bwd_kernel(saved, h_prev, g_out, t, dh, dgi, dgh, dh_prev):
    _gru_bwd_rows(saved, h_prev, g_out[t], dh, dgi, dgh, dh_prev, np.zeros(dgh.shape[1], dgh.dtype))


# ---------------------------------------------------------------------------------------
# Whole sequences.  The recurrence of one sample never reads another sample, so the
# samples are what the tasks split (``tasks.run_tasks``): task t owns samples [lo, hi)
# and walks all L steps for them, one GEMM (its rows of h @ W_hh^T) plus one fused pass
# per step, with no Python, no allocation and no synchronisation between steps or threads.

@kernel(inline="always")
def _order(s, length, reverse):
    """(step index, index of the step before it) of the s-th step run, forward or reverse."""
    if reverse:
        return length - 1 - s, length - s
    return s, s - 1


@kernel(inline="always")
def _zero_rows(dst):
    for n in range(dst.shape[0]):
        d = dst[n]
        for j in range(d.shape[0]):
            d[j] = 0


@kernel(inline="always")
def _copy_rows(dst, src):
    for n in range(src.shape[0]):
        d, r = dst[n], src[n]
        for j in range(r.shape[0]):
            d[j] = r[j]


@kernel(inline="always")
def _add_step_sums(acc, step):
    """acc (float64) += step, one step's column sums of the gate gradients in the data's
    dtype, then step zeroed for the next step.  The rows' pass adds into ``step`` at the
    data's width: float64 accumulators there (a conversion and twice the bytes per
    element, in the backward's hottest loop) cost more than the separate column sum
    they replace, and one step's rows of one task (a share of the batch) sum in float32
    with an error of a few ulps."""
    for j in range(step.shape[0]):
        acc[j] += step[j]
        step[j] = 0


@kernel(inline="always")
def _transpose_into(d, s):
    """d (m, n) = s (n, m)^T."""
    for i in range(d.shape[0]):
        row = d[i]
        for j in range(d.shape[1]):
            row[j] = s[j, i]


@kernel(inline="always")
def _fwd_start(gi_all, w_hh, h0, t, tasks):
    """A forward task's (length, lo, hi, gh): its samples [lo, hi) and the buffer of their
    rows of h @ W_hh^T."""
    lo, hi = span(t, tasks, h0.shape[0])
    return gi_all.shape[0], lo, hi, np.empty((hi - lo, w_hh.shape[0]), dtype=gi_all.dtype)


@kernel(inline="always")
def _bwd_start(length_of, state0, dh0, t, tasks):
    """A backward task's (length, lo, hi, dh, scratch): its samples [lo, hi), dh =
    dh0[lo:hi] zeroed (dL/dh of the step being run; at the end dL/dh0), and an (m, H)
    scratch buffer."""
    lo, hi = span(t, tasks, state0.shape[0])
    dh = dh0[lo:hi]
    _zero_rows(dh)
    return (length_of.shape[0], lo, hi, dh,
            np.empty((hi - lo, state0.shape[1]), dtype=state0.dtype))


@task
def _elman_seq_fwd_task(gi_all, w_hh, b, h0, relu, reverse, hs, t, tasks):
    length, lo, hi, gh = _fwd_start(gi_all, w_hh, h0, t, tasks)
    bad = 0
    for s in range(length):
        ti, tp = _order(s, length, reverse)
        bad |= gemm(h0[lo:hi] if s == 0 else hs[tp, lo:hi], w_hh, gh, False, True, 0.0)
        _elman_rows(gi_all[ti, lo:hi], gh, b, relu, hs[ti, lo:hi])
    if bad:
        raise RuntimeError("rnn: BLAS refused an operand")


@task
def _elman_seq_bwd_task(hs, g, w_hh, relu, reverse, dgates, dh0, db, t, tasks):
    length, lo, hi, dh, _ = _bwd_start(hs, dh0, dh0, t, tasks)
    step = np.zeros(db.shape[1], dtype=hs.dtype)
    bad = 0
    for s in range(length - 1, -1, -1):
        ti = _order(s, length, reverse)[0]
        _elman_bwd_rows(hs[ti, lo:hi], g[ti, lo:hi], dh, relu, dgates[ti, lo:hi], step)
        _add_step_sums(db[t], step)
        bad |= gemm(dgates[ti, lo:hi], w_hh, dh, False, False, 0.0)
    if bad:
        raise RuntimeError("rnn: BLAS refused an operand")


@task
def _lstm_seq_fwd_task(gates, w_hh, b, h0, zero_h0, c0, reverse, out, cs, tcs, t, tasks):
    length, lo, hi, gh = _fwd_start(gates, w_hh, h0, t, tasks)
    ght = np.empty((gh.shape[1], gh.shape[0]), dtype=gh.dtype)
    bad = 0
    ti = 0
    for s in range(length):
        ti, tp = _order(s, length, reverse)
        first = s == 0
        if first and zero_h0:  # h0 @ W_hh^T of a zero state (nn.LSTM's default)
            _zero_rows(gh)
        else:
            bad |= gemm(w_hh, h0[lo:hi] if first else out[tp, lo:hi], ght, False, True, 0.0)
            _transpose_into(gh, ght)
        _lstm_rows(gates[ti, lo:hi], gh, b, c0[lo:hi] if first else cs[tp, lo:hi],
                   out[ti, lo:hi], cs[ti, lo:hi], tcs[ti, lo:hi])
    _copy_rows(out[length, lo:hi], cs[ti, lo:hi])  # the last cell state, c_n
    if bad:
        raise RuntimeError("lstm: BLAS refused an operand")


@task
def _lstm_seq_bwd_task(dgates, tcs, cs, c0, g, w_hh, reverse, need_dh0, dh0, dc0, db, t,
                       tasks):
    # dgates holds the gates on entry; each step's gradients overwrite them
    length, lo, hi, dh, dc_prev = _bwd_start(dgates, c0, dh0, t, tasks)
    dc = dc0[lo:hi]  # dL/dc of the step being run; at the end dL/dc0
    _copy_rows(dc, g[length, lo:hi])
    step = np.zeros(db.shape[1], dtype=dgates.dtype)
    bad = 0
    for s in range(length - 1, -1, -1):
        ti, tp = _order(s, length, reverse)
        _lstm_bwd_rows(dgates[ti, lo:hi], tcs[ti, lo:hi], c0[lo:hi] if s == 0 else cs[tp, lo:hi],
                       g[ti, lo:hi], dh, dc, dc_prev, step)
        _add_step_sums(db[t], step)
        if s > 0 or need_dh0:  # the first step's product is only dL/dh0
            bad |= gemm(dgates[ti, lo:hi], w_hh, dh, False, False, 0.0)
        _copy_rows(dc, dc_prev)
    if bad:
        raise RuntimeError("lstm: BLAS refused an operand")


@task
def _gru_seq_fwd_task(gi_all, w_hh, b, h0, reverse, hs, saved, t, tasks):
    length, lo, hi, gh = _fwd_start(gi_all, w_hh, h0, t, tasks)
    bad = 0
    for s in range(length):
        ti, tp = _order(s, length, reverse)
        hp = h0[lo:hi] if s == 0 else hs[tp, lo:hi]
        bad |= gemm(hp, w_hh, gh, False, True, 0.0)
        _gru_rows(gi_all[ti, lo:hi], gh, b, hp, hs[ti, lo:hi], saved[ti, lo:hi])
    if bad:
        raise RuntimeError("gru: BLAS refused an operand")


@task
def _gru_seq_bwd_task(saved, hs, h0, g, w_hh, reverse, dgi, dgh, dh0, db, t, tasks):
    length, lo, hi, dh, dh_z = _bwd_start(saved, h0, dh0, t, tasks)
    step = np.zeros(db.shape[1], dtype=saved.dtype)
    bad = 0
    for s in range(length - 1, -1, -1):
        ti, tp = _order(s, length, reverse)
        _gru_bwd_rows(saved[ti, lo:hi], h0[lo:hi] if s == 0 else hs[tp, lo:hi], g[ti, lo:hi],
                      dh, dgi[ti, lo:hi], dgh[ti, lo:hi], dh_z, step)
        _add_step_sums(db[t], step)
        # dL/dh_prev = (the part through z) + dgh @ W_hh
        bad |= gemm(dgh[ti, lo:hi], w_hh, dh_z, False, False, 1.0)
        _copy_rows(dh, dh_z)
    if bad:
        raise RuntimeError("gru: BLAS refused an operand")


def _bias(b, like, size: int) -> np.ndarray:
    """b_hh as a contiguous array of ``like``'s dtype, zeros (``size``,) when absent."""
    if b is None:
        return np.zeros(size, dtype=like.dtype)
    return np.ascontiguousarray(b, like.dtype)


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
    h = np.empty(gh.shape, gi_all.dtype)
    _elman_fwd_kernel(gi_all, int(t), gh, _bias(b_hh, gi_all, gh.shape[1]), bool(relu), h)
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
    n, hid = c_prev.shape
    h = np.empty((n, hid), gi_all.dtype)
    c = np.empty((n, hid), gi_all.dtype)
    saved = np.empty((n, 5 * hid), gi_all.dtype)
    _lstm_fwd_kernel(gi_all, int(t), gh, _bias(b_hh, gi_all, 4 * hid), c_prev, h, c, saved)
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
    n, hid = h_prev.shape
    h = np.empty((n, hid), gi_all.dtype)
    saved = np.empty((n, 4 * hid), gi_all.dtype)
    _gru_fwd_kernel(gi_all, int(t), gh, _bias(b_hh, gi_all, 3 * hid), h_prev, h, saved)
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


# ---------------------------------------------------------------------------------------
# Whole-sequence table functions (``ops/rnn.py``): one layer, one direction.

def _seq_tasks(n: int, hid: int) -> int:
    """Tasks for a recurrence over n samples: one per thread when every thread gets a few
    samples' worth of work (a step's GEMM and pass for fewer are cheaper than a wake-up)."""
    if not runtime._state["applied"]:
        runtime.apply_cpu_settings()  # SciPy's BLAS to one thread: it runs inside our tasks
    threads = num_threads()
    return threads if n >= 4 * threads and n * hid >= 2048 else 1


def _seq_inputs(gi_all, w_hh, h0):
    gi_all = np.ascontiguousarray(gi_all)
    return gi_all, np.ascontiguousarray(w_hh, gi_all.dtype), np.ascontiguousarray(h0, gi_all.dtype)


def rnn_seq_fwd(gi_all: np.ndarray, w_hh: np.ndarray, b_hh, h0: np.ndarray, relu: bool,
                reverse: bool) -> np.ndarray:
    """The Elman recurrence over a sequence: gi_all (L, N, H) (input projections, b_ih
    included), w_hh (H, H), b_hh (H,) or None, h0 (N, H) -> hs (L, N, H), the h of every
    step in time order (``reverse`` runs from step L-1 down)."""
    gi_all, w_hh, h0 = _seq_inputs(gi_all, w_hh, h0)
    hs = np.empty(gi_all.shape, gi_all.dtype)
    run_tasks(_elman_seq_fwd_task, (gi_all, w_hh, _bias(b_hh, gi_all, h0.shape[1]), h0,
                                    bool(relu), bool(reverse), hs),
              _seq_tasks(*h0.shape))
    return hs


def _bias_sums(tasks: int, size: int) -> np.ndarray:
    """Every task's float64 partial column sums of the gate gradients it writes (the
    recurrence's bias gradient, summed in the pass that writes them, one step at a time
    (``_add_step_sums``): a separate column sum over the (L*N, G*H) gradient cost
    0.11-0.16 ms of a 32-step LSTM backward)."""
    return np.zeros((tasks, size))


def _bias_grad(db: np.ndarray, need_b: bool, dtype):
    """The bias gradient from the tasks' partial sums, or None when not asked for."""
    return db.sum(axis=0).astype(dtype) if need_b else None


def rnn_seq_bwd(hs: np.ndarray, g: np.ndarray, w_hh: np.ndarray, relu: bool,
                reverse: bool, need_b: bool = True) -> tuple:
    """Backward of ``rnn_seq_fwd`` for the upstream g (L, N, H) -> (dgates (L, N, H), the
    gradient of every step's summed pre-activation; dh0 (N, H); db (H,), the column sum
    of dgates -- the bias gradient -- or None without ``need_b``)."""
    g = np.ascontiguousarray(g, hs.dtype)
    dgates = np.empty(hs.shape, hs.dtype)
    dh0 = np.empty(hs.shape[1:], hs.dtype)
    tasks = _seq_tasks(*dh0.shape)
    db = _bias_sums(tasks, hs.shape[2])
    run_tasks(_elman_seq_bwd_task, (hs, g, np.ascontiguousarray(w_hh, hs.dtype), bool(relu),
                                    bool(reverse), dgates, dh0, db), tasks)
    return dgates, dh0, _bias_grad(db, need_b, hs.dtype)


def lstm_seq_fwd(gi_all: np.ndarray, w_hh: np.ndarray, b_hh, h0: np.ndarray,
                 c0: np.ndarray, reverse: bool, overwrite: bool = False) -> tuple:
    """The LSTM recurrence over a sequence: gi_all (L, N, 4H), gates (i, f, g, o); w_hh
    (4H, H); b_hh (4H,) or None; h0, c0 (N, H).  Returns ``(out, cs, saved)``: out
    (L + 1, N, H), the h of every step in time order then c_n; cs (L, N, H) every step's
    cell state; saved, what the backward needs: (gates (L, N, 4H), tanh(cs)).

    ``overwrite``: gi_all may be destroyed -- the gates are then computed in place over
    it (a C-contiguous float gi_all becomes saved's gates) instead of over a copy.  The
    caller that owns the projection (``ops/rnn.py``) passes True: that spares a (L, N,
    4H) copy forward and a cold (L, N, 4H) store, about 0.2-0.4 ms of a 32-step,
    64x128 LSTM step on 2 cores."""
    gi_all, w_hh, h0 = _seq_inputs(gi_all, w_hh, h0)
    gates = gi_all if overwrite else gi_all.copy()
    length, n, hid = gi_all.shape[0], h0.shape[0], h0.shape[1]
    out = np.empty((length + 1, n, hid), gi_all.dtype)
    cs = np.empty((length, n, hid), gi_all.dtype)
    tcs = np.empty((length, n, hid), gi_all.dtype)
    run_tasks(_lstm_seq_fwd_task, (gates, w_hh, _bias(b_hh, gi_all, 4 * hid), h0,
                                   not h0.any(), np.ascontiguousarray(c0, gi_all.dtype),
                                   bool(reverse), out, cs, tcs), _seq_tasks(n, hid))
    return out, cs, (gates, tcs)


def lstm_seq_bwd(saved: tuple, cs: np.ndarray, c0: np.ndarray, g: np.ndarray,
                 w_hh: np.ndarray, reverse: bool, need_b: bool = True,
                 overwrite: bool = False, need_dh0: bool = True) -> tuple:
    """Backward of ``lstm_seq_fwd`` for the upstream g (L + 1, N, H) (row L: of c_n) ->
    (dgates (L, N, 4H), the gradient of every step's summed gate pre-activations; dh0,
    dc0 (N, H); db (4H,), the column sum of dgates, or None without ``need_b``).
    Without ``need_dh0`` the first step's product (it is only dh0) is skipped and dh0
    is None.

    ``overwrite``: saved may be destroyed (the last backward through it) -- the gate
    gradients are then computed in place over its gates, else over a copy; in place
    spares a cold (L, N, 4H) store."""
    gates, tcs = saved
    dgates = gates if overwrite else gates.copy()
    g = np.ascontiguousarray(g, gates.dtype)
    c0 = np.ascontiguousarray(c0, gates.dtype)
    dh0, dc0 = np.empty(c0.shape, gates.dtype), np.empty(c0.shape, gates.dtype)
    tasks = _seq_tasks(*c0.shape)
    db = _bias_sums(tasks, dgates.shape[2])
    run_tasks(_lstm_seq_bwd_task, (dgates, tcs, cs, c0, g,
                                   np.ascontiguousarray(w_hh, gates.dtype), bool(reverse),
                                   bool(need_dh0), dh0, dc0, db), tasks)
    return dgates, (dh0 if need_dh0 else None), dc0, _bias_grad(db, need_b, gates.dtype)


def gru_seq_fwd(gi_all: np.ndarray, w_hh: np.ndarray, b_hh, h0: np.ndarray,
                reverse: bool) -> tuple:
    """The GRU recurrence over a sequence: gi_all (L, N, 3H), gates (r, z, n); w_hh (3H, H);
    b_hh (3H,) or None; h0 (N, H) -> ``(hs (L, N, H), saved (L, N, 4H))``."""
    gi_all, w_hh, h0 = _seq_inputs(gi_all, w_hh, h0)
    length, n, hid = gi_all.shape[0], h0.shape[0], h0.shape[1]
    hs = np.empty((length, n, hid), gi_all.dtype)
    saved = np.empty((length, n, 4 * hid), gi_all.dtype)
    run_tasks(_gru_seq_fwd_task, (gi_all, w_hh, _bias(b_hh, gi_all, 3 * hid), h0,
                                  bool(reverse), hs, saved), _seq_tasks(n, hid))
    return hs, saved


def gru_seq_bwd(saved: np.ndarray, hs: np.ndarray, h0: np.ndarray, g: np.ndarray,
                w_hh: np.ndarray, reverse: bool, need_b: bool = True) -> tuple:
    """Backward of ``gru_seq_fwd`` for the upstream g (L, N, H) -> (dgi (L, N, 3H), dgh
    (L, N, 3H): the gradients of the input and hidden parts of every step's gates; dh0;
    db (3H,), the column sum of dgh -- b_hh's gradient -- or None without ``need_b``)."""
    g = np.ascontiguousarray(g, saved.dtype)
    h0 = np.ascontiguousarray(h0, saved.dtype)
    dgi = np.empty(saved.shape[:2] + (3 * h0.shape[1],), saved.dtype)
    dgh = np.empty(dgi.shape, saved.dtype)
    dh0 = np.empty(h0.shape, saved.dtype)
    tasks = _seq_tasks(*h0.shape)
    db = _bias_sums(tasks, dgh.shape[2])
    run_tasks(_gru_seq_bwd_task, (saved, hs, h0, g, np.ascontiguousarray(w_hh, saved.dtype),
                                  bool(reverse), dgi, dgh, dh0, db), tasks)
    return dgi, dgh, dh0, _bias_grad(db, need_b, saved.dtype)
