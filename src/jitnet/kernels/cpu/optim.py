"""Optimizer CPU kernels: one fused, in-place update per parameter, one kernel per optimizer.

``<name>_step(param, grad, <states>, h)`` updates ``param``
and its state arrays in place in a single pass over the elements, where a chain
of Tensor ops would read and write every array several times.  The
per-element formulas and the records ``h`` of named hyper-parameters
(``AdamArgs``, ...) live in ``kernels/scalar/optim.py``, shared with the CUDA
twins; this module only loops.  Each optimizer is its own kernel, so a run
that uses Adam compiles only Adam.

Layout: param, grad and the states are C-contiguous arrays of one size and
dtype, seen flat (a state an option switches off may be None).  Arithmetic
runs in float64 and is rounded once per stored value.  Parallel strategy:
each optimizer is one task kernel (``tasks.run_tasks``); a parameter of at
least ``PARALLEL_MIN`` elements is cut into one contiguous share per thread
(the loop is written once, ``_<name>_loop``).  A state an option switches off
gets its own loop with a constant in its place, so the common loops have no
data-dependent stores and LLVM vectorises them.  Kernels compile with NumPy's
error model: ``/`` by zero is IEEE inf/nan (as PyTorch) and has no test that
would stop vectorisation.
"""
from __future__ import annotations

import numpy as np

from .._jit import kernel, scalar
from .._partial import instantiate
from ..scalar import optim as f
from .array import placeholder
from .tasks import forking, run_tasks, span, tasks_for

_sgd = scalar(f.sgd)
_moments = scalar(f.moments)
_adam = scalar(f.adam)
_nadam = scalar(f.nadam)
_radam = scalar(f.radam)
_adamax = scalar(f.adamax)
_rmsprop = scalar(f.rmsprop)
_adagrad = scalar(f.adagrad)
_adadelta = scalar(f.adadelta)

# Each optimizer is a loop, ``_<name>_loop(p, g, s0, s1, s2, h)`` over three state
# arrays (an optimizer with fewer ignores the rest; the wrapper passes an empty
# placeholder, whose slices stay empty), inlined into its task kernel
# (``tasks.run_tasks``): task t of ``tasks`` updates its contiguous share of the arrays,
# so one compile serves the serial call and every thread of a parallel one.  The kernel
# is an instance of the template below (``_partial.instantiate``): the optimizers differ
# only in their loop and record.  The record arrives as a plain tuple and is rebuilt
# inside: Numba's dispatcher types a plain tuple of numbers in C, a NamedTuple through
# Python (measured: 6 us per call against 1).

# free names of the template, bound per optimizer
loop = record = None


def _task_template(p, g, s0, s1, s2, ht, t, tasks):
    a, b = span(t, tasks, p.size)
    loop(p[a:b], g[a:b], s0[a:b], s1[a:b], s2[a:b], record(*ht))


@kernel(inline="always")
def _sgd_loop(p, g, buf, _s1, _s2, h):
    if h.momentum != 0.0:
        for i in range(p.size):
            p[i], buf[i] = _sgd(p[i] * 1.0, g[i] * 1.0, buf[i] * 1.0, h, True)
    else:
        for i in range(p.size):
            p[i] = _sgd(p[i] * 1.0, g[i] * 1.0, 0.0, h, False)[0]


# Adam and its amsgrad variant are two kernels, not one loop with an amsgrad branch: a
# run compiles only the one it uses (both branches in one kernel: ~0.4 s more compile in
# every first run, for an option off by default)

@kernel(inline="always")
def _adam_loop(p, g, m, v, _s2, h):
    for i in range(p.size):
        pi, _, mi, vi = _moments(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, v[i] * 1.0, h)
        m[i], v[i] = mi, vi
        p[i] = _adam(pi, mi, vi, 0.0, h, False)[0]


@kernel(inline="always")
def _amsgrad_loop(p, g, m, v, vmax, h):
    for i in range(p.size):
        pi, _, mi, vi = _moments(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, v[i] * 1.0, h)
        m[i], v[i] = mi, vi
        p[i], vmax[i] = _adam(pi, mi, vi, vmax[i] * 1.0, h, True)


@kernel(inline="always")
def _nadam_loop(p, g, m, v, _s2, h):
    for i in range(p.size):
        pi, gi, mi, vi = _moments(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, v[i] * 1.0, h)
        m[i], v[i] = mi, vi
        p[i] = _nadam(pi, gi, mi, vi, h)


