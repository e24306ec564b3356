"""The data of the program benchmarks, as NumPy arrays: scikit-learn's 8x8 digits.

Imports neither jitnet nor PyTorch, so both versions of a program load exactly
the same arrays and neither pays for the other's import.

- ``digits(seed)``: float32 (N, 1, 8, 8) images in [0, 1] and int64 labels, split as
  ``jitnet.data.datasets.load_digits`` splits them (stratified 80/20, the same seed:
  1438 train / 359 test), so the PyTorch twin of ``jitnet train`` sees jitnet's split;
- ``digits28(seed)``: the same images upscaled to 28x28 (nearest neighbour) and
  normalised with MNIST's mean and std, the input of PyTorch's MNIST example.
"""
from __future__ import annotations

import numpy as np

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def digits(seed: int = 0, test_size: float = 0.2):
    """(x_train, y_train, x_test, y_test): (N, 1, 8, 8) float32 in [0, 1], int64 labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.data.astype(np.float32) / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = bunch.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    test_idx = []
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        rng.shuffle(members)
        test_idx.append(members[:int(round(len(members) * test_size))])
    test = np.sort(np.concatenate(test_idx))
    train = np.setdiff1d(np.arange(len(y)), test)
    train = train[rng.permutation(len(train))]
    return (np.ascontiguousarray(x[train]), y[train], np.ascontiguousarray(x[test]), y[test])


def upscale28(x: np.ndarray) -> np.ndarray:
    """(N, 1, 8, 8) -> (N, 1, 28, 28) by nearest neighbour, MNIST-normalised float32."""
    idx = (np.arange(28) * 8) // 28
    big = x[:, :, idx][:, :, :, idx]
    return np.ascontiguousarray((big - MNIST_MEAN) / MNIST_STD, dtype=np.float32)


def digits28(seed: int = 0):
    """(x_train, y_train, x_test, y_test) with 1x28x28 MNIST-normalised images."""
    x_train, y_train, x_test, y_test = digits(seed)
    return upscale28(x_train), y_train, upscale28(x_test), y_test
