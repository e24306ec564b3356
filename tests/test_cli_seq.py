"""The CLI's sequence models: ``--model lstm|transformer`` on digits (shapes), ``--task charlm``
(a tiny run on a given file) and ``jitnet generate``, and their errors."""
from __future__ import annotations

import json

import numpy as np

import jitnet as jn
from jitnet.charlm import stdlib_corpus
from jitnet.cli import build_model, main


def test_digit_sequence_models_classify_rows():
    x = jn.randn(3, 1, 8, 8)
    for name in ("lstm", "transformer"):
        model = build_model(name, (1, 8, 8))
        assert tuple(model(x).shape) == (3, 10)
    assert "encoder.layers.1.self_attn.in_proj_weight" in build_model(
        "transformer", (1, 8, 8)).state_dict()


def test_stdlib_corpus_is_python_source():
    text = stdlib_corpus(20_000)
    assert len(text) == 20_000 and "def " in text and "import" in text


def test_charlm_train_then_generate(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("def add(a, b):\n    return a + b\n\n" * 150, encoding="utf-8")
    out = tmp_path / "run"
    code = main(["train", "--task", "charlm", "--model", "lstm", "--data-file", str(corpus),
                 "--epochs", "1", "--batch-size", "4", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "val loss" in text and "nats/char" in text
    hist = json.loads((out / "history.json").read_text())
    assert np.isfinite(hist["best_val_loss"]) and hist["config"]["model"] == "lstm"
    assert main(["generate", str(out), "--prompt", "def ", "--length", "30",
                 "--temperature", "0"]) == 0
    sample = capsys.readouterr().out
    assert sample.startswith("def ") and len(sample.rstrip("\n")) >= 34
    assert main(["generate", str(out), "--prompt", "\u00e9"]) == 2
    assert "never saw" in capsys.readouterr().err
    assert main(["generate", str(tmp_path / "nothing")]) == 2
    assert "not a charlm run directory" in capsys.readouterr().err


def test_charlm_errors(tmp_path, capsys):
    assert main(["train", "--task", "charlm", "--model", "cnn", "--out", str(tmp_path)]) == 2
    assert "needs --model lstm or transformer" in capsys.readouterr().err
    small = tmp_path / "small.txt"
    small.write_text("abc", encoding="utf-8")
    assert main(["train", "--task", "charlm", "--model", "transformer", "--data-file",
                 str(small), "--out", str(tmp_path)]) == 2
    assert "charlm needs at least" in capsys.readouterr().err
