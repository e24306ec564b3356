"""`jitnet export` and `jitnet predict` on fresh `jitnet train` runs (digits; fake MNIST files,
whose normalisation must end up inside the graph)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from test_data import make_mnist

from jitnet.cli import main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def train(tmp_path, *args):
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--no-progress", "--epochs", "1", *args]) == 0
    return out


def test_export_and_predict_digits(tmp_path, capsys):
    run = train(tmp_path)  # the default model (a CNN with batch norm), as a user would
    recorded = json.loads((run / "history.json").read_text())["export"]
    assert recorded["input_shape"] == [1, 8, 8] and recorded["mean"] is recorded["std"] is None
    capsys.readouterr()
    assert main(["export", str(run)]) == 0
    text = capsys.readouterr().out
    assert f"wrote {run / 'model.onnx'} (opset 17" in text
    assert "input  image   float32 [batch, 1, 8, 8]" in text
    assert "output logits  float32 [batch, 10]" in text
    ort_acc, jn_acc = (float(v) for v in
                       text.split("onnxruntime ")[1].replace(", jitnet", "").split())
    assert ort_acc == jn_acc > 0.5
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.save(tmp_path / "img.npy", (digits.images[0] / 16).astype(np.float32))
    big = (np.kron(digits.images[5] / 16, np.ones((3, 3))) * 255).astype(np.uint8)  # 24x24
    np.save(tmp_path / "big.npy", big)
    assert main(["predict", str(run), str(tmp_path / "img.npy"), str(tmp_path / "big.npy")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'img.npy'}: class ")
    probs = [float(tok) for tok in lines[1].split()[1::2]]
    assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-3
    assert lines[2].startswith(f"{tmp_path / 'big.npy'}: class ")
    import matplotlib.pyplot as plt

    plt.imsave(tmp_path / "ink.png", 1 - digits.images[3] / 16, cmap="gray", vmin=0, vmax=1)
    batch = (digits.images[:4] / 16).astype(np.float32)[:, None]  # (4, 1, 8, 8)
    np.save(tmp_path / "batch.npy", batch)
    assert main(["predict", str(run), str(tmp_path / "ink.png"), str(tmp_path / "batch.npy"),
                 "--invert"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'ink.png'}: class ")
    assert [ln.split(":")[0] for ln in lines[2::2]] == [f"{tmp_path / 'batch.npy'}[{i}]"
                                                        for i in range(4)]
    sess = ort.InferenceSession(str(run / "model.onnx"), providers=["CPUExecutionProvider"])
    want = sess.run(None, {"image": 1 - batch})[0].argmax(1)  # --invert applies to all
    assert [int(ln.split("class ")[1].split()[0]) for ln in lines[2::2]] == list(want)
    assert main(["export", str(run), "--opset", "9"]) == 2
    assert "opset_version must be an int in [13, 21]" in capsys.readouterr().err


def test_export_puts_the_normalisation_in_the_graph(tmp_path, capsys):
    make_mnist(tmp_path / "data", n=32)
    run = train(tmp_path, "--model", "lenet", "--data", "mnist", "--data-dir",
                str(tmp_path / "data"), "--batch-size", "16")
    capsys.readouterr()
    out = tmp_path / "m.onnx"
    assert main(["export", str(run), "--out", str(out), "--opset", "13"]) == 0
    text = capsys.readouterr().out
    assert "input  image   float32 [batch, 1, 28, 28]" in text and "(16 images)" in text
    from jitnet.cli import build_model, load_data
    from jitnet.io import load

    model = build_model("lenet", (1, 28, 28))
    model.load_state_dict(load(run / "model.safetensors"))
    model.eval()
    _, test = load_data("mnist", str(tmp_path / "data"))  # normalised as in training
    raw = test.tensors[0].numpy() * 0.3081 + 0.1307       # back to [0, 1]
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"image": raw})[0],
                               model(test.tensors[0]).detach().numpy(), rtol=1e-3, atol=1e-4)
    assert [n.op_type for n in onnx.load(str(out)).graph.node][:2] == ["Sub", "Div"]


def test_export_and_predict_errors(tmp_path, capsys):
    assert main(["export", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jitnet export: error: ") and err.count("\n") == 1
    (tmp_path / "half").mkdir()
    assert main(["export", str(tmp_path / "half")]) == 2
    assert "history.json not found" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "half"), "x.png"]) == 2
    err = capsys.readouterr().err
    assert "model.onnx not found; run `jitnet export" in err and err.count("\n") == 1
