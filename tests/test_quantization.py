"""jitnet.quantization: the int8 kernels, quantize_dynamic on the digits MLP (accuracy and
checkpoint size targets), state_dict round trips, errors."""
import os

import numpy as np
import pytest

import jitnet as jn
from jitnet.kernels import cpu
from jitnet.kernels.cpu import quant as cpu_quant
from jitnet.quantization import QuantizedConv2d, QuantizedLinear, quantize_dynamic


def test_int8_matmul_is_exact_and_rescaled_once():
    rng = np.random.default_rng(0)
    for m, n, k in ((1, 1, 1), (5, 3, 7), (37, 70, 130)):  # edge blocks of both tiles
        a = rng.integers(-127, 128, (m, k)).astype(np.int8)
        b = rng.integers(-127, 128, (n, k)).astype(np.int8)
        sa = rng.random(m).astype(np.float32)
        sb = rng.random(n).astype(np.float32)
        out = cpu.int8_matmul(a, sa, b, sb)
        exact = (a.astype(np.int64) @ b.astype(np.int64).T).astype(np.float32)
        assert out.dtype == np.float32 and out.shape == (m, n)
        np.testing.assert_allclose(out, exact * sa[:, None] * sb[None, :], rtol=1e-6)


@pytest.mark.parametrize("m, n, k", [(1, 1, 7), (6, 10, 130), (9, 5, 128), (70, 67, 200),
                                     (102, 70, 300)])
def test_int8_linear_matches_an_integer_reference(m, n, k):
    # K = 130, 200, 300: 64-byte VNNI chunks plus a tail in the portable loop; K = 7: the
    # tail alone; M, N not multiples of the 4 x 4 block; 70 x 67 spans several cache tiles;
    # 102 x 70 x 300 is big enough for the parallel row bands (with more than one thread)
    rng = np.random.default_rng(k)
    x = rng.standard_normal((m, k)).astype(np.float32)
    x[0, :] = 0.0  # an all-zero row has scale 1
    w = rng.integers(-127, 128, (n, k)).astype(np.int8)
    ws = rng.random(n).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    xq, xs = cpu.quantize_rows(x)
    exact = (xq.astype(np.int64) @ w.astype(np.int64).T).astype(np.float32)
    ref = exact * xs[:, None] * ws[None, :]
    np.testing.assert_allclose(cpu.int8_linear(x, w, ws, None), ref, rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(cpu.int8_linear(x, w, ws, bias), ref + bias, rtol=1e-6,
                               atol=1e-6)
    # the portable loop alone, as a CPU without AVX-512 VNNI runs it
    xu8 = xq.view(np.uint8) ^ np.uint8(128)
    np.testing.assert_allclose(cpu_quant._gemm(xu8, xs, w, ws, None, vnni=False), ref,
                               rtol=1e-6, atol=1e-30)


def test_int8_linear_sums_stay_exact_where_the_shifted_sum_wraps_int32():
    # activations are summed as q + 128: 255 * 127 * 70000 overflows int32, the true sum
    # 127 * 127 * 70000 does not, and wrapping arithmetic gives it back exactly
    k = 70000
    x = np.ones((4, k), np.float32)
    x[1] *= -1.0
    w = np.full((5, k), 127, np.int8)
    w[2] = -127
    out = cpu.int8_linear(x, w, np.ones(5, np.float32), None)
    exact = np.array([[127 * 127 * k] * 5] * 4, np.float64)
    exact[1] *= -1
    exact[:, 2] *= -1
    # rows of +-1 have scale 1/127
    np.testing.assert_allclose(out, exact.astype(np.float32) * np.float32(1 / 127), rtol=1e-6)


def test_quantize_rows_is_symmetric_per_row():
    x = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5], [3e-3, -1e-3, 2.54e-3]], np.float32)
    q, scale = cpu.quantize_rows(x)
    assert q.dtype == np.int8 and scale.dtype == np.float32
    np.testing.assert_allclose(scale, [1.0, 2.0 / 127, 3e-3 / 127], rtol=1e-6)
    assert q[0].tolist() == [0, 0, 0] and q[1].tolist() == [64, -127, 32]
    assert np.abs(q.astype(int)).max() <= 127
    np.testing.assert_allclose(q * scale[:, None], x, atol=scale.max() / 2 + 1e-7)


def _train_digits_mlp(hidden=128, epochs=6):
    train, test = jn.data.datasets.load_digits(flatten=True)
    jn.manual_seed(0)
    model = jn.nn.Sequential(jn.nn.Linear(64, hidden), jn.nn.ReLU(), jn.nn.Linear(hidden, 10))
    opt = jn.optim.Adam(model.parameters(), lr=0.005)
    loader = jn.data.DataLoader(train, batch_size=64, shuffle=True)
    for _ in range(epochs):
        for x, y in loader:
            opt.zero_grad()
            jn.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    return model.eval(), test


