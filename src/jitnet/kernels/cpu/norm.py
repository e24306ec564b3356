"""Batch normalisation CPU kernels: one fused forward and one fused backward kernel.

The input is seen as a C-contiguous (N, C, L) array (L = H*W for 2-d batch
norm, 1 for (N, C) input); statistics are per channel over the M = N*L values
of that channel.  Parallel strategy: task kernels (``tasks.run_tasks``), a task
owning a contiguous run of channels: for each it makes the statistics (float64
accumulators, two passes so the variance does not cancel), updates the running
statistics in place, and writes that channel of the output while its values are
still in cache.

Forward, training: y = (x - mean) * invstd * w + b with the batch's mean and
*biased* variance, invstd = 1 / sqrt(var + eps); the running variance gets the
*unbiased* variance (PyTorch).  Eval: the running statistics instead.
Backward, training (mean and var depend on x):
    dx = w * invstd * (g - mean(g) - xhat * mean(g * xhat)),  xhat = (x - mean) * invstd
eval: dx = g * w * invstd.  dw = sum(g * xhat), db = sum(g).
"""
from __future__ import annotations

import math

import numpy as np

from .._jit import kernel
from ..opcodes import SUM
from .array import placeholder
from .reduce import _row
from .tasks import run_tasks, span, task, tasks_for


@kernel(inline="always")
def _sum_dev_prod(a, b, ma, mb):
    """sum((a - ma) * (b - mb)) over 1-D rows a, b, in float64 with four accumulators
    (one running sum is a serial chain of adds; four pipeline)."""
    n = a.shape[0]
    s0 = s1 = s2 = s3 = 0.0
    m = n - n % 4
    for j in range(0, m, 4):
        s0 += (a[j] - ma) * (b[j] - mb)
        s1 += (a[j + 1] - ma) * (b[j + 1] - mb)
        s2 += (a[j + 2] - ma) * (b[j + 2] - mb)
        s3 += (a[j + 3] - ma) * (b[j + 3] - mb)
    for j in range(m, n):
        s0 += (a[j] - ma) * (b[j] - mb)
    return (s0 + s1) + (s2 + s3)


@kernel(inline="always")
def _fwd_channel(x, y, w, has_w, b, has_b, rm, rv, has_running, training, momentum, eps,
                 save_mean, save_invstd, c):
    n_img, _, length = x.shape
    m = n_img * length
    if training:
        acc = 0.0
        for n in range(n_img):
            acc += _row(SUM, x[n, c])
        mean = acc / m
        acc = 0.0
        for n in range(n_img):
            acc += _sum_dev_prod(x[n, c], x[n, c], mean, mean)
        var = acc / m
        if has_running:
            unbiased = acc / (m - 1) if m > 1 else math.nan
            rm[c] = (1.0 - momentum) * rm[c] + momentum * mean
            rv[c] = (1.0 - momentum) * rv[c] + momentum * unbiased
    else:
        mean = rm[c] * 1.0
        var = rv[c] * 1.0
    invstd = 1.0 / math.sqrt(var + eps)
    save_mean[c] = mean
    save_invstd[c] = invstd
    scale = invstd * (w[c] if has_w else 1.0)
    shift = (b[c] if has_b else 0.0) - mean * scale
    for n in range(n_img):
        src, dst = x[n, c], y[n, c]
        for j in range(length):
            dst[j] = src[j] * scale + shift


@task
def _fwd_task(x, y, w, has_w, b, has_b, rm, rv, has_running, training, momentum, eps,
              save_mean, save_invstd, t, tasks):
    lo, hi = span(t, tasks, x.shape[1])
    for c in range(lo, hi):
        _fwd_channel(x, y, w, has_w, b, has_b, rm, rv, has_running, training, momentum, eps,
                     save_mean, save_invstd, c)


def _opt(a, dtype):
    """(array, present?) for an optional per-channel array; absent ones get a placeholder."""
    if a is None:
        return placeholder(dtype), False
    return a, True


