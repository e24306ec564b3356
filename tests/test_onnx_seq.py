"""jitnet.onnx.export of the sequence, attention and generative layers (issue 13 x 14):
LSTM/GRU/RNN, the Transformer encoder, LayerNorm/GroupNorm, ConvTranspose2d, interpolate,
1-D conv/pool.  Each graph passes onnx.checker and onnxruntime agrees with jitnet (float32,
rtol 1e-3, atol 1e-4) at two sizes of every dynamic axis; `jitnet export` on fresh
`jitnet train --model lstm|transformer` and `--task autoencoder` runs."""
from __future__ import annotations

import json

import numpy as np
import pytest

import jitnet as jn
from jitnet import nn
from jitnet.nn import functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
import jitnet.onnx  # noqa: E402

RTOL, ATOL = 1e-3, 1e-4


def _flat(out) -> list[np.ndarray]:
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flat(o)]
    return [] if out is None else [out.detach().numpy()]


def roundtrip(model, shapes, dynamic=None, sizes=(2, 5), opset=17, names=None, seed=0):
    """Export ``model`` on random float32 inputs of ``shapes`` (one per input; axis 0 of
    each is dynamic unless ``dynamic`` maps input index -> axes), then compare every output
    of onnxruntime with jitnet's with each dynamic axis at each of ``sizes``."""
    rng = np.random.default_rng(seed)
    dynamic = dynamic if dynamic is not None else {i: (0,) for i in range(len(shapes))}
    names = names or [f"input_{i}" for i in range(len(shapes))]

    def make(size):
        out = []
        for i, shape in enumerate(shapes):
            shape = [size if ax in dynamic.get(i, ()) else d for ax, d in enumerate(shape)]
            out.append(rng.standard_normal(shape).astype(np.float32))
        return out

    model.eval()
    axes = {names[i]: {ax: f"dim{ax}" for ax in dynamic[i]} for i in dynamic}
    proto = jitnet.onnx.export(model, tuple(jn.tensor(a) for a in make(sizes[0])), None,
                               input_names=names, dynamic_axes=axes, opset_version=opset)
    onnx.checker.check_model(proto, full_check=True)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for size in sizes:
        xs = make(size)
        got = sess.run(None, dict(zip(names, xs)))
        want = _flat(model(*(jn.tensor(a) for a in xs)))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)
    return proto


def op_types(proto) -> list[str]:
    return [n.op_type for n in proto.graph.node]


class Lambda(nn.Module):
    """A model that is one function of its input."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


# ---------------------------------------------------------------------- the CLI's models

def test_conv_autoencoder_roundtrip():
    from jitnet.autoencoder import build_autoencoder

    jn.manual_seed(0)
    proto = roundtrip(build_autoencoder(4), [(2, 1, 8, 8)])
    assert op_types(proto).count("ConvTranspose") == 2


def test_lstm_and_transformer_classifiers_roundtrip():
    from jitnet.seqmodels import RowLSTM, RowTransformer

    jn.manual_seed(0)
    proto = roundtrip(RowLSTM((1, 8, 8), hidden=16), [(2, 1, 8, 8)])
    assert op_types(proto).count("LSTM") == 1
    proto = roundtrip(RowTransformer((1, 8, 8), d_model=16, nhead=2), [(2, 1, 8, 8)])
    types = op_types(proto)
    assert types.count("Softmax") == 2 and types.count("LayerNormalization") == 4


# ---------------------------------------------------------------------- recurrent layers

class _WithState(nn.Module):
    """A recurrent layer called with its initial state as graph inputs."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, h, c=None):
        return self.rnn(x, h if c is None else (h, c))


def test_bidirectional_two_layer_lstm_all_outputs_and_given_state():
    jn.manual_seed(0)
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    proto = roundtrip(lstm, [(2, 6, 3)], dynamic={0: (0, 1)})  # batch and time both dynamic
    assert op_types(proto).count("LSTM") == 2
    roundtrip(_WithState(nn.LSTM(3, 4, num_layers=2, bidirectional=True)),
              [(6, 2, 3), (4, 2, 4), (4, 2, 4)], dynamic={0: (1,), 1: (1,), 2: (1,)})


def test_zero_state_made_in_forward_follows_a_dynamic_batch():
    class ZeroState(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 4, batch_first=True)

        def forward(self, x):  # both sized by the batch; zeros are left out of the node
            h0, c0 = jn.zeros(1, x.shape[0], 4), jn.full((1, x.shape[0], 4), 0.5)
            return self.lstm(x, (h0, c0))[0]

    jn.manual_seed(0)
    proto = roundtrip(ZeroState(), [(2, 5, 3)])
    lstm = next(n for n in proto.graph.node if n.op_type == "LSTM")
    assert lstm.input[5] == "" and lstm.input[6] and "ConstantOfShape" in op_types(proto)