def _accuracy(model, test):
    x, y = test.tensors
    with jn.no_grad():
        return float((model(x).argmax(1) == y).float().mean().item())


def test_quantized_digits_mlp_keeps_accuracy_and_shrinks_checkpoint(tmp_path):
    model, test = _train_digits_mlp()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    qmodel = quantize_dynamic(model, {jn.nn.Linear}, dtype=jn.qint8)
    for k, v in model.state_dict().items():  # the input model is not changed
        np.testing.assert_array_equal(v.numpy(), before[k])
    assert isinstance(qmodel[0], QuantizedLinear) and isinstance(model[0], jn.nn.Linear)
    acc_f, acc_q = _accuracy(model, test), _accuracy(qmodel, test)
    assert acc_f > 0.9
    assert abs(acc_f - acc_q) <= 0.005, (acc_f, acc_q)
    jn.save(model.state_dict(), tmp_path / "float.safetensors")
    jn.save(qmodel.state_dict(), tmp_path / "int8.safetensors")
    ratio = (os.path.getsize(tmp_path / "int8.safetensors")
             / os.path.getsize(tmp_path / "float.safetensors"))
    assert ratio <= 0.30, ratio
    # the checkpoint loads back into a freshly built quantized model
    fresh = quantize_dynamic(jn.nn.Sequential(jn.nn.Linear(64, 128), jn.nn.ReLU(),
                                              jn.nn.Linear(128, 10)))
    state = jn.load(tmp_path / "int8.safetensors")
    assert state["0.weight"].dtype == jn.int8
    fresh.load_state_dict(state)
    x = test.tensors[0][:32]
    with jn.no_grad():
        np.testing.assert_array_equal(fresh(x).numpy(), qmodel(x).numpy())


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
def test_quantized_linear_close_to_float_and_to_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    w = rng.standard_normal((20, 30)).astype(np.float32) * 0.2
    b = rng.standard_normal(20).astype(np.float32)
    x = rng.standard_normal((2, 7, 30)).astype(np.float32)
    lin = jn.nn.Linear(30, 20)
    with jn.no_grad():
        lin.weight.copy_(jn.tensor(w))
        lin.bias.copy_(jn.tensor(b))
    q = quantize_dynamic(lin)
    assert isinstance(q, QuantizedLinear)
    y = q(jn.tensor(x)).numpy()
    ref = x @ w.T + b
    assert y.shape == (2, 7, 20)
    np.testing.assert_allclose(y, ref, atol=0.05)
    tl = torch.nn.Linear(30, 20)
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(w))
        tl.bias.copy_(torch.tensor(b))
    tq = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(tl), {torch.nn.Linear},
                                                dtype=torch.qint8)
    yt = tq(torch.tensor(x)).detach().numpy()
    # per-channel weights and per-row activations: no further from float than PyTorch's
    assert np.abs(y - ref).mean() <= np.abs(yt - ref).mean() * 1.5


def test_quantized_conv2d_weight_only():
    conv = jn.nn.Conv2d(2, 3, 3, padding=1)
    q = quantize_dynamic(jn.nn.Sequential(conv, jn.nn.ReLU()), {jn.nn.Conv2d})
    assert isinstance(q[0], QuantizedConv2d) and q[0].weight.dtype == jn.int8
    x = jn.randn(2, 2, 5, 5)
    with jn.no_grad():
        np.testing.assert_allclose(q(x).numpy(), jn.nn.functional.relu(conv(x)).numpy(),
                                   atol=0.02)


def test_quantization_errors():
    with pytest.raises(ValueError, match=r"Sequential has no layer to quantize \(looked for "
                                         r"Linear; it holds ReLU, Sequential\)"):
        quantize_dynamic(jn.nn.Sequential(jn.nn.ReLU()))
    with pytest.raises(NotImplementedError, match="only dtype=jitnet.qint8"):
        quantize_dynamic(jn.nn.Linear(2, 2), dtype=jn.float32)
    with pytest.raises(ValueError, match="no quantized version of ReLU"):
        quantize_dynamic(jn.nn.Linear(2, 2), {jn.nn.ReLU})
    q = quantize_dynamic(jn.nn.Linear(4, 2))
    with pytest.raises(RuntimeError, match=r"input of shape \(3, 5\) does not match the "
                                           r"weight's in_features=4"):
        q(jn.zeros(3, 5))
    with pytest.raises(TypeError, match="floating point input"):
        q(jn.zeros(3, 4, dtype=jn.int64))
    x = jn.randn(3, 4, requires_grad=True)
    with pytest.raises(NotImplementedError, match="backward is not supported"):
        q(x).sum().backward()
    assert quantize_dynamic(jn.nn.Sequential(jn.nn.Linear(4, 2)), {"0"})[0].weight.dtype \
        == jn.int8
