"""Run the same jitnet code on the CPU and on CUDA and compare values and gradients.

Every CUDA kernel is tested against its CPU twin through the public Tensor
API: ``check(fn, *arrays)`` builds tensors from the same NumPy arrays on both
devices, runs ``fn``, and compares the outputs and (for float inputs) the
gradients of ``sum(out * w)`` with the same fixed random weights ``w``.
"""
from __future__ import annotations

import numpy as np

import jitnet as jn


def _leaves(arrays, device, grad):
    out = []
    for a in arrays:
        a = np.asarray(a)
        rg = grad and a.dtype.kind == "f"
        out.append(jn.tensor(a, device=device, requires_grad=rg))
    return out


def run(fn, arrays, device, grad=True, seed=0):
    """fn(*tensors) on ``device``: (host outputs, host grads of float inputs)."""
    ts = _leaves(arrays, device, grad)
    y = fn(*ts)
    ys = list(y) if isinstance(y, (tuple, list)) else [y]
    rng = np.random.default_rng(seed)
    loss = None
    for o in ys:
        if isinstance(o, jn.Tensor) and o.requires_grad:
            w = jn.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype, device=device)
            term = (o * w).sum()
            loss = term if loss is None else loss + term
    if loss is not None:
        loss.backward()
    host_out = [o.detach().cpu().numpy() if isinstance(o, jn.Tensor) else o for o in ys]
    grads = [None if t.grad is None else t.grad.cpu().numpy() for t in ts]
    return host_out, grads


def check(fn, *arrays, grad=True, rtol=1e-5, atol=1e-6):
    """Assert fn gives the same values and gradients on CUDA as on the CPU."""
    cpu_out, cpu_grads = run(fn, arrays, "cpu", grad)
    dev_out, dev_grads = run(fn, arrays, "cuda", grad)
    assert len(cpu_out) == len(dev_out)
    for c, d in zip(cpu_out, dev_out):
        _same(c, d, rtol, atol)
    for c, d in zip(cpu_grads, dev_grads):
        assert (c is None) == (d is None)
        if c is not None:
            _same(c, d, rtol, atol)
    return dev_out


def _same(c, d, rtol, atol):
    if not isinstance(c, np.ndarray):
        assert c == d
        return
    assert c.shape == d.shape and c.dtype == d.dtype, (c.shape, c.dtype, d.shape, d.dtype)
    if c.dtype.kind == "f":
        np.testing.assert_allclose(d, c, rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(d, c)


def rand(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)
