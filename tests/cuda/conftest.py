"""CUDA tests: skipped unless CUDA is available -- Numba's simulator or a real GPU.

CI runs them in their own invocation with the simulator switched on before
Numba is imported: ``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda -q``.
In the main (CPU) invocation they are skipped here, so that run stays fast
and never touches ``numba.cuda`` unless a GPU is really there.
"""
from __future__ import annotations

import os
import sys

import pytest

from jitnet.device import simulator_enabled

if simulator_enabled():
    # The simulator runs each CUDA thread as a Python thread and its block barrier
    # polls them: with Python's default 5 ms GIL switch interval every
    # ``cuda.syncthreads()`` costs ~8 ms, with 10 us ~1 ms (measured).
    sys.setswitchinterval(1e-5)
    from jitnet.testing import use_cuda_simulator

    use_cuda_simulator()  # thread-safety fixes and a GPU-faithful device array

_HERE = os.path.dirname(os.path.abspath(__file__))


def _cuda_available() -> bool:
    import jitnet as jn

    return jn.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    ours = [it for it in items if str(it.fspath).startswith(_HERE)]
    if not ours:
        return
    # the PTX check compiles every kernel signature the run launched: it goes last
    last = [it for it in items if it.fspath.basename == "test_cuda_ptx.py"]
    items[:] = [it for it in items if it not in last] + last
    skip = None if _cuda_available() else pytest.mark.skip(
        reason="CUDA is not available (set NUMBA_ENABLE_CUDASIM=1 for the simulator)")
    for it in ours:
        it.add_marker(pytest.mark.cuda)
        # the simulator runs the dropout hash on NumPy uint64 scalars, which warn when they wrap
        it.add_marker(pytest.mark.filterwarnings(
            "ignore:overflow encountered in scalar:RuntimeWarning"))
        if skip is not None:
            it.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _record_kernel_signatures():
    """Record every kernel launch's argument types (test_ptx compiles them for a real GPU)."""
    if not _cuda_available():
        yield
        return
    from jitnet.kernels.cuda import _launch

    _launch.record_signatures(True)
    yield
    _launch.record_signatures(False)
