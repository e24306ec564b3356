"""jitnet.onnx.export: graphs pass onnx.checker, onnxruntime agrees with jitnet at two batch
sizes under dynamic_axes, and what cannot be exported raises naming the op and the layer."""
from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

import jitnet as jn
from jitnet import nn
from jitnet.nn import functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
import jitnet.onnx  # noqa: E402

RTOL, ATOL = 1e-3, 1e-4


def run_ort(proto, feeds):
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def roundtrip(model, shape, batches=(2, 5), dtype=np.float32, low=None, opset=17, fold=True,
              seed=0):
    """Export with a dynamic batch axis and compare onnxruntime with jitnet at each batch."""
    rng = np.random.default_rng(seed)

    def make(b):
        if low is not None:  # integer inputs (indices) in [0, low)
            return rng.integers(0, low, (b,) + shape).astype(dtype)
        return rng.standard_normal((b,) + shape).astype(dtype)

    model.eval()
    proto = jitnet.onnx.export(model, jn.tensor(make(batches[0])), None,
                               dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                               opset_version=opset, do_constant_folding=fold)
    onnx.checker.check_model(proto, full_check=True)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for b in batches:
        x = make(b)
        ref = model(jn.tensor(x))
        (got,) = run_ort(proto, {"input": x})
        np.testing.assert_allclose(got, ref.detach().numpy(), rtol=RTOL, atol=ATOL)
    return proto


def op_types(proto) -> list[str]:
    return [n.op_type for n in proto.graph.node]


# ---------------------------------------------------------------------- whole models

def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def bn_cnn():
    m = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.3),
        nn.Conv2d(8, 8, 3, stride=2), nn.BatchNorm2d(8), nn.LeakyReLU(0.1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5), nn.Linear(8, 4),
        nn.BatchNorm1d(4))
    m.train()
    for _ in range(3):  # running statistics away from 0 / 1
        m(jn.randn(6, 3, 9, 9) * 2 + 1)
    return m


@pytest.mark.parametrize("name", ["mlp", "lenet5", "bn_cnn"])
def test_models_roundtrip_at_two_batch_sizes(name):
    jn.manual_seed(0)
    if name == "mlp":
        model, shape = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.Tanh(),
                                     nn.Linear(32, 10), nn.LogSoftmax(dim=1)), (1, 8, 8)
    elif name == "lenet5":
        model, shape = lenet5(), (1, 28, 28)
    else:
        model, shape = bn_cnn(), (3, 9, 9)
    proto = roundtrip(model, shape)
    if name == "bn_cnn":
        assert op_types(proto).count("BatchNormalization") == 3
        assert "Dropout" not in op_types(proto)  # eval mode: dropout is not in the graph
        assert model[1].training is False or model.training  # flags restored (eval here)


def test_training_flags_are_restored_and_weights_are_initializers():
    model = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5))
    model.train()
    model[1].eval()
    proto = jitnet.onnx.export(model, jn.randn(2, 3), None)
    assert model.training and model[0].training and not model[1].training
    assert {i.name for i in proto.graph.initializer} == {"0.weight", "0.bias"}


# ---------------------------------------------------------------------- covered ops

class Lambda(nn.Module):
    def __init__(self, fn, *layers):
        super().__init__()
        self.fn = fn
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        return self.fn(x, *self.layers)


def _conv(**kw):
    return Lambda(lambda x, c: c(x), nn.Conv2d(4, 6, 3, **kw))


