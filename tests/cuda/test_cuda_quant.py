"""CUDA int8 kernels (quantize_rows, int8_matmul, int8_linear) against their CPU twins, and a
quantized model run on the GPU: partial tiles, an all-zero row, rescaling, the bias."""
import numpy as np
from twins import rand

import jitnet as jn
from jitnet.kernels import cpu, table
from jitnet.quantization import quantize_dynamic


def _cuda():
    return table(jn.device("cuda"))


def test_quantize_rows_matches_cpu():
    x = rand(5, 11, seed=1)
    x[2] = 0.0
    k = _cuda()
    q, s = k.quantize_rows(k.from_host(x))
    qc, sc = cpu.quantize_rows(x)
    np.testing.assert_array_equal(k.to_host(q), qc)
    np.testing.assert_allclose(k.to_host(s), sc, rtol=1e-6)


def test_int8_matmul_matches_cpu_on_partial_tiles():
    rng = np.random.default_rng(0)
    a = rng.integers(-127, 128, (9, 13)).astype(np.int8)
    b = rng.integers(-127, 128, (10, 13)).astype(np.int8)
    sa, sb = rng.random(9).astype(np.float32), rng.random(10).astype(np.float32)
    k = _cuda()
    out = k.to_host(k.int8_matmul(k.from_host(a), k.from_host(sa), k.from_host(b),
                                  k.from_host(sb)))
    np.testing.assert_allclose(out, cpu.int8_matmul(a, sa, b, sb), rtol=1e-6)


def test_int8_linear_matches_cpu_with_and_without_bias():
    rng = np.random.default_rng(3)
    x = rand(9, 13, seed=4)
    w = rng.integers(-127, 128, (10, 13)).astype(np.int8)
    ws, bias = rng.random(10).astype(np.float32), rand(10, seed=5)
    k = _cuda()
    for b in (bias, None):
        got = k.to_host(k.int8_linear(k.from_host(x), k.from_host(w), k.from_host(ws),
                                      None if b is None else k.from_host(b)))
        np.testing.assert_allclose(got, cpu.int8_linear(x, w, ws, b), rtol=1e-6, atol=1e-6)


def test_quantized_model_on_cuda_matches_cpu():
    jn.manual_seed(0)
    model = jn.nn.Sequential(jn.nn.Linear(12, 9), jn.nn.ReLU(), jn.nn.Linear(9, 3))
    q = quantize_dynamic(model)
    x = rand(4, 12, seed=2)
    with jn.no_grad():
        ref = q(jn.tensor(x)).numpy()
        got = q.to("cuda")(jn.tensor(x, device="cuda")).cpu().numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
