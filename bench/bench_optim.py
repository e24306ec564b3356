"""Optimizer steps: jitnet's fused Numba update kernel against PyTorch and an unfused NumPy chain.

Every case updates the parameter set of an MLP (``models.py``: the
784-256-128-10 MLP, 235k parameters in 6 tensors, and the 64-128-10 digits MLP,
9.6k parameters, where per-call overhead dominates) with fixed random
gradients.  ``jitnet`` is ``optimizer.step()`` (one ``<name>_step`` kernel per
parameter); ``torch`` is ``torch.optim`` with its default (foreach)
implementation; ``numpy`` is the same update written as a chain of in-place
NumPy ufunc calls (what an unfused Tensor-op implementation costs).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest bench/bench_optim.py --benchmark-only
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL, rand, run, torch
from models import digits_mlp, mlp784

import jitnet as jn

MODELS = {"mlp784": mlp784, "digits_mlp": digits_mlp}

# name -> (jitnet/torch class name, keyword arguments)
OPTIMIZERS = {
    "sgd_momentum": ("SGD", dict(lr=0.01, momentum=0.9)),
    "adam": ("Adam", dict(lr=1e-3)),
    "adamw": ("AdamW", dict(lr=1e-3, weight_decay=0.01)),
    "rmsprop": ("RMSprop", dict(lr=1e-3)),
    "adagrad": ("Adagrad", dict(lr=1e-2)),
    "adadelta": ("Adadelta", dict(lr=1.0)),
}


def shapes(model_name: str) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in MODELS[model_name](jn.nn).parameters()]


class NumpyOptimizer:
    """The PyTorch update rules as chains of in-place NumPy ops (one pass per op)."""

    def __init__(self, name: str, params: list[np.ndarray], grads: list[np.ndarray], **kw):
        self.name, self.params, self.grads, self.kw = name, params, grads, kw
        self.state = [[np.zeros_like(p) for _ in range(2)] for p in params]
        self.t = 0

    def step(self) -> None:
        self.t += 1
        kw, t = self.kw, self.t
        for p, g, (s0, s1) in zip(self.params, self.grads, self.state):
            if self.name == "sgd_momentum":
                s0 *= kw["momentum"]
                s0 += g
                p -= kw["lr"] * s0
            elif self.name in ("adam", "adamw"):
                if self.name == "adamw":
                    p *= 1 - kw["lr"] * kw["weight_decay"]
                s0 += 0.1 * (g - s0)
                s1 *= 0.999
                s1 += 0.001 * g * g
                denom = np.sqrt(s1) / np.sqrt(1 - 0.999 ** t) + 1e-8
                p -= kw["lr"] / (1 - 0.9 ** t) * s0 / denom
            elif self.name == "rmsprop":
                s0 *= 0.99
                s0 += 0.01 * g * g
                p -= kw["lr"] * g / (np.sqrt(s0) + 1e-8)
            elif self.name == "adagrad":
                s0 += g * g
                p -= kw["lr"] * g / (np.sqrt(s0) + 1e-10)
            else:  # adadelta
                s0 *= 0.9
                s0 += 0.1 * g * g
                delta = np.sqrt(s1 + 1e-6) / np.sqrt(s0 + 1e-6) * g
                s1 *= 0.9
                s1 += 0.1 * delta * delta
                p -= kw["lr"] * delta


def build(lib: str, opt_name: str, model_name: str):
    """A zero-argument ``step`` for one library over the model's parameter shapes."""
    cls_name, kw = OPTIMIZERS[opt_name]
    arrays = [rand(*s, seed=i) * 0.1 for i, s in enumerate(shapes(model_name))]
    grads = [rand(*s, seed=100 + i) for i, s in enumerate(shapes(model_name))]
    if lib == "numpy":
        return NumpyOptimizer(opt_name, arrays, grads, **kw).step
    if lib == "torch":
        params = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g)
        return getattr(torch.optim, cls_name)(params, **kw).step
    params = [jn.nn.Parameter(jn.tensor(a)) for a in arrays]
    for p, g in zip(params, grads):
        p.grad = jn.tensor(g)
    return getattr(jn.optim, cls_name)(params, **kw).step


@pytest.mark.benchmark(group="optimizer step")
@pytest.mark.parametrize("lib", ALL)
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("model_name", list(MODELS))
def test_optimizer_step(benchmark, model_name, opt_name, lib):
    """One ``optimizer.step()`` over every parameter of ``model_name``."""
    n = sum(int(np.prod(s)) for s in shapes(model_name))
    benchmark.group = f"optimizer step {opt_name} {model_name} ({n} params)"
    benchmark.extra_info["target_torch"] = 1.0
    run(benchmark, build(lib, opt_name, model_name))
