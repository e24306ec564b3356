"""Launch configuration for every CUDA kernel, computed from the shapes in one place.

Three launch shapes cover the whole table:

- ``launch(kernel, n, *args)``: one thread per output element with a
  *grid-stride loop* (``for i in range(cuda.grid(1), n, cuda.gridsize(1))``),
  so the grid is capped (``MAX_BLOCKS``) and any ``n`` is covered;
- ``launch_blocks(kernel, tasks, *args)``: one block of ``RED_THREADS``
  threads per task (a row to reduce, a channel to normalise), with a
  block-stride loop over tasks; the threads of a block cooperate through
  shared memory;
- ``launch_tiles(kernel, batch, m, n, *args)``: (TILE, TILE) thread blocks
  over an (m, n) output, for the tiled matrix product.

Under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) every thread is a
Python thread and every ``syncthreads`` costs about a millisecond, so the
blocks are made small (32 threads, 8 for the cooperative kernels, 8x8 tiles,
at most 2 blocks): the kernels then still run several blocks, several
grid-stride iterations and partial tiles, which is what the tests must cover,
in milliseconds.

Every launch also checks that no argument is a NumPy array: Numba would
silently copy it to the device and back, the one transfer jitnet promises
never to make behind the user's back.
"""
from __future__ import annotations

import numpy as np

from ...device import simulator_enabled

SIMULATOR = simulator_enabled()

THREADS = 32 if SIMULATOR else 256
"""Threads per block of the elementwise (grid-stride) kernels."""

MAX_BLOCKS = 2 if SIMULATOR else 8192
"""Most blocks an elementwise launch uses; bigger arrays take more grid-stride steps."""

RED_THREADS = 8 if SIMULATOR else 256
"""Threads per block of the cooperative kernels; a power of two (shared-memory trees halve it)."""

MAX_TASK_BLOCKS = 2 if SIMULATOR else 65535
"""Most blocks of a one-block-per-task launch; more tasks take more block-stride steps."""

TILE = 8 if SIMULATOR else 16
"""Side of the square output tile one thread block of the matrix product computes."""

MAX_Z = 2 if SIMULATOR else 65535
"""Most blocks along the grid's z axis (the batch of ``launch_tiles``)."""

_recorded: set | None = None


def record_signatures(on: bool = True) -> set | None:
    """Start (or stop) recording (kernel, argument types) of every launch; returns the set.

    Used by the test that compiles every launched kernel to PTX for a real GPU
    (the simulator never compiles anything).
    """
    global _recorded
    _recorded = set() if on else None
    return _recorded


def _check_args(kernel, args) -> None:
    for a in args:
        if isinstance(a, np.ndarray):
            raise RuntimeError(
                f"{getattr(kernel, '__name__', kernel)}: a host NumPy array was passed to a "
                "CUDA kernel (Numba would copy it to the device and back behind the scenes)"
            )
    if _recorded is not None:

        _recorded.add((kernel, tuple(_typeof(a) for a in args)))


def _typeof(a):
    import numba

    if hasattr(a, "copy_to_host"):  # a device array (the simulator's too): as Numba types it
        from numba.np.numpy_support import from_dtype

        layout = "C" if a.is_c_contiguous() else "A"
        return numba.types.Array(from_dtype(a.dtype), a.ndim, layout)
    return numba.typeof(a)


def grid(n: int) -> tuple[int, int]:
    """(blocks, threads) of an elementwise launch over ``n`` elements (n > 0)."""
    return min(MAX_BLOCKS, (n + THREADS - 1) // THREADS), THREADS


def launch(kernel, n: int, *args) -> None:
    """Run ``kernel[grid(n)](*args)``; nothing when n == 0 (an empty grid is an error)."""
    if n <= 0:
        return
    _check_args(kernel, args)
    blocks, threads = grid(n)
    kernel[blocks, threads](*args)


def launch_blocks(kernel, tasks: int, *args) -> None:
    """One block of ``RED_THREADS`` threads per task (block-stride over ``tasks``)."""
    if tasks <= 0:
        return
    _check_args(kernel, args)
    kernel[min(MAX_TASK_BLOCKS, tasks), RED_THREADS](*args)


def launch_tiles(kernel, batch: int, m: int, n: int, *args) -> None:
    """(TILE, TILE) blocks tiling an (m, n) output, times ``batch`` along z (z-stride)."""
    if batch <= 0 or m <= 0 or n <= 0:
        return
    _check_args(kernel, args)
    blocks = ((n + TILE - 1) // TILE, (m + TILE - 1) // TILE, min(MAX_Z, batch))
    kernel[blocks, (TILE, TILE)](*args)


def device_fn(fn, *helpers):
    """Compile a leaf formula from ``kernels/scalar/`` as a CUDA device function.

    ``helpers``: formulas of the same module that ``fn`` calls by name, compiled the same way.
    """
    from numba import cuda

    from .._jit import with_helpers

    if helpers:
        fn = with_helpers(fn, {h.__name__: device_fn(h) for h in helpers})
    return cuda.jit(device=True)(fn)
