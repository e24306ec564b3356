"""Optimizer CPU kernels: one fused, in-place update per parameter for every optimizer.

``optim_step(op, param, grad, s0, s1, s2, hyper)`` updates ``param`` and its
state arrays ``s0..s2`` in place in a single pass over the elements, where a
chain of Tensor ops would read and write every array several times.  ``op``
is an ``OPT_*`` code from opcodes.py; ``hyper`` is a tuple of ten floats whose
meaning depends on the op (below).  The scalar function ``_update`` holds every
optimizer's formula, each as PyTorch's ``_single_tensor_<name>`` writes it.

Layout: param, grad and the states are C-contiguous arrays of one size and
dtype, seen flat.  Arithmetic runs in float64 and is rounded once per stored
value, in the order of operations PyTorch uses (``p + (-lr * g) / d`` for its
``addcdiv_``), so float64 parameters track PyTorch to the last bits; PyTorch
rounds every float32 intermediate, so float32 results agree to a few ulps.
Parallel strategy: ``prange`` over elements (each element's update is
independent); below ``PARALLEL_MIN`` elements the serial twin runs.  As in
elementwise.py the op code is made a compile-time constant by inlining the
loop once per op, so LLVM drops the if-chain and vectorises the loop.

``hyper`` per op (g is the gradient, negated first when ``maximize``):
  OPT_SGD      (lr, weight_decay, momentum, dampening, nesterov, first, maximize, 0, 0, 0)
               s0 = momentum buffer (when momentum != 0); ``first`` = 1 on the step that
               creates the buffer (buf = g; s0 must then hold zeros).
  OPT_ADAM     (lr, weight_decay, beta1, beta2, eps, step_size, bc2_sqrt, amsgrad, maximize, 0)
  OPT_ADAMW    same slots; weight decay is decoupled: p *= 1 - lr * weight_decay.
               s0 = exp_avg, s1 = exp_avg_sq, s2 = max_exp_avg_sq (amsgrad);
               step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t).
  OPT_RMSPROP  (lr, weight_decay, alpha, eps, momentum, centered, maximize, 0, 0, 0)
               s0 = square_avg, s1 = momentum buffer (momentum > 0), s2 = grad_avg (centered)
  OPT_ADAGRAD  (clr, weight_decay, eps, maximize, 0, 0, 0, 0, 0, 0)
               s0 = sum of squares; clr = lr / (1 + (t - 1) * lr_decay)
  OPT_ADADELTA (lr, weight_decay, rho, eps, maximize, 0, 0, 0, 0, 0)
               s0 = square_avg, s1 = acc_delta
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from .._jit import PARALLEL_MIN, kernel
from ..opcodes import OPT_ADADELTA, OPT_ADAGRAD, OPT_ADAM, OPT_ADAMW, OPT_RMSPROP, OPT_SGD

N_HYPER = 10


@kernel(inline="always")
def _div(a, b):
    """a / b with IEEE semantics (inf/nan on a zero divisor, as PyTorch).  The ``/``
    operator under Numba's default Python error model tests every divisor and raises
    ZeroDivisionError, and that branch stops LLVM from vectorising the loop (measured:
    Adam on 1000 floats 5.4 us -> 1.5 us); the ufunc form has no such check."""
    return np.divide(a, b)


# Variants: the options that decide which state arrays an op touches are
# compile-time constants too (SGD: momentum; Adam/AdamW: amsgrad; RMSprop:
# neither momentum nor centered), so the common loop bodies have no
# data-dependent stores and LLVM vectorises them (Adam on 1000 float32:
# 10 us -> 1.8 us).  Flags that only pick between two values (maximize,
# nesterov, weight decay, Adam's decoupled decay) stay run-time selects.
# Rare variants (amsgrad, RMSprop with momentum or centered) share the generic
# variant ANY, whose branches are run-time.
PLAIN, ANY = range(2)


@kernel(inline="always")
def _update(op, variant, i, p, g, s0, s1, s2, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9):
    """Update element i of p (and of the op's states) in place."""
    pi = p[i] * 1.0  # float64 from here on
    gi = g[i] * 1.0
    if op == OPT_SGD:
        # h7, h8: the buffer's own momentum and dampening, 0 and 0 on the step that
        # creates it, so buf = 0 * 0 + 1 * g = g exactly (PyTorch clones g there)
        gi = -gi if h6 != 0.0 else gi
        gi = gi + h1 * pi if h1 != 0.0 else gi
        if variant != PLAIN:
            buf = s0[i] * h7 + (1.0 - h8) * gi
            s0[i] = buf
            gi = gi + h2 * buf if h4 != 0.0 else buf
        p[i] = pi - h0 * gi
    elif op == OPT_ADAM:  # also AdamW: h9 = 1 for decoupled weight decay
        gi = -gi if h8 != 0.0 else gi
        if h1 != 0.0:
            pi = pi * (1.0 - h0 * h1) if h9 != 0.0 else pi
            gi = gi + h1 * pi if h9 == 0.0 else gi
        m = s0[i] + (1.0 - h2) * (gi - s0[i])  # exp_avg.lerp_(grad, 1 - beta1)
        v = s1[i] * h3 + (1.0 - h3) * gi * gi
        s0[i] = m
        s1[i] = v
        if variant != PLAIN and h7 != 0.0:  # amsgrad
            v = max(s2[i] * 1.0, v)
            s2[i] = v
        p[i] = pi + _div(-h5 * m, _div(math.sqrt(v), h6) + h4)
    elif op == OPT_RMSPROP:
        gi = -gi if h6 != 0.0 else gi
        gi = gi + h1 * pi if h1 != 0.0 else gi
        sq = s0[i] * h2 + (1.0 - h2) * gi * gi
        s0[i] = sq
        if variant != PLAIN and h5 != 0.0:  # centered
            ga = s2[i] + (1.0 - h2) * (gi - s2[i])
            s2[i] = ga
            avg = math.sqrt(sq - ga * ga) + h3
        else:
            avg = math.sqrt(sq) + h3
        if variant != PLAIN and h4 > 0.0:  # momentum
            buf = s1[i] * h4 + _div(gi, avg)
            s1[i] = buf
            p[i] = pi - h0 * buf
        else:
            p[i] = pi + _div(-h0 * gi, avg)
    elif op == OPT_ADAGRAD:
        gi = -gi if h3 != 0.0 else gi
        gi = gi + h1 * pi if h1 != 0.0 else gi
        acc = s0[i] + gi * gi
        s0[i] = acc
        p[i] = pi + _div(-h0 * gi, math.sqrt(acc) + h2)
    elif op == OPT_ADADELTA:
        gi = -gi if h4 != 0.0 else gi
        gi = gi + h1 * pi if h1 != 0.0 else gi
        sq = s0[i] * h2 + (1.0 - h2) * gi * gi
        s0[i] = sq
        delta = _div(math.sqrt(s1[i] + h3), math.sqrt(sq + h3)) * gi
        s1[i] = s1[i] * h2 + (1.0 - h2) * delta * delta
        p[i] = pi - h0 * delta


@kernel(inline="always")
def _loop(op, variant, p, g, s0, s1, s2, h):
    h0, h1, h2, h3, h4, h5, h6, h7, h8, h9 = h
    for i in range(p.size):
        _update(op, variant, i, p, g, s0, s1, s2, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9)


@kernel(inline="always")
def _loop_parallel(op, variant, p, g, s0, s1, s2, h):
    h0, h1, h2, h3, h4, h5, h6, h7, h8, h9 = h
    for i in prange(p.size):
        _update(op, variant, i, p, g, s0, s1, s2, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9)


@kernel
def _step_serial(op, variant, p, g, s0, s1, s2, h):
    if op == OPT_ADAM:
        if variant == PLAIN:
            _loop(OPT_ADAM, PLAIN, p, g, s0, s1, s2, h)
        else:
            _loop(OPT_ADAM, ANY, p, g, s0, s1, s2, h)
    elif op == OPT_SGD:
        if variant == PLAIN:
            _loop(OPT_SGD, PLAIN, p, g, s0, s1, s2, h)
        else:
            _loop(OPT_SGD, ANY, p, g, s0, s1, s2, h)
    elif op == OPT_RMSPROP:
        if variant == PLAIN:
            _loop(OPT_RMSPROP, PLAIN, p, g, s0, s1, s2, h)
        else:
            _loop(OPT_RMSPROP, ANY, p, g, s0, s1, s2, h)
    elif op == OPT_ADAGRAD:
        _loop(OPT_ADAGRAD, PLAIN, p, g, s0, s1, s2, h)
    elif op == OPT_ADADELTA:
        _loop(OPT_ADADELTA, PLAIN, p, g, s0, s1, s2, h)


@kernel(parallel=True)
def _step_parallel(op, variant, p, g, s0, s1, s2, h):
    if op == OPT_ADAM:
        if variant == PLAIN:
            _loop_parallel(OPT_ADAM, PLAIN, p, g, s0, s1, s2, h)
        else:
            _loop_parallel(OPT_ADAM, ANY, p, g, s0, s1, s2, h)
    elif op == OPT_SGD:
        if variant == PLAIN:
            _loop_parallel(OPT_SGD, PLAIN, p, g, s0, s1, s2, h)
        else:
            _loop_parallel(OPT_SGD, ANY, p, g, s0, s1, s2, h)
    elif op == OPT_RMSPROP:
        if variant == PLAIN:
            _loop_parallel(OPT_RMSPROP, PLAIN, p, g, s0, s1, s2, h)
        else:
            _loop_parallel(OPT_RMSPROP, ANY, p, g, s0, s1, s2, h)
    elif op == OPT_ADAGRAD:
        _loop_parallel(OPT_ADAGRAD, PLAIN, p, g, s0, s1, s2, h)
    elif op == OPT_ADADELTA:
        _loop_parallel(OPT_ADADELTA, PLAIN, p, g, s0, s1, s2, h)


def _variant(op: int, h: tuple) -> int:
    """PLAIN unless the op's hyper-parameters ask for a state the plain loop does not touch."""
    if op == OPT_SGD:
        return ANY if h[2] != 0.0 else PLAIN
    if op == OPT_ADAM:
        return ANY if h[7] != 0.0 else PLAIN
    if op == OPT_RMSPROP:
        return ANY if h[4] > 0.0 or h[5] != 0.0 else PLAIN
    return PLAIN


def _required_states(op: int, hyper) -> tuple[bool, bool, bool]:
    """Which of s0, s1, s2 the op reads and writes with these hyper-parameters."""
    if op == OPT_SGD:
        return hyper[2] != 0.0, False, False
    if op in (OPT_ADAM, OPT_ADAMW):
        return True, True, hyper[7] != 0.0
    if op == OPT_RMSPROP:
        return True, hyper[4] > 0.0, hyper[5] != 0.0
    if op == OPT_ADAGRAD:
        return True, False, False
    if op == OPT_ADADELTA:
        return True, True, False
    raise ValueError(f"optim_step: unknown optimizer op code {op}")


_EMPTY: dict = {}


def _flat_state(s, needed: bool, slot: int, op: int, param: np.ndarray, dummy: np.ndarray):
    """State slot ``slot`` as a flat view, checked; an empty placeholder when unused."""
    if s is None:
        if needed:
            raise ValueError(f"optim_step: op {op} needs state s{slot}, got None")
        return dummy
    if s.size != param.size or s.dtype != param.dtype or not s.flags.c_contiguous:
        raise ValueError(f"optim_step: state s{slot} ({s.shape}, {s.dtype}) must be a "
                         f"C-contiguous array of param's size {param.size} and dtype "
                         f"{param.dtype}")
    return s.reshape(-1)


def optim_step(op: int, param: np.ndarray, grad: np.ndarray, s0: np.ndarray | None,
               s1: np.ndarray | None, s2: np.ndarray | None, hyper: tuple) -> None:
    """Apply optimizer ``op``'s update to ``param`` and its states, in place.

    param: C-contiguous float32/float64 array (any shape), updated in place.
    grad: same shape and dtype (any layout; copied when not contiguous).
    s0, s1, s2: the op's state arrays (C-contiguous, param's size and dtype),
    or None for a slot the op does not use.  hyper: ``N_HYPER`` floats (see
    the module docstring).  Returns nothing.
    """
    if param.dtype.kind != "f" or not param.flags.c_contiguous:
        raise ValueError(f"optim_step: param must be a C-contiguous float array, got "
                         f"{param.dtype} (contiguous={param.flags.c_contiguous})")
    if grad.shape != param.shape or grad.dtype != param.dtype:
        raise ValueError(f"optim_step: grad {grad.shape} {grad.dtype} does not match param "
                         f"{param.shape} {param.dtype}")
    if len(hyper) != N_HYPER:
        raise ValueError(f"optim_step: expected {N_HYPER} hyper-parameters, got {len(hyper)}")
    h = tuple(map(float, hyper))
    dummy = _EMPTY.get(param.dtype)
    if dummy is None:
        dummy = _EMPTY[param.dtype] = np.empty(0, dtype=param.dtype)
    need0, need1, need2 = _required_states(op, h)
    f0 = _flat_state(s0, need0, 0, op, param, dummy)
    f1 = _flat_state(s1, need1, 1, op, param, dummy)
    f2 = _flat_state(s2, need2, 2, op, param, dummy)
    g = grad.reshape(-1) if grad.flags.c_contiguous else np.ascontiguousarray(grad).reshape(-1)
    if op == OPT_ADAMW:  # one loop for both: decoupled decay is the run-time flag h9
        op, h = OPT_ADAM, h[:9] + (1.0,)
    elif op == OPT_SGD:  # the buffer's momentum and dampening (h7, h8): 0 on its first step
        h = h[:7] + ((0.0, 0.0) if h[5] != 0.0 else (h[2], h[3])) + (0.0,)
    run = _step_parallel if param.size >= PARALLEL_MIN else _step_serial
    run(op, _variant(op, h), param.reshape(-1), g, f0, f1, f2, h)