def batch_norm_fwd(x: np.ndarray, weight, bias, running_mean, running_var, training: bool,
                   momentum: float, eps: float):
    """Normalise (N, C, L) ``x`` per channel -> ``(y, save_mean, save_invstd)`` ((C,) float64).

    weight/bias (C,) or None.  running_mean/running_var (C,) C-contiguous
    arrays of x's dtype or None; with ``training`` they are UPDATED IN PLACE
    (new = (1 - momentum) * old + momentum * batch statistic); without it they
    are the statistics used.
    """
    x = np.ascontiguousarray(x)
    dt = x.dtype
    w, has_w = _opt(None if weight is None else np.ascontiguousarray(weight, dt), dt)
    b, has_b = _opt(None if bias is None else np.ascontiguousarray(bias, dt), dt)
    has_running = running_mean is not None
    rm, _ = _opt(running_mean, dt)
    rv, _ = _opt(running_var, dt)
    y = np.empty(x.shape, dtype=dt)
    c = x.shape[1]
    save_mean = np.empty(c, dtype=np.float64)
    save_invstd = np.empty(c, dtype=np.float64)
    run_tasks(_fwd_task, (x, y, w, has_w, b, has_b, rm, rv, has_running, bool(training),
                          float(momentum), float(eps), save_mean, save_invstd),
              tasks_for(x.size) if c > 1 else 1)
    return y, save_mean, save_invstd


@kernel(inline="always")
def _bwd_channel(x, g, dx, w, has_w, save_mean, save_invstd, training, gw, gb, c):
    n_img, _, length = x.shape
    m = n_img * length
    mean = save_mean[c]
    invstd = save_invstd[c]
    sum_g = 0.0
    sum_gx = 0.0
    for n in range(n_img):
        sum_g += _row(SUM, g[n, c])
        sum_gx += _sum_dev_prod(g[n, c], x[n, c], 0.0, mean)
    gb[c] = sum_g
    gw[c] = sum_gx * invstd
    scale = invstd * (w[c] if has_w else 1.0)
    # dx = scale * (g - mean_g - (x - mean) * k), k = mean(g * xhat) * invstd, written as
    # dx = scale * g + (a * x + b) so the inner loop is one fused multiply-add per element
    k = sum_gx * invstd * invstd / m if training else 0.0
    a = -scale * k
    b0 = -scale * (sum_g / m if training else 0.0) + scale * mean * k
    for n in range(n_img):
        gs, xs, ds = g[n, c], x[n, c], dx[n, c]
        for j in range(length):
            ds[j] = scale * gs[j] + (a * xs[j] + b0)


@task
def _bwd_task(x, g, dx, w, has_w, save_mean, save_invstd, training, gw, gb, t, tasks):
    lo, hi = span(t, tasks, x.shape[1])
    for c in range(lo, hi):
        _bwd_channel(x, g, dx, w, has_w, save_mean, save_invstd, training, gw, gb, c)


def batch_norm_bwd(x: np.ndarray, g: np.ndarray, weight, save_mean: np.ndarray,
                   save_invstd: np.ndarray, training: bool):
    """Gradients of ``batch_norm_fwd``: ``(dx (N, C, L), dweight (C,), dbias (C,))``.

    ``training`` says whether the forward used batch statistics (then they are
    differentiated through) or fixed running statistics.
    """
    x = np.ascontiguousarray(x)
    g = np.ascontiguousarray(g, dtype=x.dtype)
    w, has_w = _opt(None if weight is None else np.ascontiguousarray(weight, x.dtype), x.dtype)
    dx = np.empty(x.shape, dtype=x.dtype)
    c = x.shape[1]
    gw = np.empty(c, dtype=x.dtype)
    gb = np.empty(c, dtype=x.dtype)
    run_tasks(_bwd_task, (x, g, dx, w, has_w, save_mean, save_invstd, bool(training), gw, gb),
              tasks_for(x.size) if c > 1 else 1)
    return dx, gw, gb


# ---------------------------------------------------------------- group / layer norm
#
# Both normalise rows: the input is a C-contiguous (R, M) array, a row of M =
# Cg * L values holding Cg channels of L values each (group norm: row r = (n, g)
# of N*G rows, channel c = g * Cg + cg; layer norm: G = 1, Cg = M, L = 1, every
# element its own "channel" of the elementwise affine).  Statistics per row, in
# float64, two passes (mean, then centred squares).  A task owns a contiguous run of
# rows (and, backward, of channels of dw/db).
# Backward, with gw = g * w[c] and xhat = (x - mean) * invstd:
#     dx = invstd * (gw - mean(gw) - xhat * mean(gw * xhat))     (per row)
#     dw[c] = sum over rows of group c // Cg, and l, of g * xhat;  db[c] = sum of g.


