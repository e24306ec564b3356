"""Image transforms with torchvision's names and signatures, applied to one sample at a time.

Images are either NumPy arrays in the layout of a decoded image file, (H, W)
or (H, W, C) (what MNIST/CIFAR10 return before ``ToTensor``; PIL images are
converted with ``np.asarray``), or jitnet Tensors (..., H, W) after
``ToTensor``.  Random transforms draw from jitnet's seeded generator, so
``jn.manual_seed`` makes them reproducible.  The geometry runs in NumPy: these
are per-sample data preparation, not part of the autograd graph.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

import numpy as np

from .. import random as _random
from ..tensor import Tensor, as_tensor

__all__ = ["Compose", "InterpolationMode", "Lambda", "Normalize", "RandomCrop",
           "RandomHorizontalFlip", "RandomRotation", "ToTensor"]


class InterpolationMode(Enum):
    """Resampling used by geometric transforms (torchvision's enum; two modes here)."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"


def _as_array(img) -> tuple[np.ndarray, str]:
    """(array, kind): kind 'tensor' for a (..., H, W) Tensor, 'hwc' for an image array."""
    if isinstance(img, Tensor):
        return img.detach().cpu().numpy(), "tensor"
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"expected an image array of shape (H, W) or (H, W, C), got shape "
                             f"{img.shape}")
        return img, "hwc"
    if hasattr(img, "size") and hasattr(img, "mode"):  # a PIL image
        return np.asarray(img), "hwc"
    raise TypeError(f"expected a Tensor, a NumPy image array or a PIL image, got "
                    f"{type(img).__name__}")


def _restore(arr: np.ndarray, kind: str, like) -> Any:
    if kind == "tensor":
        return as_tensor(np.ascontiguousarray(arr)).to(like.device)
    return np.ascontiguousarray(arr)


def _hw_axes(kind: str, ndim: int) -> tuple[int, int]:
    """The (H, W) axes: the last two of a tensor; the first two of an HWC array."""
    return (ndim - 2, ndim - 1) if kind == "tensor" else (0, 1)


