"""Core ops: matmul, large elementwise ops, relu forward+backward, per-op overhead.

Each case runs in jitnet, NumPy and PyTorch (CPU) on the same float32 inputs;
run with ``pytest bench --benchmark-only`` and summarise with ``report.py``.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL, NN, rand, run, to_lib, torch

import jitnet as jn

MATMUL = [(1, 256, 256, 256), (1, 512, 512, 512), (1, 1024, 1024, 1024), (32, 128, 128, 128)]


def _mm_id(case) -> str:
    b, m, k, n = case
    return f"{m}" if b == 1 else f"{b}x{m}x{k}x{n}"


@pytest.mark.benchmark(group="matmul")
@pytest.mark.parametrize("lib", ALL)
@pytest.mark.parametrize("case", MATMUL, ids=_mm_id)
def test_matmul(benchmark, case, lib):
    """``a @ b`` on square matrices, and a batched (B, M, K) @ (B, K, N)."""
    b, m, k, n = case
    shape_a, shape_b = ((m, k), (k, n)) if b == 1 else ((b, m, k), (b, k, n))
    a, bb = to_lib(lib, rand(*shape_a, seed=1)), to_lib(lib, rand(*shape_b, seed=2))
    benchmark.group = f"matmul {_mm_id(case)}"
    if lib == "numpy":
        run(benchmark, np.matmul, a, bb)
    else:
        run(benchmark, lambda: a @ bb)


ELEMENTWISE_SHAPE = (1024, 4096)  # 4 Mi float32 = 16 MiB per operand: memory-bound


@pytest.mark.benchmark(group="elementwise")
@pytest.mark.parametrize("lib", ALL)
@pytest.mark.parametrize("op", ["add", "mul"])
def test_elementwise(benchmark, op, lib):
    """``a + b`` / ``a * b`` on two large same-shape tensors (no broadcasting)."""
    a = to_lib(lib, rand(*ELEMENTWISE_SHAPE, seed=1))
    b = to_lib(lib, rand(*ELEMENTWISE_SHAPE, seed=2))
    benchmark.group = f"elementwise {op} {ELEMENTWISE_SHAPE}"
    if op == "add":
        run(benchmark, lambda: a + b)
    else:
        run(benchmark, lambda: a * b)


RELU_SHAPE = (64, 32, 32, 32)


@pytest.mark.benchmark(group="relu fwd+bwd")
@pytest.mark.parametrize("lib", ALL)
def test_relu(benchmark, lib):
    """relu forward then backward with an upstream gradient, (64, 32, 32, 32)."""
    x_np, g_np = rand(*RELU_SHAPE, seed=1), rand(*RELU_SHAPE, seed=2)
    benchmark.group = f"relu fwd+bwd {RELU_SHAPE}"
    if lib == "numpy":
        def step():
            y = np.maximum(x_np, 0)
            return y, np.where(x_np > 0, g_np, np.float32(0))
    else:
        x, g = to_lib(lib, x_np, requires_grad=True), to_lib(lib, g_np)

        def step():
            x.grad = None
            x.relu().backward(g)
            return x.grad
    run(benchmark, step)


@pytest.mark.benchmark(group="tiny graph")
@pytest.mark.parametrize("lib", NN)
def test_tiny_graph(benchmark, lib):
    """``((a*b + b).relu().sum()).backward()`` on 1-element tensors: pure per-op overhead."""
    mod = jn if lib == "jitnet" else torch
    a = mod.tensor([1.5], requires_grad=True)
    b = mod.tensor([2.0], requires_grad=True)

    def step():
        a.grad = b.grad = None
        ((a * b + b).relu().sum()).backward()

    run(benchmark, step)
    assert float(a.grad.sum()) == 2.0 and float(b.grad.sum()) == 2.5
