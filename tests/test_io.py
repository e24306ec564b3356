"""jn.save / jn.load: safetensors checkpoints of nested state, reload fidelity, corrupt
files, atomic replacement when a save fails half-way."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

import jitnet as jn
import jitnet.io as jio
from jitnet import nn, optim


def make_model():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 8 * 8, 3))


def test_nested_round_trip(tmp_path):
    obj = {
        "t": jn.tensor([[1.0, 2.0]]), "i": jn.tensor([1, 2], dtype=jn.int64),
        "b": jn.tensor([True, False]), "u8": jn.zeros(2, dtype=jn.uint8),
        "scalar": jn.tensor(3.5, dtype=jn.float64), "empty": jn.zeros(0, 3),
        "arr": np.arange(3, dtype=np.int32),
        "nums": [1, 2.5, -math.inf, math.nan, None, True, "text"],
        "tup": (1, (2, 3)), 7: "int key", "nested": {"deep": [jn.ones(2)]},
        "rg": jn.ones(2, requires_grad=True),
    }
    path = tmp_path / "obj.safetensors"
    jn.save(obj, path)
    back = jn.load(path)
    assert list(back) == list(obj)
    assert back["t"].tolist() == [[1.0, 2.0]] and back["t"].dtype is jn.float32
    assert back["i"].dtype is jn.int64 and back["b"].dtype is jn.bool
    assert back["u8"].dtype is jn.uint8 and tuple(back["empty"].shape) == (0, 3)
    assert back["scalar"].ndim == 0 and back["scalar"].dtype is jn.float64
    assert isinstance(back["arr"], np.ndarray) and back["arr"].dtype == np.int32
    assert back["nums"][:3] == [1, 2.5, -math.inf] and math.isnan(back["nums"][3])
    assert back["nums"][4:] == [None, True, "text"]
    assert back["tup"] == (1, (2, 3)) and back[7] == "int key"
    assert back["nested"]["deep"][0].tolist() == [1.0, 1.0]
    assert back["rg"].requires_grad and not back["t"].requires_grad
    assert jn.load(path, map_location="cpu")["t"].device == "cpu"
    assert jn.load(str(path), map_location={"cpu": "cpu"})["t"].device == "cpu"


def test_model_reload_gives_identical_predictions(tmp_path):
    jn.manual_seed(0)
    model = make_model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    x = jn.randn(4, 1, 8, 8)
    for _ in range(2):  # train a little so running stats and Adam state are non-trivial
        loss = model(x).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    expected = model(x).detach().numpy()
    path = tmp_path / "ckpt.safetensors"
    jn.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 2}, path)

    jn.manual_seed(1)
    fresh = make_model()
    ckpt = jn.load(path)
    fresh.load_state_dict(ckpt["model"])
    fresh.eval()
    np.testing.assert_array_equal(fresh(x).detach().numpy(), expected)
    opt2 = optim.Adam(fresh.parameters(), lr=0.5)
    opt2.load_state_dict(ckpt["optimizer"])
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    assert ckpt["epoch"] == 2 and opt2.state[fresh[0].weight]["step"] == 2
    # a flat state dict keeps its key names: readable by any safetensors tool
    from safetensors.numpy import load_file

    jn.save(model.state_dict(), tmp_path / "flat.safetensors")
    assert sorted(load_file(str(tmp_path / "flat.safetensors"))) == sorted(model.state_dict())


def test_plain_safetensors_file_loads_as_dict(tmp_path):
    from safetensors.numpy import save_file

    save_file({"w": np.ones((2, 2), np.float32)}, str(tmp_path / "plain.safetensors"))
    back = jn.load(tmp_path / "plain.safetensors")
    assert list(back) == ["w"] and back["w"].tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_corrupt_and_truncated_files(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    jn.save({"w": jn.ones(100)}, path)
    raw = path.read_bytes()
    for bad in (raw[:5], raw[:len(raw) - 50], b"\xff" * 40, raw[:8] + b"{not json" + raw[17:]):
        path.write_bytes(bad)
        with pytest.raises(ValueError, match=f"load: {path}.* corrupt, truncated"):
            jn.load(path)
    with pytest.raises(FileNotFoundError):
        jn.load(tmp_path / "missing.safetensors")


def test_unsupported_objects(tmp_path):
    with pytest.raises(TypeError, match="cannot store an object of type Sequential"):
        jn.save(make_model(), tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match=r"at a\.1"):
        jn.save({"a": [1, object()]}, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="dict keys must be"):
        jn.save({(1, 2): 3}, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="f must be a file path"):
        jn.save({}, 3)
    assert not os.path.exists(tmp_path / "m.safetensors")


def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    jn.save({"w": jn.ones(1000), "epoch": 1}, path)
    before = path.read_bytes()

    def crash_half_way(fh, data):
        fh.write(data[: len(data) // 2])
        raise OSError("simulated crash: disk full")

    monkeypatch.setattr(jio, "_write_all", crash_half_way)
    with pytest.raises(OSError, match="simulated crash"):
        jn.save({"w": jn.zeros(1000), "epoch": 2}, path)
    assert path.read_bytes() == before
    assert jn.load(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # no temporary file left behind
    monkeypatch.undo()
    jn.save({"epoch": 3}, path)
    assert jn.load(path) == {"epoch": 3}


def test_a_header_length_that_looks_like_a_pickle_marker_still_loads(tmp_path):
    """A safetensors header of 0x380 bytes starts the file with 80 03, a pickle's protocol
    marker: it must load, not be refused as a PyTorch pickle."""
    import json

    for pad in range(0, 1200):
        state = {"w": jn.zeros(3), "name_" + "x" * pad: jn.ones(1)}
        path = tmp_path / "m.safetensors"
        jn.save(state, path)
        raw = path.read_bytes()
        if raw[0] == 0x80 and raw[1] in (2, 3, 4, 5):
            break
    else:
        pytest.skip("no padding gave a header length starting with 80 0x")
    assert json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])
    loaded = jn.load(path)
    np.testing.assert_array_equal(loaded["w"].numpy(), np.zeros(3, np.float32))