class Compose:
    """Apply ``transforms`` in order."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class ToTensor:
    """(H, W, C) or (H, W) image -> Tensor (C, H, W): uint8 images become float32 scaled to
    [0, 1]; other dtypes are kept unscaled (as torchvision).  A Tensor input is an error."""

    def __call__(self, pic) -> Tensor:
        if isinstance(pic, Tensor):
            raise TypeError("ToTensor: pic should be a NumPy array or PIL image, got a Tensor")
        arr, _ = _as_array(pic)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            return as_tensor((chw.astype(np.float32) / 255.0).astype(np.float32))
        return as_tensor(chw)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """(x - mean[c]) / std[c] per channel of a float (C, H, W) or (N, C, H, W) Tensor."""

    def __init__(self, mean: Sequence[float] | float, std: Sequence[float] | float,
                 inplace: bool = False) -> None:
        self.mean = [float(m) for m in (mean if isinstance(mean, Sequence) else [mean])]
        self.std = [float(s) for s in (std if isinstance(std, Sequence) else [std])]
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std evaluated to zero after conversion, leading to "
                             f"division by zero (std={self.std})")
        self.inplace = inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Normalize: expected a Tensor (use ToTensor first), got "
                            f"{type(tensor).__name__}")
        if not tensor.dtype.is_floating_point:
            raise TypeError(f"Normalize: input tensor should be a float tensor, got "
                            f"{tensor.dtype}")
        if tensor.ndim < 3:
            raise ValueError(f"Normalize: expected a tensor image of shape (..., C, H, W), got "
                             f"shape {tuple(tensor.shape)}")
        c = tensor.shape[-3]
        if len(self.mean) not in (1, c) or len(self.std) not in (1, c):
            raise ValueError(f"Normalize: mean/std of lengths {len(self.mean)}/{len(self.std)} "
                             f"do not match {c} channels")
        dt = tensor.dtype.np
        mean = np.asarray(self.mean, dtype=dt).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=dt).reshape(-1, 1, 1)
        k = tensor._k()
        return (tensor - Tensor(k.from_host(mean), tensor.device)) / \
            Tensor(k.from_host(std), tensor.device)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, img):
        if _random.generator().random() >= self.p:
            return img
        arr, kind = _as_array(img)
        flipped = np.flip(arr, axis=_hw_axes(kind, arr.ndim)[1])
        return _restore(flipped, kind, img)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


def _size_pair(size, name: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) in (1, 2):
        return (int(size[0]), int(size[-1]))
    raise ValueError(f"{name}: size should be an int or a sequence of 1 or 2 ints, got {size!r}")


class RandomCrop:
    """Crop a random ``size`` (h, w) window, after optional ``padding`` (int: all sides;
    (lr, tb); or (left, top, right, bottom)) filled with ``fill`` (only
    ``padding_mode='constant'``); ``pad_if_needed`` pads images smaller than ``size``."""

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill: float = 0,
                 padding_mode: str = "constant") -> None:
        self.size = _size_pair(size, "RandomCrop")
        if padding_mode != "constant":
            raise NotImplementedError(f"RandomCrop: padding_mode={padding_mode!r} is not "
                                      "supported (only 'constant')")
        if padding is None:
            self.padding = (0, 0, 0, 0)
        elif isinstance(padding, numbers.Integral):
            self.padding = (int(padding),) * 4
        elif isinstance(padding, Sequence) and len(padding) == 2:
            self.padding = (padding[0], padding[1], padding[0], padding[1])
        elif isinstance(padding, Sequence) and len(padding) == 4:
            self.padding = tuple(int(p) for p in padding)
        else:
            raise ValueError(f"RandomCrop: padding must be an int or a sequence of 2 or 4 ints, "
                             f"got {padding!r}")
        if min(self.padding) < 0:
            raise ValueError(f"RandomCrop: padding must be non-negative, got {padding!r}")
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode

    def __call__(self, img):
        arr, kind = _as_array(img)
        ah, aw = _hw_axes(kind, arr.ndim)
        left, top, right, bottom = self.padding
        th, tw = self.size
        h, w = arr.shape[ah] + top + bottom, arr.shape[aw] + left + right
        if self.pad_if_needed:
            extra_w, extra_h = max(0, tw - w), max(0, th - h)
            left, right = left + extra_w, right + extra_w
            top, bottom = top + extra_h, bottom + extra_h
            h, w = h + 2 * extra_h, w + 2 * extra_w
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {self.size} is larger than the "
                             f"(padded) input image size {(h, w)}")
        if left or right or top or bottom:
            widths = [(0, 0)] * arr.ndim
            widths[ah], widths[aw] = (top, bottom), (left, right)
            arr = np.pad(arr, widths, mode="constant", constant_values=self.fill)
        gen = _random.generator()
        i = int(gen.integers(0, h - th + 1))
        j = int(gen.integers(0, w - tw + 1))
        index = [slice(None)] * arr.ndim
        index[ah], index[aw] = slice(i, i + th), slice(j, j + tw)
        return _restore(arr[tuple(index)], kind, img)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


def rotate(arr: np.ndarray, angle: float, axes: tuple[int, int], interpolation: str,
           center: tuple[float, float] | None = None, fill: float = 0) -> np.ndarray:
    """Rotate the (H, W) planes of ``arr`` counter-clockwise by ``angle`` degrees about
    ``center`` (x, y; default the image centre), sampling each output pixel's preimage with
    nearest or bilinear interpolation; pixels from outside the image get ``fill``."""
    ah, aw = axes
    h, w = arr.shape[ah], arr.shape[aw]
    cx, cy = ((w - 1) / 2, (h - 1) / 2) if center is None else center
    theta = math.radians(angle)
    cos, sin = math.cos(theta), math.sin(theta)
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                         indexing="ij")
    # inverse map: an output pixel shows the input pixel rotated by -angle (y points down,
    # so a counter-clockwise turn on screen has these signs)
    dx, dy = xs - cx, ys - cy
    src_x = cos * dx - sin * dy + cx
    src_y = sin * dx + cos * dy + cy
    planes = np.moveaxis(arr, (ah, aw), (-2, -1)).astype(np.float64)
    if interpolation == "nearest":
        xi, yi = np.rint(src_x).astype(np.int64), np.rint(src_y).astype(np.int64)
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        out = planes[..., np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]
        out = np.where(inside, out, fill)
    else:
        x0, y0 = np.floor(src_x).astype(np.int64), np.floor(src_y).astype(np.int64)
        fx, fy = src_x - x0, src_y - y0
        out = np.zeros(planes.shape, dtype=np.float64)
        for oy, ox, wgt in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)),
                            (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
            xx, yy = x0 + ox, y0 + oy
            inside = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
            vals = planes[..., np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
            out += wgt * np.where(inside, vals, fill)
    out = np.moveaxis(out, (-2, -1), (ah, aw))
    if arr.dtype.kind in "iu":
        info = np.iinfo(arr.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(arr.dtype)


class RandomRotation:
    """Rotate by an angle drawn uniformly from [-degrees, degrees] (or the given (min, max)),
    counter-clockwise, with ``interpolation`` NEAREST (default) or BILINEAR.
    ``expand=True`` is not supported."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand: bool = False,
                 center: Sequence[float] | None = None, fill: float = 0) -> None:
        if isinstance(degrees, numbers.Real):
            if degrees < 0:
                raise ValueError("RandomRotation: if degrees is a single number, it must be "
                                 "positive")
            self.degrees = (-float(degrees), float(degrees))
        elif isinstance(degrees, Sequence) and len(degrees) == 2:
            self.degrees = (float(degrees[0]), float(degrees[1]))
        else:
            raise ValueError(f"RandomRotation: degrees should be a number or a sequence of 2 "
                             f"numbers, got {degrees!r}")
        mode = interpolation.value if isinstance(interpolation, InterpolationMode) \
            else str(interpolation)
        if mode not in ("nearest", "bilinear"):
            raise NotImplementedError(f"RandomRotation: interpolation={interpolation!r} is not "
                                      "supported (NEAREST or BILINEAR)")
        if expand:
            raise NotImplementedError("RandomRotation: expand=True is not supported")
        if center is not None and len(center) != 2:
            raise ValueError("RandomRotation: center should be a sequence of length 2")
        self.interpolation, self.expand, self.fill = mode, expand, fill
        self.center = None if center is None else (float(center[0]), float(center[1]))

    def __call__(self, img):
        angle = float(_random.generator().uniform(*self.degrees))
        arr, kind = _as_array(img)
        out = rotate(arr, angle, _hw_axes(kind, arr.ndim), self.interpolation, self.center,
                     self.fill)
        return _restore(out, kind, img)

    def __repr__(self) -> str:
        return f"RandomRotation(degrees={self.degrees}, interpolation={self.interpolation})"


class Lambda:
    """Apply a user function as a transform."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return "Lambda()"