@kernel(inline="always")
def _radam_loop(p, g, m, v, _s2, h):
    for i in range(p.size):
        pi, _, mi, vi = _moments(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, v[i] * 1.0, h)
        m[i], v[i] = mi, vi
        p[i] = _radam(pi, mi, vi, h)


@kernel(inline="always")
def _adamax_loop(p, g, m, u, _s2, h):
    for i in range(p.size):
        p[i], m[i], u[i] = _adamax(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, u[i] * 1.0, h)


@kernel(inline="always")
def _rmsprop_loop(p, g, sq, buf, ga, h):
    momentum = h.momentum > 0.0
    if momentum or h.centered:  # rare: run-time branches on both states
        for i in range(p.size):
            b = buf[i] * 1.0 if momentum else 0.0
            a = ga[i] * 1.0 if h.centered else 0.0
            p[i], sq[i], b, a = _rmsprop(p[i] * 1.0, g[i] * 1.0, sq[i] * 1.0, b, a, h,
                                         momentum, h.centered)
            if momentum:
                buf[i] = b
            if h.centered:
                ga[i] = a
    else:
        for i in range(p.size):
            p[i], sq[i], _, _ = _rmsprop(p[i] * 1.0, g[i] * 1.0, sq[i] * 1.0, 0.0, 0.0, h,
                                         False, False)


@kernel(inline="always")
def _adagrad_loop(p, g, acc, _s1, _s2, h):
    for i in range(p.size):
        p[i], acc[i] = _adagrad(p[i] * 1.0, g[i] * 1.0, acc[i] * 1.0, h)


@kernel(inline="always")
def _adadelta_loop(p, g, sq, acc, _s2, h):
    for i in range(p.size):
        p[i], sq[i], acc[i] = _adadelta(p[i] * 1.0, g[i] * 1.0, sq[i] * 1.0, acc[i] * 1.0, h)


def _kernels(name: str, loop_fn, rec):
    """The task kernel ``_<name>_step`` of one optimizer."""
    return instantiate(forking(_task_template), f"_{name}_step", loop=loop_fn, record=rec)


_SGD = _kernels("sgd", _sgd_loop, f.SGDArgs)
_ADAM = _kernels("adam", _adam_loop, f.AdamArgs)
_AMSGRAD = _kernels("adam_amsgrad", _amsgrad_loop, f.AdamArgs)
_NADAM = _kernels("nadam", _nadam_loop, f.NAdamArgs)
_RADAM = _kernels("radam", _radam_loop, f.RAdamArgs)
_ADAMAX = _kernels("adamax", _adamax_loop, f.AdamaxArgs)
_RMSPROP = _kernels("rmsprop", _rmsprop_loop, f.RMSpropArgs)
_ADAGRAD = _kernels("adagrad", _adagrad_loop, f.AdagradArgs)
_ADADELTA = _kernels("adadelta", _adadelta_loop, f.AdadeltaArgs)


# ---------------------------------------------------------------- the table's functions

def _flat(op: str, param: np.ndarray, grad: np.ndarray, h, record) -> tuple:
    """param and grad as flat views, checked (grad copied when not contiguous)."""
    if not isinstance(h, record):
        raise TypeError(f"{op}: hyper-parameters must be a {record.__name__}, "
                        f"got {type(h).__name__}")
    if param.dtype.kind != "f" or not param.flags.c_contiguous:
        raise ValueError(f"{op}: param must be a C-contiguous float array, got "
                         f"{param.dtype} (contiguous={param.flags.c_contiguous})")
    if grad.shape != param.shape or grad.dtype != param.dtype:
        raise ValueError(f"{op}: grad {grad.shape} {grad.dtype} does not match param "
                         f"{param.shape} {param.dtype}")
    g = grad.reshape(-1) if grad.flags.c_contiguous else np.ascontiguousarray(grad).reshape(-1)
    return param.reshape(-1), g


def _placeholder(dtype) -> np.ndarray:
    """The empty array that stands for a state an optimizer or option does not use."""
    return placeholder(dtype, (0,))


def _state(op: str, name: str, s: np.ndarray | None, param: np.ndarray,
           needed: bool = True) -> np.ndarray:
    """State ``name`` as a flat view, checked; an empty placeholder when unused."""
    if s is None or not needed:
        if needed:
            raise ValueError(f"{op}: needs state {name}, got None")
        return _placeholder(param.dtype)
    if s.size != param.size or s.dtype != param.dtype or not s.flags.c_contiguous:
        raise ValueError(f"{op}: state {name} ({s.shape}, {s.dtype}) must be a C-contiguous "
                         f"array of param's size {param.size} and dtype {param.dtype}")
    return s.reshape(-1)


