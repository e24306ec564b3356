"""Loss CUDA kernels: class losses (cross-entropy, NLL) and pointwise losses, forward and backward.

The twin of ``kernels/cpu/loss.py`` (read its docstring for the formulas):
logits as a C-contiguous (N, C, L) array, labels (N, L) int64, one *sample*
per (n, l); the pointwise formulas are ``kernels/scalar/loss.py``'s, compiled
as device functions.

Parallel strategy: one thread per sample (class losses) or element
(pointwise), grid-stride.  The forward kernels also reduce: each block sums
its threads' losses, target weights and bad-input counts with a
shared-memory tree (``reduce.block_combine``), then one thread adds the
block's totals to a 3-float accumulator with ``cuda.atomic.add``; a one-thread
kernel turns the totals into the 'mean' or 'sum' result.  Nothing goes back
to the host: the loss stays a device scalar.

Bad input (a label outside [0, C), a BCE probability outside [0, 1]) is
counted on the device and reported at the next host synchronisation
(``_errors.py``), as CUDA errors are; the CPU kernels raise at once.  So the
returned ``n_bad`` is always 0 here.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda, float64

from ..opcodes import BCE, CROSS_ENTROPY, REDUCE_MEAN, REDUCE_NONE, SUM
from ..scalar import loss as SL
from . import _errors
from . import _memory as A
from ._launch import RED_THREADS, device_fn, launch, launch_blocks
from .elementwise import safe_exp
from .reduce import block_combine

# --------------------------------------------------------------------- shared helpers


@cuda.jit
def _finish_kernel(acc, out, wsum, reduction, count):
    """out[0] = acc[1] / (acc[2] or count) for 'mean', acc[1] for 'sum'; wsum[0] = acc[2]."""
    if cuda.grid(1) == 0:
        total = acc[1]
        if reduction == REDUCE_MEAN:
            den = acc[2] if count < 0 else count * 1.0
            out[0] = total / den if den != 0 else math.nan
        else:
            out[0] = total
        wsum[0] = acc[2]


def _blocks(n: int) -> int:
    return max(1, min((n + RED_THREADS - 1) // RED_THREADS, 1024))


def _accumulator():
    from .array import full

    return full((3,), 0, np.float64)  # [bad inputs, sum of losses, sum of weights]


def _flat_like(a, like):
    from .array import astype

    if a.dtype != like.dtype:
        a = astype(a, like.dtype)
    return A.flat(a)


# --------------------------------------------------------------------- class losses


@cuda.jit(device=True)
def _class_fwd_sample(op, x, target, weight, has_weight, ignore_index, eps, lse, loss, wt,
                      n_cls, length, s):
    """Loss of sample s; writes loss[s], wt[s], lse[s]; returns 1 for an out-of-range label."""
    n = s // length
    col = s - n * length
    t = target[s]
    loss[s] = 0
    wt[s] = 0.0
    lse[s] = 0.0
    if t == ignore_index:
        return 0
    if t < 0 or t >= n_cls:
        return 1
    base = n * n_cls * length + col
    z = 0.0
    if op == CROSS_ENTROPY:
        m = -math.inf
        for c in range(n_cls):
            v = x[base + c * length]
            if v > m or v != v:
                m = v * 1.0
        acc = 0.0
        for c in range(n_cls):
            acc += safe_exp(x[base + c * length] - m)
        z = m + math.log(acc)
        lse[s] = z
    w_t = weight[t] * 1.0 if has_weight else 1.0
    val = (z - x[base + t * length]) * w_t
    if eps > 0.0:
        smooth = 0.0
        for c in range(n_cls):
            smooth += (z - x[base + c * length]) * (weight[c] if has_weight else 1.0)
        val = (1.0 - eps) * val + eps / n_cls * smooth
    loss[s] = val
    wt[s] = w_t
    return 0


@cuda.jit
def _class_fwd_kernel(op, x, target, weight, has_weight, ignore_index, eps, lse, loss, wt, acc,
                      n_cls, length, samples):
    """Thread per sample (grid-stride); block totals into acc with atomics."""
    sh = cuda.shared.array(RED_THREADS, float64)
    total = 0.0
    wsum = 0.0
    bad = 0.0
    for s in range(cuda.grid(1), samples, cuda.gridsize(1)):
        bad += _class_fwd_sample(op, x, target, weight, has_weight, ignore_index, eps, lse, loss,
                                 wt, n_cls, length, s)
        total += loss[s]
        wsum += wt[s]
    bad = block_combine(SUM, sh, bad)
    total = block_combine(SUM, sh, total)
    wsum = block_combine(SUM, sh, wsum)
    if cuda.threadIdx.x == 0:
        cuda.atomic.add(acc, 0, bad)
        cuda.atomic.add(acc, 1, total)
        cuda.atomic.add(acc, 2, wsum)


_CLASS_NAMES = {CROSS_ENTROPY: "cross_entropy"}


def _label_error(name, target, n_cls, ignore_index):
    def make(count):
        from .array import to_host

        host = to_host(target)
        wrong = host[(host != ignore_index) & ((host < 0) | (host >= n_cls))]
        first = int(wrong[0]) if wrong.size else "?"
        return IndexError(f"{name}: target {first} is out of bounds for {n_cls} classes "
                          f"({count} labels outside [0, {n_cls - 1}]; CUDA reports it at the "
                          "next host synchronisation)")
    return make


def class_loss_fwd(op: int, x, target, weight, ignore_index: int, label_smoothing: float,
                   reduction: int):
    """Cross-entropy over logits (op CROSS_ENTROPY) or NLL over log-probabilities (NLL).

    x: (N, C, L) float, target: (N, L) int64, weight: (C,) or None.  Returns
    ``(loss, lse, wsum, 0)`` as the CPU twin, all on the device; bad labels
    raise IndexError at the next host synchronisation.
    """
    n, n_cls, length = x.shape
    samples = n * length
    w, has_w = A.opt(weight, x.dtype)
    lse = A.empty((samples,), np.float64)
    loss = A.empty((samples,), x.dtype)
    wt = A.empty((samples,), np.float64)
    acc = _accumulator()
    launch_blocks(_class_fwd_kernel, _blocks(samples), op, A.flat(x),
                  _flat_like(target, A.dummy(np.int64)), _flat_like(w, x), has_w,
                  int(ignore_index), float(label_smoothing), lse, loss, wt, acc, n_cls, length,
                  samples)
    out = A.empty((), x.dtype)
    wsum = A.empty((1,), np.float64)
    launch(_finish_kernel, 1, acc, A.flat(out), wsum, reduction, -1)
    _errors.defer(acc, _label_error(_CLASS_NAMES.get(op, "nll_loss"), target, n_cls,
                                    ignore_index))
    if reduction == REDUCE_NONE:
        out = A.reshape(loss, (n, length))
    return out, lse, wsum, 0


@cuda.jit
def _class_bwd_kernel(op, x, target, weight, has_weight, ignore_index, eps, lse, wsum, g, g_full,
                      reduction, dx, n_cls, length, samples):
    """Thread per sample: dx[n, :, l] (fused softmax - one-hot for cross-entropy)."""
    for s in range(cuda.grid(1), samples, cuda.gridsize(1)):
        n = s // length
        col = s - n * length
        base = n * n_cls * length + col
        t = target[s]
        if t == ignore_index or t < 0 or t >= n_cls:
            for c in range(n_cls):
                dx[base + c * length] = 0
            continue
        scale = 1.0
        if reduction == REDUCE_MEAN:
            scale = 1.0 / wsum[0] if wsum[0] != 0 else math.nan
        gs = (g[s] if g_full else g[0]) * scale
        w_t = weight[t] * 1.0 if has_weight else 1.0
        if op == CROSS_ENTROPY:
            w_total = n_cls * 1.0
            if has_weight and eps > 0.0:
                w_total = 0.0
                for c in range(n_cls):
                    w_total += weight[c]
            a = (1.0 - eps) * w_t * gs
            b = eps / n_cls * gs
            z = lse[s]
            for c in range(n_cls):
                p = safe_exp(x[base + c * length] - z)
                w_c = weight[c] if has_weight else 1.0
                d = a * p + b * (w_total * p - w_c)
                if c == t:
                    d -= a
                dx[base + c * length] = d
        else:
            for c in range(n_cls):
                dx[base + c * length] = 0
            dx[base + t * length] = -w_t * gs


def class_loss_bwd(op: int, x, target, weight, lse, wsum, g, ignore_index: int,
                   label_smoothing: float, reduction: int):
    """Gradient of ``class_loss_fwd`` w.r.t. x: a new (N, C, L) array."""
    n, n_cls, length = x.shape
    samples = n * length
    w, has_w = A.opt(weight, x.dtype)
    dx = A.empty(x.shape, x.dtype)
    launch(_class_bwd_kernel, samples, op, A.flat(x), _flat_like(target, A.dummy(np.int64)),
           _flat_like(w, x), has_w, int(ignore_index), float(label_smoothing), lse, wsum,
           _flat_like(g, x), reduction == REDUCE_NONE, reduction, A.flat(dx), n_cls, length,
           samples)
    return dx


# --------------------------------------------------------------------- pointwise losses


_pw_loss = device_fn(SL.pw_loss)
_pw_grad = device_fn(SL.pw_grad)


@cuda.jit
def _pw_fwd_kernel(op, x, y, w, has_w, pw, has_pw, p0, out, acc, n):
    """out[i] = loss of element i; block totals (bad count, loss sum) into acc with atomics."""
    sh = cuda.shared.array(RED_THREADS, float64)
    total = 0.0
    bad = 0.0
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        xi = x[i] * 1.0
        v = _pw_loss(op, xi, y[i] * 1.0, w[i] * 1.0 if has_w else 1.0,
                     pw[i] * 1.0 if has_pw else 1.0, p0)
        out[i] = v
        total += v
        if op == BCE and not (xi >= 0 and xi <= 1):
            bad += 1.0
    bad = block_combine(SUM, sh, bad)
    total = block_combine(SUM, sh, total)
    if cuda.threadIdx.x == 0:
        cuda.atomic.add(acc, 0, bad)
        cuda.atomic.add(acc, 1, total)


def _bce_error(count):
    return ValueError(f"binary_cross_entropy: all elements of input should be between 0 and 1 "
                      f"({count} are not; CUDA reports it at the next host synchronisation)")


def pointwise_loss_fwd(op: int, x, y, w, pw, p0: float, reduction: int):
    """Pointwise loss ``op`` of input x against target y: ``(loss, 0)`` as the CPU twin."""
    xf = A.flat(x)
    wf, has_w = A.opt(None if w is None else _flat_like(w, x), x.dtype)
    pf, has_pw = A.opt(None if pw is None else _flat_like(pw, x), x.dtype)
    out = A.empty(x.shape, x.dtype)
    acc = _accumulator()
    n = x.size
    launch_blocks(_pw_fwd_kernel, _blocks(n), op, xf, _flat_like(y, x), wf, has_w, pf, has_pw,
                  float(p0), A.flat(out), acc, n)
    if op == BCE:
        _errors.defer(acc, _bce_error)
    if reduction == REDUCE_NONE:
        return out, 0
    res = A.empty((), x.dtype)
    launch(_finish_kernel, 1, acc, A.flat(res), A.empty((1,), np.float64), reduction, n)
    return res, 0


@cuda.jit
def _pw_bwd_kernel(op, x, y, w, has_w, pw, has_pw, p0, g, g_full, scale, gx, gy, need_gy, n):
    """Thread per element: gx[i], gy[i] = g * d loss / d(x, y)."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        gi = (g[i] if g_full else g[0]) * scale
        dx, dy = _pw_grad(op, x[i] * 1.0, y[i] * 1.0, w[i] * 1.0 if has_w else 1.0,
                          pw[i] * 1.0 if has_pw else 1.0, p0)
        gx[i] = gi * dx
        if need_gy:
            gy[i] = gi * dy


def pointwise_loss_bwd(op: int, x, y, w, pw, p0: float, g, reduction: int,
                       need_target_grad: bool):
    """Gradients of ``pointwise_loss_fwd`` w.r.t. input and (if asked) target: ``(gx, gy)``."""
    n = x.size
    wf, has_w = A.opt(None if w is None else _flat_like(w, x), x.dtype)
    pf, has_pw = A.opt(None if pw is None else _flat_like(pw, x), x.dtype)
    scale = 1.0 / n if reduction == REDUCE_MEAN and n else 1.0
    gx = A.empty(x.shape, x.dtype)
    gy = A.empty(x.shape, x.dtype) if need_target_grad else A.dummy(x.dtype)
    launch(_pw_bwd_kernel, n, op, A.flat(x), _flat_like(y, x), wf, has_w, pf, has_pw, float(p0),
           _flat_like(g, x), reduction == REDUCE_NONE, scale, A.flat(gx), A.flat(gy),
           bool(need_target_grad), n)
    return gx, (gy if need_target_grad else None)