OPS = {
    "conv_groups_stride": (_conv(groups=2, stride=2, padding=1), (4, 9, 9)),
    "conv_dilation_nobias": (_conv(dilation=2, bias=False, padding=(2, 1)), (4, 9, 8)),
    "conv_same": (Lambda(lambda x, c: c(x), nn.Conv2d(4, 3, 4, padding="same")), (4, 7, 7)),
    "maxpool_pad_dilation": (Lambda(lambda x: F.max_pool2d(x, 3, 2, padding=1, dilation=2)),
                             (2, 9, 9)),
    "maxpool_ceil": (Lambda(lambda x: F.max_pool2d(x, 2, ceil_mode=True)), (2, 7, 7)),
    "avgpool": (Lambda(lambda x: F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False)),
                (2, 8, 8)),
    "avgpool_pad": (Lambda(lambda x: F.avg_pool2d(x, 2, padding=1)), (2, 5, 5)),
    "adaptive_avg_1": (Lambda(lambda x, p: p(x), nn.AdaptiveAvgPool2d(1)), (3, 5, 7)),
    "adaptive_avg_2": (Lambda(lambda x, p: p(x), nn.AdaptiveAvgPool2d((2, 3))), (3, 4, 6)),
    "activations": (Lambda(lambda x: jn.cat([F.relu(x), F.leaky_relu(x, 0.2), F.sigmoid(x),
                                             F.tanh(x), F.gelu(x), F.gelu(x, approximate="tanh"),
                                             F.softmax(x, dim=1), F.log_softmax(x, dim=-1)], 1)),
                    (3, 4)),
    "unary_math": (Lambda(lambda x: jn.cat([x.abs().sqrt(), (x.abs() + 1).log(), x.exp(),
                                            -x, x.sin(), x.cos(), x.sign(), x.square(),
                                            (x.abs() + 1).reciprocal(), x.clamp(-0.5, 0.5),
                                            x.clamp(min=0.1), x ** 3, (x.abs() + 1).rsqrt(),
                                            (x.abs()).log1p(), x.expm1(), (x.abs() + 1).log2(),
                                            (x.abs() + 1).log10(), x.exp2(), (x * 3).floor(),
                                            (x * 3).ceil(), (x * 3).trunc(), (x * 3).frac(),
                                            (x * 3).round(), x.round(decimals=1), x.erf(),
                                            F.softplus(x), F.softplus(x, beta=2.0), F.mish(x),
                                            F.silu(x), F.hardtanh(x, -0.3, 0.4), F.elu(x, 0.7),
                                            F.selu(x)], 1)), (5,)),
    "arithmetic_broadcast": (Lambda(lambda x, l: (2 - x) * l.weight[:1] / (x.abs() + 1)
                                    + (x.reshape(-1, 3, 1) @ jn.ones(1, 3) ** 2).sum(2) * 0.5
                                    - jn.maximum(x, jn.zeros(3))
                                    + jn.minimum(x, 0.5 / (1 + x.abs()))
                                    + 1 / (x.abs() + 2) + 2 ** x.clamp(-1, 1),
                                    nn.Linear(3, 3)), (3,)),
    "shapes": (Lambda(lambda x: jn.cat([x.flatten(1), x.transpose(1, 2).reshape(x.shape[0], -1),
                                        x.permute(0, 2, 1).contiguous().view(-1, 12)], 1)),
               (3, 4)),
    "slicing": (Lambda(lambda x: jn.cat([x[:, 1:3], x[:, ::2], x[:, -1:], x[..., 0, None],
                                         x[:, 1].unsqueeze(1), x.flip(1)[:, :2],
                                         x.narrow(1, 1, 2), x.split(2, 1)[1],
                                         x.chunk(2, 1)[0]], 1)), (4,)),
    "gather_index": (Lambda(lambda x: jn.cat([
        x[:, jn.tensor([2, 0, 2])], x.index_select(1, jn.tensor([3, 1])),
        x.gather(1, x.sort(1).indices[:, 1:3])
    ], 1)), (4,)),
    "reductions": (Lambda(lambda x: jn.cat([
        x.sum(1), x.mean(-1), x.sum((1, 2), keepdim=True).reshape(-1, 1), x.amax(2),
        x.max(1).values, x.min(2)[0], x.var(2), x.std(1), x.logsumexp(2), x.prod(2),
        x.max(2).indices.float(), x.norm(dim=1), x.cumsum(2)[:, 0], x.norm(p=1, dim=2),
        x.norm(p=3, dim=2), x.amin((1, 2)).reshape(-1, 1)], 1)), (3, 4)),
    "embedding": (Lambda(lambda x, e, f: e(x).sum(1) + F.embedding(x[:, :2], f.weight).mean(1),
                         nn.Embedding(11, 5), nn.Embedding(11, 5)), (3,)),
    "dropout_functional": (Lambda(lambda x: F.dropout(x, 0.5, training=False) * 2), (3,)),
    "where_mask": (Lambda(lambda x: jn.where(jn.tril(jn.ones(3, 3)) > 0, x, -x).masked_fill(
        jn.eye(3) > 0, 7.0)), (3, 3)),
    "sort_topk": (Lambda(lambda x: jn.cat([x.sort(1).values, x.topk(2, 1).values,
                                           x.sort(1, descending=True).indices.float()], 1)),
                  (5,)),
    "linear_3d": (Lambda(lambda x, l: l(x), nn.Linear(4, 2)), (3, 4)),
    "batchnorm_no_affine": (Lambda(lambda x, b: b(x), nn.BatchNorm1d(3, affine=False)), (3, 4)),
    "scatter": (Lambda(lambda x: x.scatter(1, x.sort(1).indices[:, :2], x[:, 2:4] * 10)
                       + x.scatter(1, x.sort(1).indices[:, 1:2], -1.0)
                       + x.scatter_add(1, jn.cat([x.sort(1).indices[:, :2]] * 2, 1), x)),
                (5,)),
    "pad": (Lambda(lambda x: F.pad(x, (1, 2, -1, 1), value=0.5) + F.pad(x, (0, 3))),
            (2, 3, 4)),
}


