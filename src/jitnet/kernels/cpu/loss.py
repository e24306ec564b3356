"""Loss CPU kernels: class losses (cross-entropy, NLL) and pointwise losses, forward and backward.

Class losses (op codes ``CROSS_ENTROPY``, ``NLL``) see the logits as a
C-contiguous (N, C, L) array (L = 1 for the usual (N, C) input, d1*d2*... for
(N, C, d1, ...)) and the labels as (N, L) int64; a *sample* is one (n, l).

- Forward, one pass per sample: for cross-entropy the stable log-sum-exp
  ``lse = m + log(sum(exp(x - m)))`` (kept for backward), then
  ``loss = (1 - eps) * w[t] * (lse - x[t]) + eps/C * sum_c w[c] * (lse - x[c])``
  (``eps`` = label_smoothing; NLL reads log-probabilities, ``lse = 0``).  The
  sum of losses and of target weights (the 'mean' denominator) are reduced in
  the same loop, so 'mean' costs no extra pass.
- Backward, one pass: ``dx[c] = scale * ((1 - eps) * w[t] * (p[c] - [c == t]) +
  eps/C * (W * p[c] - w[c]))`` with ``p = exp(x - lse)`` and W = sum(w): the
  fused softmax-minus-one-hot of the training hot path.
- Labels are checked in the forward pass: an out-of-range label is counted,
  never used as an index; the op raises before returning.

Pointwise losses (``MSE``, ``L1``, ``SMOOTH_L1``, ``HUBER``, ``BCE``,
``BCE_LOGITS``) are one family: ``kernels/scalar/loss.py`` holds every formula
(``pw_loss``) and every derivative for input and target (``pw_grad``), shared
with the CUDA kernels.

Parallel strategy: task kernels (``tasks.run_tasks``), each task a contiguous
run of samples (class losses) or elements (pointwise); a forward task writes its
partial totals to its own row of a small (tasks, k) array, added up after.
"""
from __future__ import annotations

import math

import numpy as np

from .._jit import kernel, scalar
from ..opcodes import BCE, CROSS_ENTROPY, REDUCE_MEAN, REDUCE_NONE
from ..scalar import loss as SL
from .array import placeholder
from .tasks import run_tasks, span, task, tasks_for

# --------------------------------------------------------------------- class losses


@kernel(inline="always")
def _class_fwd_sample(op, x, target, weight, has_weight, ignore_index, eps, lse, loss, wt, s):
    """Loss of sample s; writes loss[s], wt[s] (target weight, 0 if ignored), lse[s].

    Returns 1 for an out-of-range label (then loss 0), else 0.
    """
    n_cls, length = x.shape[1], x.shape[2]
    n = s // length
    col = s - n * length
    t = target[n, col]
    loss[s] = 0
    wt[s] = 0.0
    lse[s] = 0.0
    if t == ignore_index:
        return 0
    if t < 0 or t >= n_cls:
        return 1
    z = 0.0
    if op == CROSS_ENTROPY:
        m = -math.inf
        for c in range(n_cls):
            v = x[n, c, col]
            if v > m or v != v:
                m = v
        acc = 0.0
        for c in range(n_cls):
            acc += math.exp(x[n, c, col] - m)
        z = m + math.log(acc)
        lse[s] = z
    w_t = weight[t] if has_weight else 1.0
    val = (z - x[n, t, col]) * w_t
    if eps > 0.0:
        smooth = 0.0
        for c in range(n_cls):
            smooth += (z - x[n, c, col]) * (weight[c] if has_weight else 1.0)
        val = (1.0 - eps) * val + eps / n_cls * smooth
    loss[s] = val
    wt[s] = w_t
    return 0


@task
def _class_fwd_task(op, x, target, weight, has_weight, ignore_index, eps, lse, loss, wt, sums,
                    t, tasks):
    """Task t's share of the samples; sums[t] = (its sum of losses, of target weights, its
    count of out-of-range labels)."""
    total, wsum, bad = 0.0, 0.0, 0
    lo, hi = span(t, tasks, lse.shape[0])
    for s in range(lo, hi):
        bad += _class_fwd_sample(op, x, target, weight, has_weight, ignore_index, eps, lse,
                                 loss, wt, s)
        total += loss[s]
        wsum += wt[s]
    sums[t, 0] = total
    sums[t, 1] = wsum
    sums[t, 2] = bad


def _opt(a, like: np.ndarray):
    """(array, present?) for an optional array argument, cast to like's dtype."""
    if a is None:
        return placeholder(like.dtype, fill=1), False
    return np.ascontiguousarray(a, dtype=like.dtype), True


def _totals(sums: np.ndarray) -> tuple:
    """The tasks' (sums, ..., count) rows added up: floats, and the count as an int."""
    if sums.shape[0] == 1:
        return (*(float(v) for v in sums[0, :-1]), int(sums[0, -1]))
    tot = sums.sum(axis=0)
    return (*(float(v) for v in tot[:-1]), int(tot[-1]))