@kernel(inline="always")
def _gn_fwd_row(x, y, w, has_w, b, has_b, groups, cg_n, length, eps, save_mean, save_invstd, r):
    m = x.shape[1]
    row = x[r]
    mean = _row(SUM, row) / m
    invstd = 1.0 / math.sqrt(_sum_dev_prod(row, row, mean, mean) / m + eps)
    save_mean[r] = mean
    save_invstd[r] = invstd
    c0 = (r % groups) * cg_n
    out = y[r]
    if groups == 1 and length == 1:
        # layer norm (one element per channel): one loop over the row, indexed from 0 so
        # it vectorises, instead of a loop of length 1 per channel
        for j in range(m):
            out[j] = (row[j] - mean) * (invstd * (w[j] if has_w else 1.0)) + \
                (b[j] if has_b else 0.0)
        return
    for cg in range(cg_n):
        scale = invstd * (w[c0 + cg] if has_w else 1.0)
        shift = (b[c0 + cg] if has_b else 0.0) - mean * scale
        for j in range(cg * length, (cg + 1) * length):
            out[j] = row[j] * scale + shift


@task
def _gn_fwd_task(x, y, w, has_w, b, has_b, groups, cg_n, length, eps, save_mean, save_invstd,
                 t, tasks):
    lo, hi = span(t, tasks, x.shape[0])
    for r in range(lo, hi):
        _gn_fwd_row(x, y, w, has_w, b, has_b, groups, cg_n, length, eps, save_mean,
                    save_invstd, r)


@kernel(inline="always")
def _ln_sums(x, g, w, has_w, mean):
    """(sum g*w, sum g*w*(x - mean)) over 1-D rows, in float64, four accumulators each."""
    n = x.shape[0]
    a0 = a1 = a2 = a3 = 0.0
    b0 = b1 = b2 = b3 = 0.0
    q = n - n % 4
    for j in range(0, q, 4):
        g0 = g[j] * (w[j] if has_w else 1.0)
        g1 = g[j + 1] * (w[j + 1] if has_w else 1.0)
        g2 = g[j + 2] * (w[j + 2] if has_w else 1.0)
        g3 = g[j + 3] * (w[j + 3] if has_w else 1.0)
        a0 += g0
        a1 += g1
        a2 += g2
        a3 += g3
        b0 += g0 * (x[j] - mean)
        b1 += g1 * (x[j + 1] - mean)
        b2 += g2 * (x[j + 2] - mean)
        b3 += g3 * (x[j + 3] - mean)
    for j in range(q, n):
        gj = g[j] * (w[j] if has_w else 1.0)
        a0 += gj
        b0 += gj * (x[j] - mean)
    return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3)


@kernel(inline="always")
def _gn_bwd_row(x, g, dx, w, has_w, groups, cg_n, length, save_mean, save_invstd, r):
    m = x.shape[1]
    mean, invstd = save_mean[r], save_invstd[r]
    c0 = (r % groups) * cg_n
    s1 = 0.0
    s2 = 0.0
    if groups == 1 and length == 1:  # layer norm: loops over the row (see _gn_fwd_row)
        xr, gr, dr = x[r], g[r], dx[r]
        s1, s2 = _ln_sums(xr, gr, w, has_w, mean)
        k1 = s1 / m
        k2 = s2 * invstd * invstd / m
        for j in range(m):
            dr[j] = invstd * (gr[j] * (w[j] if has_w else 1.0) - k1 - (xr[j] - mean) * k2)
        return
    for cg in range(cg_n):
        wc = w[c0 + cg] if has_w else 1.0
        for j in range(cg * length, (cg + 1) * length):
            gw = g[r, j] * wc
            s1 += gw
            s2 += gw * (x[r, j] - mean)
    k1 = s1 / m
    k2 = s2 * invstd * invstd / m
    for cg in range(cg_n):
        wc = w[c0 + cg] if has_w else 1.0
        for j in range(cg * length, (cg + 1) * length):
            dx[r, j] = invstd * (g[r, j] * wc - k1 - (x[r, j] - mean) * k2)


@kernel(inline="always")
def _gn_bwd_channel(x, g, groups, cg_n, length, save_mean, save_invstd, gw, gb, c):
    grp = c // cg_n
    j0 = (c - grp * cg_n) * length
    sw = 0.0
    sb = 0.0
    for r in range(grp, x.shape[0], groups):
        mean, invstd = save_mean[r], save_invstd[r]
        for j in range(j0, j0 + length):
            sw += g[r, j] * (x[r, j] - mean) * invstd
            sb += g[r, j]
    gw[c] = sw
    gb[c] = sb


