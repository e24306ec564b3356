"""CUDA benchmarks: jitnet's @cuda.jit kernels beside PyTorch CUDA, on a real GPU only.

Skipped without a GPU and under Numba's simulator (which runs kernels as
Python threads: its timings mean nothing).  Every timed call ends with a
device synchronisation, since kernel launches return before the GPU is done;
inputs are created on the device first, so no host transfer is timed.

    pytest bench/bench_cuda.py --benchmark-only
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import rand, run, torch
from models import lenet5

import jitnet as jn
import jitnet.nn  # noqa: F401  (jn.nn, jn.optim)
import jitnet.optim  # noqa: F401
from jitnet.device import simulator_enabled

if simulator_enabled() or not jn.cuda.is_available():
    pytest.skip("needs a real CUDA GPU (not the simulator)", allow_module_level=True)

from numba import cuda  # noqa: E402  (only once a GPU is known to be there)

TORCH_CUDA = torch is not None and torch.cuda.is_available()
LIBS = [pytest.param("jitnet", id="jitnet"),
        pytest.param("torch", id="torch",
                     marks=pytest.mark.skipif(not TORCH_CUDA, reason="no PyTorch CUDA"))]


def _sync(lib: str) -> None:
    if lib == "torch":
        torch.cuda.synchronize()
    else:
        cuda.synchronize()


def _tensor(lib: str, a: np.ndarray, requires_grad: bool = False):
    if lib == "torch":
        return torch.tensor(a, device="cuda", requires_grad=requires_grad)
    return jn.tensor(a, device="cuda", requires_grad=requires_grad)


@pytest.mark.benchmark(group="cuda matmul")
@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("n", [1024, 4096])
def test_matmul(benchmark, n, lib):
    """(n, n) @ (n, n) float32: the shared-memory tiled kernel against cuBLAS."""
    benchmark.group = f"cuda matmul {n}"
    a, b = _tensor(lib, rand(n, n, seed=1)), _tensor(lib, rand(n, n, seed=2))
    benchmark.extra_info["gflop"] = 2 * n ** 3 / 1e9

    def step():
        out = a @ b
        _sync(lib)
        return out

    out = run(benchmark, step)
    if lib == "jitnet" and n == 1024:  # the kernel is checked, not only timed
        ref = rand(n, n, seed=1).astype(np.float64) @ rand(n, n, seed=2)
        np.testing.assert_allclose(out.cpu().numpy(), ref, rtol=1e-3, atol=1e-2)


@pytest.mark.benchmark(group="cuda conv2d")
@pytest.mark.parametrize("lib", LIBS)
def test_conv2d_forward_backward(benchmark, lib):
    """conv2d 64x32x32x32 input, 64 3x3 filters, padding 1: forward and backward."""
    x = _tensor(lib, rand(64, 32, 32, 32, seed=3), requires_grad=True)
    w = _tensor(lib, rand(64, 32, 3, 3, seed=4) * 0.1, requires_grad=True)
    conv = torch.nn.functional.conv2d if lib == "torch" else jn.nn.functional.conv2d

    def step():
        x.grad = w.grad = None
        conv(x, w, padding=1).sum().backward()
        _sync(lib)

    run(benchmark, step)


@pytest.mark.benchmark(group="cuda train step")
@pytest.mark.parametrize("lib", LIBS)
def test_lenet_train_step(benchmark, lib):
    """One LeNet-5 Adam step at batch 256 (forward, cross-entropy, backward, step)."""
    x_np = rand(256, 1, 28, 28, seed=5)
    y_np = np.random.default_rng(6).integers(0, 10, 256).astype(np.int64)
    if lib == "torch":
        torch.manual_seed(0)
        model = lenet5(torch.nn).cuda()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = torch.nn.functional.cross_entropy
    else:
        jn.manual_seed(0)
        model = lenet5(jn.nn).to("cuda")
        opt = jn.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = jn.nn.functional.cross_entropy
    x, y = _tensor(lib, x_np), _tensor(lib, y_np)

    def step():
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        _sync(lib)
        return loss

    loss = run(benchmark, step)
    assert np.isfinite(float(loss.item()))
