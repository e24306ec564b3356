"""Look at the tape: render the graph autograd recorded behind a tensor.

Every op on a tensor that requires grad leaves a node on the tape: the
output's ``grad_fn`` is a ``Context`` whose ``inputs`` are the op's arguments,
and each input tensor points in turn to the Context that made it.  These
helpers walk that chain from a tensor back to its leaves and draw it:

>>> import jitnet as jn
>>> x = jn.tensor([1., -2., 3.], requires_grad=True)
>>> w = jn.tensor([0.5, 0.5, 0.5])
>>> loss = (x.relu() * w).sum()
>>> print(jn.viz.graph_text(loss, names={"x": x, "w": w, "loss": loss}))
#1 SumBackward -> loss: () float32
└── #2 MulBackward -> (3,) float32
    ├── #3 ReluBackward -> (3,) float32
    │   └── x: leaf (3,) float32, requires_grad
    └── w: const (3,) float32

``graph_text`` needs nothing but the standard library; ``draw_graph`` returns
a matplotlib ``Figure`` (or a ``graphviz.Digraph`` when graphviz is installed
and asked for).  PyTorch has no built-in equivalent; this plays the part of
the third-party ``torchviz.make_dot``.

Nodes: ``op`` (one Context, labelled like PyTorch's ``grad_fn`` names, with the
shape and dtype of the tensor it produced), ``leaf`` (a tensor the user made
with ``requires_grad=True``: gradients accumulate in its ``.grad``) and
``const`` (a tensor that takes no gradient).  Non-tensor arguments of an op
(a scalar, a dim) are shown in brackets after its name.  After ``backward()``
the graph is freed (unless ``retain_graph=True``): its ops show ``freed`` and
no inputs, and op-code families fall back to their class name (``ReduceBackward``).
"""
from __future__ import annotations

import io
import shutil
from dataclasses import dataclass, field

from .kernels import opcodes as _oc
from .tensor import Tensor

__all__ = ["graph_text", "draw_graph"]

_MAX_CONST_CHARS = 24

# Functions that serve a family of ops through an op code (their first
# non-tensor argument): print the op's own name, not "ReduceBackward [0, ...]".
_REDUCE_NAMES = {_oc.SUM: "Sum", _oc.PROD: "Prod", _oc.MAX: "Max", _oc.MIN: "Min",
                 _oc.MEAN: "Mean"}
_OPCODE_FAMILIES = {"Reduce": _REDUCE_NAMES, "MaxMinAll": _REDUCE_NAMES,
                    "MaxMinDim": _REDUCE_NAMES}


@dataclass
class _Node:
    key: int
    kind: str  # "op", "leaf" or "const"
    label: str
    shape: tuple = ()
    dtype: str = ""
    name: str | None = None
    inputs: list[int] = field(default_factory=list)
    freed: bool = False

    def describe(self) -> str:
        """The node as one line: what it is, its name, its shape and dtype."""
        value = f"{self.shape} {self.dtype}"
        if self.kind == "op":
            out = f"{self.name}: {value}" if self.name else value
            return f"{self.label} -> {out}" + ("  (freed)" if self.freed else "")
        kind = "leaf" if self.kind == "leaf" else "const"
        extra = ", requires_grad" if self.kind == "leaf" else ""
        prefix = f"{self.name}: " if self.name else ""
        return f"{prefix}{kind} {value}{extra}"


def _op_label(ctx) -> str:
    # Unary ops share one Function class; the op sets ``ctx.label`` ("Relu").
    # ``free()`` clears it with the saved arrays, so the class name is the fallback.
    label = getattr(ctx, "label", None)
    consts = [a for a in ctx.inputs if not isinstance(a, Tensor) and a is not None]
    family = _OPCODE_FAMILIES.get(ctx.fn.__name__)
    if label is None and family is not None and consts and consts[0] in family:
        label = family[consts[0]]
    if label is not None:  # the label already says what the op-code arguments meant
        return label + "Backward"
    label = ctx.fn.__name__ + "Backward"
    if consts:
        label += " [" + ", ".join(_short(a) for a in consts) + "]"
    return label


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_CONST_CHARS else text[: _MAX_CONST_CHARS - 3] + "..."


