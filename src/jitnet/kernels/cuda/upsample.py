"""Resampling CUDA kernels (``interpolate``): the twins of ``kernels/cpu/upsample.py`` (read its
docstring): a weighted gather along one axis of a (P, n, Q) array, and its adjoint written as
a gather over the contiguous range of outputs that read each input (no atomics, the CPU's
summation order).  One thread per output element, grid-stride.
"""
from __future__ import annotations

from numba import cuda

from . import _memory as A
from ._launch import launch


@cuda.jit
def _fwd_kernel(x, y, idx, wts, taps, n_in, n_out, q_len, total):
    """x: flat (P, n_in, Q); y: flat (P, n_out, Q); idx, wts: flat (T, n_out)."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for e in range(start, total, step):
        q = e % q_len
        t = e // q_len
        j = t % n_out
        base = (t // n_out) * n_in * q_len + q
        acc = wts[j] * x[base + idx[j] * q_len]
        for k in range(1, taps):
            acc += wts[k * n_out + j] * x[base + idx[k * n_out + j] * q_len]
        y[e] = acc


def resample_fwd(x, idx, wts):
    """(P, n_in, Q) ``x`` -> (P, n_out, Q): y[p, j, q] = sum_t wts[t, j] * x[p, idx[t, j], q]."""
    if x.ndim != 3 or idx.ndim != 2 or tuple(wts.shape) != tuple(idx.shape):
        raise ValueError(f"resample_fwd: arrays of shapes {tuple(x.shape)}, {tuple(idx.shape)},"
                         f" {tuple(wts.shape)} do not match")
    p, n_in, q_len = x.shape
    taps, n_out = idx.shape
    y = A.empty((p, n_out, q_len), x.dtype)
    launch(_fwd_kernel, y.size, A.flat(x), A.flat(y), A.flat(idx), A.flat(wts), taps, n_in,
           n_out, q_len, y.size)
    return y


@cuda.jit
def _bwd_kernel(g, gx, lo, hi, wts, taps, n_in, n_out, q_len, total):
    """g: flat (P, n_out, Q); gx: flat (P, n_in, Q); lo, hi: flat (T, n_in); wts (T, n_out)."""
    start = cuda.grid(1)
    step = cuda.gridsize(1)
    for e in range(start, total, step):
        q = e % q_len
        t = e // q_len
        i = t % n_in
        base = (t // n_in) * n_out * q_len + q
        acc = g[0] * 0
        for k in range(taps):
            for j in range(lo[k * n_in + i], hi[k * n_in + i]):
                acc += wts[k * n_out + j] * g[base + j * q_len]
        gx[e] = acc


def resample_bwd(g, lo, hi, wts):
    """The adjoint of ``resample_fwd``: (P, n_out, Q) -> (P, n_in, Q) (see the CPU twin)."""
    if g.ndim != 3 or lo.ndim != 2 or tuple(hi.shape) != tuple(lo.shape) or \
            wts.shape[0] != lo.shape[0] or wts.shape[1] != g.shape[1]:
        raise ValueError(f"resample_bwd: arrays of shapes {tuple(g.shape)}, {tuple(lo.shape)},"
                         f" {tuple(wts.shape)} do not match")
    p, n_out, q_len = g.shape
    taps, n_in = lo.shape
    gx = A.empty((p, n_in, q_len), g.dtype)
    launch(_bwd_kernel, gx.size, A.flat(g), A.flat(gx), A.flat(lo), A.flat(hi), A.flat(wts),
           taps, n_in, n_out, q_len, gx.size)
    return gx
