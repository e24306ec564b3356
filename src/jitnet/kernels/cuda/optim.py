"""Optimizer CUDA kernels: one fused, in-place update per parameter, one kernel per optimizer.

The twin of ``kernels/cpu/optim.py``: ``<name>_step(param, grad, <states>, h)``
with the same names, arguments and records ``h`` (``kernels/scalar/optim.py``,
whose formulas both devices compile).  Parallel strategy: one thread per
element (grid-stride); every element's update is independent.  The flags that
decide which states exist are read from ``h`` at run time (the CPU's split
loops only help its vectoriser); an absent state is a 1-element dummy the
kernel never reads.
"""
from __future__ import annotations

from numba import cuda

from ..scalar import optim as f
from . import _memory as A
from ._launch import device_fn, launch

_sgd = device_fn(f.sgd)
_moments = device_fn(f.moments)
_adam = device_fn(f.adam)
_nadam = device_fn(f.nadam)
_radam = device_fn(f.radam)
_adamax = device_fn(f.adamax)
_rmsprop = device_fn(f.rmsprop)
_adagrad = device_fn(f.adagrad)
_adadelta = device_fn(f.adadelta)


@cuda.jit
def _sgd_kernel(p, g, buf, ht, n):
    h = f.SGDArgs(*ht)
    momentum = h.momentum != 0.0
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        pi, b = _sgd(p[i] * 1.0, g[i] * 1.0, buf[i] * 1.0 if momentum else 0.0, h, momentum)
        p[i] = pi
        if momentum:
            buf[i] = b


@cuda.jit
def _adam_kernel(p, g, m, v, vmax, ht, n):
    h = f.AdamArgs(*ht)
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        pi, _, mi, vi = _moments(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, v[i] * 1.0, h)
        m[i] = mi
        v[i] = vi
        pi, xi = _adam(pi, mi, vi, vmax[i] * 1.0 if h.amsgrad else 0.0, h, h.amsgrad)
        p[i] = pi
        if h.amsgrad:
            vmax[i] = xi


@cuda.jit
def _nadam_kernel(p, g, m, v, ht, n):
    h = f.NAdamArgs(*ht)
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        pi, gi, mi, vi = _moments(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, v[i] * 1.0, h)
        m[i] = mi
        v[i] = vi
        p[i] = _nadam(pi, gi, mi, vi, h)


@cuda.jit
def _radam_kernel(p, g, m, v, ht, n):
    h = f.RAdamArgs(*ht)
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        pi, _, mi, vi = _moments(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, v[i] * 1.0, h)
        m[i] = mi
        v[i] = vi
        p[i] = _radam(pi, mi, vi, h)


@cuda.jit
def _adamax_kernel(p, g, m, u, ht, n):
    h = f.AdamaxArgs(*ht)
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        pi, mi, ui = _adamax(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, u[i] * 1.0, h)
        p[i] = pi
        m[i] = mi
        u[i] = ui


@cuda.jit
def _rmsprop_kernel(p, g, sq, buf, ga, ht, n):
    h = f.RMSpropArgs(*ht)
    momentum = h.momentum > 0.0
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        pi, si, b, a = _rmsprop(p[i] * 1.0, g[i] * 1.0, sq[i] * 1.0,
                                buf[i] * 1.0 if momentum else 0.0,
                                ga[i] * 1.0 if h.centered else 0.0, h, momentum, h.centered)
        p[i] = pi
        sq[i] = si
        if momentum:
            buf[i] = b
        if h.centered:
            ga[i] = a


@cuda.jit
def _adagrad_kernel(p, g, acc, ht, n):
    h = f.AdagradArgs(*ht)
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        pi, ai = _adagrad(p[i] * 1.0, g[i] * 1.0, acc[i] * 1.0, h)
        p[i] = pi
        acc[i] = ai


@cuda.jit
def _adadelta_kernel(p, g, sq, acc, ht, n):
    h = f.AdadeltaArgs(*ht)
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        pi, si, ai = _adadelta(p[i] * 1.0, g[i] * 1.0, sq[i] * 1.0, acc[i] * 1.0, h)
        p[i] = pi
        sq[i] = si
        acc[i] = ai


# ---------------------------------------------------------------- the table's functions