def _collect(tensor: Tensor, names: dict | None) -> tuple[int, dict[int, _Node]]:
    """The graph behind ``tensor`` as {key: node}; returns the root key too."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"viz: expected a Tensor, got {type(tensor).__name__}")
    by_id = {}
    for name, t in (names or {}).items():
        if not isinstance(t, Tensor):
            raise TypeError(f"viz: names[{name!r}] is a {type(t).__name__}, not a Tensor")
        by_id[id(t)] = name
    nodes: dict[int, _Node] = {}

    def tensor_node(t: Tensor) -> int:
        ctx = t.grad_fn
        key = id(ctx) if ctx is not None else id(t)
        if key in nodes:
            node = nodes[key]
            node.name = node.name or by_id.get(id(t))
            return key
        info = dict(shape=tuple(t.shape), dtype=t.dtype.name, name=by_id.get(id(t)))
        if ctx is None:
            nodes[key] = _Node(key, "leaf" if t.requires_grad else "const", "", **info)
            return key
        node = _Node(key, "op", _op_label(ctx), freed=ctx.freed, **info)
        nodes[key] = node
        stack.append((node, ctx))
        return key

    stack: list = []
    root = tensor_node(tensor)
    while stack:  # iterative: a long chain of ops must not hit the recursion limit
        node, ctx = stack.pop()
        node.inputs = [tensor_node(a) for a in ctx.inputs if isinstance(a, Tensor)]
    return root, nodes


def graph_text(tensor: Tensor, names: dict[str, Tensor] | None = None) -> str:
    """The recorded graph behind ``tensor`` as an indented tree, root first.

    ``names`` maps labels to tensors (leaves or intermediates) so they print by
    name.  Each op gets a number (``#2``) the first time it is printed; an op
    whose output feeds several others is printed once and referred to by
    number afterwards (``#2 (see above)``), so the text stays a faithful
    picture of a graph that is a DAG, not a tree.
    """
    root, nodes = _collect(tensor, names)
    numbers: dict[int, int] = {}

    def line(key: int) -> tuple[str, bool]:
        node = nodes[key]
        if node.kind != "op":
            return node.describe(), False
        if key in numbers:
            return f"#{numbers[key]} {node.label} (see above)", False
        numbers[key] = len(numbers) + 1
        return f"#{numbers[key]} {node.describe()}", True

    text, expand = line(root)
    lines = [text]
    if expand:
        lines += _subtree(root, "", nodes, line)
    return "\n".join(lines)


def _subtree(key, prefix, nodes, line) -> list[str]:
    """Lines for the inputs of ``key`` (depth first, children before siblings)."""
    out: list[str] = []
    stack = [(key, prefix, 0)]
    while stack:
        k, pre, i = stack.pop()
        children = nodes[k].inputs
        if i >= len(children):
            continue
        stack.append((k, pre, i + 1))  # come back for the next sibling
        child = children[i]
        last = i == len(children) - 1
        text, expand = line(child)
        out.append(pre + ("└── " if last else "├── ") + text)
        if expand:
            stack.append((child, pre + ("    " if last else "│   "), 0))
    return out


def _layers(root: int, nodes: dict[int, _Node]) -> dict[int, int]:
    """Longest distance of each node from the root (root 0), so arrows always point one way."""
    order, seen = [], set()
    stack = [(root, False)]
    while stack:  # post-order DFS, then reverse: a topological order from the root
        key, done = stack.pop()
        if done:
            order.append(key)
            continue
        if key in seen:
            continue
        seen.add(key)
        stack.append((key, True))
        stack.extend((c, False) for c in nodes[key].inputs if c not in seen)
    depth = {key: 0 for key in nodes}
    for key in reversed(order):
        for c in nodes[key].inputs:
            depth[c] = max(depth[c], depth[key] + 1)
    return depth


_COLORS = {"op": "#fde4c8", "leaf": "#cfe5fb", "const": "#e8e8e8"}


def _box_label(node: _Node) -> str:
    value = f"{node.shape} {node.dtype}"
    if node.kind == "op":
        head = node.label + ("\n(freed)" if node.freed else "")
        return head + "\n" + (f"{node.name}: " if node.name else "") + value
    return (node.name or node.kind) + "\n" + value


def _have_graphviz() -> bool:
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


def draw_graph(tensor: Tensor, names: dict[str, Tensor] | None = None, backend: str = "auto"):
    """Draw the recorded graph behind ``tensor``: leaves at the top, the result at the bottom.

    Returns a ``matplotlib.figure.Figure`` (``backend="matplotlib"``) or a
    ``graphviz.Digraph`` (``backend="graphviz"``, needs the ``graphviz``
    package and its ``dot`` program).  ``"auto"`` picks graphviz when it is
    installed, matplotlib otherwise.  Both display themselves in Jupyter.
    Blue boxes are leaves that require grad, grey ones constants, orange ones
    the ops; arrows follow the data from inputs to outputs (backward runs
    them in reverse).
    """
    if backend not in ("auto", "matplotlib", "graphviz"):
        raise ValueError(
            f"draw_graph: backend must be 'auto', 'matplotlib' or 'graphviz', got {backend!r}"
        )
    root, nodes = _collect(tensor, names)
    if backend == "graphviz" or (backend == "auto" and _have_graphviz()):
        if not _have_graphviz():
            raise RuntimeError(
                "draw_graph: backend='graphviz' needs the graphviz package and its 'dot' "
                "program (pip install graphviz; apt install graphviz)"
            )
        return _draw_graphviz(root, nodes)
    return _draw_matplotlib(root, nodes)


def _draw_graphviz(root: int, nodes: dict[int, _Node]):
    import graphviz

    dot = graphviz.Digraph(graph_attr={"rankdir": "TB"},
                           node_attr={"shape": "box", "style": "filled,rounded",
                                      "fontname": "monospace", "fontsize": "10"})
    for key, node in nodes.items():
        # DOT's own line-break escape: a raw newline inside a label is not portable
        dot.node(str(key), _box_label(node).replace("\n", "\\n"), fillcolor=_COLORS[node.kind],
                 penwidth="2" if key == root else "1")
    for key, node in nodes.items():
        for c in node.inputs:
            dot.edge(str(c), str(key))
    return dot


_figure_class = None


def _graph_figure_class():
    """A matplotlib Figure that renders itself as PNG in Jupyter (made on first use)."""
    global _figure_class
    if _figure_class is None:
        from matplotlib.figure import Figure

        class GraphFigure(Figure):
            """A Figure not managed by pyplot that shows itself in Jupyter via ``_repr_png_``."""

            def _repr_png_(self) -> bytes:
                buf = io.BytesIO()
                self.savefig(buf, format="png", dpi=100)
                return buf.getvalue()

        _figure_class = GraphFigure
    return _figure_class


def _draw_matplotlib(root: int, nodes: dict[int, _Node]):
    # A Figure made without pyplot: pyplot's inline backend would show it a
    # second time at the end of the cell, and keep it alive until closed.  It
    # displays itself through _repr_png_ (whether or not pyplot's inline
    # backend is active) and is freed with its last reference.
    Figure = _graph_figure_class()  # noqa: N806

    depth = _layers(root, nodes)
    n_layers = max(depth.values()) + 1
    rows: list[list[int]] = [[] for _ in range(n_layers)]
    # place each layer in the order of its consumers' positions (one barycentre
    # pass from the root outwards) so edges cross as little as cheaply possible
    x_of: dict[int, float] = {root: 0.0}
    rows[0].append(root)
    for layer in range(1, n_layers):
        members = [k for k in nodes if depth[k] == layer]
        consumers = {k: [] for k in members}
        for key, node in nodes.items():
            for c in node.inputs:
                if c in consumers and key in x_of:
                    consumers[c].append(x_of[key])
        members.sort(key=lambda k: sum(consumers[k]) / max(len(consumers[k]), 1))
        for i, k in enumerate(members):
            x_of[k] = i - (len(members) - 1) / 2
        rows[layer] = members
    width = max(len(r) for r in rows)
    fig = Figure(figsize=(max(3.5, 2.6 * width), max(1.6, 1.25 * n_layers)))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-width / 2, width / 2)
    ax.set_ylim(-0.6, n_layers - 0.4)
    ax.axis("off")
    pos = {k: (x_of[k], depth[k]) for k in nodes}
    boxes = {}
    for key, node in nodes.items():
        boxes[key] = ax.text(
            *pos[key], _box_label(node), ha="center", va="center", family="monospace",
            fontsize=8, zorder=2, bbox=dict(boxstyle="round,pad=0.35", fc=_COLORS[node.kind],
                                            ec="black", lw=2 if key == root else 0.8))
    bend = 1
    for key, node in nodes.items():
        for c in node.inputs:
            # an edge that skips layers would run straight through the boxes in
            # between when both ends share a column: bend it, alternating sides
            rad = 0.0
            if depth[c] - depth[key] > 1:
                rad, bend = 0.45 * bend, -bend
            # from the bottom middle of the input's label to the top middle of
            # the consumer's, in coordinates of the text artists themselves (so
            # the ends follow each label's size); shrink clears the box padding
            ax.annotate("", xy=(0.5, 1.0), xycoords=boxes[key], xytext=(0.5, 0.0),
                        textcoords=boxes[c], zorder=3,
                        arrowprops=dict(arrowstyle="-|>", mutation_scale=10, lw=0.8,
                                        color="#555555", shrinkA=4, shrinkB=4,
                                        connectionstyle=f"arc3,rad={rad}"))
    return fig
