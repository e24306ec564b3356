"""A LeNet-style training step on CUDA matches the CPU step, and moves no data to the host."""
import copy
import os
import subprocess
import sys

import numpy as np
import pytest
from twins import rand

import jitnet as jn
import jitnet.nn as nn
import jitnet.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def small_lenet():
    """LeNet's layer pattern at simulator scale: conv-relu-pool twice, then two linears."""
    jn.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 3x4x4
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2),              # 4x1x1
        nn.Flatten(), nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3),
    )


def _batch():
    x = rand(4, 1, 8, 8, seed=1)
    y = np.array([0, 2, 1, 2])
    return x, y


def _step(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def test_lenet_step_matches_cpu():
    cpu = small_lenet()
    dev = copy.deepcopy(cpu).to("cuda")
    assert all(p.is_cuda for p in dev.parameters())
    x_np, y_np = _batch()
    results = {}
    for name, model in (("cpu", cpu), ("cuda", dev)):
        opt = jn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x, y = jn.tensor(x_np, device=name), jn.tensor(y_np, device=name)
        losses = [_step(model, opt, x, y).item() for _ in range(2)]
        grads = [p.grad.cpu().numpy() for p in model.parameters()]
        params = [p.detach().cpu().numpy() for p in model.parameters()]
        results[name] = losses, grads, params
    (lc, gc, pc), (ld, gd, pd) = results["cpu"], results["cuda"]
    np.testing.assert_allclose(ld, lc, rtol=1e-5)
    for a, b in zip(gd + pd, gc + pc):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


class _Counter:
    """Counts every host <-> device copy: the table's entry points and Numba's own."""

    def __init__(self, monkeypatch, device_array_type):
        import numba.cuda

        import jitnet.kernels.cuda as table
        import jitnet.kernels.cuda.array as array

        self.calls = []
        for owner, name in ((numba.cuda, "to_device"), (device_array_type, "copy_to_host"),
                            (table, "to_host"), (table, "from_host"), (array, "to_host"),
                            (array, "from_host")):
            original = getattr(owner, name)
            monkeypatch.setattr(owner, name, self._wrap(name, original))

    def _wrap(self, name, fn):
        def counted(*args, **kwargs):
            self.calls.append(name)
            return fn(*args, **kwargs)
        return counted


def test_training_step_makes_no_host_transfers(monkeypatch):
    model = small_lenet().to("cuda")
    opt = jn.optim.Adam(model.parameters(), lr=0.01)
    x_np, y_np = _batch()
    x, y = jn.tensor(x_np, device="cuda"), jn.tensor(y_np, device="cuda")
    _step(model, opt, x, y).item()  # warm-up: optimizer state, deferred checks
    counter = _Counter(monkeypatch, type(x._data))
    loss = _step(model, opt, x, y)
    assert counter.calls == [], counter.calls
    value = loss.item()  # the one sync of a step: the loss, and the deferred label check
    assert np.isfinite(value) and counter.calls and "copy_to_host" in counter.calls
    assert "to_device" not in counter.calls


def test_mixed_devices_raise_naming_both():
    a, b = jn.ones(2), jn.ones(2, device="cuda")
    for fn in (lambda: a + b, lambda: a @ b, lambda: jn.cat([a, b]), lambda: a < b,
               lambda: F.linear(b.reshape(1, 2), jn.ones(3, 2))):
        with pytest.raises(RuntimeError, match=r"cpu.*cuda|cuda.*cpu"):
            fn()
    m = nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match=r"cpu.*cuda|cuda.*cpu"):
        m(b.reshape(1, 2))


def test_a_kernel_the_cuda_table_lacks_names_the_op():
    import jitnet.kernels.cuda as table

    with pytest.raises(AttributeError):
        table.no_such_kernel  # noqa: B018  (not a CPU kernel either)


def _run(code, sim):
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM=sim)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


@pytest.mark.parametrize("sim", ["0", "1"])
def test_import_stays_silent_and_never_imports_numba_cuda(sim):
    r = _run("import jitnet, sys; print('numba.cuda' in sys.modules)", sim)
    assert r.returncode == 0 and r.stdout.strip() == "False" and r.stderr == "", r.stderr


def test_without_cuda_the_error_says_how_to_get_it():
    r = _run("import jitnet as jn\n"
             "print(jn.cuda.is_available())\n"
             "try:\n    jn.zeros(2, device='cuda')\n"
             "except RuntimeError as e:\n    print(e)\n", "0")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    if r.stdout.startswith("True"):
        pytest.skip("a real GPU is available here")
    first, message = r.stdout.split("\n", 1)
    assert first == "False"
    assert "CUDA is not available" in message and "pip install" in message
    assert "NUMBA_ENABLE_CUDASIM=1" in message


def test_batchnorm_dropout_embedding_rnn_and_clipping_modules():
    jn.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                        nn.Dropout2d(0.3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(3, 2))
    emb, rnn = nn.Embedding(5, 3), nn.RNN(3, 4, batch_first=True)
    x_np, tok = rand(2, 2, 4, 4, seed=2), np.array([[1, 4, 0], [2, 2, 3]])
    out = {}
    for dev in ("cpu", "cuda"):
        mods = [copy.deepcopy(m).to(dev) for m in (net, emb, rnn)]
        params = [p for m in mods for p in m.parameters()]
        jn.manual_seed(5)  # the same dropout mask on both devices
        y = mods[0](jn.tensor(x_np, device=dev))
        seq, h = mods[2](mods[1](jn.tensor(tok, device=dev)))
        loss = (y * y).sum() + (seq * seq).mean() + h.sum()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(params, 0.5)
        mods[0].eval()
        out[dev] = ([loss.item(), float(norm)] +
                    [p.grad.cpu().numpy() for p in params] +
                    [b.cpu().numpy() for b in mods[0].buffers()] +
                    [mods[0](jn.tensor(x_np, device=dev)).detach().cpu().numpy()])
    for a, b in zip(out["cuda"], out["cpu"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_fit_evaluate_predict_on_cuda():
    from jitnet.data import DataLoader, TensorDataset

    x = jn.tensor(rand(8, 5, seed=3))
    y = jn.tensor(np.array([0, 1, 2, 0, 1, 2, 0, 1]))
    jn.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 3))
    opt = jn.optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    hist = jn.fit(model, loader, opt, nn.CrossEntropyLoss(), epochs=2, device="cuda",
                  progress=False)
    assert all(p.is_cuda for p in model.parameters())
    assert np.isfinite(hist["loss"]).all()
    scores = jn.evaluate(model, loader, nn.CrossEntropyLoss(), device="cuda")
    assert np.isfinite(scores["loss"])
    assert jn.predict(model, x, device="cuda").shape == (8, 3)
