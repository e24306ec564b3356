"""Test helpers importable as ``from helpers import ...`` (tests/ is on sys.path)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import jitnet as jn

HAS_TORCH = importlib.util.find_spec("torch") is not None
requires_torch = pytest.mark.skipif(not HAS_TORCH, reason="PyTorch not installed")


def t64(a, requires_grad=True):
    """A float64 jitnet tensor (for gradcheck) from a NumPy array."""
    return jn.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def torch_pair(*arrays):
    """The same float64 arrays as jitnet and torch leaf tensors that require grad."""
    import torch

    jt = [jn.tensor(a, dtype=jn.float64, requires_grad=True) for a in arrays]
    tt = [torch.tensor(np.array(a), dtype=torch.float64, requires_grad=True) for a in arrays]
    return jt, tt


def assert_matches_torch(fn_jn, fn_torch, *arrays, atol=1e-10, rtol=1e-7):
    """Forward values and input gradients of fn on float64 inputs agree with PyTorch."""
    jt, tt = torch_pair(*arrays)
    yj, yt = fn_jn(*jt), fn_torch(*tt)
    np.testing.assert_allclose(yj.detach().numpy(), yt.detach().numpy(), atol=atol, rtol=rtol)
    w = np.random.default_rng(0).standard_normal(tuple(yt.shape))
    (yj * jn.tensor(w)).sum().backward()
    import torch

    (yt * torch.tensor(w)).sum().backward()
    for a, b in zip(jt, tt):
        ga = np.zeros(a.shape) if a.grad is None else a.grad.numpy()
        gb = np.zeros(tuple(b.shape)) if b.grad is None else b.grad.numpy()
        np.testing.assert_allclose(ga, gb, atol=atol, rtol=rtol)
