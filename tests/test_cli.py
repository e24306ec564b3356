"""The ``jitnet`` command: train (tiny runs, the 97% default run marked slow), info, errors."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from test_data import make_mnist

import jitnet as jn
from jitnet.cli import build_model, main


def run_train(tmp_path, *args):
    out = tmp_path / "run"
    code = main(["train", "--out", str(out), "--no-progress", *args])
    return code, out


def test_train_one_epoch_writes_outputs(tmp_path, capsys):
    code, out = run_train(tmp_path, "--model", "mlp", "--epochs", "2", "--lr", "0.01")
    assert code == 0
    text = capsys.readouterr().out
    assert "epoch   1/2  train loss" in text and "test acc" in text and "best test accuracy" in text
    assert {p.name for p in out.iterdir()} == {"model.safetensors", "history.json", "curves.png",
                                               "config.json", "last.safetensors", "last.json"}
    hist = json.loads((out / "history.json").read_text())
    assert hist["epoch"] == [1, 2] and len(hist["val_accuracy"]) == 2
    assert hist["config"]["model"] == "mlp" and hist["config"]["lr"] == 0.01
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the checkpoint is the best epoch's model: it reproduces that test accuracy
    model = build_model("mlp", (1, 8, 8))
    model.load_state_dict(jn.load(out / "model.safetensors"))
    _, test = jn.data.datasets.load_digits()
    acc = jn.metrics.accuracy(test.tensors[1], jn.predict(model, test.tensors[0]))
    assert acc == pytest.approx(hist["best"]["val_accuracy"]) == max(hist["val_accuracy"])


def test_lenet_on_digits_and_on_mnist_files(tmp_path, capsys):
    code, _ = run_train(tmp_path, "--model", "lenet", "--epochs", "1")
    assert code == 0
    make_mnist(tmp_path / "data", n=64)
    code, out = run_train(tmp_path, "--model", "lenet", "--epochs", "1", "--data", "mnist",
                          "--data-dir", str(tmp_path / "data"), "--batch-size", "16")
    assert code == 0
    assert "lenet (61706 parameters) on mnist (64 train / 32 test)" in capsys.readouterr().out


def test_model_shapes():
    for name in ("mlp", "cnn", "lenet"):
        for shape in ((1, 8, 8), (1, 28, 28), (3, 32, 32)):
            model = build_model(name, shape)
            assert tuple(model(jn.zeros(2, *shape)).shape) == (2, 10), (name, shape)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("resnet", (1, 8, 8))


def test_train_errors(tmp_path, capsys):
    code, _ = run_train(tmp_path, "--data", "mnist", "--data-dir", str(tmp_path / "none"))
    err = capsys.readouterr().err
    assert code == 2 and "train-images-idx3-ubyte" in err and "never downloads" in err
    code, _ = run_train(tmp_path, "--data", "cifar10", "--data-dir", str(tmp_path))
    assert code == 2 and "data_batch_1" in capsys.readouterr().err
    if not jn.cuda.is_available():
        code, _ = run_train(tmp_path, "--device", "cuda")
        assert code == 2 and "CUDA is not available" in capsys.readouterr().err
    assert main(["train", "--device", "tpu"]) == 2
    for bad in (["train", "--epochs", "0"], ["train", "--model", "vgg"], ["train", "--lr", "-1"],
                ["fly"], []):
        with pytest.raises(SystemExit) as exc:
            main(bad)
        assert exc.value.code == 2


def test_info(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    for key in ("jitnet", "python", "numpy", "numba", "llvmlite", "threading", "cuda"):
        assert any(line.startswith(key) for line in text.splitlines()), key
    assert "threads" in text
    proc = subprocess.run([sys.executable, "-m", "jitnet", "info"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("jitnet")


@pytest.mark.slow
def test_default_train_reaches_97_percent(tmp_path, capsys):
    """The acceptance run: ``jitnet train`` with its defaults (CNN on the digits)."""
    code, out = run_train(tmp_path)
    assert code == 0
    hist = json.loads((out / "history.json").read_text())
    assert hist["config"] == {"model": "cnn", "data": "digits", "epochs": 15, "batch_size": 32,
                              "lr": 0.005, "seed": 0, "device": "cpu"}
    assert max(hist["val_accuracy"]) >= 0.97
    assert hist["val_accuracy"][-1] >= 0.97
    assert np.isfinite(hist["seconds"])
