"""A tiny stand-in for the parts of torchvision the compat scripts use, written on PyTorch.

torchvision is not installed in this environment; the PyTorch run of
``scripts/mnist_cnn.py`` puts this directory on ``sys.path`` instead (only
when the real torchvision is missing).  Same names, arguments and results as
torchvision for what it covers: ``datasets.MNIST`` reading the raw IDX files
(no download) and ``transforms.Compose / ToTensor / Normalize``.  Images are
NumPy uint8 arrays where torchvision hands out PIL images; ToTensor treats
both the same way.
"""
from . import datasets, transforms  # noqa: F401
