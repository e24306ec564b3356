"""Batch normalisation layers: ``BatchNorm1d`` ((N, C) or (N, C, L)) and ``BatchNorm2d``
((N, C, H, W)), with running statistics kept as buffers."""
from __future__ import annotations

from ..autograd import no_grad
from ..dtypes import int64
from ..tensor import Tensor, ones, tensor, zeros
from . import functional as F
from . import init
from ._construct import new_parameter, positive_int
from .module import Module


class _BatchNorm(Module):
    _expected_dims: tuple[int, ...] = ()
    _layout = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(name, "num_features", num_features)
        if eps <= 0:
            raise ValueError(f"{name}: eps must be > 0, got {eps}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum}")
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = new_parameter(num_features, device=device, dtype=dtype)
            if bias:
                self.bias = new_parameter(num_features, device=device, dtype=dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor, got "
                            f"{type(input).__name__}")
        if input.ndim not in self._expected_dims:
            raise ValueError(f"{type(self).__name__}: expected {self._layout} input, got "
                             f"{input.ndim}D input of shape {tuple(input.shape)}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                n = self.num_batches_tracked + 1
            self.num_batches_tracked._data = n._data
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(n.item())
        # eval mode without running stats normalises with the batch's own statistics
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) input: per channel,
    y = (x - mean) / sqrt(var + eps) * weight + bias (``affine``; ``bias=False`` drops the
    shift), with batch statistics while training (the running mean and unbiased variance
    are updated with ``momentum``; ``momentum=None`` keeps a cumulative average) and the
    running statistics in eval mode."""

    _expected_dims = (2, 3)
    _layout = "2D (N, C) or 3D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) input, per channel (see ``BatchNorm1d``)."""

    _expected_dims = (4,)
    _layout = "4D (N, C, H, W)"


class _AffineNorm(Module):
    """Shared by LayerNorm and GroupNorm: an optional ``weight`` (ones) and ``bias`` (zeros)."""

    def _affine(self, shape: tuple, weight: bool, bias: bool, device, dtype) -> None:
        self.register_parameter(
            "weight", new_parameter(*shape, device=device, dtype=dtype) if weight else None)
        self.register_parameter(
            "bias", new_parameter(*shape, device=device, dtype=dtype) if weight and bias
            else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)


class LayerNorm(_AffineNorm):
    """Layer norm over the trailing dims ``normalized_shape``, as ``torch.nn.LayerNorm``:
    y = (x - mean) / sqrt(var + eps) * weight + bias, statistics per sample over those dims.
    ``weight`` (ones) and ``bias`` (zeros) of shape normalized_shape when
    ``elementwise_affine`` (``bias=False`` drops the shift)."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        if not self.normalized_shape or any(s <= 0 for s in self.normalized_shape):
            raise ValueError(f"LayerNorm: normalized_shape must be non-empty with positive "
                             f"sizes, got {normalized_shape!r}")
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self._affine(self.normalized_shape, elementwise_affine, bias, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(_AffineNorm):
    """Group norm, as ``torch.nn.GroupNorm``: the C channels of (N, C, *) input in
    ``num_groups`` groups, each (sample, group) normalised, then a per-channel ``weight``
    (ones) and ``bias`` (zeros) when ``affine``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.num_groups = positive_int("GroupNorm", "num_groups", num_groups)
        self.num_channels = positive_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.eps, self.affine = eps, affine
        self._affine((num_channels,), affine, True, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
