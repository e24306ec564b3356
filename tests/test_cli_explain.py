"""``jitnet train --quantize`` and ``jitnet explain RUN_DIR --index N``."""
from __future__ import annotations

import json

import jitnet as jn
from jitnet.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def test_train_quantize_then_explain(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--out", str(out), "--no-progress", "--model", "cnn", "--epochs", "1",
                 "--quantize"])
    assert code == 0
    text = capsys.readouterr().out
    assert "int8 model: test accuracy" in text
    hist = json.loads((out / "history.json").read_text())
    q = hist["quantized"]
    assert q["bytes"] < q["float_bytes"] and abs(q["val_accuracy"] - hist["best"][
        "val_accuracy"]) < 0.05
    state = jn.load(out / "model_int8.safetensors")
    assert state["0.weight"].dtype == jn.int8
    assert main(["explain", str(out), "--index", "3"]) == 0
    assert (out / "explain_3.png").read_bytes()[:8] == PNG
    assert main(["explain", str(out), "--out", str(tmp_path / "e.png")]) == 0
    assert (tmp_path / "e.png").read_bytes()[:8] == PNG


def test_explain_errors(tmp_path, capsys):
    assert main(["explain", str(tmp_path / "nothing")]) == 2
    assert "jitnet explain: error: " in capsys.readouterr().err
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--no-progress", "--model", "mlp",
                 "--epochs", "1"]) == 0
    capsys.readouterr()
    assert main(["explain", str(out), "--index", "5000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jitnet explain: error: --index must be in 0..") and err.count("\n") == 1
    assert main(["explain", str(out), "--index", "0"]) == 0  # an MLP: grad-cam panel is n/a
