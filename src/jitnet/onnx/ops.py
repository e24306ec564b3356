"""ONNX emitters for jitnet's ops (the ``Function``s) and for layers exported whole.

Each emitter gets ``g`` (the ``Lowering``), ``rec`` (the traced ``Record``:
its ``args`` are what the op passed to ``Function.apply``) and ``alt`` (the
same record from the second trace of a dynamic-axes export, else None), and
returns one ONNX value name per output.  Ops without an emitter raise
``NotImplementedError`` naming the op and the layer path.
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..kernels import opcodes as oc
from ..ops import (
    conv,
    dropout,
    elementwise,
    embedding,
    index,
    linear,
    matmul,
    norm,
    pad,
    pool,
    reduce,
    repeat,
    rnn,
    scan,
    shape,
    softmax,
    split,
)
from ..tensor import Tensor
from .registry import register_function, register_module

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def _dt(t: Tensor) -> np.dtype:
    return t._data.dtype


def _shape(t: Tensor) -> tuple:
    return tuple(t._data.shape)


def _operand(g, a, dtype) -> str:
    """A tensor (cast to ``dtype`` when needed) or a Python number as a ``dtype`` scalar."""
    if isinstance(a, Tensor):
        return g.cast(g.value(a), _dt(a), dtype)
    return g.scalar(a, dtype)


# ---------------------------------------------------------------------- elementwise

_BINARY = {elementwise.Add: "Add", elementwise.Sub: "Sub", elementwise.Mul: "Mul",
           elementwise.Div: "Div", elementwise.Pow: "Pow"}


@register_function(*_BINARY)
def _binary(g, rec, alt):
    out = _dt(rec.outputs[0])
    return [g.node(_BINARY[rec.fn], [_operand(g, a, out) for a in rec.args[:2]])]


@register_function(elementwise.MaxMin)
def _maxmin(g, rec, alt):
    out = _dt(rec.outputs[0])
    op = "Max" if rec.args[2] == "maximum" else "Min"
    return [g.node(op, [_operand(g, a, out) for a in rec.args[:2]])]


_UNARY = {oc.NEG: "Neg", oc.ABS: "Abs", oc.EXP: "Exp", oc.LOG: "Log", oc.SQRT: "Sqrt",
          oc.SIN: "Sin", oc.COS: "Cos", oc.TANH: "Tanh", oc.SIGMOID: "Sigmoid",
          oc.RELU: "Relu", oc.SIGN: "Sign", oc.RECIPROCAL: "Reciprocal"}


@register_function(elementwise.Unary)
def _unary(g, rec, alt):
    x_t, op = rec.args[0], rec.args[1]
    p0 = rec.args[2] if len(rec.args) > 2 else 0.0
    p1 = rec.args[3] if len(rec.args) > 3 else 0.0
    x, dt = g.value(x_t), _dt(rec.outputs[0])
    if op in _UNARY:
        return [g.node(_UNARY[op], [x])]
    if op == oc.LEAKY_RELU:
        return [g.node("LeakyRelu", [x], alpha=float(p0))]
    if op == oc.SQUARE:
        return [g.node("Mul", [x, x])]
    if op == oc.POW:
        return [g.node("Pow", [x, g.scalar(p0, dt)])]
    if op == oc.CLAMP:
        lo = "" if math.isnan(p0) else g.scalar(p0, dt)
        hi = "" if math.isnan(p1) else g.scalar(p1, dt)
        return [g.node("Clip", [x, lo, hi])]
    if op == oc.GELU:
        if g.opset >= 20:
            return [g.node("Gelu", [x])]
        # x * 0.5 * (1 + erf(x / sqrt 2)): the exact form, as ONNX's Gelu (opset 20)
        erf = g.node("Erf", [g.node("Div", [x, g.scalar(math.sqrt(2.0), dt)])])
        half = g.node("Mul", [x, g.scalar(0.5, dt)])
        return [g.node("Mul", [half, g.node("Add", [erf, g.scalar(1.0, dt)])])]
    composed = _COMPOSED_UNARY.get(op)
    if composed is not None:
        return [composed(g, x, dt, float(p0), float(p1))]
    raise g.unsupported(f"unary op code {op} has no ONNX emitter")


def _trunc(g, x, dt):
    return g.node("Mul", [g.node("Sign", [x]), g.node("Floor", [g.node("Abs", [x])])])


def _round(g, x, dt, decimals):
    if decimals == 0:
        return g.node("Round", [x])  # half to even, as PyTorch
    ten = g.scalar(10.0 ** decimals, dt)
    return g.node("Div", [g.node("Round", [g.node("Mul", [x, ten])]), ten])


def _softplus(g, x, dt, beta, threshold):
    # beta * x > threshold is linear in PyTorch; Softplus(beta x) / beta differs from x there
    # by under log1p(exp(-threshold)) / beta (2e-9 at the default threshold 20)
    if beta == 1.0:
        return g.node("Softplus", [x])
    bx = g.node("Mul", [x, g.scalar(beta, dt)])
    return g.node("Div", [g.node("Softplus", [bx]), g.scalar(beta, dt)])


def _elu(g, x, dt, alpha, scale):
    if scale == 1.0:
        return g.node("Elu", [x], alpha=alpha)
    return g.node("Selu", [x], alpha=alpha, gamma=scale)


# op codes ONNX has no single operator for, as a few operators each (p0, p1: the op's parameters)
_COMPOSED_UNARY = {
    oc.RSQRT: lambda g, x, dt, p0, p1: g.node("Reciprocal", [g.node("Sqrt", [x])]),
    oc.LOG1P: lambda g, x, dt, p0, p1: g.node("Log", [g.node("Add", [x, g.scalar(1.0, dt)])]),
    oc.EXPM1: lambda g, x, dt, p0, p1: g.node("Sub", [g.node("Exp", [x]), g.scalar(1.0, dt)]),
    oc.LOG2: lambda g, x, dt, p0, p1: g.node("Div", [g.node("Log", [x]),
                                                     g.scalar(math.log(2.0), dt)]),
    oc.LOG10: lambda g, x, dt, p0, p1: g.node("Div", [g.node("Log", [x]),
                                                      g.scalar(math.log(10.0), dt)]),
    oc.EXP2: lambda g, x, dt, p0, p1: g.node("Pow", [g.scalar(2.0, dt), x]),
    oc.FLOOR: lambda g, x, dt, p0, p1: g.node("Floor", [x]),
    oc.CEIL: lambda g, x, dt, p0, p1: g.node("Ceil", [x]),
    oc.TRUNC: lambda g, x, dt, p0, p1: _trunc(g, x, dt),
    oc.ROUND: lambda g, x, dt, p0, p1: _round(g, x, dt, p0),
    oc.FRAC: lambda g, x, dt, p0, p1: g.node("Sub", [x, _trunc(g, x, dt)]),
    oc.ERF: lambda g, x, dt, p0, p1: g.node("Erf", [x]),
    oc.SOFTPLUS: _softplus,
    oc.MISH: lambda g, x, dt, p0, p1: g.node("Mul", [x, g.node("Tanh", [g.node("Softplus",
                                                                                [x])])]),
    oc.SILU: lambda g, x, dt, p0, p1: g.node("Mul", [x, g.node("Sigmoid", [x])]),
    oc.HARDTANH: lambda g, x, dt, p0, p1: g.node("Clip", [x, g.scalar(p0, dt),
                                                          g.scalar(p1, dt)]),
    oc.ELU: _elu,
}


@register_function(elementwise.Cast)
def _cast(g, rec, alt):
    x = rec.args[0]
    name = g.cast(g.value(x), _dt(x), _dt(rec.outputs[0]))
    return [name if name != g.value(x) else g.node("Identity", [name])]


@register_function(elementwise.Where)
def _where(g, rec, alt):
    cond, a, b = rec.args
    out = _dt(rec.outputs[0])
    return [g.node("Where", [g.value(cond), _operand(g, a, out), _operand(g, b, out)])]


@register_function(softmax.Softmax)
def _softmax(g, rec, alt):
    x, op, dim = rec.args
    kind = "Softmax" if op == oc.SOFTMAX else "LogSoftmax"
    return [g.node(kind, [g.value(x)], axis=int(dim))]


@register_function(dropout.Dropout)
def _dropout(g, rec, alt):
    # F.dropout(training=True) called in an eval-mode export: inference semantics (identity)
    return [g.node("Identity", [g.value(rec.args[0])])]


# ---------------------------------------------------------------------- linear algebra

@register_function(linear.Linear)
def _linear(g, rec, alt):
    x_t, w_t, b_t = rec.args
    x, w = g.value(x_t), g.value(w_t)
    if x_t.ndim == 2:
        return [g.node("Gemm", [x, w] + ([g.value(b_t)] if b_t is not None else []), transB=1)]
    y = g.node("MatMul", [x, g.node("Transpose", [w], perm=[1, 0])])
    return [g.node("Add", [y, g.value(b_t)]) if b_t is not None else y]


@register_function(matmul.Matmul)
def _matmul(g, rec, alt):
    return [g.node("MatMul", [g.value(rec.args[0]), g.value(rec.args[1])])]


@register_function(rnn.RNNLayer)
def _rnn_layer(g, rec, alt):
    # the Elman recurrence unrolled over the example's length: per step a Gather of the input
    # projection, one Gemm with W_hh (+ b_hh), an Add and the nonlinearity
    gi_t, w_t, b_t, h0_t, relu, reverse, b_ih_t = rec.args
    gi, w, h = g.value(gi_t), g.value(w_t), g.value(h0_t)
    bias = [g.value(b_t)] if b_t is not None else []
    if b_ih_t is not None:  # the input bias the layer adds itself: once, into every step's x
        gi = g.node("Add", [gi, g.value(b_ih_t)])
    steps = _shape(gi_t)[0]
    outs = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        x = g.node("Gather", [gi, g.scalar(t, np.int64, "t")], axis=0)
        h = g.node("Relu" if relu else "Tanh",
                   [g.node("Add", [x, g.node("Gemm", [h, w] + bias, transB=1)])])
        outs[t] = g.axes_op("Unsqueeze", [h], [0])
    return [g.node("Concat", outs, axis=0)]


# ---------------------------------------------------------------------- convolution, pooling

def _end_pad(size, eff, stride, begin, out) -> int:
    """The bottom/right padding that gives ``out`` windows (PyTorch pads 'same' unevenly)."""
    for end in range(begin, begin + eff + 1):
        if (size + begin + end - eff) // stride + 1 == out:
            return end
    return begin


# Conv2d, MaxPool2d and AvgPool2d take one ``Window2d`` geometry (ops/_nn_args.py); its
# batch, spatial and output sizes follow the input, so it is a shape argument: only its
# kernel, stride, padding, dilation and groups go into the ONNX attributes.

def _window_pads(x_t, w) -> list[int]:
    """ONNX's [top, left, bottom, right]: the end padding from the output size, as the
    kernels imply it (PyTorch pads 'same' and ceil_mode windows unevenly)."""
    h, wd = _shape(x_t)[-2:]
    return [w.ph, w.pw, _end_pad(h, w.dh * (w.kh - 1) + 1, w.sh, w.ph, w.oh),
            _end_pad(wd, w.dw * (w.kw - 1) + 1, w.sw, w.pw, w.ow)]


def _ceil_mode(x_t, w) -> int:
    h, wd = _shape(x_t)[-2:]
    floor = ((h + 2 * w.ph - w.dh * (w.kh - 1) - 1) // w.sh + 1,
             (wd + 2 * w.pw - w.dw * (w.kw - 1) - 1) // w.sw + 1)
    return int(floor != (w.oh, w.ow))


@register_function(conv.Conv2d, shape_args={3})
def _conv2d(g, rec, alt):
    x_t, w_t, b_t, win = rec.args
    inputs = [g.value(x_t), g.value(w_t)] + ([g.value(b_t)] if b_t is not None else [])
    return [g.node("Conv", inputs, kernel_shape=[win.kh, win.kw], strides=[win.sh, win.sw],
                   pads=_window_pads(x_t, win), dilations=[win.dh, win.dw], group=int(win.groups))]


@register_function(pool.MaxPool2d, shape_args={1})
def _max_pool(g, rec, alt):
    x_t, win = rec.args
    y = g.node("MaxPool", [g.value(x_t)], kernel_shape=[win.kh, win.kw],
               strides=[win.sh, win.sw], pads=[win.ph, win.pw, win.ph, win.pw],
               dilations=[win.dh, win.dw], ceil_mode=_ceil_mode(x_t, win))
    return [y, None]  # ONNX's indices count over the whole tensor, not per plane as jitnet's


@register_function(pool.AvgPool2d, shape_args={1})
def _avg_pool(g, rec, alt):
    x_t, win, count_include_pad, divisor, adaptive = rec.args
    x = g.value(x_t)
    if adaptive:
        h, w = _shape(x_t)[-2:]
        if (win.oh, win.ow) == (1, 1):
            return [g.node("GlobalAveragePool", [x])]
        if h % win.oh or w % win.ow:
            raise g.unsupported(f"adaptive average pooling from {h}x{w} to "
                                f"{win.oh}x{win.ow} has windows of unequal sizes; ONNX "
                                "has no such op (output sizes that divide the input work)")
        if alt is not None and tuple(_shape(alt.args[0])[-2:]) != (h, w):
            raise g.unsupported("adaptive average pooling to a size other than 1 needs "
                                "static spatial dims (they are dynamic here)")
        k = [h // win.oh, w // win.ow]
        return [g.node("AveragePool", [x], kernel_shape=k, strides=k)]
    if divisor:
        raise g.unsupported(f"divisor_override={divisor} has no ONNX equivalent")
    return [g.node("AveragePool", [x], kernel_shape=[win.kh, win.kw], strides=[win.sh, win.sw],
                   pads=[win.ph, win.pw, win.ph, win.pw],
                   count_include_pad=int(count_include_pad), ceil_mode=_ceil_mode(x_t, win))]


@register_function(norm.BatchNorm)
def _batch_norm(g, rec, alt):
    x_t, w_t, b_t, mean_t, var_t, training, _momentum, eps = rec.args
    if training:
        raise g.unsupported("batch statistics are used (a BatchNorm without running "
                            "statistics, or F.batch_norm(training=True)); export needs the "
                            "running statistics of eval mode")
    c, dt = _shape(x_t)[1], _dt(x_t)
    scale = g.value(w_t) if w_t is not None else g.literal(np.ones(c, dt), "bn_scale")
    bias = g.value(b_t) if b_t is not None else g.literal(np.zeros(c, dt), "bn_bias")
    return [g.node("BatchNormalization", [g.value(x_t), scale, bias, g.value(mean_t),
                                          g.value(var_t)], epsilon=float(eps))]


# ---------------------------------------------------------------------- shapes

def _varying(a: tuple, b: tuple | None) -> list[int]:
    if b is None:
        return []
    return [i for i, (x, y) in enumerate(zip(a, b)) if x != y]


@register_function(shape.Reshape, shape_args={1})
def _reshape(g, rec, alt):
    x_t, target = rec.args[0], list(rec.args[1])
    if alt is not None:
        in1, in2, out2 = _shape(x_t), _shape(alt.args[0]), tuple(alt.args[1])
        rest = []
        for i in _varying(tuple(target), out2):
            if i < len(in1) and in1[i] == target[i] and in2[i] == out2[i]:
                target[i] = 0  # ONNX: copy the (dynamic) input dim
            else:
                rest.append(i)
        # beyond one -1, a dim must be some graph input's dynamic axis (MultiheadAttention's
        # (L*N, E) -> (L, N, E) with both dynamic): read from that input's Shape
        sources = {i: g.input_axis(target[i], out2[i]) for i in rest}
        unknown = [i for i in rest if sources[i] is None]
        if len(unknown) > 1:
            raise g.unsupported(f"reshape to {tuple(rec.args[1])} has {len(rest)} dims that "
                                "follow dynamic axes and are neither copied from the input nor "
                                "a graph input's dim; ONNX's Reshape can infer only one (-1)")
        if rest:
            target[(unknown or rest)[-1]] = -1
        if len(rest) > 1:
            parts = [g.input_dim(sources[i]) if i in sources and target[i] != -1
                     else g.ints([target[i]], "dim") for i in range(len(target))]
            return [g.node("Reshape", [g.value(x_t), g.node("Concat", parts, axis=0)])]
    return [g.node("Reshape", [g.value(x_t), g.ints(target, "shape")])]


@register_function(shape.Permute)
def _permute(g, rec, alt):
    return [g.node("Transpose", [g.value(rec.args[0])], perm=[int(d) for d in rec.args[1]])]


@register_function(shape.Expand, shape_args={1})
def _expand(g, rec, alt):
    x_t, target = rec.args[0], list(rec.args[1])
    xs = _shape(x_t)
    lead = len(target) - len(xs)
    for i in _varying(tuple(target), tuple(alt.args[1]) if alt is not None else None):
        j = i - lead
        if j >= 0 and xs[j] == target[i] and _shape(alt.args[0])[j] == alt.args[1][i]:
            target[i] = 1  # ONNX's Expand broadcasts both ways: 1 keeps the input's dim
        else:
            raise g.unsupported(f"expand to {tuple(rec.args[1])}: dim {i} follows a dynamic "
                                "axis that the input does not have")
    return [g.node("Expand", [g.value(x_t), g.ints(target, "shape")])]


@register_function(shape.Contiguous, shape.Clone, shape.ToDevice)
def _identity(g, rec, alt):
    return [g.node("Identity", [g.value(rec.args[0])])]


@register_function(shape.Cat)
def _cat(g, rec, alt):
    axis, *xs = rec.args
    return [g.node("Concat", [g.value(x) for x in xs], axis=int(axis))]


def _slice(g, x: str, axes, starts, ends, steps) -> str:
    if not axes:
        return x
    return g.node("Slice", [x, g.ints(starts, "starts"), g.ints(ends, "ends"), g.ints(axes, "axes"),
                            g.ints(steps, "steps")])


def _slice_bounds(s: slice):
    step = 1 if s.step is None else int(s.step)
    if step > 0:
        start = 0 if s.start is None else int(s.start)
        stop = INT64_MAX if s.stop is None else int(s.stop)
    else:
        start = -1 if s.start is None else int(s.start)
        stop = INT64_MIN if s.stop is None else int(s.stop)
    return start, stop, step


@register_function(shape.Index)
def _index(g, rec, alt):
    x_t, idx = rec.args
    items = list(idx) if isinstance(idx, tuple) else [idx]
    ndim = x_t.ndim
    used = sum(1 for it in items if it is not None and it is not Ellipsis)
    if any(it is Ellipsis for it in items):
        at = next(i for i, it in enumerate(items) if it is Ellipsis)
        items[at:at + 1] = [slice(None)] * (ndim - used)
    items += [slice(None)] * (ndim - sum(1 for it in items if it is not None))
    arrays = [it for it in items if hasattr(it, "dtype") and getattr(it, "ndim", 0) > 0]
    if any(np.dtype(a.dtype) == np.bool_ for a in arrays):
        raise g.unsupported("indexing with a bool mask gives a data-dependent shape")
    if len(arrays) > 1 or (arrays and any(isinstance(it, (int, np.integer)) or (
            hasattr(it, "dtype") and getattr(it, "ndim", 1) == 0) for it in items)):
        raise g.unsupported("advanced indexing with more than one index array (or an array "
                            "and an int) is not supported; use index_select or gather")
    x = g.value(x_t)
    axes, starts, ends, steps = [], [], [], []
    gathers, unsqueeze = [], []  # (axis, index name) in input axes; output positions of None
    axis = out_pos = 0
    for it in items:
        if it is None:
            unsqueeze.append(out_pos)
            out_pos += 1
            continue
        if isinstance(it, slice):
            start, stop, step = _slice_bounds(it)
            if (start, stop, step) != (0, INT64_MAX, 1):
                axes.append(axis)
                starts.append(start)
                ends.append(stop)
                steps.append(step)
            out_pos += 1
        elif isinstance(it, (int, np.integer)):
            gathers.append((axis, g.scalar(int(it), np.int64, "idx")))
        else:  # an index array (0-d ones drop the axis, as an int does)
            gathers.append((axis, g.raw_value(it)))
            out_pos += it.ndim
        axis += 1
    y = _slice(g, x, axes, starts, ends, steps)
    for ax, ind in sorted(gathers, reverse=True):  # highest axis first: lower ones keep place
        y = g.node("Gather", [y, ind], axis=ax)
    if unsqueeze:
        y = g.axes_op("Unsqueeze", [y], unsqueeze)
    return [y if y != x else g.node("Identity", [x])]


@register_function(split.Narrow)
def _narrow(g, rec, alt):
    x_t, axis, start, stop = rec.args
    return [_slice(g, g.value(x_t), [axis], [start], [stop], [1])]


@register_function(repeat.Flip)
def _flip(g, rec, alt):
    x_t, key = rec.args
    axes = [i for i, s in enumerate(key) if s.step == -1]
    n = len(axes)
    return [_slice(g, g.value(x_t), axes, [-1] * n, [INT64_MIN] * n, [-1] * n)]


def _pads(rec) -> list[int]:
    """ONNX pads (all begins, then all ends) of a ConstantPad record: out[dst] = x[src]."""
    x_t, out_shape, dst, src, _value = rec.args
    begins, ends = [], []
    for size, out, d, s in zip(_shape(x_t), out_shape, dst, src):
        d0, s0 = d.start or 0, s.start or 0
        d1, s1 = (out if d.stop is None else d.stop), (size if s.stop is None else s.stop)
        begins.append(d0 - s0)
        ends.append((out - d1) - (size - s1))  # negative amounts crop
    return begins + ends


@register_function(pad.ConstantPad, shape_args={1, 2, 3})
def _constant_pad(g, rec, alt):
    pads = _pads(rec)
    if alt is not None and _pads(alt) != pads:
        raise g.unsupported("the padding amounts change with a dynamic axis")
    x_t, value = rec.args[0], rec.args[4]
    return [g.node("Pad", [g.value(x_t), g.ints(pads, "pads"), g.scalar(value, _dt(x_t))],
                   mode="constant")]


# ---------------------------------------------------------------------- reductions, scans

@register_function(reduce.Reduce)
def _reduce(g, rec, alt):
    x_t, op, axes, keepdim, out_dtype = rec.args
    x = g.cast(g.value(x_t), _dt(x_t), out_dtype if out_dtype is not None else _dt(x_t))
    if not axes:
        return [g.node("Identity", [x])]
    kind = "ReduceMean" if op == oc.MEAN else "ReduceSum"
    return [g.axes_op(kind, [x], axes, keepdims=int(keepdim))]


@register_function(reduce.Prod)
def _prod(g, rec, alt):
    x_t, axes, keepdim, out_dtype = rec.args
    x = g.cast(g.value(x_t), _dt(x_t), out_dtype if out_dtype is not None else _dt(x_t))
    if not axes:
        return [g.node("Identity", [x])]
    return [g.axes_op("ReduceProd", [x], axes, keepdims=int(keepdim))]


@register_function(reduce.MaxMinAll)
def _maxmin_all(g, rec, alt):
    x_t, op = rec.args
    if x_t.ndim == 0:
        return [g.node("Identity", [g.value(x_t)])]
    kind = "ReduceMax" if op == oc.MAX else "ReduceMin"
    return [g.axes_op(kind, [g.value(x_t)], range(x_t.ndim), keepdims=0)]


@register_function(reduce.AmaxAmin)
def _amax_amin(g, rec, alt):
    x_t, op, axes, keepdim = rec.args
    if not axes:
        return [g.node("Identity", [g.value(x_t)])]
    kind = "ReduceMax" if op == oc.MAX else "ReduceMin"
    return [g.axes_op(kind, [g.value(x_t)], axes, keepdims=int(keepdim))]


@register_function(reduce._SafeSqrt)
def _safe_sqrt(g, rec, alt):
    # the safe part is the gradient at 0; the value is an ordinary square root
    return [g.node("Sqrt", [g.value(rec.args[0])])]


@register_function(reduce._PNorm)
def _p_norm(g, rec, alt):
    x_t, p, axes, keepdim = rec.args
    x = g.value(x_t)
    if p == 1:
        return [g.axes_op("ReduceL1", [x], axes, keepdims=int(keepdim))]
    if p == 2:
        return [g.axes_op("ReduceL2", [x], axes, keepdims=int(keepdim))]
    dt = _dt(x_t)
    powered = g.node("Pow", [g.node("Abs", [x]), g.scalar(p, dt)])
    total = g.axes_op("ReduceSum", [powered], axes, keepdims=int(keepdim))
    return [g.node("Pow", [total, g.scalar(1.0 / p, dt)])]


@register_function(reduce.Logsumexp)
def _logsumexp(g, rec, alt):
    x_t, axes, keepdim = rec.args
    if not axes:
        return [g.node("Identity", [g.value(x_t)])]
    # onnxruntime's ReduceLogSumExp subtracts the slice max first, as jitnet's kernel does
    return [g.axes_op("ReduceLogSumExp", [g.value(x_t)], axes, keepdims=int(keepdim))]


@register_function(reduce.MaxMinDim)
def _maxmin_dim(g, rec, alt):
    x_t, op, axis, keepdim = rec.args
    x = g.value(x_t)
    kind, arg = ("ReduceMax", "ArgMax") if op == oc.MAX else ("ReduceMin", "ArgMin")
    return [g.axes_op(kind, [x], [axis], keepdims=int(keepdim)),
            g.node(arg, [x], axis=int(axis), keepdims=int(keepdim))]


@register_function(scan.Cumsum)
def _cumsum(g, rec, alt):
    x_t, axis, out_dtype = rec.args
    x = g.cast(g.value(x_t), _dt(x_t), out_dtype if out_dtype is not None else _dt(x_t))
    return [g.node("CumSum", [x, g.scalar(axis, np.int64, "axis")])]


@register_function(index.SortAlong)
def _sort(g, rec, alt):
    x_t, axis, descending, k = rec.args
    kk = _shape(x_t)[axis] if k is None else min(k, _shape(x_t)[axis])
    vals, idx = g.node("TopK", [g.value(x_t), g.ints([kk], "k")], n_out=2, axis=int(axis),
                       largest=int(descending), sorted=1)
    return [vals, idx]


# ---------------------------------------------------------------------- indexing

@register_function(index.Gather, shape_args={3})
def _gather(g, rec, alt):
    x_t, axis, idx_t, region = rec.args
    x = _region_slice(g, g.value(x_t), x_t, region,
                      *((alt.args[0], alt.args[3]) if alt is not None else ()))
    return [g.node("GatherElements", [x, g.value(idx_t)], axis=int(axis))]


def _cut(region, shape) -> list[tuple[int, int]]:
    """(axis, stop) for each axis that a leading-part region (``index._region``) shortens."""
    if region is None:
        return []
    return [(d, s.stop) for d, s in enumerate(region) if s.stop is not None and s.stop != shape[d]]


def _region_slice(g, x: str, t: Tensor, region, alt_t=None, alt_region=None) -> str:
    """``t[region]`` (``x`` is t's name); the cut must not follow a dynamic axis."""
    cut = _cut(region, _shape(t))
    if alt_t is not None and _cut(alt_region, _shape(alt_t)) != cut:
        raise g.unsupported("the index is shorter than the tensor along a dynamic axis")
    axes = [d for d, _ in cut]
    return _slice(g, x, axes, [0] * len(axes), [stop for _, stop in cut], [1] * len(axes))


@register_function(index.Scatter, index.ScatterAdd, shape_args={4, 5})
def _scatter(g, rec, alt):
    x_t, axis, idx_t, src, _g_region, src_region = rec.args
    idx = g.value(idx_t)
    if isinstance(src, Tensor):
        updates = _region_slice(g, g.value(src), src, src_region,
                                *((alt.args[3], alt.args[5]) if alt is not None else ()))
    else:  # a number: broadcast to the index's shape
        updates = g.node("Expand", [g.scalar(src, _dt(x_t)), g.node("Shape", [idx])])
    attrs = {"axis": int(axis)}
    if rec.fn is index.ScatterAdd:
        if g.opset < 16:
            raise g.unsupported("scatter_add needs opset 16 or later (ScatterElements with "
                                "reduction='add')")
        attrs["reduction"] = "add"
    return [g.node("ScatterElements", [g.value(x_t), idx, updates], **attrs)]


@register_function(index.IndexSelect)
def _index_select(g, rec, alt):
    x_t, key = rec.args
    return [g.node("Gather", [g.value(x_t), g.raw_value(key[-1])], axis=len(key) - 1)]


@register_function(embedding.Embedding)
def _embedding_fn(g, rec, alt):
    w_t, idx, _pad = rec.args
    return [g.node("Gather", [g.value(w_t), g.raw_value(idx)], axis=0)]


# ---------------------------------------------------------------------- whole layers

@register_module(nn.Embedding, accepts=lambda m, args, kw: m.max_norm is None and len(args) == 1
                 and isinstance(args[0], Tensor))
def _embedding(g, rec, alt):
    idx_t = rec.args[0]
    idx = g.cast(g.value(idx_t), _dt(idx_t), np.int64)
    return [g.node("Gather", [g.value(rec.module.weight), idx], axis=0)]


def _flatten_whole(m, args, kwargs) -> bool:
    return (len(args) == 1 and isinstance(args[0], Tensor) and args[0].ndim >= 2
            and m.start_dim in (1, 1 - args[0].ndim) and m.end_dim in (-1, args[0].ndim - 1))


@register_module(nn.Flatten, accepts=_flatten_whole)
def _flatten(g, rec, alt):
    return [g.node("Flatten", [g.value(rec.args[0])], axis=1)]


from . import quantized  # noqa: E402,F401  (registers the int8 emitters: MatMulInteger)
