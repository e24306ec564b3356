"""``jitnet.utils.data``: PyTorch's import path for ``jitnet.data`` (the same objects)."""
from ..data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    datasets,
    default_collate,
    random_split,
    transforms,
)

__all__ = [
    "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
    "IterableDataset",
    "RandomSampler", "SequentialSampler", "Subset", "TensorDataset", "datasets",
    "default_collate", "random_split", "transforms",
]
