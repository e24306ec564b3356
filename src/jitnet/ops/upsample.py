"""``interpolate``: resize (N, C, L) or (N, C, H, W) input by nearest-neighbour or (bi)linear
sampling, as ``torch.nn.functional.interpolate``.

Both modes are separable, so each spatial axis is resized on its own by one
``Resample``: the tensor seen as (P, n_in, Q) around that axis, and a table of
T source taps per output index computed on the host, once per call, with
PyTorch's formulas and in PyTorch's precision (float32 for the nearest index,
the input's float type for linear weights), so the sampled positions match
PyTorch's bit for bit:

- nearest:  y[.., j, ..] = x[.., idx[j], ..]                          (T = 1, weight 1)
- linear:   y[.., j, ..] = w0[j] * x[.., i0[j], ..] + w1[j] * x[.., i1[j], ..]   (T = 2)

The kernels (``kernels/*/upsample.py``) run that weighted gather and its
adjoint, written as a gather too: the taps' source indices never decrease, so
the outputs that read input i are one range per tap.  (Composed from
``index_select`` the backward was a NumPy ``add.at`` scatter, ~10x PyTorch.)
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._nn_args import check_float, check_tensor

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "area")
_LINEAR = {"linear": 3, "bilinear": 4}


def _sizes(op: str, x: Tensor, size, scale_factor, recompute) -> tuple[list, list]:
    """Output sizes and the scales the index formulas use (None: from the sizes)."""
    spatial = x.shape[2:]
    dims = len(spatial)
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: " + ("only one of size or scale_factor should be defined"
                                      if size is not None else
                                      "either size or scale_factor should be defined"))
    if size is not None:
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * dims
        if len(sizes) != dims or not all(
                isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in sizes):
            raise ValueError(f"{op}: size must be an int or {dims} ints for input of shape "
                             f"{tuple(x.shape)}, got {size!r}")
        sizes = [int(s) for s in sizes]
        scales = [None] * dims
    else:
        scales = list(scale_factor) if isinstance(scale_factor, (tuple, list)) else \
            [scale_factor] * dims
        if len(scales) != dims or not all(
                isinstance(s, (int, float, np.number)) and not isinstance(s, bool) and s > 0
                for s in scales):
            raise ValueError(f"{op}: scale_factor must be a positive number or {dims} of them "
                             f"for input of shape {tuple(x.shape)}, got {scale_factor!r}")
        scales = [float(s) for s in scales]
        sizes = [math.floor(n * s) for n, s in zip(spatial, scales)]
        if recompute:
            scales = [None] * dims
    if min(sizes) < 1:
        raise ValueError(f"{op}: output size {tuple(sizes)} for input of shape "
                         f"{tuple(x.shape)} must be positive")
    return sizes, scales


def _ratio(n_in: int, n_out: int, scale, align_corners: bool, ftype):
    """PyTorch's area_pixel_compute_scale: output-to-input coordinate ratio, in ``ftype``."""
    if align_corners:
        return ftype(n_in - 1) / ftype(n_out - 1) if n_out > 1 else ftype(0)
    if scale is not None:
        return ftype(1.0 / scale)
    return ftype(n_in) / ftype(n_out)


def nearest_index(n_in: int, n_out: int, scale, exact: bool) -> np.ndarray:
    """Source index of each output position: floor(i * ratio) ('nearest', PyTorch's legacy
    rule) or floor((i + 0.5) * ratio) ('nearest-exact'), in float32 as PyTorch computes it."""
    i = np.arange(n_out, dtype=np.float32)
    if exact:
        i = i + np.float32(0.5)
    r = _ratio(n_in, n_out, scale, False, np.float32)
    return np.minimum(np.floor(i * r).astype(np.int64), n_in - 1)


def linear_weights(n_in: int, n_out: int, scale, align_corners: bool, ftype):
    """(i0, i1, w0, w1): output i = w0 * input[i0] + w1 * input[i1], PyTorch's formula."""
    r = _ratio(n_in, n_out, scale, align_corners, ftype)
    dst = np.arange(n_out, dtype=ftype)
    src = r * dst if align_corners else np.maximum(r * (dst + ftype(0.5)) - ftype(0.5), 0)
    src = src.astype(ftype)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    w1 = np.clip(src - i0.astype(ftype), 0, 1).astype(ftype)
    i1 = i0 + (i0 < n_in - 1)
    return i0, i1, (ftype(1) - w1).astype(ftype), w1


