"""ONNX export of int8 models (onnx/quantized.py): quantized Linear layers become
MatMulInteger with jitnet's own per-row quantization written out in standard ops, so that
onnxruntime reproduces jitnet's quantized outputs (bit for bit here); weight-only int8 Conv2d;
``jitnet export RUN_DIR --quantize`` on a fresh ``jitnet train --quantize`` run."""
from __future__ import annotations

import numpy as np
import pytest

import jitnet as jn
from jitnet import nn
from jitnet.cli import main
from jitnet.quantization import quantize_dynamic

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
import jitnet.onnx  # noqa: E402


def _export(model, x, opset=17, fold=True):
    proto = jitnet.onnx.export(model.eval(), jn.tensor(x), None,
                               dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                               opset_version=opset, do_constant_folding=fold)
    onnx.checker.check_model(proto, full_check=True)
    return proto, ort.InferenceSession(proto.SerializeToString(),
                                       providers=["CPUExecutionProvider"])


def _jitnet(model, x):
    with jn.no_grad():
        return model(jn.tensor(x)).numpy()


@pytest.mark.parametrize("opset", [13, 17])
def test_quantized_mlp_runs_in_onnxruntime_as_in_jitnet(opset):
    jn.manual_seed(0)
    float_model = nn.Sequential(nn.Linear(20, 33), nn.ReLU(), nn.Linear(33, 10, bias=False))
    q = quantize_dynamic(float_model)
    rng = np.random.default_rng(opset)
    proto, sess = _export(q, rng.standard_normal((3, 20)).astype(np.float32), opset)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("MatMulInteger") == 2 and "MatMul" not in ops and "Gemm" not in ops
    weights = {i.name: i for i in proto.graph.initializer}
    assert weights["0.weight.T"].data_type == onnx.TensorProto.INT8
    assert list(weights["0.weight.T"].dims) == [20, 33]
    for batch in (3, 8):
        x = (rng.standard_normal((batch, 20)) * 3).astype(np.float32)
        x[1] = 0.0  # an all-zero row (scale 1)
        x[2, 5] = 40.0  # one large value sets its row's scale
        (got,) = sess.run(None, {"input": x})
        # the same int8 levels, the same exact int32 sums and the same float32 rescale,
        # in the same order: equal to the last bit (allow 1 ulp against a runtime change)
        np.testing.assert_allclose(got, _jitnet(q, x), rtol=1e-6, atol=1e-7)
        # and close to the float model, as int8 can be
        np.testing.assert_allclose(got, _jitnet(float_model, x), atol=0.1)


def test_quantized_conv_and_linear_model_exports():
    # Conv2d is weight-only int8: Cast + Mul of the int8 weight, then a float Conv (without
    # constant folding, which would store the dequantized float weight instead)
    jn.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 6 * 6, 5))
    q = quantize_dynamic(model, {nn.Conv2d, nn.Linear})
    rng = np.random.default_rng(2)
    proto, sess = _export(q, rng.standard_normal((2, 1, 6, 6)).astype(np.float32), fold=False)
    ops = [n.op_type for n in proto.graph.node]
    assert "Conv" in ops and "MatMulInteger" in ops
    int8 = [i.name for i in proto.graph.initializer if i.data_type == onnx.TensorProto.INT8]
    assert sorted(int8) == ["0.weight", "3.weight.T"]
    x = rng.standard_normal((5, 1, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], _jitnet(q, x), rtol=1e-5,
                               atol=1e-5)


def test_cli_export_quantize_on_a_train_quantize_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--no-progress", "--epochs", "2", "--model", "mlp",
                 "--quantize"]) == 0
    assert (run / "model_int8.safetensors").is_file()
    assert main(["export", str(run)]) == 0
    capsys.readouterr()
    assert main(["export", str(run), "--quantize"]) == 0
    text = capsys.readouterr().out
    path = run / "model_int8.onnx"
    assert f"wrote {path} (opset 17" in text
    assert "input  image   float32 [batch, 1, 8, 8]" in text
    ort_acc, jn_acc = (float(v) for v in
                       text.split("onnxruntime ")[1].replace(", jitnet", "").split())
    assert ort_acc == jn_acc > 0.5  # the int8 jitnet model's accuracy, reproduced
    # int8 weights are a quarter of the float ones; on this small MLP (9.5k weights) the
    # float scales and biases and the graph itself bring the file to ~35% of the float one
    assert path.stat().st_size < 0.4 * (run / "model.onnx").stat().st_size
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    from jitnet.onnx import deploy, quantized

    model, _ = quantized.export_quantized_run(deploy.read_run(run), tmp_path / "again.onnx")
    x = np.random.default_rng(0).random((7, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(sess.run(None, {"image": x})[0], _jitnet(model, x), rtol=1e-6,
                               atol=1e-6)
