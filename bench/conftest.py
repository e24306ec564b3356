"""Shared set-up of the benchmark suite: libraries, thread counts, inputs, JSON size.

Every benchmark compares jitnet with NumPy and/or PyTorch's CPU build on the
same float32 inputs.  A test takes a ``lib`` parameter (``jitnet``, ``numpy``
or ``torch``), so its id reads ``test_matmul[256-torch]`` and ``report.py``
can pair each jitnet timing with its references; ``benchmark.group`` puts one
case of all libraries in one table.  PyTorch is optional: its cases skip
when it is not installed.

PyTorch gets as many intra-op threads as Numba has (``NUMBA_NUM_THREADS``,
all cores by default), so neither side wins by using more cores.
"""
from __future__ import annotations

import time

import numba
import numpy as np
import pytest

try:
    import torch
except ImportError:  # the torch cases skip
    torch = None

THREADS = numba.config.NUMBA_NUM_THREADS
if torch is not None:
    torch.set_num_threads(THREADS)

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def libs(*names: str) -> list:
    """One ``pytest.param`` per library name; torch's skip when PyTorch is missing."""
    return [pytest.param(n, id=n, marks=requires_torch if n == "torch" else ()) for n in names]


ALL = libs("jitnet", "numpy", "torch")
NN = libs("jitnet", "torch")


def rand(*shape, seed: int = 0) -> np.ndarray:
    """Standard-normal float32 inputs, the same for every library."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def to_lib(lib: str, a: np.ndarray, requires_grad: bool = False):
    """The library's own array/tensor holding a copy of ``a``."""
    if lib == "jitnet":
        import jitnet as jn

        return jn.tensor(a, requires_grad=requires_grad)
    if lib == "torch":
        return torch.tensor(a, requires_grad=requires_grad)
    return a.copy()


SETTLE_S = 0.3
"""Pause before timing: the BLAS and OpenMP pools of the library timed just before
(NumPy's OpenBLAS, PyTorch's OpenMP) keep spinning for up to ~0.1 s after their
last call and would steal the cores from the next benchmark."""


def run(benchmark, fn, *args):
    """Call ``fn`` once untimed (JIT compile or cache load, allocator warm-up), let the
    other libraries' thread pools fall asleep, then time it."""
    fn(*args)
    time.sleep(SETTLE_S)
    return benchmark(fn, *args)


def pytest_benchmark_update_json(config, benchmarks, output_json):
    """Drop per-round timings from ``--benchmark-json`` (statistics stay): keeps it small."""
    for bench in output_json.get("benchmarks", []):
        bench.get("stats", {}).pop("data", None)
    info = output_json.setdefault("machine_info", {})
    info["jitnet_threads"] = THREADS
    from jitnet.kernels.cpu import blas_library

    info["jitnet_blas"] = blas_library.name()
