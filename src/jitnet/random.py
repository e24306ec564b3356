"""jitnet's random state: one seeded NumPy generator behind rand, randn, dropout, shuffling.

``jn.manual_seed(s)`` makes every random op reproducible.  Differs from
PyTorch: the streams are NumPy's PCG64, so the same seed gives different
numbers than torch.
"""
from __future__ import annotations

import threading

import numpy as np

_lock = threading.Lock()
_gen = np.random.default_rng(0)


class Generator:
    """A private random stream (``torch.Generator``): ``Generator().manual_seed(s)``."""

    def __init__(self, device="cpu"):
        self.rng = np.random.default_rng()

    def manual_seed(self, seed: int) -> Generator:
        self.rng = np.random.default_rng(int(seed))
        return self


def manual_seed(seed: int) -> Generator:
    """Seed jitnet's global generator (used by rand/randn/dropout/DataLoader shuffling)."""
    global _gen
    if not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    with _lock:
        _gen = np.random.default_rng(int(seed))
    return Generator().manual_seed(seed)


seed = manual_seed


def generator(gen: Generator | None = None) -> np.random.Generator:
    """The NumPy generator to draw from: ``gen``'s own, or the global one."""
    return gen.rng if gen is not None else _gen


def next_seed() -> int:
    """A 63-bit seed drawn from the global stream (for on-device generators)."""
    return int(_gen.integers(0, 2**63 - 1))
