"""Training that survives being killed: fit(state_dir=, resume_from=) and jitnet train --resume.

A resumed run must end with the same parameters, bit for bit, as one never interrupted:
the model, optimizer, scheduler, callbacks and every random stream (shuffling, dropout,
augmentation) come back from RUN_DIR/last.safetensors.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import jitnet as jn
from jitnet import nn
from jitnet.data import DataLoader, Dataset, transforms
from jitnet.training import Callback, EarlyStopping, ModelCheckpoint

ROOT = Path(__file__).resolve().parents[1]


class Augmented(Dataset):
    """8 features shaped (1, 2, 4) with a random horizontal flip: augmentation draws."""

    def __init__(self, n: int = 48) -> None:
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((n, 1, 2, 4)).astype(np.float32)
        self.y = rng.integers(0, 3, n)
        self.flip = transforms.RandomHorizontalFlip()

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i):
        return self.flip(jn.tensor(self.x[i])), int(self.y[i])


class Interrupt(Callback):
    """Raises at the end of epoch ``at``, before its state is written: the run dies in
    epoch ``at`` and resumes after epoch ``at - 1``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_epoch_end(self, epoch, logs):
        if epoch == self.at:
            raise KeyboardInterrupt


def _train(tmp_path, epochs=4, seed=0, state_dir=None, resume_from=None, interrupt=None,
           generator=False):
    jn.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.3),
                          nn.BatchNorm1d(16), nn.Linear(16, 3))
    opt = jn.optim.Adam(model.parameters(), lr=0.01)
    sched = jn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    gen = jn.Generator().manual_seed(seed + 1) if generator else None
    loader = DataLoader(Augmented(), batch_size=8, shuffle=True, generator=gen)
    ckpt = ModelCheckpoint(tmp_path / "best.safetensors", monitor="loss")
    stop = EarlyStopping(monitor="loss", patience=5)
    callbacks = [ckpt, stop] + ([Interrupt(interrupt)] if interrupt else [])
    try:
        history = jn.fit(model, loader, opt, nn.CrossEntropyLoss(), epochs=epochs,
                         callbacks=callbacks, scheduler=sched, progress=False,
                         state_dir=state_dir, resume_from=resume_from)
    except KeyboardInterrupt:
        return None
    return model, history, ckpt


@pytest.mark.parametrize("generator", [False, True])
def test_fit_resume_is_bit_exact(tmp_path, generator):
    model_a, hist_a, ckpt_a = _train(tmp_path / "a", generator=generator)
    run = tmp_path / "run"
    assert _train(tmp_path / "b", state_dir=run, interrupt=3, generator=generator) is None
    summary = json.loads((run / "last.json").read_text())
    assert summary["epoch"] == 2 and summary["epochs"] == 4
    # a different seed: the weights, the optimizer and every stream must come from the file
    model_b, hist_b, ckpt_b = _train(tmp_path / "b", seed=99, state_dir=run, resume_from=run,
                                     generator=generator)
    for (k, a), (k2, b) in zip(model_a.state_dict().items(), model_b.state_dict().items()):
        assert k == k2 and np.array_equal(a.numpy(), b.numpy()), k
    assert hist_b.epochs == [1, 2, 3, 4]
    assert hist_a["loss"] == hist_b["loss"] and hist_a["lr"] == hist_b["lr"]
    assert (ckpt_a.best, ckpt_a.best_epoch) == (ckpt_b.best, ckpt_b.best_epoch)


def test_fit_resume_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no training state"):
        _train(tmp_path, resume_from=tmp_path / "nothing")
    jn.save({"a": jn.zeros(1)}, tmp_path / "last.safetensors")
    with pytest.raises(ValueError, match="not a training state"):
        _train(tmp_path, resume_from=tmp_path)


def test_rng_state_round_trip():
    state = jn.get_rng_state()
    a = (jn.rand(4).numpy(), jn.nn.functional.dropout(jn.ones(64), 0.5).numpy())
    jn.set_rng_state(state)
    b = (jn.rand(4).numpy(), jn.nn.functional.dropout(jn.ones(64), 0.5).numpy())
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    gen = jn.Generator().manual_seed(3)
    saved = gen.get_state()
    first = jn.randperm(10, generator=gen).tolist()
    assert jn.randperm(10, generator=gen.set_state(saved)).tolist() == first
    with pytest.raises(TypeError, match="set_rng_state: expected a state dict"):
        jn.set_rng_state([1, 2])


# ---------------------------------------------------------------------- the command line

def _env() -> dict:
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


def _jitnet(*args: str) -> list[str]:
    return [sys.executable, "-m", "jitnet", "train", *args]


TINY = ("--model", "mlp", "--epochs", "3", "--batch-size", "1", "--no-progress")


@pytest.mark.slow
def test_train_killed_and_resumed_is_bit_exact(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    subprocess.run(_jitnet(*TINY, "--out", str(whole)), check=True, env=_env(),
                   capture_output=True, timeout=600)
    proc = subprocess.Popen(_jitnet(*TINY, "--out", str(cut)), env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while not (cut / "last.json").is_file() and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)  # right after epoch 1's state was written
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (cut / "history.json").exists()     # it really died mid-way
    done = json.loads((cut / "last.json").read_text())["epoch"]
    assert 1 <= done < 3
    resumed = subprocess.run(_jitnet("--resume", str(cut), "--no-progress"), env=_env(),
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {cut}" in resumed.stdout
    assert "epoch   1/3" not in resumed.stdout and "epoch   3/3" in resumed.stdout
    a, b = jn.load(whole / "last.safetensors"), jn.load(cut / "last.safetensors")
    assert a["epoch"] == b["epoch"] == 3
    assert list(a["model"]) == list(b["model"])
    for key in a["model"]:
        assert np.array_equal(a["model"][key].numpy(), b["model"][key].numpy()), key
    ha, hb = (json.loads((d / "history.json").read_text()) for d in (whole, cut))
    assert ha["loss"] == hb["loss"] and ha["val_accuracy"] == hb["val_accuracy"]
    assert ha["best"] == hb["best"]


def test_train_resume_without_state_is_a_one_line_error(tmp_path):
    proc = subprocess.run(_jitnet("--resume", str(tmp_path)), env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jitnet train: error: --resume: ")
    assert "no training state" in lines[0] and "Traceback" not in proc.stderr
