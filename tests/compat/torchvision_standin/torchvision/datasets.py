"""``torchvision.datasets.MNIST`` over raw IDX files (stand-in; see __init__.py)."""
import os

import numpy as np
import torch


def read_idx(path):
    """An IDX file (the MNIST format: big-endian header, then uint8 data) as a NumPy array."""
    with open(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = raw[0] * 256 + raw[1], raw[2], raw[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


class MNIST(torch.utils.data.Dataset):
    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        if download:
            raise RuntimeError("stand-in MNIST: download is not supported")
        prefix = "train" if train else "t10k"
        raw = os.path.join(root, "MNIST", "raw")
        self.data = read_idx(os.path.join(raw, f"{prefix}-images-idx3-ubyte"))
        self.targets = torch.from_numpy(read_idx(os.path.join(raw, f"{prefix}-labels-idx1-ubyte"))
                                        .astype(np.int64))
        self.transform, self.target_transform = transform, target_transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        img, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target
