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

    def get_state(self) -> dict:
        """This stream's state (a JSON-ready dict; PyTorch returns a ByteTensor)."""
        return _copy_state(self.rng.bit_generator.state)

    def set_state(self, state: dict) -> Generator:
        """Restore a state from ``get_state``: the stream continues exactly from there."""
        self.rng.bit_generator.state = _checked_state(state, "Generator.set_state")
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


# ------------------------------------------------------- saving and restoring the streams
# (training checkpoints store these, so a resumed run draws the same numbers)

def get_rng_state() -> dict:
    """The global generator's state as a JSON-ready dict (NumPy's bit-generator state;
    PyTorch's ``get_rng_state`` returns a ByteTensor instead).  Dropout masks, shuffling and
    random transforms all draw from this one stream."""
    with _lock:
        return _copy_state(_gen.bit_generator.state)


def set_rng_state(new_state: dict) -> None:
    """Restore the global generator to a state from ``get_rng_state``."""
    state = _checked_state(new_state, "set_rng_state")
    with _lock:
        _gen.bit_generator.state = state


def _copy_state(state: dict) -> dict:
    return {k: (_copy_state(v) if isinstance(v, dict) else v) for k, v in state.items()}


def _checked_state(state, who: str) -> dict:
    if not isinstance(state, dict) or "bit_generator" not in state:
        raise TypeError(f"{who}: expected a state dict from get_rng_state/get_state, got "
                        f"{type(state).__name__}")
    if state["bit_generator"] != type(_gen.bit_generator).__name__:
        raise ValueError(f"{who}: the state is of a {state['bit_generator']} generator; "
                         f"jitnet's streams are {type(_gen.bit_generator).__name__}")
    return _copy_state(state)