# the ONNX ops each case must produce (so a case cannot pass by exporting something else)
EXPECTED = {
    "conv_groups_stride": {"Conv"}, "conv_dilation_nobias": {"Conv"}, "conv_same": {"Conv"},
    "maxpool_pad_dilation": {"MaxPool"}, "maxpool_ceil": {"MaxPool"},
    "avgpool": {"AveragePool"}, "avgpool_pad": {"AveragePool"},
    "adaptive_avg_1": {"GlobalAveragePool"}, "adaptive_avg_2": {"AveragePool"},
    "activations": {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Softmax", "LogSoftmax",
                    "Concat"},
    "unary_math": {"Abs", "Sqrt", "Log", "Exp", "Neg", "Sin", "Cos", "Sign", "Reciprocal",
                   "Clip", "Pow", "Mul", "Floor", "Ceil", "Round", "Erf", "Softplus", "Elu",
                   "Selu", "Sigmoid", "Tanh"},
    "arithmetic_broadcast": {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "MatMul",
                             "Reshape", "ReduceSum"},
    "shapes": {"Reshape", "Transpose", "Concat"},
    "slicing": {"Slice", "Gather", "Unsqueeze"},
    "gather_index": {"Gather", "GatherElements", "TopK"},
    "reductions": {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ArgMax",
                   "CumSum", "Sqrt"},
    "embedding": {"Gather"}, "dropout_functional": {"Mul"}, "where_mask": {"Where"},
    "sort_topk": {"TopK", "Cast"}, "linear_3d": {"MatMul", "Add", "Transpose"},
    "batchnorm_no_affine": {"BatchNormalization"}, "pad": {"Pad"},
    "scatter": {"ScatterElements", "Expand"},
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_covered_ops(name):
    jn.manual_seed(1)
    model, shape = OPS[name]
    if name == "embedding":
        proto = roundtrip(model, shape, dtype=np.int64, low=11)
    else:
        proto = roundtrip(model, shape)
    assert EXPECTED[name] <= set(op_types(proto)), set(op_types(proto))
    assert "Dropout" not in op_types(proto)


def test_embedding_int32_indices_and_opsets():
    jn.manual_seed(2)
    model = nn.Sequential(nn.Embedding(9, 4), nn.Flatten(), nn.Linear(12, 2))
    roundtrip(model, (3,), dtype=np.int32, low=9)
    red = Lambda(lambda x: x.mean(1) + x.sum(1) + F.gelu(x).amax(1))
    for opset in (13, 18, 20):
        proto = roundtrip(red, (4,), opset=opset)
        assert ("Gelu" in op_types(proto)) == (opset >= 20)


def test_constant_folding():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(jn.randn(3, 4))

        def forward(self, x):
            return x @ (self.w.t() * 2)

    folded = roundtrip(Net(), (4,))
    assert op_types(folded) == ["MatMul", "Identity"]
    unfolded = roundtrip(Net(), (4,), fold=False)
    assert "Transpose" in op_types(unfolded) and "Mul" in op_types(unfolded)


def test_reshape_is_shape_agnostic_and_static_without_dynamic_axes():
    model = Lambda(lambda x: x.reshape(x.shape[0], 2, -1).sum(2))
    proto = roundtrip(model, (3, 4))
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in proto.graph.initializer}
    (reshape,) = [n for n in proto.graph.node if n.op_type == "Reshape"]
    assert list(inits[reshape.input[1]]) == [0, 2, 6]  # 0: the input's (dynamic) batch
    static = jitnet.onnx.export(model, jn.randn(2, 3, 4), None)
    assert static.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2


