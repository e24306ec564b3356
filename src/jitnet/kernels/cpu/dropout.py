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

from .._jit import kernel
from .tasks import run_tasks, span, task, tasks_for

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


@task
def _mask_task(out, p, seed, t, tasks):
    """Task t's share of the mask: element i keeps its own hash of (seed, i)."""
    lo, hi = span(t, tasks, out.shape[0])
    os = out[lo:hi]  # indexed from 0: no negative-index wrap in the loop
    for i in range(os.shape[0]):
        os[i] = uniform_hash(seed, lo + i) >= p


def bernoulli_mask(n: int, p: float, seed: int) -> np.ndarray:
    """uint8 (n,) keep-mask: element i is 1 with probability 1 - p (0 with probability p).

    Parallel strategy: a task kernel (``tasks.run_tasks``), each task a contiguous run of
    elements; element i's draw depends on i alone, so the mask does not depend on the split.
    """
    out = np.empty(n, dtype=np.uint8)
    run_tasks(_mask_task, (out, float(p), np.uint64(seed)), tasks_for(n))
    return out


@task
def _scale_task(x, mask, scale, out, t, tasks):
    """Task t's share of the rows: out[r] = x[r] * scale, or 0 where mask[r] is 0."""
    lo, hi = span(t, tasks, x.shape[0])
    for r in range(lo, hi):
        f = scale if mask[r] else 0.0
        src, dst = x[r], out[r]
        for j in range(src.shape[0]):
            dst[j] = src[j] * f


def mask_scale(x: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    """x * mask * scale, with one mask entry per row of x viewed as (mask.size, -1).

    Elementwise dropout passes one entry per element; channel dropout
    (dropout2d) one per (n, c) plane.  Returns a new array of x's shape.
    Parallel strategy: a task kernel, each task a contiguous run of rows.
    """
    rows = mask.shape[0]
    x2 = np.ascontiguousarray(x).reshape(rows, x.size // rows if rows else 0)
    out = np.empty(x2.shape, dtype=x.dtype)
    run_tasks(_scale_task, (x2, mask, float(scale), out), tasks_for(x2.size))
    return out.reshape(x.shape)
