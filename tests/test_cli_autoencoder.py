"""``jitnet train --task autoencoder`` (jitnet/autoencoder.py): a tiny run writes the
reconstruction grid, the per-epoch reconstruction MSE and a checkpoint that reproduces it."""
from __future__ import annotations

import json

import numpy as np
import pytest

import jitnet as jn
from jitnet.autoencoder import build_autoencoder
from jitnet.cli import main


def test_autoencoder_tiny_run(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--task", "autoencoder", "--epochs", "2", "--batch-size", "64",
                 "--out", str(out), "--no-progress"])
    assert code == 0
    text = capsys.readouterr().out
    assert "epoch   2/2  train mse" in text and "best test reconstruction MSE" in text
    assert {p.name for p in out.iterdir()} == {"model.safetensors", "history.json",
                                               "reconstructions.png"}
    hist = json.loads((out / "history.json").read_text())
    assert hist["epoch"] == [1, 2] and len(hist["reconstruction_mse"]) == 2
    assert hist["reconstruction_mse"][1] < hist["reconstruction_mse"][0] < 0.2  # it learns
    assert hist["config"]["task"] == "autoencoder"
    assert (out / "reconstructions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = build_autoencoder(hist["config"]["latent_dim"])
    model.load_state_dict(jn.load(out / "model.safetensors"))
    model.eval()
    _, test = jn.data.datasets.load_digits()
    x = test.tensors[0]
    with jn.no_grad():
        mse = float(((model(x) - x) ** 2).mean().item())
    assert mse == pytest.approx(hist["best"]["reconstruction_mse"], rel=1e-4)


def test_autoencoder_shapes_and_bad_data(tmp_path, capsys):
    model = build_autoencoder(2)
    x = jn.rand(3, 1, 8, 8)
    code = model[0](x)
    assert tuple(code.shape) == (3, 2)
    y = model[1](code)
    assert tuple(y.shape) == (3, 1, 8, 8) and 0 <= y.detach().numpy().min()
    assert np.all(y.detach().numpy() <= 1)
    assert main(["train", "--task", "autoencoder", "--data", "mnist", "--out",
                 str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["jitnet train: error: --task autoencoder trains on the bundled digits, not "
                   "mnist"]
