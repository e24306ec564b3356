"""Optimizer CUDA kernels: one fused, in-place update per parameter for every optimizer.

The twin of ``kernels/cpu/optim.py`` (its docstring lists ``hyper`` per op):
``optim_step(op, param, grad, s0, s1, s2, hyper)`` updates ``param`` and its
state arrays in a single pass, ``_update`` holding every optimizer's formula
as PyTorch's ``_single_tensor_<name>`` writes it, in float64, rounded once
per stored value.  Parallel strategy: one thread per element (grid-stride);
every element's update is independent.  The CPU's compile-time variants
(which only help its vectoriser) are run-time tests of the same flags here.
"""
from __future__ import annotations

import math

from numba import cuda

from ..opcodes import OPT_ADADELTA, OPT_ADAGRAD, OPT_ADAM, OPT_ADAMW, OPT_RMSPROP, OPT_SGD
from . import _arrays as A
from ._launch import launch

N_HYPER = 10


@cuda.jit(device=True)
def _sqrt(v):
    """math.sqrt, NaN below 0 (as on the GPU; the simulator's math.sqrt raises)."""
    return math.sqrt(v) if v >= 0 else math.nan


@cuda.jit(device=True)
def _update(op, i, p, g, s0, s1, s2, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9):
    """Update element i of p (and of the op's states) in place."""
    pi = p[i] * 1.0  # float64 from here on
    gi = g[i] * 1.0
    if op == OPT_SGD:
        gi = -gi if h6 != 0.0 else gi
        gi = gi + h1 * pi if h1 != 0.0 else gi
        if h2 != 0.0:  # momentum: h7, h8 are the buffer's momentum and dampening (0 at first)
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
        if h7 != 0.0:  # amsgrad
            v = max(s2[i] * 1.0, v)
            s2[i] = v
        p[i] = pi - h5 * (m / (_sqrt(v) / h6 + h4))
    elif op == OPT_RMSPROP:
        gi = -gi if h6 != 0.0 else gi
        gi = gi + h1 * pi if h1 != 0.0 else gi
        sq = s0[i] * h2 + (1.0 - h2) * gi * gi
        s0[i] = sq
        if h5 != 0.0:  # centered
            ga = s2[i] + (1.0 - h2) * (gi - s2[i])
            s2[i] = ga
            avg = _sqrt(sq - ga * ga) + h3
        else:
            avg = _sqrt(sq) + h3
        if h4 > 0.0:  # momentum
            buf = s1[i] * h4 + gi / avg
            s1[i] = buf
            p[i] = pi - h0 * buf
        else:
            p[i] = pi - h0 * (gi / avg)
    elif op == OPT_ADAGRAD:
        gi = -gi if h3 != 0.0 else gi
        gi = gi + h1 * pi if h1 != 0.0 else gi
        acc = s0[i] + gi * gi
        s0[i] = acc
        p[i] = pi - h0 * (gi / (_sqrt(acc) + h2))
    elif op == OPT_ADADELTA:
        gi = -gi if h4 != 0.0 else gi
        gi = gi + h1 * pi if h1 != 0.0 else gi
        sq = s0[i] * h2 + (1.0 - h2) * gi * gi
        s0[i] = sq
        delta = _sqrt(s1[i] + h3) / _sqrt(sq + h3) * gi
        s1[i] = s1[i] * h2 + (1.0 - h2) * delta * delta
        p[i] = pi - h0 * delta


@cuda.jit
def _step_kernel(op, p, g, s0, s1, s2, h, n):
    """Thread per element: ``_update`` in place."""
    h0, h1, h2, h3, h4, h5, h6, h7, h8, h9 = h
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        _update(op, i, p, g, s0, s1, s2, h0, h1, h2, h3, h4, h5, h6, h7, h8, h9)


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


def optim_step(op: int, param, grad, s0, s1, s2, hyper: tuple) -> None:
    """Apply optimizer ``op``'s update to ``param`` and its states, in place (see the CPU twin)."""
    if param.dtype.kind != "f":
        raise ValueError(f"optim_step: param must be a float array, got {param.dtype}")
    if tuple(grad.shape) != tuple(param.shape) or grad.dtype != param.dtype:
        raise ValueError(f"optim_step: grad {tuple(grad.shape)} {grad.dtype} does not match "
                         f"param {tuple(param.shape)} {param.dtype}")
    if len(hyper) != N_HYPER:
        raise ValueError(f"optim_step: expected {N_HYPER} hyper-parameters, got {len(hyper)}")
    states = []
    for slot, (s, needed) in enumerate(zip((s0, s1, s2), _required_states(op, hyper))):
        if s is None:
            if needed:
                raise ValueError(f"optim_step: op {op} needs state s{slot}, got None")
            states.append(A.dummy(param.dtype))
            continue
        if s.size != param.size or s.dtype != param.dtype:
            raise ValueError(f"optim_step: state s{slot} ({tuple(s.shape)}, {s.dtype}) must "
                             f"have param's size {param.size} and dtype {param.dtype}")
        states.append(A.flat(s))
    h = tuple([float(v) for v in hyper])
    if op == OPT_ADAMW:  # one formula for both: decoupled decay is the run-time flag h9
        op, h = OPT_ADAM, h[:9] + (1.0,)
    elif op == OPT_SGD:  # the buffer's momentum and dampening (h7, h8): 0 on its first step
        h = h[:7] + ((0.0, 0.0) if h[5] != 0.0 else (h[2], h[3])) + (0.0,)
    launch(_step_kernel, param.size, op, A.flat(param), A.flat(grad), states[0], states[1],
           states[2], h, param.size)
