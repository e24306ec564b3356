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
the ``_parallel`` twin, compiled only when a parameter of at least
``PARALLEL_MIN`` elements arrives, runs ``prange`` over contiguous chunks of
the arrays, each chunk one call of the serial kernel (whose loop is written
once, ``_<name>_loop``).  A state an option switches off gets its own loop with a constant
in its place, so the common loops have no data-dependent stores and LLVM
vectorises them.  Kernels compile with NumPy's error model: ``/`` by zero is
IEEE inf/nan (as PyTorch) and has no test that would stop vectorisation.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import prange

from .._jit import PARALLEL_MIN, kernel, scalar
from ..scalar import optim as f

_sgd = scalar(f.sgd)
_moments = scalar(f.moments)
_adam = scalar(f.adam)
_nadam = scalar(f.nadam)
_radam = scalar(f.radam)
_adamax = scalar(f.adamax)
_rmsprop = scalar(f.rmsprop)
_adagrad = scalar(f.adagrad)
_adadelta = scalar(f.adadelta)

# Each optimizer: ``_<name>_loop`` (inlined into ``_<name>_serial``) and a parallel
# twin that runs the serial kernel on contiguous chunks, one chunk per ``prange``
# task (the loop compiles once; the twin is a small parfor).  The record arrives
# as a plain tuple and is rebuilt inside: Numba's dispatcher types a plain tuple
# of numbers in C, a NamedTuple through Python (measured: 6 us per call against 1).


