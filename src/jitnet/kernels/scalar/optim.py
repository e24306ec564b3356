"""Optimizer updates of one element, written once for the CPU and CUDA step kernels.

Each optimizer has a record of its hyper-parameters for one step (a
``NamedTuple``: built by ``jitnet.optim``, handed unchanged through the kernel
table to the kernel, which Numba compiles once per record type) and a formula
that takes one element of the parameter ``p``, its gradient ``g`` and its
state values (float64) plus the record, and returns the new parameter and
state values (the kernel stores them).  Every formula follows PyTorch's
``_single_tensor_<name>`` in its order of operations, so float64 parameters
track PyTorch to the last bits:

- ``t.add_(x, alpha=a)`` is ``t + a * x``; ``t.addcmul_(x, y, value=c)`` is
  ``t + c * x * y``; ``t.addcdiv_(x, y, value=c)`` is ``t + c * x / y``
  (left to right, as PyTorch's CPU loop);
- ``t.lerp_(x, w)`` is ``t + w * (x - t)`` for ``w < 0.5``, else
  ``x - (x - t) * (1 - w)``.

The Adam family shares its first half (``moments``); a kernel calls it, then
the optimizer's own second half.  Step-dependent scalars (bias corrections,
NAdam's momentum schedule, RAdam's rectification) are computed once per step
in ``jitnet.optim`` and arrive in the record.  A flag that decides whether a
state array exists (``momentum``, ``amsgrad``, ``centered``) is also a separate
argument: a kernel loop that knows it passes a constant, the inlined branch
folds away and the loop has no data-dependent store (so LLVM vectorises it).

Division is ``/``: the CPU kernels compile with NumPy's error model (IEEE
``inf``/``nan`` on a zero divisor, as PyTorch).  ``sqrt`` of a negative number
(a centered RMSprop average rounding below 0) is ``nan`` on every device,
written inline because the simulator's ``math.sqrt`` raises there.
"""
from __future__ import annotations

import math
from typing import NamedTuple


class SGDArgs(NamedTuple):
    """SGD; ``first``: the step that creates the momentum buffer (buf = g, PyTorch's clone)."""
    lr: float
    weight_decay: float
    momentum: float
    dampening: float
    nesterov: bool
    maximize: bool
    first: bool


class AdamArgs(NamedTuple):
    """Adam / AdamW (``decoupled``); step_size = lr / (1 - beta1^t),
    bc2_sqrt = (1 - beta2^t) ** 0.5."""
    lr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    step_size: float
    bc2_sqrt: float
    amsgrad: bool
    maximize: bool
    decoupled: bool


class NAdamArgs(NamedTuple):
    """NAdam; bc2 = 1 - beta2^t; mu, mu_next: this and the next step's momentum (the
    ``momentum_decay`` schedule); mu_product(_next): their running products."""
    lr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    bc2: float
    mu: float
    mu_next: float
    mu_product: float
    mu_product_next: float
    maximize: bool
    decoupled: bool


class RAdamArgs(NamedTuple):
    """RAdam; bc1 = 1 - beta1^t, bc2_sqrt = (1 - beta2^t)**0.5; ``rectify`` is PyTorch's
    ``rho_t > 5`` and ``rect`` its rectification factor."""
    lr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    bc1: float
    bc2_sqrt: float
    rect: float
    rectify: bool
    maximize: bool
    decoupled: bool


class AdamaxArgs(NamedTuple):
    """Adamax; clr = lr / (1 - beta1^t)."""
    clr: float
    beta1: float
    beta2: float
    eps: float
    weight_decay: float
    maximize: bool


class RMSpropArgs(NamedTuple):
    lr: float
    weight_decay: float
    alpha: float
    eps: float
    momentum: float
    centered: bool
    maximize: bool


class AdagradArgs(NamedTuple):
    """Adagrad; clr = lr / (1 + (t - 1) * lr_decay)."""
    clr: float
    weight_decay: float
    eps: float
    maximize: bool


class AdadeltaArgs(NamedTuple):
    lr: float
    weight_decay: float
    rho: float
    eps: float
    maximize: bool


def sgd(p, g, buf, h, momentum):
    """SGD: returns (p, momentum_buffer); ``buf`` is ignored unless ``momentum``."""
    g = -g if h.maximize else g
    if h.weight_decay != 0.0:
        g = g + h.weight_decay * p
    if momentum:
        buf = g if h.first else buf * h.momentum + (1.0 - h.dampening) * g
        g = g + h.momentum * buf if h.nesterov else buf
    return p + (-h.lr) * g, buf