def test_file_targets_and_names(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=1))
    x = jn.randn(2, 3)
    path = tmp_path / "m.onnx"
    jitnet.onnx.export(model, (x,), str(path), input_names=["features"],
                       output_names=["probs"], dynamic_axes={"features": [0], "probs": [0]})
    buf = io.BytesIO()
    jitnet.onnx.export(model, x, buf)
    for blob in (path.read_bytes(), buf.getvalue()):
        m = onnx.load_from_string(blob)
        onnx.checker.check_model(m)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["features"]
    assert sess.get_inputs()[0].shape == ["features_dynamic_axes_1", 3]
    got = sess.run(["probs"], {"features": np.ones((4, 3), np.float32)})[0]
    np.testing.assert_allclose(got, model(jn.ones(4, 3)).detach().numpy(), rtol=RTOL, atol=ATOL)


def test_two_inputs_and_outputs():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, a, b):
            h = self.fc(a) + b
            return h.relu(), h.sum(1)

    m = Two()
    a, b = jn.randn(2, 3), jn.randn(2, 3)
    proto = jitnet.onnx.export(m, (a, b), None)
    got = run_ort(proto, {"input_0": a.numpy(), "input_1": b.numpy()})
    ref = m(a, b)
    for g_, r in zip(got, ref):
        np.testing.assert_allclose(g_, r.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert [o.name for o in proto.graph.output] == ["output_0", "output_1"]


# ---------------------------------------------------------------------- what raises

class Loss(nn.Module):
    def forward(self, x):
        return F.cross_entropy(x, jn.zeros(x.shape[0], dtype=jn.int64))


def test_unknown_op_names_the_op_and_the_layer_path():
    model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.ReLU(), Loss()))
    with pytest.raises(NotImplementedError, match=r"ClassLoss at model\.1\.1: no ONNX emitter"):
        jitnet.onnx.export(model, jn.randn(2, 3), None)


def test_untraced_dependency_on_the_input_raises():
    # the comparison leaves the tape: a graph would bake in this example's mask
    model = nn.Sequential(nn.Linear(3, 3), Lambda(lambda x: jn.where(x > 0, x, x * 0.1)))
    with pytest.raises(NotImplementedError, match=r"Where at model\.1: one of its inputs "
                                                  r"depends on the model's input"):
        jitnet.onnx.export(model, jn.randn(4, 3), None)
    item = Lambda(lambda x: x * float(x.sum().item()))
    with pytest.raises(NotImplementedError, match="Mul at model: its argument 1"):
        jitnet.onnx.export(item, jn.randn(4, 3), None)