def _run(step, p: np.ndarray, g: np.ndarray, *states_and_record) -> None:
    """The task kernel ``step`` on one thread, or for a large parameter on all; states
    missing from the three slots are empty placeholders."""
    *states, ht = states_and_record
    states += [_placeholder(p.dtype)] * (3 - len(states))
    run_tasks(step, (p, g, *states, ht), tasks_for(p.size))


def sgd_step(param, grad, momentum_buffer, h: f.SGDArgs) -> None:
    """SGD in place (``torch.optim.SGD``); ``momentum_buffer`` may be None when
    ``h.momentum == 0``."""
    p, g = _flat("sgd_step", param, grad, h, f.SGDArgs)
    buf = _state("sgd_step", "momentum_buffer", momentum_buffer, param, h.momentum != 0.0)
    _run(_SGD, p, g, buf, tuple(h))


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, h: f.AdamArgs) -> None:
    """Adam, or AdamW with ``h.decoupled``, in place; ``max_exp_avg_sq`` may be None
    unless ``h.amsgrad``."""
    op = "adam_step"
    p, g = _flat(op, param, grad, h, f.AdamArgs)
    m = _state(op, "exp_avg", exp_avg, param)
    v = _state(op, "exp_avg_sq", exp_avg_sq, param)
    vmax = _state(op, "max_exp_avg_sq", max_exp_avg_sq, param, h.amsgrad)
    _run(_AMSGRAD if h.amsgrad else _ADAM, p, g, m, v, vmax, tuple(h))


def nadam_step(param, grad, exp_avg, exp_avg_sq, h: f.NAdamArgs) -> None:
    """NAdam in place (``torch.optim.NAdam``)."""
    op = "nadam_step"
    p, g = _flat(op, param, grad, h, f.NAdamArgs)
    m = _state(op, "exp_avg", exp_avg, param)
    v = _state(op, "exp_avg_sq", exp_avg_sq, param)
    _run(_NADAM, p, g, m, v, tuple(h))


def radam_step(param, grad, exp_avg, exp_avg_sq, h: f.RAdamArgs) -> None:
    """RAdam in place (``torch.optim.RAdam``)."""
    op = "radam_step"
    p, g = _flat(op, param, grad, h, f.RAdamArgs)
    m = _state(op, "exp_avg", exp_avg, param)
    v = _state(op, "exp_avg_sq", exp_avg_sq, param)
    _run(_RADAM, p, g, m, v, tuple(h))


def adamax_step(param, grad, exp_avg, exp_inf, h: f.AdamaxArgs) -> None:
    """Adamax in place (``torch.optim.Adamax``)."""
    op = "adamax_step"
    p, g = _flat(op, param, grad, h, f.AdamaxArgs)
    m = _state(op, "exp_avg", exp_avg, param)
    u = _state(op, "exp_inf", exp_inf, param)
    _run(_ADAMAX, p, g, m, u, tuple(h))


def rmsprop_step(param, grad, square_avg, momentum_buffer, grad_avg,
                 h: f.RMSpropArgs) -> None:
    """RMSprop in place; ``momentum_buffer`` may be None unless ``h.momentum > 0``,
    ``grad_avg`` unless ``h.centered``."""
    op = "rmsprop_step"
    p, g = _flat(op, param, grad, h, f.RMSpropArgs)
    sq = _state(op, "square_avg", square_avg, param)
    buf = _state(op, "momentum_buffer", momentum_buffer, param, h.momentum > 0.0)
    ga = _state(op, "grad_avg", grad_avg, param, h.centered)
    _run(_RMSPROP, p, g, sq, buf, ga, tuple(h))


def adagrad_step(param, grad, sum, h: f.AdagradArgs) -> None:
    """Adagrad in place (``sum``: the running sum of squared gradients)."""
    op = "adagrad_step"
    p, g = _flat(op, param, grad, h, f.AdagradArgs)
    acc = _state(op, "sum", sum, param)
    _run(_ADAGRAD, p, g, acc, tuple(h))


def adadelta_step(param, grad, square_avg, acc_delta, h: f.AdadeltaArgs) -> None:
    """Adadelta in place."""
    op = "adadelta_step"
    p, g = _flat(op, param, grad, h, f.AdadeltaArgs)
    sq = _state(op, "square_avg", square_avg, param)
    acc = _state(op, "acc_delta", acc_delta, param)
    _run(_ADADELTA, p, g, sq, acc, tuple(h))
