"""jitnet.data: datasets, the DataLoader, image transforms (also reachable as
``jitnet.utils.data``, PyTorch's name).

``jitnet.data.transforms`` holds torchvision-style transforms and
``jitnet.data.datasets`` the bundled digits plus MNIST/CIFAR10 readers.
"""
from . import datasets, transforms
from .dataloader import BatchSampler, DataLoader, RandomSampler, SequentialSampler, default_collate
from .dataset import ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .distributed import DistributedSampler

__all__ = [
    "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
    "IterableDataset",
    "RandomSampler", "SequentialSampler", "Subset", "TensorDataset", "datasets",
    "default_collate", "random_split", "transforms",
]
