"""Full training steps: forward, cross-entropy, backward, Adam step, zero_grad.

The same architecture (``models.py``) runs in jitnet and PyTorch from the same
initial weights (PyTorch's, copied into jitnet) on the same random batch.
Small models (the digits MLP and CNN) measure per-op overhead; LeNet-5 and the
784-256-128-10 MLP measure kernels and overhead together; the small VGG measures
3x3 convolutions.  ``test_train_step_batch`` times LeNet-5 at batch 16 and 256
and the VGG at 128 besides their default batch (``models.BATCH_SWEEP``):

    python -m pytest bench/bench_train.py --benchmark-only -k "lenet5 or vgg"
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import NN, rand, run, torch
from models import BATCH_SWEEP, MODELS

import jitnet as jn
import jitnet.nn  # noqa: F401  (jn.nn, jn.optim)
import jitnet.optim  # noqa: F401


def build(lib: str, name: str, seed: int = 0, batch: int | None = None):
    """(model, optimizer, cross_entropy, x, y) for one library, weights seeded identically;
    ``batch`` overrides the model's default batch size."""
    builder, default_batch, shape = MODELS[name]
    batch = default_batch if batch is None else batch
    x_np = rand(batch, *shape, seed=seed + 1)
    y_np = np.random.default_rng(seed + 2).integers(0, 10, batch).astype(np.int64)
    if torch is not None:
        torch.manual_seed(seed)
        ref = builder(torch.nn)
    if lib == "torch":
        model = ref
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        return model, opt, torch.nn.functional.cross_entropy, torch.tensor(x_np), \
            torch.tensor(y_np)
    jn.manual_seed(seed)
    model = builder(jn.nn)
    if torch is not None:
        model.load_state_dict({k: jn.tensor(v.detach().numpy())
                               for k, v in ref.state_dict().items()})
    opt = jn.optim.Adam(model.parameters(), lr=1e-3)
    return model, opt, jn.nn.functional.cross_entropy, jn.tensor(x_np), jn.tensor(y_np)


def _time_step(benchmark, lib: str, name: str, batch: int) -> None:
    """Time one Adam step of ``name`` at ``batch``; jitnet's first loss is checked against
    PyTorch's (same weights, same batch)."""
    model, opt, cross_entropy, x, y = build(lib, name, batch=batch)
    benchmark.group = f"train step {name} (batch {batch})"
    benchmark.extra_info["target_torch"] = 1.0

    def step():
        loss = cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    first = float(step().item())
    if lib == "jitnet" and torch is not None:  # same weights and batch: same first loss
        t_model, t_opt, t_ce, tx, ty = build("torch", name, batch=batch)
        with torch.no_grad():
            want = float(t_ce(t_model(tx), ty))
        assert first == pytest.approx(want, rel=1e-4)
    run(benchmark, step)


@pytest.mark.benchmark(group="train step")
@pytest.mark.parametrize("lib", NN)
@pytest.mark.parametrize("name", list(MODELS))
def test_train_step(benchmark, name, lib):
    """One Adam training step of ``name`` at its batch size."""
    _time_step(benchmark, lib, name, MODELS[name][1])


@pytest.mark.benchmark(group="train step")
@pytest.mark.parametrize("lib", NN)
@pytest.mark.parametrize("name,batch", [(n, b) for n, sizes in BATCH_SWEEP.items()
                                        for b in sizes])
def test_train_step_batch(benchmark, name, batch, lib):
    """The batch sweep: one Adam step of ``name`` at another batch size."""
    _time_step(benchmark, lib, name, batch)
