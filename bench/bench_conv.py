"""CNN ops: conv2d (forward, forward+backward), max_pool2d, relu, cross_entropy vs PyTorch CPU.

Each case runs in jitnet and PyTorch (``lib`` parameter) on the same float32
inputs; ``benchmark.group`` puts both in one table.  Forward-only cases run
under no_grad (inference); forward+backward cases feed a fixed upstream
gradient, all inputs requiring grad (a hidden layer's view).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python -m pytest bench/bench_conv.py --benchmark-only -q
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import NN, rand, run, to_lib, torch

import jitnet as jn
import jitnet.nn.functional as F

CONV = {  # name: (input shape, weight shape, padding)
    "lenet1": ((64, 1, 28, 28), (6, 1, 5, 5), 0),
    "3x3": ((64, 32, 16, 16), (64, 32, 3, 3), 1),
}


def _conv_inputs(lib, case, requires_grad):
    xs, ws, pad = CONV[case]
    x = to_lib(lib, rand(*xs, seed=1), requires_grad)
    w = to_lib(lib, rand(*ws, seed=2) * 0.1, requires_grad)
    b = to_lib(lib, rand(ws[0], seed=3), requires_grad)
    fn = F.conv2d if lib == "jitnet" else torch.nn.functional.conv2d
    return x, w, b, pad, fn


@pytest.mark.benchmark(group="conv2d fwd")
@pytest.mark.parametrize("lib", NN)
@pytest.mark.parametrize("case", list(CONV))
def test_conv2d_forward(benchmark, case, lib):
    """conv2d forward with bias, no graph recorded."""
    x, w, b, pad, fn = _conv_inputs(lib, case, False)
    benchmark.group = f"conv2d fwd {case} {CONV[case][0]} w{CONV[case][1]}"
    guard = jn.no_grad if lib == "jitnet" else torch.no_grad

    def step():
        with guard():
            return fn(x, w, b, padding=pad)

    run(benchmark, step)


@pytest.mark.benchmark(group="conv2d fwd+bwd")
@pytest.mark.parametrize("lib", NN)
@pytest.mark.parametrize("case", list(CONV))
def test_conv2d_forward_backward(benchmark, case, lib):
    """conv2d forward, then backward to input, weight and bias."""
    x, w, b, pad, fn = _conv_inputs(lib, case, True)
    xs, ws, _ = CONV[case]
    out_hw = xs[2] + 2 * pad - ws[2] + 1
    g = to_lib(lib, rand(xs[0], ws[0], out_hw, out_hw, seed=4))
    benchmark.group = f"conv2d fwd+bwd {case} {xs} w{ws}"
    benchmark.extra_info["target_torch"] = 1.0

    def step():
        x.grad = w.grad = b.grad = None
        fn(x, w, b, padding=pad).backward(g)

    run(benchmark, step)


POOL_SHAPE = (64, 32, 32, 32)


@pytest.mark.benchmark(group="max_pool2d fwd+bwd")
@pytest.mark.parametrize("lib", NN)
def test_max_pool2d(benchmark, lib):
    """max_pool2d(2) forward then backward, (64, 32, 32, 32)."""
    x = to_lib(lib, rand(*POOL_SHAPE, seed=1), True)
    g = to_lib(lib, rand(64, 32, 16, 16, seed=2))
    fn = F.max_pool2d if lib == "jitnet" else torch.nn.functional.max_pool2d
    benchmark.group = f"max_pool2d 2x2 fwd+bwd {POOL_SHAPE}"

    def step():
        x.grad = None
        fn(x, 2).backward(g)

    run(benchmark, step)


@pytest.mark.benchmark(group="relu fwd+bwd")
@pytest.mark.parametrize("lib", NN)
def test_relu(benchmark, lib):
    """F.relu forward then backward, (64, 32, 32, 32)."""
    x = to_lib(lib, rand(*POOL_SHAPE, seed=1), True)
    g = to_lib(lib, rand(*POOL_SHAPE, seed=2))
    fn = F.relu if lib == "jitnet" else torch.nn.functional.relu
    benchmark.group = f"F.relu fwd+bwd {POOL_SHAPE}"

    def step():
        x.grad = None
        fn(x).backward(g)

    run(benchmark, step)


@pytest.mark.benchmark(group="cross_entropy fwd+bwd")
@pytest.mark.parametrize("lib", NN)
@pytest.mark.parametrize("n", [64, 256])
def test_cross_entropy(benchmark, n, lib):
    """cross_entropy(logits (N, 10), labels) forward and backward: the classifier hot path."""
    x = to_lib(lib, rand(n, 10, seed=1), True)
    labels = np.random.default_rng(0).integers(0, 10, n)
    t = jn.tensor(labels) if lib == "jitnet" else torch.tensor(labels)
    fn = F.cross_entropy if lib == "jitnet" else torch.nn.functional.cross_entropy
    benchmark.group = f"cross_entropy fwd+bwd ({n}, 10)"

    def step():
        x.grad = None
        fn(x, t).backward()

    run(benchmark, step)
