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
    text = capsys.readouterr().out
    assert "lenet (61706 parameters) on mnist (64 train / 32 test), 1 epoch, batch" in text


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


def test_bad_out_fails_at_once_in_one_line(tmp_path, capsys, monkeypatch):
    import jitnet.cli as cli

    def no_work(*args):
        raise AssertionError("data was loaded before --out was checked")

    monkeypatch.setattr(cli, "load_data", no_work)
    afile = tmp_path / "README.md"
    afile.write_text("not a directory")
    for out, why in ((str(afile), "exists and is not a directory"),
                     ("/proc/x", "cannot create the directory"),
                     (str(afile / "sub"), "cannot create the directory")):
        assert main(["train", "--out", out, "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"jitnet train: error: --out {out}: {why}"), err
        assert err.count("\n") == 1 and "Traceback" not in err


def test_train_help_and_bad_numbers(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    options = {" ".join(chunk.split()).split(" ")[0]: " ".join(chunk.split())
               for chunk in out.split("\n  --")[1:]}  # "epochs" -> "epochs EPOCHS passes ..."
    for flag, default in (("model", "cnn"), ("epochs", "15"), ("batch-size", "32"),
                          ("lr", "0.005"), ("seed", "0"), ("device", "cpu"), ("data", "digits")):
        assert options[flag].endswith(f"(default: {default})"), options[flag]
        assert len(options[flag].split()) > 4, options[flag]  # a real help text
    text = " ".join(out.split())
    assert "(default: None)" not in text and "(default: False)" not in text
    for bad, says in ((["--lr", "abc"], "argument --lr: expected a positive number"),
                      (["--epochs", "x"], "argument --epochs: expected a positive integer")):
        with pytest.raises(SystemExit) as exc:
            main(["train", *bad])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and f"jitnet train: error: {says}" in err
        assert "invalid _positive" not in err


def test_curves_png_has_a_title_and_integer_epoch_ticks(tmp_path, monkeypatch):
    import matplotlib.figure

    from jitnet.cli import plot_curves

    figures = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                        lambda fig, *a, **k: figures.append(fig))
    history = {"epoch": [1, 2], "loss": [1.0, 0.5], "val_loss": [1.1, 0.6],
               "accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.9]}
    plot_curves(history, tmp_path / "c.png", title="cnn on digits: final test accuracy 90.0%")
    (fig,) = figures
    assert fig._suptitle.get_text() == "cnn on digits: final test accuracy 90.0%"
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


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