def test_data_dependent_control_flow_raises():
    model = Lambda(lambda x: x.relu() if x.shape[0] < 3 else x.tanh())
    jitnet.onnx.export(model, jn.randn(2, 3), None)  # static: the branch taken is the graph
    with pytest.raises(NotImplementedError, match=r"Unary at model: its argument 1 \(9\) "
                                                  "changed to 7 .* depends on the input"):
        jitnet.onnx.export(model, jn.randn(2, 3), None, dynamic_axes={"input": [0]})
    model = Lambda(lambda x: x.relu() if x.shape[0] < 3 else x.relu().relu())
    with pytest.raises(RuntimeError, match="control flow depends on the input"):
        jitnet.onnx.export(model, jn.randn(2, 3), None, dynamic_axes={"input": [0]})


def test_dynamic_axes_that_cannot_be_expressed_raise():
    model = Lambda(lambda x: x + jn.arange(x.shape[0] * 3.0).reshape(-1, 3))  # sized by batch
    with pytest.raises(NotImplementedError, match=r"Add at model"):
        jitnet.onnx.export(model, jn.randn(2, 3), None, dynamic_axes={"input": [0]})
    merge = Lambda(lambda x: x.reshape(-1))  # batch and features merged: two unknowns
    jitnet.onnx.export(merge, jn.randn(2, 3), None)  # fine with static shapes
    proto = jitnet.onnx.export(merge, jn.randn(2, 3), None, dynamic_axes={"input": [0]})
    np.testing.assert_allclose(run_ort(proto, {"input": np.ones((4, 3), np.float32)})[0],
                               np.ones(12))


def test_bad_arguments():
    m = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="opset_version"):
        jitnet.onnx.export(m, jn.randn(1, 3), None, opset_version=9)
    with pytest.raises(ValueError, match="dynamic_axes names 'x'"):
        jitnet.onnx.export(m, jn.randn(1, 3), None, dynamic_axes={"x": [0]})
    with pytest.raises(ValueError, match="input_names"):
        jitnet.onnx.export(m, jn.randn(1, 3), None, input_names=["a", "b"])
    with pytest.raises(ValueError, match=r"\['weight'\] are also parameter"):
        jitnet.onnx.export(m, jn.randn(1, 3), None, output_names=["weight"])
    with pytest.raises(NotImplementedError, match="batch statistics"):
        bn = nn.BatchNorm1d(3, track_running_stats=False)
        jitnet.onnx.export(bn, jn.randn(4, 3), None)


def test_import_jitnet_does_not_import_onnx():
    code = "import sys, jitnet; sys.exit('onnx' in sys.modules or 'onnxruntime' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ---------------------------------------------------------------------- the registry

class Swish(jn.autograd.Function):
    """A custom op: x * sigmoid(x), one Function."""

    @staticmethod
    def forward(ctx, x):
        return x / (1.0 + np.exp(-x))

    @staticmethod
    def backward(ctx, g):
        raise NotImplementedError


class Scale(nn.Module):
    """A layer exported whole: its inner ops (two of them) are not traced."""

    def __init__(self):
        super().__init__()
        self.s = nn.Parameter(jn.tensor([2.0, 3.0]))

    def forward(self, x):
        return x * self.s + 0.0


def test_new_ops_and_layers_plug_in_through_the_registry(monkeypatch):
    from jitnet.onnx import registry

    monkeypatch.setattr(registry, "FUNCTIONS", dict(registry.FUNCTIONS))
    monkeypatch.setattr(registry, "MODULES", dict(registry.MODULES))
    model = nn.Sequential(nn.Linear(2, 2), Lambda(lambda x: Swish.apply(x)), Scale())
    with pytest.raises(NotImplementedError, match=r"Swish at model\.1: no ONNX emitter"):
        jitnet.onnx.export(model, jn.randn(3, 2), None)

    @jitnet.onnx.register_function(Swish)
    def _swish(g, rec, alt):
        x = g.value(rec.args[0])
        return [g.node("Mul", [x, g.node("Sigmoid", [x])])]

    @jitnet.onnx.register_module(Scale)
    def _scale(g, rec, alt):
        return [g.node("Mul", [g.value(rec.args[0]), g.value(rec.module.s)])]

    proto = roundtrip(model, (2,))
    assert op_types(proto) == ["Gemm", "Sigmoid", "Mul", "Mul", "Identity"]
    assert "2.s" in {i.name for i in proto.graph.initializer}
    with pytest.raises(TypeError, match="Module"):
        jitnet.onnx.export(lambda x: x, jn.randn(3, 2), None)