def class_loss_fwd(op: int, x: np.ndarray, target: np.ndarray, weight: np.ndarray | None,
                   ignore_index: int, label_smoothing: float, reduction: int):
    """Cross-entropy over logits (op CROSS_ENTROPY) or NLL over log-probabilities (NLL).

    x: (N, C, L) float, target: (N, L) int64, weight: (C,) or None.
    Returns ``(loss, lse, wsum, n_bad)``: loss of shape (N, L) for REDUCE_NONE,
    else 0-d (sum, or sum / wsum for REDUCE_MEAN); ``lse`` (N*L,) float64 for
    the backward; ``wsum`` a 1-element float64 array (sum of target weights);
    ``n_bad`` the number of labels outside [0, C) other than ignore_index.
    """
    x = np.ascontiguousarray(x)
    target = np.ascontiguousarray(target, dtype=np.int64)
    w, has_w = _opt(weight, x)
    samples = x.shape[0] * x.shape[2]
    lse = np.empty(samples, dtype=np.float64)
    loss = np.empty(samples, dtype=x.dtype)
    wt = np.empty(samples, dtype=np.float64)
    tasks = tasks_for(x.size)
    sums = np.empty((tasks, 3))
    run_tasks(_class_fwd_task, (op, x, target, w, has_w, int(ignore_index),
                                float(label_smoothing), lse, loss, wt, sums), tasks)
    total, wsum, bad = _totals(sums)
    if reduction == REDUCE_NONE:
        out = loss.reshape(x.shape[0], x.shape[2])
    elif reduction == REDUCE_MEAN:
        out = np.array(total / wsum if wsum != 0 else math.nan, dtype=x.dtype)
    else:
        out = np.array(total, dtype=x.dtype)
    return out, lse, np.array([wsum]), bad


@kernel(inline="always")
def _class_bwd_sample(op, x, target, weight, has_weight, w_total, ignore_index, eps, lse,
                      g, g_full, scale, dx, s):
    n_cls, length = x.shape[1], x.shape[2]
    n = s // length
    col = s - n * length
    t = target[n, col]
    if t == ignore_index or t < 0 or t >= n_cls:
        for c in range(n_cls):
            dx[n, c, col] = 0
        return
    gs = (g[s] if g_full else g[0]) * scale
    w_t = weight[t] if has_weight else 1.0
    if op == CROSS_ENTROPY:
        a = (1.0 - eps) * w_t * gs
        b = eps / n_cls * gs
        z = lse[s]
        for c in range(n_cls):
            p = math.exp(x[n, c, col] - z)
            w_c = weight[c] if has_weight else 1.0
            d = a * p + b * (w_total * p - w_c)
            if c == t:
                d -= a
            dx[n, c, col] = d
    else:
        for c in range(n_cls):
            dx[n, c, col] = 0
        dx[n, t, col] = -w_t * gs


@task
def _class_bwd_task(op, x, target, weight, has_weight, w_total, ignore_index, eps, lse, g,
                    g_full, scale, dx, t, tasks):
    lo, hi = span(t, tasks, lse.shape[0])
    for s in range(lo, hi):
        _class_bwd_sample(op, x, target, weight, has_weight, w_total, ignore_index, eps, lse,
                          g, g_full, scale, dx, s)


def class_loss_bwd(op: int, x: np.ndarray, target: np.ndarray, weight: np.ndarray | None,
                   lse: np.ndarray, wsum: np.ndarray, g: np.ndarray, ignore_index: int,
                   label_smoothing: float, reduction: int) -> np.ndarray:
    """Gradient of ``class_loss_fwd`` (same x, target, weight; its lse and wsum) w.r.t. x.

    g: (N, L) for REDUCE_NONE, else 0-d.  Returns a new (N, C, L) array.
    """
    x = np.ascontiguousarray(x)
    target = np.ascontiguousarray(target, dtype=np.int64)
    w, has_w = _opt(weight, x)
    w_total = float(w.sum()) if has_w else float(x.shape[1])
    g_full = reduction == REDUCE_NONE
    g1 = np.ascontiguousarray(g, dtype=x.dtype).reshape(-1)
    scale = 1.0
    if reduction == REDUCE_MEAN:
        scale = 1.0 / wsum[0] if wsum[0] != 0 else math.nan
    dx = np.empty(x.shape, dtype=x.dtype)
    run_tasks(_class_bwd_task, (op, x, target, w, has_w, w_total, int(ignore_index),
                                float(label_smoothing), lse, g1, g_full, scale, dx),
              tasks_for(x.size))
    return dx


# --------------------------------------------------------------------- pointwise losses


_pw_loss = scalar(SL.pw_loss)
_pw_grad = scalar(SL.pw_grad)


@kernel(inline="always")
def _pw_fwd_elem(op, x, y, w, has_w, pw, has_pw, p0, out, i):
    xi = x[i]
    v = _pw_loss(op, xi, y[i], w[i] if has_w else 1.0, pw[i] if has_pw else 1.0, p0)
    out[i] = v
    if op == BCE and not (xi >= 0 and xi <= 1):
        return 1
    return 0