def test_gru_and_rnn_roundtrip():
    jn.manual_seed(0)
    proto = roundtrip(nn.GRU(3, 4, num_layers=2, batch_first=True), [(2, 5, 3)])
    gru = next(n for n in proto.graph.node if n.op_type == "GRU")
    assert {a.name: a.i for a in gru.attribute}["linear_before_reset"] == 1
    roundtrip(_WithState(nn.GRU(3, 4, bidirectional=True)), [(5, 2, 3), (2, 2, 4)],
              dynamic={0: (0, 1), 1: (1,)})
    roundtrip(nn.GRU(3, 4, bias=False), [(7, 3)])  # unbatched: (L, H_in), L dynamic
    for nonlinearity in ("tanh", "relu"):
        proto = roundtrip(nn.RNN(3, 4, num_layers=2, nonlinearity=nonlinearity,
                                 bidirectional=True), [(5, 2, 3)], dynamic={0: (0, 1)})
        assert op_types(proto).count("RNN") == 2


def test_cells_export_through_their_time_loop_functions():
    jn.manual_seed(0)
    roundtrip(nn.LSTMCell(3, 4), [(2, 3)])
    roundtrip(_WithState(nn.GRUCell(3, 4)), [(2, 3), (2, 4)])
    roundtrip(nn.RNNCell(3, 4, nonlinearity="relu"), [(2, 3)])


# ---------------------------------------------------------------------- attention, norms

class _Encoder(nn.Module):
    """A 2-layer encoder with a final norm and a constant mask (bool causal or float)."""

    def __init__(self, norm_first, activation, mask, length=5, pad=None):
        super().__init__()
        layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, activation=activation,
                                           batch_first=True, norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8))
        rng = np.random.default_rng(1)
        self.mask = {"causal": jn.tensor(np.triu(np.ones((length, length), bool), 1)),
                     "float": jn.tensor(rng.standard_normal((length, length), np.float32)),
                     None: None}[mask]
        self.pad = None if pad is None else jn.tensor(pad)

    def forward(self, x):
        return self.encoder(x, mask=self.mask, src_key_padding_mask=self.pad)


@pytest.mark.parametrize("norm_first,activation,mask", [(False, "relu", "float"),
                                                        (True, "gelu", "causal")])
def test_transformer_encoder_roundtrip(norm_first, activation, mask):
    jn.manual_seed(0)
    roundtrip(_Encoder(norm_first, activation, mask), [(2, 5, 8)])


@pytest.mark.parametrize("batch_first", [True, False])
def test_encoder_layer_with_batch_and_length_dynamic(batch_first):
    # MultiheadAttention's (L*N, E) -> (L, N, E) reshape reads L and N from the input's Shape
    jn.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=batch_first)
    roundtrip(layer, [(2, 5, 8)], dynamic={0: (0, 1)}, sizes=(3, 6))
    twice = Lambda(lambda x: x.reshape(x.shape[0] * 2, x.shape[1] * 3, -1))
    with pytest.raises(NotImplementedError, match=r"Reshape at model: .*can infer only one"):
        jitnet.onnx.export(twice, jn.randn(2, 3, 6), None, dynamic_axes={"input": [0, 1]})


def test_key_padding_mask_and_multihead_attention_weights():
    jn.manual_seed(0)
    pad = np.zeros((3, 5), bool)
    pad[0, 3:] = pad[2, 1:] = True
    # a constant key_padding_mask fixes the batch size: no dynamic axes then
    roundtrip(_Encoder(False, "relu", None, pad=pad), [(3, 5, 8)], dynamic={}, sizes=(3,))

    class Cross(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2)

        def forward(self, q, kv):  # (L, N, E), (S, N, E): the weights are an output too
            return self.attn(q, kv, kv, average_attn_weights=False)

    roundtrip(Cross(), [(4, 2, 8), (6, 2, 8)], dynamic={0: (1,), 1: (1,)})


def test_a_mask_computed_from_an_input_raises_naming_the_layer():
    class Padded(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 1)

        def forward(self, x, pad):  # ~pad (a logical op) is not traced
            return self.encoder(x, src_key_padding_mask=pad)

    pad = np.zeros((2, 5), bool)
    pad[1, 2:] = True
    with pytest.raises(NotImplementedError, match=r"at model\.encoder\.layers\.0\.self_attn"):
        jitnet.onnx.export(Padded(), (jn.randn(2, 5, 8), jn.tensor(pad)), None)


def test_causal_attention_over_a_dynamic_length():
    class Causal(nn.Module):
        def forward(self, x):
            return F.scaled_dot_product_attention(x, x * 2, x + 1, is_causal=True)

    proto = roundtrip(Causal(), [(2, 5, 8)], dynamic={0: (0, 1)}, sizes=(3, 6))
    assert "Trilu" in op_types(proto)
    with pytest.raises(NotImplementedError, match=r"AttnSoftmax at model: .*opset 14"):
        jitnet.onnx.export(Causal(), jn.randn(2, 5, 8), None, opset_version=13,
                           dynamic_axes={"input": [1]})


