"""Argument checks shared by the nn ops (conv, pool, loss): pairs, ranks, dtypes, reductions,
and ``Window2d``, the geometry of a convolution or pooling window handed to the kernels."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..kernels import opcodes as oc
from ..tensor import Tensor


class Window2d(NamedTuple):
    """Geometry of a 2-D sliding window (convolution, pooling) over an (N, C, H, W) input.

    Built once per call by ``window2d`` after the op has validated its arguments,
    kept in ``ctx`` for backward and handed as one argument to the kernels
    (``im2col``, ``col2im``, ``max_pool2d_fwd``, ...), which read the fields by
    name.  Numba compiles it as a tuple of 15 int64s: one signature for every
    geometry, so one compile serves every layer.  ``ph``/``pw`` are the top/left
    padding; the bottom/right padding is implied by the output size (asymmetric
    ``padding='same'`` needs nothing more).
    """
    n: int
    c: int
    h: int
    w: int
    kh: int
    kw: int
    sh: int
    sw: int
    ph: int
    pw: int
    dh: int
    dw: int
    oh: int
    ow: int
    groups: int


def window2d(shape, kernel, stride, padding, dilation, out_hw, groups: int = 1) -> Window2d:
    """A ``Window2d`` for input ``shape`` (N, C, H, W) and (h, w) pairs, all ints."""
    values = (*shape, *kernel, *stride, *padding, *dilation, *out_hw, groups)
    g = Window2d(*(int(v) for v in values))
    if min(g) < 0 or min(g.sh, g.sw, g.dh, g.dw, g.groups) < 1:  # the ops checked already
        raise ValueError(f"invalid window geometry {g}")
    return g


def pair(value, name: str, op: str) -> tuple[int, int]:
    """An int or a pair of ints -> (int, int); TypeError naming ``op`` and ``name`` otherwise."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return int(value[0]), int(value[1])
    raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")


def check_tensor(x, name: str, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def check_float(x: Tensor, name: str, op: str) -> None:
    if not x.dtype.is_floating_point:
        raise TypeError(f"{op}: expected a floating point {name}, got {x.dtype}")


def check_same_dtype(op: str, ref: Tensor, **others) -> None:
    """Every tensor in ``others`` (None allowed) has ref's dtype and device (no promotion)."""
    for name, t in others.items():
        if t is None:
            continue
        check_tensor(t, name, op)
        if t.dtype is not ref.dtype:
            raise TypeError(
                f"{op}: input is {ref.dtype} but {name} is {t.dtype}; they should be the same"
            )
        if t.device != ref.device:
            raise RuntimeError(f"{op}: input is on {ref.device} but {name} is on {t.device}")


def spatial_input(x, op: str) -> tuple[Tensor, bool]:
    """Check a (C, H, W) or (N, C, H, W) float input; returns it as 4-D and whether it was 3-D."""
    check_tensor(x, "input", op)
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{op}: expected 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(x.shape)}"
        )
    check_float(x, "input", op)
    if x.ndim == 3:
        return x.unsqueeze(0), True
    return x, False


_REDUCTIONS = {"none": oc.REDUCE_NONE, "mean": oc.REDUCE_MEAN, "sum": oc.REDUCE_SUM}


def reduction_code(reduction, op: str, size_average=None, reduce=None) -> int:
    """'none' / 'mean' / 'sum' -> op code; the legacy size_average/reduce are not supported."""
    if size_average is not None or reduce is not None:
        raise NotImplementedError(
            f"{op}: the deprecated size_average/reduce arguments are not supported; "
            "use reduction='none'|'mean'|'sum'"
        )
    try:
        return _REDUCTIONS[reduction]
    except (KeyError, TypeError):
        raise ValueError(
            f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}"
        ) from None
