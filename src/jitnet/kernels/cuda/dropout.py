"""Dropout CUDA kernels: a counter-based Bernoulli mask and the masked rescale.

The twin of ``kernels/cpu/dropout.py``, and deliberately the same generator:
element i of the mask is a splitmix64 hash of (seed, i), so every thread
draws its own element with no shared state, and the CPU and the GPU draw
*identical* masks from one seed (``jn.manual_seed`` makes dropout
reproducible across devices, and the tests can compare them).  Numba's
on-device xoroshiro128p generator would need a state array per thread and
give masks that depend on the launch configuration.
"""
from __future__ import annotations

import warnings

import numpy as np
from numba import cuda

from . import _memory as A
from ._launch import SIMULATOR, launch

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)

if SIMULATOR:  # the simulator computes on NumPy uint64 scalars, which warn when they wrap
    warnings.filterwarnings("ignore", "overflow encountered in scalar", RuntimeWarning,
                            __name__)


@cuda.jit(device=True)
def uniform_hash(seed, i):
    """A uniform float64 in [0, 1) determined by (seed, i): splitmix64 of seed + i * golden."""
    z = seed + np.uint64(i + 1) * _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    z = z ^ (z >> _S31)
    return np.float64(z >> _S11) * (1.0 / 9007199254740992.0)


@cuda.jit
def _mask_kernel(out, p, seed, n):
    """out[i] = 1 with probability 1 - p; thread per element."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[i] = 1 if uniform_hash(seed, i) >= p else 0


def bernoulli_mask(n: int, p: float, seed: int):
    """uint8 (n,) keep-mask: element i is 1 with probability 1 - p (the CPU's mask exactly)."""
    out = A.empty((n,), np.uint8)
    launch(_mask_kernel, n, out, float(p), np.uint64(seed), n)
    return out


@cuda.jit
def _scale_kernel(x, mask, scale, out, cols, n):
    """out[i] = x[i] * (scale if mask[row] else 0), row = i // cols; thread per element."""
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[i] = x[i] * (scale if mask[i // cols] != 0 else 0.0)


def mask_scale(x, mask, scale: float):
    """x * mask * scale, one mask entry per row of x viewed as (mask.size, -1)."""
    rows = mask.shape[0]
    cols = x.size // rows if rows else 0
    out = A.empty(x.shape, x.dtype)
    launch(_scale_kernel, x.size, A.flat(x), A.numeric(mask), float(scale), A.flat(out),
           max(cols, 1), x.size)
    return out