def moments(p, g, m, v, h):
    """The Adam family's first step (Adam, AdamW, NAdam, RAdam): returns (p, g, exp_avg,
    exp_avg_sq) after maximize, weight decay (L2 into g, or decoupled: p *= 1 - lr * wd)
    and both running moments."""
    g = -g if h.maximize else g
    if h.weight_decay != 0.0:
        if h.decoupled:
            p = p * (1.0 - h.lr * h.weight_decay)
        else:
            g = g + h.weight_decay * p
    w = 1.0 - h.beta1
    m = m + w * (g - m) if w < 0.5 else g - (g - m) * (1.0 - w)
    return p, g, m, v * h.beta2 + (1.0 - h.beta2) * g * g


def adam(p, m, v, vmax, h, amsgrad):
    """Adam / AdamW after ``moments``: returns (p, max_exp_avg_sq); ``vmax`` is ignored
    unless ``amsgrad``."""
    vhat = v
    if amsgrad:
        vmax = max(vmax, v)
        vhat = vmax
    s = math.sqrt(vhat) if vhat >= 0.0 else math.nan
    return p + (-h.step_size) * m / (s / h.bc2_sqrt + h.eps), vmax


def nadam(p, g, m, v, h):
    """NAdam after ``moments``: returns p."""
    q = v / h.bc2
    denom = (math.sqrt(q) if q >= 0.0 else math.nan) + h.eps
    p = p + (-h.lr * (1.0 - h.mu) / (1.0 - h.mu_product)) * g / denom
    return p + ((-h.lr * h.mu_next) / (1.0 - h.mu_product_next)) * m / denom


def radam(p, m, v, h):
    """RAdam after ``moments``: returns p, moved by the adaptive step when ``rectify``,
    else by bias-corrected momentum alone."""
    step = m / h.bc1 * h.lr
    if h.rectify:
        s = (math.sqrt(v) if v >= 0.0 else math.nan) + h.eps
        step = step * (h.bc2_sqrt / s) * h.rect
    return p + (-1.0) * step


def adamax(p, g, m, u, h):
    """Adamax: returns (p, exp_avg, exp_inf)."""
    g = -g if h.maximize else g
    if h.weight_decay != 0.0:
        g = g + h.weight_decay * p
    w = 1.0 - h.beta1
    m = m + w * (g - m) if w < 0.5 else g - (g - m) * (1.0 - w)
    u = max(u * h.beta2, abs(g) + h.eps)
    return p + (-h.clr) * m / u, m, u


def rmsprop(p, g, sq, buf, ga, h, momentum, centered):
    """RMSprop: returns (p, square_avg, momentum_buffer, grad_avg); ``buf`` is used only
    with ``momentum`` (h.momentum > 0), ``ga`` only when ``centered``."""
    g = -g if h.maximize else g
    if h.weight_decay != 0.0:
        g = g + h.weight_decay * p
    sq = sq * h.alpha + (1.0 - h.alpha) * g * g
    d = sq
    if centered:
        w = 1.0 - h.alpha
        ga = ga + w * (g - ga) if w < 0.5 else g - (g - ga) * (1.0 - w)
        d = sq + (-1.0) * ga * ga
    avg = (math.sqrt(d) if d >= 0.0 else math.nan) + h.eps
    if momentum:
        buf = buf * h.momentum + g / avg
        return p + (-h.lr) * buf, sq, buf, ga
    return p + (-h.lr) * g / avg, sq, buf, ga


def adagrad(p, g, acc, h):
    """Adagrad: returns (p, sum)."""
    g = -g if h.maximize else g
    if h.weight_decay != 0.0:
        g = g + h.weight_decay * p
    acc = acc + g * g
    return p + (-h.clr) * g / ((math.sqrt(acc) if acc >= 0.0 else math.nan) + h.eps), acc


def adadelta(p, g, sq, acc, h):
    """Adadelta: returns (p, square_avg, acc_delta)."""
    g = -g if h.maximize else g
    if h.weight_decay != 0.0:
        g = g + h.weight_decay * p
    sq = sq * h.rho + (1.0 - h.rho) * g * g
    a, b = acc + h.eps, sq + h.eps
    std = math.sqrt(b) if b >= 0.0 else math.nan
    delta = (math.sqrt(a) if a >= 0.0 else math.nan) / std * g
    acc = acc * h.rho + (1.0 - h.rho) * delta * delta
    return p + (-h.lr) * delta, sq, acc
