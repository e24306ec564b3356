"""ONNX emitters for the layers of issue 13 that are traced op by op: the transposed
convolution, layer and group normalisation, the attention softmax (so
``nn.MultiheadAttention`` and ``nn.TransformerEncoder[Layer]`` export as
MatMul/Add/Softmax/Reshape/Transpose), and ``interpolate``'s resampling.
"""
from __future__ import annotations

import math

import numpy as np

from ..ops import attention, conv_transpose, norm, upsample
from .ops import _dt, _shape
from .registry import register_function

# ---------------------------------------------------------------------- transposed convolution


def _output_padding(win) -> list[int]:
    """The output padding a transposed conv's geometry implies.  In its ``Window2d`` the
    roles are swapped: (h, w) is the transposed output, (oh, ow) its input."""
    return [win.h - conv_transpose.transposed_size(win.oh, win.kh, win.sh, win.ph, win.dh, 0),
            win.w - conv_transpose.transposed_size(win.ow, win.kw, win.sw, win.pw, win.dw, 0)]


@register_function(conv_transpose.ConvTranspose2d, shape_args={3})
def _conv_transpose2d(g, rec, alt):
    x_t, w_t, b_t, win = rec.args
    out_pad = _output_padding(win)
    if alt is not None and _output_padding(alt.args[3]) != out_pad:
        raise g.unsupported("the output padding changes with a dynamic axis (an output_size "
                            "that follows the input)")
    inputs = [g.value(x_t), g.value(w_t)] + ([g.value(b_t)] if b_t is not None else [])
    return [g.node("ConvTranspose", inputs, kernel_shape=[win.kh, win.kw],
                   strides=[win.sh, win.sw], pads=[win.ph, win.pw, win.ph, win.pw],
                   dilations=[win.dh, win.dw], group=int(win.groups), output_padding=out_pad)]


# ---------------------------------------------------------------------- layer / group norm

def _normalised_dims(shape: tuple, row: int, weight) -> int | None:
    """How many trailing dims one normalised row of ``row`` elements covers when the affine
    parameters are per element (layer norm): the weight's rank, else the shortest suffix of
    ``shape`` with that many elements.  None: no suffix fits (a group norm)."""
    if weight is not None:
        k = weight.ndim
        return k if tuple(shape[len(shape) - k:]) == tuple(weight.shape) else None
    size = 1
    for k in range(1, len(shape) + 1):
        size *= shape[-k]
        if size == row:
            return k
    return None


def _moments_norm(g, x: str, axes, eps: float, dt) -> str:
    """(x - mean) / sqrt(var + eps) over ``axes`` (biased variance), as ONNX ops."""
    mean = g.axes_op("ReduceMean", [x], axes, keepdims=1)
    d = g.node("Sub", [x, mean])
    var = g.axes_op("ReduceMean", [g.node("Mul", [d, d])], axes, keepdims=1)
    return g.node("Div", [d, g.node("Sqrt", [g.node("Add", [var, g.scalar(eps, dt)])])])


@register_function(norm.GroupNorm, shape_args={3})
def _group_norm(g, rec, alt):
    x_t, w_t, b_t, rows, groups, cpg, eps = rec.args
    shape, dt = _shape(x_t), _dt(x_t)
    x = g.value(x_t)
    row = math.prod(shape) // rows if rows else 0
    k = _normalised_dims(shape, row, w_t if w_t is not None else b_t) if groups == 1 else None
    if k is not None and (w_t is None or w_t.ndim == k) and cpg == row:
        # layer_norm (and group_norm with one group on (N, C) input: the same numbers)
        if g.opset >= 17:
            scale = g.value(w_t) if w_t is not None else g.literal(np.ones(shape[-k:], dt),
                                                                   "ln_scale")
            inputs = [x, scale] + ([g.value(b_t)] if b_t is not None else [])
            return [g.node("LayerNormalization", inputs, axis=-k, epsilon=float(eps))]
        y = _moments_norm(g, x, list(range(-k, 0)), eps, dt)
        if w_t is not None:
            y = g.node("Mul", [y, g.value(w_t)])
        return [g.node("Add", [y, g.value(b_t)]) if b_t is not None else y]
    if len(shape) < 2 or shape[1] != groups * cpg:
        raise g.unsupported(f"a GroupNorm record on shape {shape} with {groups} groups of "
                            f"{cpg} channels is neither a layer norm nor a group norm over dim 1")
    # group_norm: (N, C, *) -> (N, groups, rest), normalised over rest, then per-channel affine.
    # (ONNX's GroupNormalization changed the scale's meaning in opset 21, so it is composed.)
    grouped = g.node("Reshape", [x, g.ints([0, groups, -1], "shape")])
    y = g.node("Reshape", [_moments_norm(g, grouped, [2], eps, dt), g.node("Shape", [x])])
    per_channel = [shape[1]] + [1] * (len(shape) - 2)
    if w_t is not None:
        y = g.node("Mul", [y, g.node("Reshape", [g.value(w_t), g.ints(per_channel, "shape")])])
    if b_t is not None:
        y = g.node("Add", [y, g.node("Reshape", [g.value(b_t), g.ints(per_channel, "shape")])])
    return [y]


# ---------------------------------------------------------------------- attention