@pytest.mark.parametrize("opset", [13, 17])
def test_layer_norm_and_group_norm(opset):
    jn.manual_seed(0)
    ln = nn.LayerNorm((3, 4))
    ln.weight.data = jn.randn(3, 4)
    ln.bias.data = jn.randn(3, 4)
    proto = roundtrip(ln, [(2, 3, 4)], opset=opset)
    assert ("LayerNormalization" in op_types(proto)) == (opset >= 17)
    roundtrip(nn.LayerNorm(4, elementwise_affine=False), [(2, 3, 4)], opset=opset)
    gn = nn.GroupNorm(2, 4)
    gn.weight.data, gn.bias.data = jn.randn(4), jn.randn(4)
    roundtrip(gn, [(2, 4, 3, 3)], opset=opset)
    roundtrip(nn.GroupNorm(1, 4), [(2, 4, 5)], opset=opset)


# ---------------------------------------------------------------------- conv, resampling

@pytest.mark.parametrize("kw", [dict(stride=2, padding=1, output_padding=1),
                                dict(stride=(2, 3), padding=(0, 1), output_padding=(1, 2),
                                     groups=2, dilation=(1, 2))])
def test_conv_transpose2d_arguments(kw):
    jn.manual_seed(0)
    roundtrip(nn.ConvTranspose2d(4, 6, 3, **kw), [(2, 4, 5, 4)])


def test_interpolate_and_1d_layers():
    jn.manual_seed(0)
    proto = roundtrip(nn.Upsample(scale_factor=2), [(2, 3, 4, 5)])
    assert set(op_types(proto)) == {"Gather", "Identity"}
    roundtrip(nn.Upsample(size=(7, 3), mode="bilinear", align_corners=True), [(2, 3, 4, 5)])
    roundtrip(nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.MaxPool1d(2), nn.ReLU(),
                            nn.AvgPool1d(2), nn.ConvTranspose1d(4, 2, 3, stride=2)),
              [(2, 3, 12)])
    with pytest.raises(NotImplementedError, match=r"Resample at model: its argument 2"):
        jitnet.onnx.export(nn.Upsample(scale_factor=2), jn.randn(1, 2, 4, 4), None,
                           dynamic_axes={"input": [2]})


# ---------------------------------------------------------------------- the CLI

@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lstm", "transformer", "autoencoder"])
def test_cli_export_of_sequence_and_autoencoder_runs(tmp_path, capsys, kind):
    from jitnet.cli import main

    run = tmp_path / "run"
    task = ["--task", "autoencoder"] if kind == "autoencoder" else ["--model", kind]
    assert main(["train", *task, "--epochs", "1", "--batch-size", "256", "--no-progress",
                 "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["export", str(run)]) == 0
    text = capsys.readouterr().out
    assert "input  image   float32 [batch, 1, 8, 8]" in text
    np.save(tmp_path / "img.npy", np.zeros((8, 8), np.float32))
    if kind == "autoencoder":
        assert "output reconstruction float32 [batch, 1, 8, 8]" in text
        ort_mse, jn_mse = (float(v.rstrip(",")) for v in
                           text.split("onnxruntime ")[1].replace("jitnet ", "").split())
        assert abs(ort_mse - jn_mse) < 1e-5
        assert main(["predict", str(run), str(tmp_path / "img.npy")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("jitnet predict: error: ") and "is not a classifier" in err
        assert err.count("\n") == 1
    else:
        assert "output logits  float32 [batch, 10]" in text
        ort_acc, jn_acc = (float(v) for v in
                           text.split("onnxruntime ")[1].replace(", jitnet", "").split())
        assert ort_acc == jn_acc
        assert main(["predict", str(run), str(tmp_path / "img.npy")]) == 0
        assert capsys.readouterr().out.startswith(f"{tmp_path / 'img.npy'}: class ")


def test_cli_export_refuses_a_charlm_run(tmp_path, capsys):
    from jitnet.cli import main

    run = tmp_path / "lm"
    run.mkdir()
    for name, text in (("history.json", json.dumps({"config": {"model": "lstm"}})),
                       ("charlm.json", "{}"), ("model.safetensors", "")):
        (run / name).write_text(text)
    assert main(["export", str(run)]) == 2
    err = capsys.readouterr().err
    assert "is a --task charlm run" in err and err.count("\n") == 1


class _CrossAttention(nn.Module):
    """MultiheadAttention over separate key/value inputs (need_weights=False: the
    HeadsAttention Function with two or three projections)."""

    def __init__(self, batch_first: bool):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=batch_first)

    def forward(self, q, kv, v=None):
        return self.attn(q, kv, kv if v is None else v, need_weights=False)[0]


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("inputs", [2, 3])
def test_cross_attention_roundtrip(batch_first, inputs):
    jn.manual_seed(0)
    axis = 0 if batch_first else 1
    shapes = [(2, 4, 8), (2, 6, 8), (2, 6, 8)][:inputs]
    if not batch_first:
        shapes = [(s[1], s[0], s[2]) for s in shapes]
    roundtrip(_CrossAttention(batch_first), shapes, dynamic={i: (axis,) for i in range(inputs)})
