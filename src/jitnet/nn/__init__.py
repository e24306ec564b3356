"""jitnet.nn: layers, losses and the functional API (PyTorch names).

Layers live in small files by kind (linear, conv, pooling, activation,
normalization, dropout, loss, rnn, container, embedding, flatten); each
forward calls ``jitnet.nn.functional``.  ``init`` fills weights in place and
``utils`` clips gradients.
"""
from . import functional, init, utils
from .activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv2d
from .dropout import Dropout, Dropout2d
from .embedding import Embedding
from .flatten import Flatten
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
from .normalization import BatchNorm1d, BatchNorm2d
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .rnn import RNN

# issue 17 math surface (h-fix)
# isort: split
from .pixelshuffle import PixelShuffle, PixelUnshuffle

__all__ = [
    "RNN", "AdaptiveAvgPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d",
    "BatchNorm2d", "Conv2d", "CrossEntropyLoss", "Dropout", "Dropout2d", "Embedding", "Flatten",
    "GELU", "HuberLoss", "Identity", "L1Loss", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss",
    "MaxPool2d", "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU",
    "Sequential", "Sigmoid", "SmoothL1Loss", "Softmax", "Tanh", "functional", "init", "utils",
    "PixelShuffle", "PixelUnshuffle",
]
