"""``pad``: padding of the last dims (negative amounts crop), as PyTorch's F.pad.

``constant`` fills a value (its own Function: one copy into a filled output);
``reflect``, ``replicate`` and ``circular`` are, per padded dim, one
``index_select`` with a host-computed map from output to input positions, so
their gradient (repeated sources accumulate) comes from index_select's.
"""
from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from ._nn_args import check_tensor


class ConstantPad(Function):
    @staticmethod
    def forward(ctx, x, out_shape, dst, src, value):
        k = ctx.k
        out = k.full(out_shape, value, x.dtype)
        k.setitem(out, dst, k.getitem(x, src))
        ctx.shape, ctx.dtype, ctx.dst, ctx.src = x.shape, x.dtype, dst, src
        return out

    @staticmethod
    def backward(ctx, g):
        k = ctx.k
        gx = k.full(ctx.shape, 0, ctx.dtype)
        k.setitem(gx, ctx.src, k.getitem(g, ctx.dst))
        return gx, None, None, None, None


_MODES = ("constant", "reflect", "replicate", "circular")


def _source_positions(mode: str, n: int, before: int, after: int) -> np.ndarray:
    """For each output position along a padded dim of size n, the input position it copies."""
    p = np.arange(-before, n + after, dtype=np.int64)
    if mode == "reflect":
        p = np.abs(p)
        p = np.where(p >= n, 2 * (n - 1) - p, p)
    elif mode == "replicate":
        p = np.clip(p, 0, n - 1)
    else:  # circular
        p = np.mod(p, n)
    return p


def _pad_indexed(input: Tensor, pad: tuple, mode: str) -> Tensor:
    from .index import index_select

    op = "pad"
    npad = len(pad) // 2
    if input.ndim not in (npad + 1, npad + 2) or npad > 3:
        raise NotImplementedError(
            f"{op}: padding size {len(pad)} is not supported for {input.ndim}D input with "
            f"mode={mode!r} (PyTorch: 2D or 3D input for 2 values, 3D or 4D for 4, 4D or 5D "
            f"for 6)"
        )
    out = input
    for i in range(npad):
        d = input.ndim - 1 - i
        before, after = pad[2 * i], pad[2 * i + 1]
        n = input.shape[d]
        if mode == "reflect" and (before >= n or after >= n):
            raise RuntimeError(
                f"{op}: padding size should be less than the corresponding input dimension, but "
                f"got padding ({before}, {after}) at dimension {d} of input "
                f"{tuple(input.shape)} (mode='reflect')"
            )
        if mode == "circular" and (before > n or after > n):
            raise RuntimeError(f"{op}: padding value causes wrapping around more than once "
                               f"(padding ({before}, {after}) of dimension {d} of size {n})")
        if n == 0 and (before > 0 or after > 0):
            raise RuntimeError(f"{op}: cannot pad dimension {d} of size 0 with mode={mode!r}")
        if n + before + after < 0:
            raise ValueError(f"{op}: padding {pad} makes dim {d} of input "
                             f"{tuple(input.shape)} negative ({n + before + after})")
        if before == 0 and after == 0:
            continue
        src = _source_positions(mode, n, before, after)
        idx = Tensor(out._k().from_host(src), out.device)
        out = index_select(out, d, idx)
    return out if out is not input else input.clone()


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad)//2 dims: ``pad = (left, right, top, bottom, ...)``, last dim first.

    ``mode``: 'constant' (fill ``value``, default 0; any input ndim), 'reflect'
    (mirror without repeating the edge; each amount < the dim's size),
    'replicate' (repeat the edge) or 'circular' (wrap around; amounts <= the
    size).  As in PyTorch the last three pad 1 to 3 trailing dims of an input
    with one or two more dims (batch, channels) and ``value`` must be None for
    them.  Negative amounts crop.
    """
    op = "pad"
    check_tensor(input, "input", op)
    if mode not in _MODES:
        raise ValueError(f"{op}: unknown padding mode {mode!r}; expected one of {_MODES}")
    pad = tuple(pad)
    if len(pad) % 2 or any(isinstance(p, bool) or not isinstance(p, int) for p in pad):
        raise ValueError(f"{op}: pad must be an even-length sequence of ints, got {pad}")
    if len(pad) // 2 > input.ndim:
        raise ValueError(f"{op}: padding of length {len(pad)} is too long for a "
                         f"{input.ndim}-D input")
    if mode != "constant":
        if value is not None and value != 0:
            raise ValueError(f"{op}: padding mode {mode!r} doesn't take in value argument")
        return _pad_indexed(input, pad, mode)
    shape = list(input.shape)
    dst, src = [slice(None)] * input.ndim, [slice(None)] * input.ndim
    for i in range(len(pad) // 2):
        d = input.ndim - 1 - i
        before, after = pad[2 * i], pad[2 * i + 1]
        size = shape[d] + before + after
        if size < 0:
            raise ValueError(f"{op}: padding {pad} makes dim {d} of input {tuple(input.shape)} "
                             f"negative ({size})")
        # negative amounts crop the input; positive ones leave room in the output
        src[d] = slice(max(-before, 0), shape[d] - max(-after, 0))
        dst[d] = slice(max(before, 0), max(before, 0) + max(src[d].stop - src[d].start, 0))
        shape[d] = size
    fill = 0 if value is None else value
    return ConstantPad.apply(input, tuple(shape), tuple(dst), tuple(src), fill)
