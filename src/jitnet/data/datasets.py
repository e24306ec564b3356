"""Datasets: scikit-learn's bundled 8x8 digits, and MNIST / CIFAR-10 read from local files.

jitnet never downloads anything.  ``MNIST`` and ``CIFAR10`` read the official
files from ``root`` (as torchvision lays them out) and, when files are
missing, raise a FileNotFoundError naming each missing file, the directory it
belongs in, and where to get it.
"""
from __future__ import annotations

import gzip
import io
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..tensor import as_tensor
from .dataset import Dataset, TensorDataset

__all__ = ["CIFAR10", "MNIST", "load_digits"]


def load_digits(test_size: float = 0.2, seed: int = 0,
                flatten: bool = False) -> tuple[TensorDataset, TensorDataset]:
    """scikit-learn's 1797 bundled 8x8 handwritten digits as (train, test) TensorDatasets.

    Images are float32 (N, 1, 8, 8) scaled from 0..16 to [0, 1] ((N, 64) with
    ``flatten=True``); labels are int64 in 0..9.  The split is stratified
    (each digit keeps its share in both parts) and deterministic: the same
    ``seed`` always gives the same split (``test_size=0.2``: 1438 train, 359
    test samples).  Needs scikit-learn (``pip install 'jitnet[train]'``).
    """
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"load_digits: test_size must be in (0, 1), got {test_size}")
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("load_digits needs scikit-learn: pip install 'jitnet[train]'") from exc
    bunch = sk_load_digits()
    x = (bunch.data.astype(np.float32) / 16.0).astype(np.float32)
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
    shape = (-1, 64) if flatten else (-1, 1, 8, 8)
    return (TensorDataset(as_tensor(np.ascontiguousarray(x[train].reshape(shape))),
                          as_tensor(y[train])),
            TensorDataset(as_tensor(np.ascontiguousarray(x[test].reshape(shape))),
                          as_tensor(y[test])))


def _missing_error(name: str, folder: Path, missing: list[str], source: str) -> FileNotFoundError:
    listed = "\n".join(f"  {folder / m}" for m in missing)
    return FileNotFoundError(
        f"{name}: dataset files not found (jitnet never downloads data). Missing:\n{listed}\n"
        f"Download them from {source} and put them in {folder} (compressed .gz files work "
        "too for MNIST).")


class _VisionDataset(Dataset):
    def __init__(self, root, transform: Callable | None, target_transform: Callable | None):
        if isinstance(root, (str, os.PathLike)):
            root = os.path.expanduser(root)
        self.root = root
        self.transform, self.target_transform = transform, target_transform

    def __len__(self) -> int:
        return len(self._images)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        img, target = self._images[index], int(self._labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    @property
    def data(self):
        """All images as a uint8 tensor ((N, 28, 28) for MNIST, (N, 32, 32, 3) for CIFAR10)."""
        return as_tensor(self._images)

    @property
    def targets(self):
        """All labels as an int64 tensor."""
        return as_tensor(self._labels)

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
                f"    Root location: {self.root}\n    Split: {split}")


def _read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    """An IDX file (plain or .gz) of unsigned bytes with the given magic number and rank."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"MNIST: cannot read {path}: {exc}") from None
    header = 4 * (1 + ndim)
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        raise ValueError(f"MNIST: {path} is not an IDX file with magic number {magic} "
                         "(corrupt or not the right file)")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise ValueError(f"MNIST: {path} has {len(raw)} bytes but its header {dims} needs "
                         f"{expected} (truncated or corrupt)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


class MNIST(_VisionDataset):
    """MNIST digits from ``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``
    (or the same names with ``.gz``), as torchvision lays them out.

    ``dataset[i]`` is ``(image, label)``: a uint8 (28, 28) NumPy array (what
    ``transforms.ToTensor`` expects) and an int, each passed through
    ``transform`` / ``target_transform``.  ``download=True`` downloads nothing:
    it loads files already there and otherwise raises the same error.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]
    source = "https://yann.lecun.com/exdb/mnist/ (or a mirror such as " \
        "https://ossci-datasets.s3.amazonaws.com/mnist/)"

    def __init__(self, root, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform, target_transform)
        self.train = train
        folder = Path(self.root) / "MNIST" / "raw"
        prefix = "train" if train else "t10k"
        names = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
        found, missing = [], []
        for name in names:
            for candidate in (folder / name, folder / (name + ".gz")):
                if candidate.is_file():
                    found.append(candidate)
                    break
            else:
                missing.append(name)
        if missing:
            raise _missing_error("MNIST", folder, missing, self.source)
        self._images = _read_idx(found[0], 2051, 3)
        self._labels = _read_idx(found[1], 2049, 1).astype(np.int64)
        if len(self._images) != len(self._labels):
            raise ValueError(f"MNIST: {found[0]} holds {len(self._images)} images but "
                             f"{found[1]} holds {len(self._labels)} labels")


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles the official CIFAR-10 batches (dicts of bytes, lists and NumPy arrays) and
    refuses any other class, so a tampered file cannot run code."""

    _allowed = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"), ("builtins", "bytes"),
        ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._allowed:
            raise pickle.UnpicklingError(f"CIFAR10: refusing to load {module}.{name} from a "
                                         "dataset file")
        return super().find_class(module, name)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as f:
            entry = _CifarUnpickler(io.BytesIO(f.read()), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError) as exc:
        raise ValueError(f"CIFAR10: {path} is not a CIFAR-10 python batch (corrupt or "
                         f"truncated): {exc}") from None
    if not isinstance(entry, dict):
        raise ValueError(f"CIFAR10: {path} does not hold a batch dict")
    entry = {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}
    labels = entry.get("labels", entry.get("fine_labels"))
    data = entry.get("data")
    if data is None or labels is None:
        raise ValueError(f"CIFAR10: {path} has no 'data'/'labels' entries")
    data = np.asarray(data, dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise ValueError(f"CIFAR10: {path} holds data of shape {data.shape} and "
                         f"{len(labels)} labels; expected (N, 3072) and N labels")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), np.asarray(labels, np.int64)


class CIFAR10(_VisionDataset):
    """CIFAR-10 from the official python batches in ``root/cifar-10-batches-py``
    (``data_batch_1`` .. ``data_batch_5`` for training, ``test_batch`` for test).

    ``dataset[i]`` is ``(image, label)``: a uint8 (32, 32, 3) HWC NumPy array
    and an int.  ``download=True`` downloads nothing (see ``MNIST``).
    """

    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]
    source = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (extract the archive)"

    def __init__(self, root, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        super().__init__(root, transform, target_transform)
        self.train = train
        folder = Path(self.root) / "cifar-10-batches-py"
        names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
        missing = [n for n in names if not (folder / n).is_file()]
        if missing:
            raise _missing_error("CIFAR10", folder, missing, self.source)
        parts = [_read_cifar_batch(folder / n) for n in names]
        self._images = np.ascontiguousarray(np.concatenate([p[0] for p in parts]))
        self._labels = np.concatenate([p[1] for p in parts])
