"""Write a small MNIST-format data set (IDX files, torchvision's folder layout) for the tests.

The images are scikit-learn's bundled 8x8 handwritten digits (no download),
scaled to 0..255 and blown up 3x to 24x24, then padded to MNIST's 28x28.
"""
from __future__ import annotations

import os

import numpy as np


def write_idx(path: str, array: np.ndarray) -> None:
    """An unsigned-byte IDX file: 0x0000, type 0x08, ndim, big-endian sizes, then the bytes."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in a.shape)
    with open(path, "wb") as f:
        f.write(header + a.tobytes())


def make_mnist(root: str, n_train: int = 1500) -> str:
    """Write root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte; returns root."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    images = np.kron(images, np.ones((3, 3), dtype=np.uint8))      # 24 x 24
    images = np.pad(images, ((0, 0), (2, 2), (2, 2)))              # 28 x 28
    labels = digits.target.astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(labels))
    images, labels = images[order], labels[order]
    raw = os.path.join(root, "MNIST", "raw")
    os.makedirs(raw, exist_ok=True)
    for prefix, sl in (("train", slice(0, n_train)), ("t10k", slice(n_train, None))):
        write_idx(os.path.join(raw, f"{prefix}-images-idx3-ubyte"), images[sl])
        write_idx(os.path.join(raw, f"{prefix}-labels-idx1-ubyte"), labels[sl])
    return root