@task
def _pw_fwd_task(op, x, y, w, has_w, pw, has_pw, p0, out, sums, t, tasks):
    """Task t's share of the elements; sums[t] = (its sum of losses, its count of BCE
    inputs outside [0, 1]).  The arrays are viewed from the share's start (indexed from 0:
    no negative-index wrap in the loop); an absent w or pw is a dummy never read."""
    lo, hi = span(t, tasks, x.shape[0])
    xs, ys, outs = x[lo:hi], y[lo:hi], out[lo:hi]
    ws = w[lo:hi] if has_w else w
    pws = pw[lo:hi] if has_pw else pw
    total, bad = 0.0, 0
    for i in range(xs.shape[0]):
        bad += _pw_fwd_elem(op, xs, ys, ws, has_w, pws, has_pw, p0, outs, i)
        total += outs[i]
    sums[t, 0] = total
    sums[t, 1] = bad


def _flat(a, like=None):
    a = np.ascontiguousarray(a if like is None else a.astype(like.dtype, copy=False))
    return a.reshape(-1)


def pointwise_loss_fwd(op: int, x: np.ndarray, y: np.ndarray, w: np.ndarray | None,
                       pw: np.ndarray | None, p0: float, reduction: int):
    """Pointwise loss ``op`` of input x against target y (same shape; w, pw None or that shape).

    Returns ``(loss, n_bad)``: loss of x's shape for REDUCE_NONE, else 0-d (sum
    or mean; accumulated in float64); ``n_bad`` counts BCE inputs outside [0, 1].
    """
    xf, yf = _flat(x), _flat(y, x)
    wf, has_w = _opt(None if w is None else _flat(w, x), xf)
    pf, has_pw = _opt(None if pw is None else _flat(pw, x), xf)
    out = np.empty(xf.shape, dtype=x.dtype)
    tasks = tasks_for(xf.size)
    sums = np.empty((tasks, 2))
    run_tasks(_pw_fwd_task, (op, xf, yf, wf, has_w, pf, has_pw, float(p0), out, sums), tasks)
    total, bad = _totals(sums)
    if reduction == REDUCE_NONE:
        return out.reshape(x.shape), bad
    if reduction == REDUCE_MEAN:
        total = total / xf.size if xf.size else math.nan
    return np.array(total, dtype=x.dtype), bad


@kernel(inline="always")
def _pw_bwd_elem(op, x, y, w, has_w, pw, has_pw, p0, g, g_full, scale, gx, gy, i):
    gi = (g[i] if g_full else g[0]) * scale
    dx, dy = _pw_grad(op, x[i], y[i], w[i] if has_w else 1.0, pw[i] if has_pw else 1.0, p0)
    gx[i] = gi * dx
    if gy.shape[0] > 0:
        gy[i] = gi * dy


@task
def _pw_bwd_task(op, x, y, w, has_w, pw, has_pw, p0, g, g_full, scale, gx, gy, t, tasks):
    """Task t's share of the elements, viewed from its start as in ``_pw_fwd_task`` (g is
    one value unless ``g_full``, gy empty unless the target's gradient is wanted)."""
    lo, hi = span(t, tasks, x.shape[0])
    xs, ys, gxs = x[lo:hi], y[lo:hi], gx[lo:hi]
    ws = w[lo:hi] if has_w else w
    pws = pw[lo:hi] if has_pw else pw
    gs = g[lo:hi] if g_full else g
    gys = gy[lo:hi] if gy.shape[0] > 0 else gy
    for i in range(xs.shape[0]):
        _pw_bwd_elem(op, xs, ys, ws, has_w, pws, has_pw, p0, gs, g_full, scale, gxs, gys, i)


def pointwise_loss_bwd(op: int, x: np.ndarray, y: np.ndarray, w: np.ndarray | None,
                       pw: np.ndarray | None, p0: float, g: np.ndarray, reduction: int,
                       need_target_grad: bool):
    """Gradients of ``pointwise_loss_fwd`` w.r.t. input and (if asked) target: ``(gx, gy)``.

    g: x's shape for REDUCE_NONE, else 0-d; gy is None unless ``need_target_grad``.
    """
    xf, yf = _flat(x), _flat(y, x)
    wf, has_w = _opt(None if w is None else _flat(w, x), xf)
    pf, has_pw = _opt(None if pw is None else _flat(pw, x), xf)
    g_full = reduction == REDUCE_NONE
    gf = _flat(g, x)
    scale = 1.0 / xf.size if reduction == REDUCE_MEAN and xf.size else 1.0
    gx = np.empty(xf.shape, dtype=x.dtype)
    gy = np.empty(xf.shape if need_target_grad else (0,), dtype=x.dtype)
    run_tasks(_pw_bwd_task, (op, xf, yf, wf, has_w, pf, has_pw, float(p0), gf, g_full, scale,
                             gx, gy), tasks_for(xf.size))
    return gx.reshape(x.shape), (gy.reshape(x.shape) if need_target_grad else None)
