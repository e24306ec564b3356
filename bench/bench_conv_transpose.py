"""ConvTranspose2d forward+backward vs PyTorch CPU (issue 13): (64, 32, 8, 8) -> (64, 16, 16, 16),
3x3 kernel, stride 2, padding 1, output_padding 1, bias; target <= 1.0x PyTorch.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python -m pytest bench/bench_conv_transpose.py --benchmark-only -q
"""
from __future__ import annotations

import pytest
from conftest import NN, rand, run, to_lib, torch

import jitnet.nn.functional as F

X, W = (64, 32, 8, 8), (32, 16, 3, 3)  # weight: (C_in, C_out, kH, kW)
KW = dict(stride=2, padding=1, output_padding=1)


@pytest.mark.benchmark(group="conv_transpose2d fwd+bwd")
@pytest.mark.parametrize("lib", NN)
def test_conv_transpose2d_forward_backward(benchmark, lib):
    """conv_transpose2d forward, then backward to input, weight and bias."""
    x = to_lib(lib, rand(*X, seed=1), True)
    w = to_lib(lib, rand(*W, seed=2) * 0.1, True)
    b = to_lib(lib, rand(W[1], seed=3), True)
    g = to_lib(lib, rand(64, 16, 16, 16, seed=4))
    fn = F.conv_transpose2d if lib == "jitnet" else torch.nn.functional.conv_transpose2d
    benchmark.group = f"conv_transpose2d fwd+bwd {X} w{W} s2"
    benchmark.extra_info["target_torch"] = 1.0

    def step():
        x.grad = w.grad = b.grad = None
        fn(x, w, b, **KW).backward(g)

    run(benchmark, step)
