"""``jitnet train --quantize`` and ``jitnet explain RUN_DIR --index N``."""
from __future__ import annotations

import json

import pytest

import jitnet as jn
from jitnet.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    code = main(["train", "--out", str(out), "--no-progress", "--model", "cnn", "--epochs", "1",
                 "--quantize"])
    assert code == 0
    return out


def test_train_quantize_writes_an_int8_model(cnn_run):
    hist = json.loads((cnn_run / "history.json").read_text())
    q = hist["quantized"]
    assert q["bytes"] < q["float_bytes"]
    assert abs(q["val_accuracy"] - hist["best"]["val_accuracy"]) < 0.05
    state = jn.load(cnn_run / "model_int8.safetensors")
    assert state["0.weight"].dtype == jn.int8 and state["9.weight"].dtype == jn.int8


def test_explain_writes_a_png(cnn_run, tmp_path, capsys):
    assert main(["explain", str(cnn_run), "--index", "3"]) == 0
    assert (cnn_run / "explain_3.png").read_bytes()[:8] == PNG
    assert main(["explain", str(cnn_run), "--out", str(tmp_path / "e.png")]) == 0
    assert (tmp_path / "e.png").read_bytes()[:8] == PNG
    assert f"wrote {tmp_path / 'e.png'}" in capsys.readouterr().out


def test_explain_errors(cnn_run, tmp_path, capsys):
    assert main(["explain", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jitnet explain: error: ") and "not a run directory" in err
    assert main(["explain", str(cnn_run), "--index", "5000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jitnet explain: error: --index must be in 0..") and err.count("\n") == 1


def test_explain_an_mlp_run_without_conv_layers(tmp_path):
    from jitnet.cli import build_model

    run = tmp_path / "mlp"
    run.mkdir()
    jn.save(build_model("mlp", (1, 8, 8)).state_dict(), run / "model.safetensors")
    (run / "history.json").write_text(json.dumps({"config": {"model": "mlp",
                                                             "data": "digits"}}))
    assert main(["explain", str(run), "--index", "1"]) == 0  # grad-cam's panel says n/a
    assert (run / "explain_1.png").read_bytes()[:8] == PNG
