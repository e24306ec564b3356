"""Pointwise loss formulas, once for both devices: ``pw_loss`` and its derivatives ``pw_grad``.

x is the input, y the target, w the element's weight, pw its pos_weight
(BCE-with-logits), p0 the loss's parameter (SmoothL1's beta, Huber's delta).
Leaf functions (see the package docstring): the clamped log and the softplus
are written inline, and ``exp`` never sees an argument above 0.
"""
from __future__ import annotations

import math

from ..opcodes import BCE, BCE_LOGITS, HUBER, L1, MSE, SMOOTH_L1

BCE_EPS = 9.999999960041972e-13
"""PyTorch's BCE backward denominator floor: 1e-12 as a float32, as PyTorch stores it."""


def pw_loss(op, x, y, w, pw, p0):
    """Elementwise loss of input x against target y; w: weight, pw: pos_weight, p0: beta/delta."""
    if op == MSE:
        return (x - y) * (x - y)
    if op == L1:
        return abs(x - y)
    if op == SMOOTH_L1:  # p0 = beta
        d = abs(x - y)
        return 0.5 * d * d / p0 if d < p0 else d - 0.5 * p0
    if op == HUBER:  # p0 = delta
        d = abs(x - y)
        return 0.5 * d * d if d < p0 else p0 * (d - 0.5 * p0)
    if op == BCE:  # log clamped below at -100, as PyTorch (log(0) = -100)
        lx = max(math.log(x), -100.0) if x > 0 else -100.0
        l1x = max(math.log(1.0 - x), -100.0) if x < 1 else -100.0
        return -w * (y * lx + (1.0 - y) * l1x)
    if op == BCE_LOGITS:  # softplus(-x) = log1p(exp(-|x|)) + max(-x, 0): no overflow
        sp = math.log1p(math.exp(-abs(x))) + max(-x, 0.0)
        return w * ((1.0 - y) * x + (1.0 + (pw - 1.0) * y) * sp)
    return math.nan


def pw_grad(op, x, y, w, pw, p0):
    """(d loss / dx, d loss / dy) of ``pw_loss``."""
    if op == MSE:
        return 2.0 * (x - y), -2.0 * (x - y)
    d = x - y
    sgn = 1.0 if d > 0 else (-1.0 if d < 0 else 0.0)
    if op == L1:
        return sgn, -sgn
    if op == SMOOTH_L1:
        r = d / p0 if abs(d) < p0 else sgn
        return r, -r
    if op == HUBER:
        r = d if abs(d) < p0 else p0 * sgn
        return r, -r
    if op == BCE:  # PyTorch: dx = (x - y) / max(x (1 - x), eps); dy = -logit(x), unclamped
        gx = w * (x - y) / max((1.0 - x) * x, BCE_EPS)
        lx = math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)
        l1x = math.log(1.0 - x) if x < 1 else (-math.inf if x == 1 else math.nan)
        return gx, -w * (lx - l1x)
    if op == BCE_LOGITS:
        if x >= 0:
            sig = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            sig = e / (1.0 + e)
        sp = math.log1p(math.exp(-abs(x))) + max(-x, 0.0)
        return w * ((1.0 + (pw - 1.0) * y) * sig - pw * y), w * ((pw - 1.0) * sp - x)
    return math.nan, math.nan
