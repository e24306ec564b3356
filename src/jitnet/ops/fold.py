"""Sliding-window blocks and sub-pixel shuffles: ``unfold``/``fold`` (PyTorch's F.unfold and
F.fold, im2col and its adjoint) and ``pixel_shuffle``/``pixel_unshuffle``.

``unfold`` and ``fold`` run the convolution's kernels (``k.im2col`` and
``k.col2im``) and are each other's gradient.  The kernels lay columns out as
(C*kh*kw, N*L); PyTorch's layout is (N, C*kh*kw, L), one permute away.  The
pixel shuffles are a reshape, a permute and a reshape (views and one copy),
differentiable through those ops.
"""
from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor
from ._nn_args import check_tensor, pair, window2d


def _geometry(op: str, h: int, w: int, kernel_size, dilation, padding, stride):
    """(kh, kw, dh, dw, ph, pw, sh, sw, oh, ow) for an (h, w) plane, or a RuntimeError."""
    (kh, kw) = pair(kernel_size, "kernel_size", op)
    (dh, dw) = pair(dilation, "dilation", op)
    (ph, pw) = pair(padding, "padding", op)
    (sh, sw) = pair(stride, "stride", op)
    if min(kh, kw, dh, dw, sh, sw) < 1 or min(ph, pw) < 0:
        raise RuntimeError(f"{op}: kernel_size, dilation and stride must be positive and padding "
                           f"non-negative, got kernel_size={(kh, kw)}, dilation={(dh, dw)}, "
                           f"padding={(ph, pw)}, stride={(sh, sw)}")
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        raise RuntimeError(
            f"{op}: the kernel {(kh, kw)} (dilation {(dh, dw)}) does not fit the padded input "
            f"plane {(h + 2 * ph, w + 2 * pw)}: no block would be taken (output {(oh, ow)})"
        )
    return kh, kw, dh, dw, ph, pw, sh, sw, oh, ow


def _window(shape, geo):
    """The kernels' ``Window2d`` for an (N, C, H, W) plane batch and ``_geometry``'s tuple."""
    kh, kw, dh, dw, ph, pw, sh, sw, oh, ow = geo
    return window2d(shape, (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow))


class Unfold(Function):
    """(N, C, H, W) -> (N, C*kh*kw, L): every block of the sliding window as a column."""

    @staticmethod
    def forward(ctx, x, geo):
        k = ctx.k
        win = ctx.win = _window(x.shape, geo)
        cols = k.im2col(x, win)
        cols = k.reshape(cols, (win.c * win.kh * win.kw, win.n, win.oh * win.ow))
        return k.contiguous(k.permute(cols, (1, 0, 2)))

    @staticmethod
    def backward(ctx, g):
        k, win = ctx.k, ctx.win
        cols = k.copy(k.permute(g, (1, 0, 2)))  # a fresh array: col2im uses it as scratch
        cols = k.reshape(cols, (win.c * win.kh * win.kw, win.n * win.oh * win.ow))
        return k.col2im(cols, win), None


class Fold(Function):
    """(N, C*kh*kw, L) -> (N, C, H, W), summing overlapping blocks: the adjoint of Unfold."""

    @staticmethod
    def forward(ctx, cols, c, h, w, geo):
        k = ctx.k
        win = ctx.win = _window((cols.shape[0], c, h, w), geo)
        flat = k.copy(k.permute(cols, (1, 0, 2)))  # a fresh array: col2im uses it as scratch
        flat = k.reshape(flat, (c * win.kh * win.kw, win.n * win.oh * win.ow))
        return k.col2im(flat, win)

    @staticmethod
    def backward(ctx, g):
        k, win = ctx.k, ctx.win
        cols = k.im2col(g, win)
        cols = k.reshape(cols, (win.c * win.kh * win.kw, win.n, win.oh * win.ow))
        return k.contiguous(k.permute(cols, (1, 0, 2))), None, None, None, None


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding blocks of a batch of images as columns (PyTorch's ``F.unfold``, im2col).

    (N, C, H, W) or unbatched (C, H, W) -> (N, C*kh*kw, L), L the number of
    block positions; column ``l`` holds block ``l`` channel by channel, each
    tap row-major, zeros where the block covers padding.
    """
    op = "unfold"
    check_tensor(input, "input", op)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{op}: expected a 3-D (unbatched) or 4-D (batched) input, got "
                           f"shape {tuple(input.shape)}")
    x = input if input.ndim == 4 else input.unsqueeze(0)
    geo = _geometry(op, x.shape[2], x.shape[3], kernel_size, dilation, padding, stride)
    out = Unfold.apply(x, geo)
    return out if input.ndim == 4 else out.squeeze(0)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum columns of blocks back into images (PyTorch's ``F.fold``, col2im): the adjoint of
    ``unfold``.  (N, C*kh*kw, L) or unbatched (C*kh*kw, L) -> (N, C, *output_size)."""
    op = "fold"
    check_tensor(input, "input", op)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{op}: expected a 2-D (unbatched) or 3-D (batched) input, got "
                           f"shape {tuple(input.shape)}")
    cols = input if input.ndim == 3 else input.unsqueeze(0)
    h, w = pair(output_size, "output_size", op)
    geo = _geometry(op, h, w, kernel_size, dilation, padding, stride)
    kh, kw, oh, ow = geo[0], geo[1], geo[8], geo[9]
    taps = kh * kw
    if cols.shape[1] % taps:
        raise RuntimeError(f"{op}: expected size of input's dimension 1 ({cols.shape[1]}) to be "
                           f"divisible by the product of kernel_size ({taps})")
    if cols.shape[2] != oh * ow:
        raise RuntimeError(
            f"{op}: given output_size={(h, w)}, kernel_size={(kh, kw)}, dilation, padding and "
            f"stride, expected size of input's dimension 2 to match the number of blocks "
            f"{oh * ow} ({oh} x {ow}), but got {cols.shape[2]}"
        )
    out = Fold.apply(cols, cols.shape[1] // taps, h, w, geo)
    return out if input.ndim == 3 else out.squeeze(0)


def _factor(op: str, value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
    return value


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): out[c, h*r + i, w*r + j] = in[c*r*r + i*r + j, h, w]
    (sub-pixel convolution's rearrangement, PyTorch's ``F.pixel_shuffle``)."""
    op = "pixel_shuffle"
    check_tensor(input, "input", op)
    r = _factor(op, upscale_factor, "upscale_factor")
    if input.ndim < 3:
        raise RuntimeError(f"{op}: expects input to have at least 3 dimensions, but got input "
                           f"with {input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"{op}: expects its input's 'channel' dimension ({c}) to be divisible "
                           f"by the square of upscale_factor ({r * r})")
    nl = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(nl), nl, nl + 3, nl + 1, nl + 4, nl + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W): the inverse of ``pixel_shuffle``."""
    op = "pixel_unshuffle"
    check_tensor(input, "input", op)
    r = _factor(op, downscale_factor, "downscale_factor")
    if input.ndim < 3:
        raise RuntimeError(f"{op}: expects input to have at least 3 dimensions, but got input "
                           f"with {input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"{op}: expects height ({h}) and width ({w}) to be divisible by "
                           f"downscale_factor ({r})")
    nl = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(nl), nl, nl + 2, nl + 4, nl + 1, nl + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)
