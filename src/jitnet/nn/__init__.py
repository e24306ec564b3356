"""jitnet.nn: layers, losses and the functional API (PyTorch names).

Layers live in small files by kind (linear, conv, pooling, activation,
normalization, dropout, loss, rnn, container, embedding, flatten); each
forward calls ``jitnet.nn.functional``.  ``init`` fills weights in place and
``utils`` clips gradients.
"""
from . import functional, init, parallel, utils
from .activation import (
    ELU,
    GELU,
    SELU,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    Mish,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .attention import MultiheadAttention
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv2d
from .conv_transpose import ConvTranspose1d, ConvTranspose2d
from .dropout import Dropout, Dropout2d
from .embedding import Embedding
from .flatten import Flatten, Unflatten
from .layers1d import AvgPool1d, Conv1d, MaxPool1d
from .linear import Identity, Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .transformer import TransformerEncoder, TransformerEncoderLayer
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

# issue 17 math surface (h-fix)
# isort: split
from .pixelshuffle import PixelShuffle, PixelUnshuffle

__all__ = [
    "RNN", "AdaptiveAvgPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d",
    "BatchNorm2d", "Conv2d", "CrossEntropyLoss", "Dropout", "Dropout2d", "Embedding", "Flatten",
    "GELU", "HuberLoss", "Identity", "L1Loss", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss",
    "MaxPool2d", "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU",
    "Sequential", "Sigmoid", "SmoothL1Loss", "Softmax", "Tanh", "functional", "init", "utils",
    "ELU", "SELU", "Hardtanh", "Mish", "SiLU", "Softplus",
    "PixelShuffle", "PixelUnshuffle",
    "GRU", "LSTM", "GRUCell", "LSTMCell", "RNNCell", "GroupNorm", "LayerNorm",
    "MultiheadAttention", "TransformerEncoder", "TransformerEncoderLayer",
]
__all__ += [
    "AvgPool1d", "Conv1d", "ConvTranspose1d", "ConvTranspose2d", "MaxPool1d", "Upsample",
    "UpsamplingBilinear2d", "UpsamplingNearest2d", "Unflatten",
]