def _flat(op: str, param, grad, h, record):
    """param and grad as flat views, checked."""
    if not isinstance(h, record):
        raise TypeError(f"{op}: hyper-parameters must be a {record.__name__}, "
                        f"got {type(h).__name__}")
    if param.dtype.kind != "f":
        raise ValueError(f"{op}: param must be a float array, got {param.dtype}")
    if tuple(grad.shape) != tuple(param.shape) or grad.dtype != param.dtype:
        raise ValueError(f"{op}: grad {tuple(grad.shape)} {grad.dtype} does not match "
                         f"param {tuple(param.shape)} {param.dtype}")
    return A.flat(param), A.flat(grad)


def _state(op: str, name: str, s, param, needed: bool = True):
    """State ``name`` as a flat view, checked; a dummy when unused."""
    if s is None or not needed:
        if needed:
            raise ValueError(f"{op}: needs state {name}, got None")
        return A.dummy(param.dtype)
    if s.size != param.size or s.dtype != param.dtype:
        raise ValueError(f"{op}: state {name} ({tuple(s.shape)}, {s.dtype}) must have "
                         f"param's size {param.size} and dtype {param.dtype}")
    return A.flat(s)


def sgd_step(param, grad, momentum_buffer, h: f.SGDArgs) -> None:
    """SGD in place (see the CPU twin)."""
    p, g = _flat("sgd_step", param, grad, h, f.SGDArgs)
    buf = _state("sgd_step", "momentum_buffer", momentum_buffer, param, h.momentum != 0.0)
    launch(_sgd_kernel, p.size, p, g, buf, tuple(h), p.size)


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, h: f.AdamArgs) -> None:
    """Adam / AdamW in place (see the CPU twin)."""
    op = "adam_step"
    p, g = _flat(op, param, grad, h, f.AdamArgs)
    launch(_adam_kernel, p.size, p, g, _state(op, "exp_avg", exp_avg, param),
           _state(op, "exp_avg_sq", exp_avg_sq, param),
           _state(op, "max_exp_avg_sq", max_exp_avg_sq, param, h.amsgrad), tuple(h), p.size)


def nadam_step(param, grad, exp_avg, exp_avg_sq, h: f.NAdamArgs) -> None:
    """NAdam in place (see the CPU twin)."""
    op = "nadam_step"
    p, g = _flat(op, param, grad, h, f.NAdamArgs)
    launch(_nadam_kernel, p.size, p, g, _state(op, "exp_avg", exp_avg, param),
           _state(op, "exp_avg_sq", exp_avg_sq, param), tuple(h), p.size)


def radam_step(param, grad, exp_avg, exp_avg_sq, h: f.RAdamArgs) -> None:
    """RAdam in place (see the CPU twin)."""
    op = "radam_step"
    p, g = _flat(op, param, grad, h, f.RAdamArgs)
    launch(_radam_kernel, p.size, p, g, _state(op, "exp_avg", exp_avg, param),
           _state(op, "exp_avg_sq", exp_avg_sq, param), tuple(h), p.size)


def adamax_step(param, grad, exp_avg, exp_inf, h: f.AdamaxArgs) -> None:
    """Adamax in place (see the CPU twin)."""
    op = "adamax_step"
    p, g = _flat(op, param, grad, h, f.AdamaxArgs)
    launch(_adamax_kernel, p.size, p, g, _state(op, "exp_avg", exp_avg, param),
           _state(op, "exp_inf", exp_inf, param), tuple(h), p.size)


def rmsprop_step(param, grad, square_avg, momentum_buffer, grad_avg,
                 h: f.RMSpropArgs) -> None:
    """RMSprop in place (see the CPU twin)."""
    op = "rmsprop_step"
    p, g = _flat(op, param, grad, h, f.RMSpropArgs)
    launch(_rmsprop_kernel, p.size, p, g, _state(op, "square_avg", square_avg, param),
           _state(op, "momentum_buffer", momentum_buffer, param, h.momentum > 0.0),
           _state(op, "grad_avg", grad_avg, param, h.centered), tuple(h), p.size)


def adagrad_step(param, grad, sum, h: f.AdagradArgs) -> None:
    """Adagrad in place (see the CPU twin)."""
    op = "adagrad_step"
    p, g = _flat(op, param, grad, h, f.AdagradArgs)
    launch(_adagrad_kernel, p.size, p, g, _state(op, "sum", sum, param), tuple(h), p.size)


def adadelta_step(param, grad, square_avg, acc_delta, h: f.AdadeltaArgs) -> None:
    """Adadelta in place (see the CPU twin)."""
    op = "adadelta_step"
    p, g = _flat(op, param, grad, h, f.AdadeltaArgs)
    launch(_adadelta_kernel, p.size, p, g, _state(op, "square_avg", square_avg, param),
           _state(op, "acc_delta", acc_delta, param), tuple(h), p.size)