@task
def _gn_bwd_task(x, g, dx, w, has_w, groups, cg_n, length, save_mean, save_invstd, gw, gb,
                 want_params, parts, t, tasks):
    """Task t's share of the rows of dx and, with ``want_params``, of the channels of gw and
    gb: the two read only x, g and the statistics, so they need no barrier between them.

    Layer norm (one group, one element per channel) sums gw and gb row by row instead,
    into the task's float64 partials ``parts[t]`` (2, C), in the pass over its rows:
    a channel's elements are a column, one float per 4-byte stride of every row, which
    the channel loop read C times over."""
    lo, hi = span(t, tasks, x.shape[0])
    by_rows = want_params and groups == 1 and length == 1
    if by_rows:
        pw, pb = parts[t, 0], parts[t, 1]
        for j in range(pw.shape[0]):
            pw[j] = 0.0
            pb[j] = 0.0
    for r in range(lo, hi):
        _gn_bwd_row(x, g, dx, w, has_w, groups, cg_n, length, save_mean, save_invstd, r)
        if by_rows:
            mean, invstd = save_mean[r], save_invstd[r]
            xr, gr = x[r], g[r]
            for j in range(pw.shape[0]):
                pw[j] += gr[j] * (xr[j] - mean) * invstd
                pb[j] += gr[j]
    if want_params and not by_rows:
        lo, hi = span(t, tasks, groups * cg_n)
        for c in range(lo, hi):
            _gn_bwd_channel(x, g, groups, cg_n, length, save_mean, save_invstd, gw, gb, c)


def group_norm_fwd(x: np.ndarray, groups: int, channels_per_group: int, weight, bias,
                   eps: float):
    """Normalise each row of (R, M) ``x``, M = channels_per_group * L; affine per channel.

    Row r belongs to group ``r % groups``; ``weight``/``bias`` are (groups *
    channels_per_group,) or None.  Returns ``(y (R, M), save_mean (R,),
    save_invstd (R,))``, the statistics in float64.  Layer norm is the case
    groups = 1, channels_per_group = M.
    """
    x = np.ascontiguousarray(x)
    dt = x.dtype
    w, has_w = _opt(None if weight is None else np.ascontiguousarray(weight, dt).reshape(-1), dt)
    b, has_b = _opt(None if bias is None else np.ascontiguousarray(bias, dt).reshape(-1), dt)
    rows, m = x.shape
    y = np.empty(x.shape, dtype=dt)
    save_mean = np.empty(rows, dtype=np.float64)
    save_invstd = np.empty(rows, dtype=np.float64)
    if x.size:
        run_tasks(_gn_fwd_task, (x, y, w, has_w, b, has_b, int(groups),
                                 int(channels_per_group), m // channels_per_group, float(eps),
                                 save_mean, save_invstd), tasks_for(x.size) if rows > 1 else 1)
    return y, save_mean, save_invstd


def group_norm_bwd(x: np.ndarray, g: np.ndarray, groups: int, channels_per_group: int, weight,
                   save_mean: np.ndarray, save_invstd: np.ndarray, want_params: bool):
    """Gradients of ``group_norm_fwd``: ``(dx (R, M), dweight, dbias)``, the last two
    (groups * channels_per_group,), or None unless ``want_params``."""
    x = np.ascontiguousarray(x)
    dt = x.dtype
    g = np.ascontiguousarray(g, dtype=dt)
    w, has_w = _opt(None if weight is None else np.ascontiguousarray(weight, dt).reshape(-1), dt)
    rows, m = x.shape
    c = groups * channels_per_group
    dx = np.empty(x.shape, dtype=dt)
    gw = np.zeros(c, dtype=dt)
    gb = np.zeros(c, dtype=dt)
    tasks = tasks_for(x.size) if rows > 1 else 1
    by_rows = want_params and groups == 1 and m == channels_per_group  # layer norm
    parts = np.empty((tasks, 2, c)) if by_rows else placeholder(np.float64, (1, 1, 1))
    if x.size:
        run_tasks(_gn_bwd_task, (x, g, dx, w, has_w, int(groups), int(channels_per_group),
                                 m // channels_per_group, save_mean, save_invstd, gw, gb,
                                 bool(want_params), parts), tasks)
        if by_rows:
            total = parts.sum(axis=0)
            gw[:], gb[:] = total[0], total[1]
    return dx, (gw if want_params else None), (gb if want_params else None)