def _chunk(n: int) -> int:
    """Elements per parallel task: about four tasks per thread, at least 4096 each (the
    thread count is read here: ``numba.get_num_threads`` inside a kernel stops caching)."""
    return max(4096, -(-n // (4 * numba.get_num_threads())))


@kernel(inline="always")
def _sgd_loop(p, g, buf, h):
    if h.momentum != 0.0:
        for i in range(p.size):
            p[i], buf[i] = _sgd(p[i] * 1.0, g[i] * 1.0, buf[i] * 1.0, h, True)
    else:
        for i in range(p.size):
            p[i] = _sgd(p[i] * 1.0, g[i] * 1.0, 0.0, h, False)[0]


@kernel(error_model="numpy")
def _sgd_serial(p, g, buf, ht):
    _sgd_loop(p, g, buf, f.SGDArgs(*ht))


@kernel(parallel=True, error_model="numpy")
def _sgd_parallel(p, g, buf, ht, step):
    for c in prange((p.size + step - 1) // step):
        a = c * step
        b = min(p.size, a + step)
        _sgd_serial(p[a:b], g[a:b], buf[a:b], ht)


@kernel(inline="always")
def _adam_loop(p, g, m, v, vmax, h):
    if h.amsgrad:
        for i in range(p.size):
            pi, _, mi, vi = _moments(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, v[i] * 1.0, h)
            m[i], v[i] = mi, vi
            p[i], vmax[i] = _adam(pi, mi, vi, vmax[i] * 1.0, h, True)
    else:
        for i in range(p.size):
            pi, _, mi, vi = _moments(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, v[i] * 1.0, h)
            m[i], v[i] = mi, vi
            p[i] = _adam(pi, mi, vi, 0.0, h, False)[0]


@kernel(error_model="numpy")
def _adam_serial(p, g, m, v, vmax, ht):
    _adam_loop(p, g, m, v, vmax, f.AdamArgs(*ht))


@kernel(parallel=True, error_model="numpy")
def _adam_parallel(p, g, m, v, vmax, ht, step):
    for c in prange((p.size + step - 1) // step):
        a = c * step
        b = min(p.size, a + step)
        _adam_serial(p[a:b], g[a:b], m[a:b], v[a:b], vmax[a:b], ht)


@kernel(inline="always")
def _nadam_loop(p, g, m, v, h):
    for i in range(p.size):
        pi, gi, mi, vi = _moments(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, v[i] * 1.0, h)
        m[i], v[i] = mi, vi
        p[i] = _nadam(pi, gi, mi, vi, h)


@kernel(error_model="numpy")
def _nadam_serial(p, g, m, v, ht):
    _nadam_loop(p, g, m, v, f.NAdamArgs(*ht))


@kernel(parallel=True, error_model="numpy")
def _nadam_parallel(p, g, m, v, ht, step):
    for c in prange((p.size + step - 1) // step):
        a = c * step
        b = min(p.size, a + step)
        _nadam_serial(p[a:b], g[a:b], m[a:b], v[a:b], ht)


@kernel(inline="always")
def _radam_loop(p, g, m, v, h):
    for i in range(p.size):
        pi, _, mi, vi = _moments(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, v[i] * 1.0, h)
        m[i], v[i] = mi, vi
        p[i] = _radam(pi, mi, vi, h)


@kernel(error_model="numpy")
def _radam_serial(p, g, m, v, ht):
    _radam_loop(p, g, m, v, f.RAdamArgs(*ht))


@kernel(parallel=True, error_model="numpy")
def _radam_parallel(p, g, m, v, ht, step):
    for c in prange((p.size + step - 1) // step):
        a = c * step
        b = min(p.size, a + step)
        _radam_serial(p[a:b], g[a:b], m[a:b], v[a:b], ht)


@kernel(inline="always")
def _adamax_loop(p, g, m, u, h):
    for i in range(p.size):
        p[i], m[i], u[i] = _adamax(p[i] * 1.0, g[i] * 1.0, m[i] * 1.0, u[i] * 1.0, h)


@kernel(error_model="numpy")
def _adamax_serial(p, g, m, u, ht):
    _adamax_loop(p, g, m, u, f.AdamaxArgs(*ht))


@kernel(parallel=True, error_model="numpy")
def _adamax_parallel(p, g, m, u, ht, step):
    for c in prange((p.size + step - 1) // step):
        a = c * step
        b = min(p.size, a + step)
        _adamax_serial(p[a:b], g[a:b], m[a:b], u[a:b], ht)


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


@kernel(error_model="numpy")
def _rmsprop_serial(p, g, sq, buf, ga, ht):
    _rmsprop_loop(p, g, sq, buf, ga, f.RMSpropArgs(*ht))


@kernel(parallel=True, error_model="numpy")
def _rmsprop_parallel(p, g, sq, buf, ga, ht, step):
    for c in prange((p.size + step - 1) // step):
        a = c * step
        b = min(p.size, a + step)
        _rmsprop_serial(p[a:b], g[a:b], sq[a:b], buf[a:b], ga[a:b], ht)


@kernel(inline="always")
def _adagrad_loop(p, g, acc, h):
    for i in range(p.size):
        p[i], acc[i] = _adagrad(p[i] * 1.0, g[i] * 1.0, acc[i] * 1.0, h)


@kernel(error_model="numpy")
def _adagrad_serial(p, g, acc, ht):
    _adagrad_loop(p, g, acc, f.AdagradArgs(*ht))


@kernel(parallel=True, error_model="numpy")
def _adagrad_parallel(p, g, acc, ht, step):
    for c in prange((p.size + step - 1) // step):
        a = c * step
        b = min(p.size, a + step)
        _adagrad_serial(p[a:b], g[a:b], acc[a:b], ht)


@kernel(inline="always")
def _adadelta_loop(p, g, sq, acc, h):
    for i in range(p.size):
        p[i], sq[i], acc[i] = _adadelta(p[i] * 1.0, g[i] * 1.0, sq[i] * 1.0, acc[i] * 1.0, h)


@kernel(error_model="numpy")
def _adadelta_serial(p, g, sq, acc, ht):
    _adadelta_loop(p, g, sq, acc, f.AdadeltaArgs(*ht))


@kernel(parallel=True, error_model="numpy")
def _adadelta_parallel(p, g, sq, acc, ht, step):
    for c in prange((p.size + step - 1) // step):
        a = c * step
        b = min(p.size, a + step)
        _adadelta_serial(p[a:b], g[a:b], sq[a:b], acc[a:b], ht)


# ---------------------------------------------------------------- the table's functions

_EMPTY: dict = {}


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


def _state(op: str, name: str, s: np.ndarray | None, param: np.ndarray,
           needed: bool = True) -> np.ndarray:
    """State ``name`` as a flat view, checked; an empty placeholder when unused."""
    if s is None or not needed:
        if needed:
            raise ValueError(f"{op}: needs state {name}, got None")
        dummy = _EMPTY.get(param.dtype)
        if dummy is None:
            dummy = _EMPTY[param.dtype] = np.empty(0, dtype=param.dtype)
        return dummy
    if s.size != param.size or s.dtype != param.dtype or not s.flags.c_contiguous:
        raise ValueError(f"{op}: state {name} ({s.shape}, {s.dtype}) must be a C-contiguous "
                         f"array of param's size {param.size} and dtype {param.dtype}")
    return s.reshape(-1)


def _run(serial, parallel, p: np.ndarray, *args) -> None:
    """The serial kernel, or for a large parameter its parallel twin."""
    if p.size >= PARALLEL_MIN:
        parallel(p, *args, _chunk(p.size))
    else:
        serial(p, *args)


def sgd_step(param, grad, momentum_buffer, h: f.SGDArgs) -> None:
    """SGD in place (``torch.optim.SGD``); ``momentum_buffer`` may be None when
    ``h.momentum == 0``."""
    p, g = _flat("sgd_step", param, grad, h, f.SGDArgs)
    buf = _state("sgd_step", "momentum_buffer", momentum_buffer, param, h.momentum != 0.0)
    _run(_sgd_serial, _sgd_parallel, p, g, buf, tuple(h))


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, h: f.AdamArgs) -> None:
    """Adam, or AdamW with ``h.decoupled``, in place; ``max_exp_avg_sq`` may be None
    unless ``h.amsgrad``."""
    op = "adam_step"
    p, g = _flat(op, param, grad, h, f.AdamArgs)
    m = _state(op, "exp_avg", exp_avg, param)
    v = _state(op, "exp_avg_sq", exp_avg_sq, param)
    vmax = _state(op, "max_exp_avg_sq", max_exp_avg_sq, param, h.amsgrad)
    _run(_adam_serial, _adam_parallel, p, g, m, v, vmax, tuple(h))


def nadam_step(param, grad, exp_avg, exp_avg_sq, h: f.NAdamArgs) -> None:
    """NAdam in place (``torch.optim.NAdam``)."""
    op = "nadam_step"
    p, g = _flat(op, param, grad, h, f.NAdamArgs)
    m = _state(op, "exp_avg", exp_avg, param)
    v = _state(op, "exp_avg_sq", exp_avg_sq, param)
    _run(_nadam_serial, _nadam_parallel, p, g, m, v, tuple(h))


def radam_step(param, grad, exp_avg, exp_avg_sq, h: f.RAdamArgs) -> None:
    """RAdam in place (``torch.optim.RAdam``)."""
    op = "radam_step"
    p, g = _flat(op, param, grad, h, f.RAdamArgs)
    m = _state(op, "exp_avg", exp_avg, param)
    v = _state(op, "exp_avg_sq", exp_avg_sq, param)
    _run(_radam_serial, _radam_parallel, p, g, m, v, tuple(h))


def adamax_step(param, grad, exp_avg, exp_inf, h: f.AdamaxArgs) -> None:
    """Adamax in place (``torch.optim.Adamax``)."""
    op = "adamax_step"
    p, g = _flat(op, param, grad, h, f.AdamaxArgs)
    m = _state(op, "exp_avg", exp_avg, param)
    u = _state(op, "exp_inf", exp_inf, param)
    _run(_adamax_serial, _adamax_parallel, p, g, m, u, tuple(h))


def rmsprop_step(param, grad, square_avg, momentum_buffer, grad_avg,
                 h: f.RMSpropArgs) -> None:
    """RMSprop in place; ``momentum_buffer`` may be None unless ``h.momentum > 0``,
    ``grad_avg`` unless ``h.centered``."""
    op = "rmsprop_step"
    p, g = _flat(op, param, grad, h, f.RMSpropArgs)
    sq = _state(op, "square_avg", square_avg, param)
    buf = _state(op, "momentum_buffer", momentum_buffer, param, h.momentum > 0.0)
    ga = _state(op, "grad_avg", grad_avg, param, h.centered)
    _run(_rmsprop_serial, _rmsprop_parallel, p, g, sq, buf, ga, tuple(h))


def adagrad_step(param, grad, sum, h: f.AdagradArgs) -> None:
    """Adagrad in place (``sum``: the running sum of squared gradients)."""
    op = "adagrad_step"
    p, g = _flat(op, param, grad, h, f.AdagradArgs)
    acc = _state(op, "sum", sum, param)
    _run(_adagrad_serial, _adagrad_parallel, p, g, acc, tuple(h))


def adadelta_step(param, grad, square_avg, acc_delta, h: f.AdadeltaArgs) -> None:
    """Adadelta in place."""
    op = "adadelta_step"
    p, g = _flat(op, param, grad, h, f.AdadeltaArgs)
    sq = _state(op, "square_avg", square_avg, param)
    acc = _state(op, "acc_delta", acc_delta, param)
    _run(_adadelta_serial, _adadelta_parallel, p, g, sq, acc, tuple(h))
