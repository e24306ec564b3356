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
from . import _arrays as A
from ._launch import RED_THREADS, launch_blocks
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
