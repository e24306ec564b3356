"""``jitnet.nn.functional``: the stateless layer operations, with PyTorch's names and arguments.

Import it as ``import jitnet.nn.functional as F``; ``F.conv2d``,
``F.cross_entropy`` ... take the same arguments as in PyTorch.  Each function
lives in a ``jitnet.ops`` module (conv, pool, activation, loss, norm,
dropout, linear, embedding, pad) whose Numba kernels sit in
``jitnet.kernels.<device>``; this module only gathers them.  Arguments
PyTorch has but jitnet does not support raise NotImplementedError naming the
argument; they are never silently ignored.
"""
from __future__ import annotations

from ..ops.activation import (
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    mish,
    relu,
    selu,
    sigmoid,
    silu,
    softplus,
    tanh,
)
from ..ops.attention import scaled_dot_product_attention
from ..ops.conv import conv2d
from ..ops.dropout import dropout, dropout2d
from ..ops.embedding import embedding, one_hot
from ..ops.linear import linear
from ..ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from ..ops.norm import batch_norm, group_norm, layer_norm
from ..ops.pad import pad
from ..ops.pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from ..ops.shape import flatten as _flatten
from ..ops.softmax import log_softmax, softmax
from ..tensor import Tensor

# issue 17 math surface (h-fix)
# isort: split
from ..ops.distance import cosine_similarity, normalize
from ..ops.fold import fold, pixel_shuffle, pixel_unshuffle, unfold
from ..ops.probability import kl_div, softmin

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "conv2d", "cross_entropy", "dropout", "dropout2d",
    "embedding", "flatten", "gelu", "huber_loss", "l1_loss", "leaky_relu", "linear",
    "log_softmax", "max_pool2d", "mse_loss", "nll_loss", "one_hot", "pad", "relu", "sigmoid",
    "smooth_l1_loss", "softmax", "tanh",
    "elu", "hardtanh", "mish", "selu", "silu", "softplus",
    "cosine_similarity", "fold", "kl_div", "normalize", "pixel_shuffle", "pixel_unshuffle",
    "softmin", "unfold",
    "group_norm", "layer_norm", "scaled_dot_product_attention",
]

# issue 13: transposed / 1-D convolution, 1-D pooling, interpolate, in-place activations
from ..ops.activation import leaky_relu_, relu_  # noqa: E402
from ..ops.conv_transpose import conv_transpose2d  # noqa: E402
from ..ops.nn1d import avg_pool1d, conv1d, conv_transpose1d, max_pool1d  # noqa: E402
from ..ops.upsample import interpolate  # noqa: E402

__all__ += [
    "avg_pool1d", "conv1d", "conv_transpose1d", "conv_transpose2d", "interpolate",
    "leaky_relu_", "max_pool1d", "relu_",
]


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one: ``torch.flatten`` (which is what
    ``torch.nn.functional`` offers); note ``nn.Flatten`` defaults to start_dim=1."""
    return _flatten(input, start_dim, end_dim)
