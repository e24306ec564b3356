"""Dropout CPU kernels: a counter-based Bernoulli mask and the masked rescale.

The mask comes from a hash of (seed, index) -- splitmix64, whose 53 top bits
make a uniform in [0, 1) -- rather than from a stateful generator: any thread
can draw element i without a shared state, the result does not depend on the
thread count, and a CUDA kernel computing the same hash draws the same mask.
The seed itself comes from jitnet's seeded global generator
(``jitnet.random.next_seed``), so ``jn.manual_seed`` makes dropout reproducible.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import PARALLEL_MIN, kernel

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@kernel(inline="always")
def uniform_hash(seed, i):
    """A uniform float64 in [0, 1) determined by (seed, i): splitmix64 of seed + i * golden."""
    z = np.uint64(seed) + np.uint64(i + 1) * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return np.float64(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@kernel
def _mask_serial(out, p, seed):
    for i in range(out.shape[0]):
        out[i] = uniform_hash(seed, i) >= p


@kernel(parallel=True)
def _mask_parallel(out, p, seed):
    for i in prange(out.shape[0]):
        out[i] = uniform_hash(seed, i) >= p


def bernoulli_mask(n: int, p: float, seed: int) -> np.ndarray:
    """uint8 (n,) keep-mask: element i is 1 with probability 1 - p (0 with probability p).

    Parallel strategy: ``prange`` over elements; each draws its own hash.
    """
    out = np.empty(n, dtype=np.uint8)
    run = _mask_parallel if n >= PARALLEL_MIN else _mask_serial
    run(out, float(p), np.uint64(seed))
    return out


@kernel
def _scale_serial(x, mask, scale, out):
    for r in range(x.shape[0]):
        f = scale if mask[r] else 0.0
        for j in range(x.shape[1]):
            out[r, j] = x[r, j] * f


@kernel(parallel=True)
def _scale_parallel(x, mask, scale, out):
    for r in prange(x.shape[0]):
        f = scale if mask[r] else 0.0
        for j in range(x.shape[1]):
            out[r, j] = x[r, j] * f


def mask_scale(x: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    """x * mask * scale, with one mask entry per row of x viewed as (mask.size, -1).

    Elementwise dropout passes one entry per element; channel dropout
    (dropout2d) one per (n, c) plane.  Returns a new array of x's shape.
    Parallel strategy: ``prange`` over rows.
    """
    rows = mask.shape[0]
    x2 = np.ascontiguousarray(x).reshape(rows, x.size // rows if rows else 0)
    out = np.empty(x2.shape, dtype=x.dtype)
    run = _scale_parallel if x2.size >= PARALLEL_MIN else _scale_serial
    run(x2, mask, float(scale), out)
    return out.reshape(x.shape)
