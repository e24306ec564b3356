"""jitnet.viz: the recorded graph as text and as a drawing."""
from __future__ import annotations

import doctest
import io

import pytest

import jitnet as jn
from jitnet import viz


def _mlp_graph():
    x = jn.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w = jn.tensor([0.5, 0.5, 0.5])
    loss = (x.relu() * w).sum()
    return x, w, loss


def test_graph_text_names_leaves_consts_and_ops():
    x, w, loss = _mlp_graph()
    text = viz.graph_text(loss, names={"x": x, "w": w, "loss": loss})
    assert text.splitlines() == [
        "#1 SumBackward -> loss: () float32",
        "└── #2 MulBackward -> (3,) float32",
        "    ├── #3 ReluBackward -> (3,) float32",
        "    │   └── x: leaf (3,) float32, requires_grad",
        "    └── w: const (3,) float32",
    ]


def test_module_docstring_example_runs():
    result = doctest.testmod(viz, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_shared_node_printed_once_then_referenced():
    x = jn.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = (h + h.exp()) * h
    lines = viz.graph_text(y, names={"h": h}).splitlines()
    assert lines[0] == "#1 MulBackward -> (2,) float32"
    full = [ln for ln in lines if "MulBackward [2] -> h: (2,) float32" in ln]
    refs = [ln for ln in lines if "MulBackward [2] (see above)" in ln]
    assert len(full) == 1 and len(refs) == 2
    # the leaf below h is printed once, under the one full entry for h
    assert sum("leaf (2,) float32" in ln for ln in lines) == 1


def test_reduce_family_prints_the_op_name_not_its_code():
    x = jn.ones(2, 3, requires_grad=True)
    assert viz.graph_text(x.mean(dim=1)).splitlines()[0] == "#1 MeanBackward -> (2,) float32"
    assert viz.graph_text(x.max()).splitlines()[0] == "#1 MaxBackward -> () float32"


def test_leaf_and_constant_alone():
    a = jn.zeros(2, 2, dtype=jn.float64, requires_grad=True)
    assert viz.graph_text(a) == "leaf (2, 2) float64, requires_grad"
    assert viz.graph_text(jn.arange(3), names={"i": jn.arange(3)}) == "const (3,) int64"


def test_freed_graph_is_marked_after_backward():
    x, _, loss = _mlp_graph()
    loss.backward()
    # the freed node has lost its inputs (and with them its op code): one line
    text = viz.graph_text(loss)
    assert "\n" not in text and text.endswith("Backward -> () float32  (freed)")
    x2, _, loss2 = _mlp_graph()
    loss2.backward(retain_graph=True)
    assert "(freed)" not in viz.graph_text(loss2)


def test_long_chain_does_not_recurse():
    x = jn.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(1500):
        y = y * 1.0
    lines = viz.graph_text(y).splitlines()
    assert len(lines) == 1501
    assert lines[-1].strip().endswith("leaf (1,) float32, requires_grad")
    assert viz._layers(*viz._collect(y, None))[id(x)] == 1500


def test_bad_arguments():
    with pytest.raises(TypeError, match="viz: expected a Tensor, got list"):
        viz.graph_text([1, 2])
    x, _, loss = _mlp_graph()
    with pytest.raises(TypeError, match=r"names\['x'\] is a int, not a Tensor"):
        viz.graph_text(loss, names={"x": 3})
    with pytest.raises(ValueError, match="backend must be"):
        viz.draw_graph(loss, backend="svg")


def test_draw_graph_matplotlib_boxes_and_arrows():
    matplotlib = pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    from matplotlib.text import Annotation

    x = jn.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = (h + h.exp()) * h  # 5 nodes (x, h, exp, add, mul), 6 edges
    fig = viz.draw_graph(y, names={"x": x, "h": h}, backend="matplotlib")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.texts if not isinstance(t, Annotation)]
    assert sorted(lb.splitlines()[0] for lb in labels) == [
        "AddBackward", "ExpBackward", "MulBackward", "MulBackward [2]", "x"]
    arrows = [t for t in ax.texts if isinstance(t, Annotation)]
    assert len(arrows) == 6
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
    assert fig._repr_png_()[:4] == b"\x89PNG"  # how Jupyter shows it, whatever the backend
    assert matplotlib.get_backend()  # drawing needed no interactive backend


def test_draw_graph_layers_leaves_above_ops():
    pytest.importorskip("matplotlib")
    x, w, loss = _mlp_graph()
    fig = viz.draw_graph(loss, names={"x": x, "w": w}, backend="matplotlib")
    y_of = {t.get_text().splitlines()[0]: t.get_position()[1] for t in fig.axes[0].texts
            if t.get_text()}
    assert y_of["SumBackward"] < y_of["MulBackward"] < y_of["ReluBackward"] < y_of["x"]
    assert y_of["w"] > y_of["MulBackward"]


def test_graphviz_source_when_the_package_is_installed():
    graphviz = pytest.importorskip("graphviz")
    x, w, loss = _mlp_graph()
    root, nodes = viz._collect(loss, {"x": x})
    dot = viz._draw_graphviz(root, nodes)  # builds the DOT source; rendering needs 'dot'
    assert isinstance(dot, graphviz.Digraph)
    assert "ReluBackward" in dot.source and '"x\\n(3,) float32"' in dot.source
    assert dot.source.count("->") == 4


def test_draw_graph_graphviz_when_installed():
    graphviz = pytest.importorskip("graphviz")
    if not viz._have_graphviz():
        pytest.skip("the graphviz 'dot' program is not installed")
    _, _, loss = _mlp_graph()
    dot = viz.draw_graph(loss, backend="graphviz")
    assert isinstance(dot, graphviz.Digraph)
    assert dot.pipe(format="svg").startswith(b"<?xml") or b"<svg" in dot.pipe(format="svg")


def test_draw_graph_graphviz_missing_is_a_clear_error():
    if viz._have_graphviz():
        pytest.skip("graphviz is installed")
    _, _, loss = _mlp_graph()
    with pytest.raises(RuntimeError, match="needs the graphviz package"):
        viz.draw_graph(loss, backend="graphviz")
