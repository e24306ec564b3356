"""``DistributedSampler``: each rank's share of a dataset, with PyTorch's index arithmetic."""
from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np


class DistributedSampler:
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads each epoch.

    As ``torch.utils.data.DistributedSampler``: the (shuffled, if ``shuffle``) indices are
    padded by repeating them from the start to a multiple of ``num_replicas`` (or, with
    ``drop_last``, cut to the largest multiple), then rank r takes
    ``indices[r::num_replicas]``, so every rank gets ``len(sampler)`` indices and together
    they cover the dataset.  Call ``set_epoch(e)`` before each epoch (``jitnet.fit`` does) for
    a new order; every rank must use the same ``seed``.  ``num_replicas`` and ``rank``
    default to the default group's (``jitnet.distributed``).  Differs from PyTorch: the
    permutation comes from NumPy's PCG64 seeded with ``seed + epoch``, so the same seed
    orders the data differently than torch.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from .. import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: pass num_replicas and rank, or call "
                                   "jitnet.distributed.init_process_group() first")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, (int, np.integer)) \
                or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got "
                             f"{num_replicas!r}")
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) \
                or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad <= len(indices):
                indices += indices[:pad]
            else:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order in the next pass (all ranks must agree on it)."""
        self.epoch = int(epoch)
