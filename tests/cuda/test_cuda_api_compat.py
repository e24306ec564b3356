"""PyTorch's device-agnostic API, legacy type names, checkpoints and LBFGS on CUDA (issue 17)."""
import io

import numpy as np

import jitnet as jn


def test_accelerator_is_cuda():
    assert jn.accelerator.is_available() and jn.accelerator.device_count() >= 1
    assert jn.accelerator.current_accelerator() == jn.device("cuda")
    assert jn.accelerator.current_device_index() == 0 == jn.cuda.current_device()
    jn.accelerator.set_device_index(0)
    jn.accelerator.synchronize()
    x = jn.ones(2, device=jn.accelerator.current_accelerator())
    assert x.is_cuda and repr(x) == "tensor([1., 1.], device='cuda:0')"
    dev = jn.device("cuda", 0)
    assert jn.nn.Linear(2, 2).cuda(dev).weight.is_cuda and jn.ones(1).cuda(dev).is_cuda
    assert jn.nn.Linear(2, 2).to(dev).cpu().weight.device == "cpu"


def test_legacy_type_names_on_cuda():
    x = jn.tensor([1.5, -2.5], device="cuda")
    assert x.type() == "jitnet.cuda.FloatTensor"
    y = x.type("torch.cuda.LongTensor")
    assert y.is_cuda and y.dtype is jn.int64 and y.tolist() == [1, -2]
    z = x.type(jn.DoubleTensor)  # the CPU class: moves to the CPU, as in PyTorch
    assert not z.is_cuda and z.dtype is jn.float64
    assert not isinstance(x, jn.FloatTensor)  # FloatTensor means a CPU float32 tensor


def test_save_from_cuda_and_map_location(tmp_path):
    buf = io.BytesIO()
    jn.save({"w": jn.arange(3.0, device="cuda")}, buf)
    buf.seek(0)
    raw = buf.getvalue()
    assert jn.load(io.BytesIO(raw))["w"].is_cuda
    assert not jn.load(io.BytesIO(raw), map_location="cpu")["w"].is_cuda
    back = jn.load(io.BytesIO(raw), map_location=lambda storage, loc: storage)
    assert not back["w"].is_cuda and back["w"].tolist() == [0.0, 1.0, 2.0]
    on_gpu = jn.load(io.BytesIO(raw), map_location=lambda storage, loc: storage.cuda())
    assert on_gpu["w"].is_cuda


def _lbfgs(device):
    x = jn.tensor([-1.5, 2.0, -0.5], dtype=jn.float64, device=device, requires_grad=True)
    opt = jn.optim.LBFGS([x], max_iter=3, history_size=2, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
        loss.backward()
        return loss

    losses = [float(opt.step(closure)) for _ in range(2)]
    return losses, x.detach().cpu().numpy()


def test_lbfgs_on_cuda_matches_cpu():
    (lc, xc), (lg, xg) = _lbfgs("cpu"), _lbfgs("cuda")
    np.testing.assert_allclose(lg, lc, rtol=1e-10)
    np.testing.assert_allclose(xg, xc, rtol=1e-10, atol=1e-12)
