"""Batch normalisation CUDA kernels: one fused forward and one fused backward kernel.

The twin of ``kernels/cpu/norm.py`` (read it for the formulas): the input is a
C-contiguous (N, C, L) array, statistics are per channel over its M = N*L
values.  Parallel strategy: one block per channel (block-stride over
channels).  Its threads stride through the channel's values; the sums go
through a shared-memory tree (``reduce.block_combine``, float64), two passes
so the variance does not cancel; thread 0 updates the running statistics;
then all threads write the channel's output.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda, float64

from ..opcodes import SUM
from . import _memory as A
from ._launch import RED_THREADS, launch, launch_blocks
from .reduce import block_combine


@cuda.jit
def _fwd_kernel(x, y, w, has_w, b, has_b, rm, rv, has_running, training, momentum, eps,
                save_mean, save_invstd, n_img, c_n, length):
    """x, y: flat (N, C, L); one block per channel c."""
    sh = cuda.shared.array(RED_THREADS, float64)
    t = cuda.threadIdx.x
    m = n_img * length
    for c in range(cuda.blockIdx.x, c_n, cuda.gridDim.x):
        if training:
            acc = 0.0
            for e in range(t, m, RED_THREADS):
                n = e // length
                acc += x[(n * c_n + c) * length + e - n * length]
            mean = block_combine(SUM, sh, acc) / m
            acc = 0.0
            for e in range(t, m, RED_THREADS):
                n = e // length
                d = x[(n * c_n + c) * length + e - n * length] - mean
                acc += d * d
            sq = block_combine(SUM, sh, acc)
            var = sq / m
            if has_running and t == 0:
                unbiased = sq / (m - 1) if m > 1 else math.nan
                rm[c] = (1.0 - momentum) * rm[c] + momentum * mean
                rv[c] = (1.0 - momentum) * rv[c] + momentum * unbiased
        else:
            mean = rm[c] * 1.0
            var = rv[c] * 1.0
        invstd = 1.0 / math.sqrt(var + eps)
        if t == 0:
            save_mean[c] = mean
            save_invstd[c] = invstd
        scale = invstd * (w[c] if has_w else 1.0)
        shift = (b[c] if has_b else 0.0) - mean * scale
        for e in range(t, m, RED_THREADS):
            n = e // length
            q = (n * c_n + c) * length + e - n * length
            y[q] = x[q] * scale + shift


def _same(a, dtype):
    from .array import astype

    return a if a is None or a.dtype == dtype else astype(a, dtype)


def batch_norm_fwd(x, weight, bias, running_mean, running_var, training: bool, momentum: float,
                   eps: float):
    """Normalise (N, C, L) ``x`` per channel -> ``(y, save_mean, save_invstd)`` ((C,) float64).

    As the CPU twin; running_mean/running_var (device arrays of x's dtype) are
    UPDATED IN PLACE when ``training``.
    """
    n, c, length = x.shape
    dt = x.dtype
    w, has_w = A.opt(_same(weight, dt), dt)
    b, has_b = A.opt(_same(bias, dt), dt)
    has_running = running_mean is not None
    rm, _ = A.opt(running_mean, dt)
    rv, _ = A.opt(running_var, dt)
    y = A.empty(x.shape, dt)
    save_mean = A.empty((c,), np.float64)
    save_invstd = A.empty((c,), np.float64)
    launch_blocks(_fwd_kernel, c, A.flat(x), A.flat(y), A.flat(w), has_w, A.flat(b), has_b,
                  A.flat(rm), A.flat(rv), has_running, bool(training), float(momentum),
                  float(eps), save_mean, save_invstd, n, c, length)
    return y, save_mean, save_invstd


@cuda.jit
def _bwd_kernel(x, g, dx, w, has_w, save_mean, save_invstd, training, gw, gb, n_img, c_n,
                length):
    """One block per channel: dweight, dbias by tree sums, then dx."""
    sh = cuda.shared.array(RED_THREADS, float64)
    t = cuda.threadIdx.x
    m = n_img * length
    for c in range(cuda.blockIdx.x, c_n, cuda.gridDim.x):
        mean = save_mean[c]
        invstd = save_invstd[c]
        acc_g = 0.0
        acc_gx = 0.0
        for e in range(t, m, RED_THREADS):
            n = e // length
            q = (n * c_n + c) * length + e - n * length
            gv = g[q]
            acc_g += gv
            acc_gx += gv * (x[q] - mean)
        sum_g = block_combine(SUM, sh, acc_g)
        sum_gx = block_combine(SUM, sh, acc_gx)
        if t == 0:
            gb[c] = sum_g
            gw[c] = sum_gx * invstd
        scale = invstd * (w[c] if has_w else 1.0)
        mean_g = sum_g / m
        k = sum_gx * invstd * invstd / m
        for e in range(t, m, RED_THREADS):
            n = e // length
            q = (n * c_n + c) * length + e - n * length
            if training:
                dx[q] = scale * (g[q] - mean_g - (x[q] - mean) * k)
            else:
                dx[q] = scale * g[q]


def batch_norm_bwd(x, g, weight, save_mean, save_invstd, training: bool):
    """Gradients of ``batch_norm_fwd``: ``(dx (N, C, L), dweight (C,), dbias (C,))``."""
    n, c, length = x.shape
    g = _same(g, x.dtype)
    w, has_w = A.opt(_same(weight, x.dtype), x.dtype)
    dx = A.empty(x.shape, x.dtype)
    gw = A.empty((c,), x.dtype)
    gb = A.empty((c,), x.dtype)
    launch_blocks(_bwd_kernel, c, A.flat(x), A.flat(g), A.flat(dx), A.flat(w), has_w, save_mean,
                  save_invstd, bool(training), gw, gb, n, c, length)
    return dx, gw, gb


# ---------------------------------------------------------------- group / layer norm
# The twin of the CPU group_norm_fwd / group_norm_bwd (read it for the layout and the
# formulas).  Forward: one block per row, float64 tree sums (two passes).  Backward: one
# block per row for dx, then one thread per channel for dweight / dbias (a second launch:
# those sums run across rows, which the row blocks cannot share without atomics).


@cuda.jit
def _gn_fwd_kernel(x, y, w, has_w, b, has_b, groups, cg_n, length, eps, save_mean,
                   save_invstd, rows, m):
    sh = cuda.shared.array(RED_THREADS, float64)
    t = cuda.threadIdx.x
    for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
        base = r * m
        acc = 0.0
        for j in range(t, m, RED_THREADS):
            acc += x[base + j]
        mean = block_combine(SUM, sh, acc) / m
        acc = 0.0
        for j in range(t, m, RED_THREADS):
            d = x[base + j] - mean
            acc += d * d
        invstd = 1.0 / math.sqrt(block_combine(SUM, sh, acc) / m + eps)
        if t == 0:
            save_mean[r] = mean
            save_invstd[r] = invstd
        c0 = (r % groups) * cg_n
        for j in range(t, m, RED_THREADS):
            c = c0 + j // length
            v = (x[base + j] - mean) * invstd
            if has_w:
                v *= w[c]
            if has_b:
                v += b[c]
            y[base + j] = v


@cuda.jit
def _gn_bwd_rows_kernel(x, g, dx, w, has_w, groups, cg_n, length, save_mean, save_invstd,
                        rows, m):
    sh = cuda.shared.array(RED_THREADS, float64)
    t = cuda.threadIdx.x
    for r in range(cuda.blockIdx.x, rows, cuda.gridDim.x):
        base = r * m
        mean = save_mean[r]
        invstd = save_invstd[r]
        c0 = (r % groups) * cg_n
        a1 = 0.0
        a2 = 0.0
        for j in range(t, m, RED_THREADS):
            gw = g[base + j] * (w[c0 + j // length] if has_w else 1.0)
            a1 += gw
            a2 += gw * (x[base + j] - mean)
        k1 = block_combine(SUM, sh, a1) / m
        k2 = block_combine(SUM, sh, a2) * invstd * invstd / m
        for j in range(t, m, RED_THREADS):
            gw = g[base + j] * (w[c0 + j // length] if has_w else 1.0)
            dx[base + j] = invstd * (gw - k1 - (x[base + j] - mean) * k2)


@cuda.jit
def _gn_bwd_params_kernel(x, g, groups, cg_n, length, save_mean, save_invstd, gw, gb, rows,
                          m):
    for c in range(cuda.grid(1), groups * cg_n, cuda.gridsize(1)):
        grp = c // cg_n
        j0 = (c - grp * cg_n) * length
        sw = 0.0
        sb = 0.0
        for r in range(grp, rows, groups):
            mean = save_mean[r]
            invstd = save_invstd[r]
            for j in range(r * m + j0, r * m + j0 + length):
                sw += g[j] * (x[j] - mean) * invstd
                sb += g[j]
        gw[c] = sw
        gb[c] = sb


def group_norm_fwd(x, groups: int, channels_per_group: int, weight, bias, eps: float):
    """Normalise each row of (R, M) ``x`` -> ``(y, save_mean, save_invstd)``; as the CPU twin."""
    rows, m = x.shape
    dt = x.dtype
    w, has_w = A.opt(_same(weight, dt), dt)
    b, has_b = A.opt(_same(bias, dt), dt)
    y = A.empty(x.shape, dt)
    save_mean = A.empty((rows,), np.float64)
    save_invstd = A.empty((rows,), np.float64)
    if m:
        launch_blocks(_gn_fwd_kernel, rows, A.flat(x), A.flat(y), A.flat(w), has_w, A.flat(b),
                      has_b, int(groups), int(channels_per_group), m // channels_per_group,
                      float(eps), save_mean, save_invstd, rows, m)
    return y, save_mean, save_invstd


def group_norm_bwd(x, g, groups: int, channels_per_group: int, weight, save_mean, save_invstd,
                   want_params: bool):
    """Gradients of ``group_norm_fwd`` -> ``(dx, dweight, dbias)``; as the CPU twin."""
    rows, m = x.shape
    dt = x.dtype
    g = _same(g, dt)
    w, has_w = A.opt(_same(weight, dt), dt)
    dx = A.empty(x.shape, dt)
    length = m // channels_per_group if m else 1
    if m:
        launch_blocks(_gn_bwd_rows_kernel, rows, A.flat(x), A.flat(g), A.flat(dx), A.flat(w),
                      has_w, int(groups), int(channels_per_group), length, save_mean,
                      save_invstd, rows, m)
    if not want_params:
        return dx, None, None
    c = groups * channels_per_group
    gw = A.empty((c,), dt)
    gb = A.empty((c,), dt)
    launch(_gn_bwd_params_kernel, c, A.flat(x), A.flat(g), int(groups), int(channels_per_group),
           length, save_mean, save_invstd, gw, gb, rows, m)
    return dx, gw, gb