def _causal_mask(g, scores: str, rec, alt) -> str:
    """An additive (L, S) mask: -inf where key j > query i (PyTorch's top-left causal mask)."""
    dt = _dt(rec.args[0])
    lq, ls = _shape(rec.args[0])[-2:]
    if alt is None or tuple(_shape(alt.args[0])[-2:]) == (lq, ls):
        return g.literal(np.triu(np.full((lq, ls), -np.inf, dt), 1), "causal_mask")
    if g.opset < 14:
        raise g.unsupported("a causal mask over a dynamic sequence length needs opset 14 "
                            "(Trilu)")
    from onnx import helper

    size = g.node("Slice", [g.node("Shape", [scores]), g.ints([-2]), g.ints([3]), g.ints([0])])
    one = helper.make_tensor("value", helper.np_dtype_to_tensor_dtype(np.dtype(dt)), [1], [1])
    upper = g.node("Trilu", [g.node("ConstantOfShape", [size], value=one),
                             g.scalar(1, np.int64, "k")], upper=1)
    return g.node("Where", [g.cast(upper, dt, np.bool_), g.scalar(-np.inf, dt),
                            g.scalar(0.0, dt)])


@register_function(attention.AttnSoftmax)
def _attn_softmax(g, rec, alt):
    scores_t, mask_t, scale, causal = rec.args
    dt = _dt(scores_t)
    scores = g.value(scores_t)
    z = scores if scale == 1.0 else g.node("Mul", [scores, g.scalar(scale, dt)])
    if mask_t is not None:
        z = g.node("Add", [z, g.value(mask_t)])
    if causal:
        z = g.node("Add", [z, _causal_mask(g, scores, rec, alt)])
    return [g.node("Softmax", [z], axis=-1)]


@register_function(attention.HeadsAttention)
def _heads_attention(g, rec, alt):
    """The heads sliced, reshaped and transposed out of the projections, then the two
    MatMuls and the Softmax per (sample, head); the weights output is not exported (the
    layers that use this Function discard it)."""
    xq_t, xk_t, xv_t, mask_t, geometry, causal = rec.args
    offsets, heads, head_dim, batch_first, scale = geometry
    xk_t = xq_t if xk_t is None else xk_t
    xv_t = xk_t if xv_t is None else xv_t
    dt, width = _dt(xq_t), heads * head_dim
    to_heads = [0, 2, 1, 3] if batch_first else [1, 2, 0, 3]  # -> (N, heads, L, head_dim)

    def heads_of(t, offset):
        block = g.node("Slice", [g.value(t), g.ints([offset]), g.ints([offset + width]),
                                 g.ints([2])])
        four = g.node("Reshape", [block, g.ints([0, 0, heads, head_dim])])
        return g.node("Transpose", [four], perm=to_heads)

    q, k, v = (heads_of(t, o) for t, o in zip((xq_t, xk_t, xv_t), offsets))
    z = g.node("MatMul", [q, g.node("Transpose", [k], perm=[0, 1, 3, 2])])
    if scale != 1.0:
        z = g.node("Mul", [z, g.scalar(scale, dt)])
    lq, ls = _shape(xq_t)[int(batch_first)], _shape(xk_t)[int(batch_first)]
    if mask_t is not None:
        mask = g.value(mask_t)
        if _shape(mask_t)[0] > 1:  # one mask per (sample, head): n * heads + h
            if alt is not None and (_shape(alt.args[0]) != _shape(xq_t)
                                    or _shape(alt.args[3]) != _shape(mask_t)):
                raise g.unsupported("a per-head attention mask with dynamic axes")
            mask = g.node("Reshape", [mask, g.ints([-1, heads, lq, ls])])
        z = g.node("Add", [z, mask])
    if causal:
        z = g.node("Add", [z, g.literal(np.triu(np.full((lq, ls), -np.inf, dt), 1),
                                         "causal_mask")])
    out = g.node("MatMul", [g.node("Softmax", [z], axis=-1), v])
    back = [0, 2, 1, 3] if batch_first else [2, 0, 1, 3]
    out = g.node("Transpose", [out], perm=back)
    return [g.node("Reshape", [out, g.ints([0, 0, width])]), None]


# ---------------------------------------------------------------------- interpolate

@register_function(upsample.Resample)
def _resample(g, rec, alt):
    """sum_t w[t] * x[..., idx[t], ...] along the axis: Gather (nearest: one tap of weight 1)
    or two Gathers, weighted and added (linear); the tap tables are PyTorch's, so the result
    is jitnet's (and PyTorch's) to rounding, which ONNX's Resize modes do not all promise."""
    x_t, axis, taps = rec.args
    idx, wts = taps[0], taps[1]
    x, dt = g.value(x_t), _dt(x_t)
    trailing = (1,) * (x_t.ndim - axis - 1)
    out = None
    for t in range(idx.shape[0]):
        y = g.node("Gather", [x, g.ints(idx[t], "taps")], axis=int(axis))
        if not np.all(wts[t] == 1):
            w = np.asarray(wts[t], dt).reshape((-1,) + trailing)
            y = g.node("Mul", [y, g.literal(w, "tap_weights")])
        out = y if out is None else g.node("Add", [out, y])
    return [out]