def test_deployment_doc_examples_run(tmp_path, monkeypatch):
    """The export and the DLPack examples of docs/deployment.md run as written."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "deployment.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    export_block = next(b for b in blocks if "jitnet.onnx.export(model" in b)
    monkeypatch.chdir(tmp_path)
    exec(compile(export_block, "deployment.md", "exec"), {})
    assert (tmp_path / "model.onnx").is_file()
    torch = pytest.importorskip("torch")
    interop = next(b for b in blocks if "np.from_dlpack(t)" in b)
    ns = {"np": np, "jn": jn, "torch": torch}
    exec(compile(interop, "deployment.md", "exec"), ns)
    assert ns["t"][0].item() == 1.0 and ns["u"].shape == (4,)


def test_rnn_exports_as_onnx_rnn_nodes_with_a_dynamic_batch():
    jn.manual_seed(3)
    rnn, fc = nn.RNN(3, 4, num_layers=2, batch_first=True), nn.Linear(4, 2)
    model = Lambda(lambda x, r, f: f(r(x)[0][:, -1]), rnn, fc)
    # one node per layer (ops_rnn.py); its zero initial state is ONNX's default
    proto = roundtrip(model, (5, 3))
    assert op_types(proto).count("RNN") == 2 and "Tanh" not in op_types(proto)


def test_bidirectional_relu_rnn_exports():
    jn.manual_seed(4)
    rnn = nn.RNN(3, 4, nonlinearity="relu", bidirectional=True, bias=False, batch_first=True)
    model = Lambda(lambda x, r: r(x)[0], rnn)
    proto = roundtrip(model, (3, 3))
    (node,) = [n for n in proto.graph.node if n.op_type == "RNN"]  # one node, both directions
    acts = [a for a in node.attribute if a.name == "activations"][0].strings
    assert [a.decode() for a in acts] == ["Relu", "Relu"]
    assert "Tanh" not in op_types(proto)


def test_uniform_constants_sized_by_two_dynamic_axes():
    model = Lambda(lambda x: x + jn.ones(x.shape[0], x.shape[1], 1) * 2)
    x = jn.randn(2, 3, 4)
    proto = jitnet.onnx.export(model, x, None, dynamic_axes={"input": {0: "b", 1: "n"}})
    for shape in ((2, 3, 4), (5, 1, 4), (1, 7, 4)):
        xs = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        np.testing.assert_allclose(run_ort(proto, {"input": xs})[0], xs + 2, rtol=RTOL)


def test_in_place_ops_in_forward_are_exported():
    class InPlace(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            x += 1  # rebinds x: the ops before and after must see the right values
            h = self.fc(x)
            h.mul_(2)
            h.relu_()
            return h + x

    proto = roundtrip(InPlace(), (3,))
    assert op_types(proto) == ["Add", "Gemm", "Mul", "Relu", "Add", "Identity"]


def test_untraced_in_place_writes_and_later_changed_constants():
    class Sneaky(nn.Module):
        def forward(self, x):
            h = x * 2
            with jn.no_grad():
                h.clamp_(0, 1)  # writes h's storage: the tape never sees it
            return h

    with pytest.raises(NotImplementedError, match=r"output of Mul at model was overwritten"):
        jitnet.onnx.export(Sneaky(), jn.randn(2, 3), None)

    class Mask(nn.Module):
        def forward(self, x):
            m = jn.ones(3)
            a = x * m
            m[0] = 5.0  # a constant changed between two uses: each use keeps its value
            return a + x * m

    roundtrip(Mask(), (3,))