class Resample(Function):
    """One axis of ``interpolate``: y = sum_t wts[t] * x[..., idx[t], ...] along ``axis``."""

    @staticmethod
    def forward(ctx, x, axis, taps):
        k = ctx.k
        idx, wts, lo, hi = (k.from_host(a) for a in taps)
        p, n_in = math.prod(x.shape[:axis]), x.shape[axis]
        q = math.prod(x.shape[axis + 1:])
        y = k.resample_fwd(k.reshape(k.contiguous(x), (p, n_in, q)), idx, wts)
        ctx.saved = (lo, hi, wts, p, q, x.shape, axis)
        return k.reshape(y, x.shape[:axis] + (idx.shape[1],) + x.shape[axis + 1:])

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        lo, hi, wts, p, q, shape, axis = ctx.saved
        gx = k.resample_bwd(k.reshape(k.contiguous(g), (p, wts.shape[1], q)), lo, hi, wts)
        return k.reshape(gx, shape), None, None


def _tap_table(n_in: int, idx: np.ndarray, wts: np.ndarray, dtype) -> tuple:
    """(idx, wts, lo, hi) for the kernels, checked: indices in range and non-decreasing per
    tap, so that outputs [lo[t, i], hi[t, i]) are exactly those reading input i via tap t."""
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    if idx.min() < 0 or idx.max() >= n_in or np.any(np.diff(idx, axis=1) < 0):
        raise RuntimeError(f"interpolate: internal error, bad tap table for size {n_in}")
    lo = np.stack([np.searchsorted(row, np.arange(n_in), "left") for row in idx])
    hi = np.stack([np.searchsorted(row, np.arange(n_in), "right") for row in idx])
    return idx, np.ascontiguousarray(wts, dtype=dtype), lo.astype(np.int64), hi.astype(np.int64)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, L) or (N, C, H, W) input, as ``F.interpolate``.

    ``size`` (int or one per spatial dim) or ``scale_factor`` (output size
    floor(in * scale); the sampling uses 1/scale unless
    ``recompute_scale_factor``).  Modes: 'nearest' (PyTorch's
    floor(i * in/out) rule), 'nearest-exact', 'linear' (3-D input),
    'bilinear' (4-D input; ``align_corners`` as PyTorch, default False), and
    'area' (= adaptive average pooling, 4-D).  'bicubic', 'trilinear', 5-D
    input and ``antialias=True`` raise NotImplementedError.
    """
    op = "interpolate"
    check_tensor(input, "input", op)
    if mode not in _MODES:
        if mode in ("bicubic", "trilinear"):
            raise NotImplementedError(f"{op}: mode={mode!r} is not supported by jitnet")
        raise ValueError(f"{op}: mode must be one of {', '.join(_MODES)}, got {mode!r}")
    if input.ndim not in (3, 4):
        if input.ndim == 5:
            raise NotImplementedError(f"{op}: 5-D (volumetric) input is not supported by jitnet")
        raise ValueError(f"{op}: expected 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape "
                         f"{tuple(input.shape)}")
    check_float(input, "input", op)
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported by jitnet")
    linear = mode in _LINEAR
    if align_corners is not None and not linear:
        raise ValueError(f"{op}: align_corners option can only be set with the interpolating "
                         "modes: linear | bilinear")
    if linear and input.ndim != _LINEAR[mode]:
        raise NotImplementedError(f"{op}: got {input.ndim}-D input, but {mode} mode needs "
                                  f"{_LINEAR[mode]}-D input")
    sizes, scales = _sizes(op, input, size, scale_factor, recompute_scale_factor)
    if mode == "area":
        from .pool import adaptive_avg_pool2d

        if input.ndim != 4:
            raise NotImplementedError(f"{op}: mode='area' needs 4-D input in jitnet")
        return adaptive_avg_pool2d(input, tuple(sizes))
    ftype = np.float64 if input.dtype.np == np.float64 else np.float32
    y = input
    for a, (n_in, n_out, s) in enumerate(zip(input.shape[2:], sizes, scales)):
        if n_in == n_out:  # PyTorch copies the axis through whatever the scale
            continue
        if linear:
            i0, i1, w0, w1 = linear_weights(n_in, n_out, s, bool(align_corners), ftype)
            idx, wts = np.stack([i0, i1]), np.stack([w0, w1])
        else:
            idx = nearest_index(n_in, n_out, s, mode == "nearest-exact")[None]
            wts = np.ones((1, n_out))
        y = Resample.apply(y, a + 2, _tap_table(n_in, idx, wts, input.dtype.np))
    return y.clone() if y is input else y
