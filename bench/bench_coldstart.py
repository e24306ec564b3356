"""Cold start: a fresh process imports the library, builds LeNet-5 and runs one Adam step.

What a user waits for before the first step of a script.  jitnet compiles its
kernels with Numba and caches the machine code on disk; the two cases are

- warm cache: the cache already holds every kernel (the usual case after the
  first run), so the process only loads machine code;
- empty cache: every kernel is compiled from scratch (the first run ever).

Numba writes its cache next to the source (``__pycache__``) unless
``NUMBA_CACHE_DIR`` is set, and a cache found there would make a "cold" run
warm.  So every run here points ``NUMBA_CACHE_DIR`` at a directory of its own:
a new empty one per round for the cold case, one filled by an untimed run for
the warm case.  PyTorch has no JIT cache; it is timed the same way for
reference.  Each round is one process, timed from just before it is spawned
until it exits, which it does right after its step, skipping interpreter
teardown (the child also reports the time to the end of its step, in
``extra_info``).

The child is ``coldstart_child.py`` (``python bench/coldstart_child.py jitnet``), a
module of its own so that it imports nothing it does not time: run from this file, it
imported pytest and ``conftest`` and so PyTorch too, ~1.2 s of every jitnet round
(measured: 6.0-6.4 s -> 4.8-5.0 s on the same cache state).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import NN

HERE = Path(__file__).resolve().parent


def _spawn(lib: str, cache_dir: str) -> float:
    """Run the child with its Numba cache in ``cache_dir``; seconds from spawn to end of step."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    start = time.time()
    out = subprocess.run([sys.executable, str(HERE / "coldstart_child.py"), lib], env=env,
                         cwd=HERE,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"cold-start child failed:\n{out.stderr}")
    end = float(out.stdout.split("END ")[-1])
    return end - start


@pytest.fixture
def cache_root():
    root = tempfile.mkdtemp(prefix="jitnet-coldstart-")
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.benchmark(group="cold start")
@pytest.mark.parametrize("lib", NN)
def test_cold_start_warm_cache(benchmark, lib, cache_root):
    """Process start to end of the first LeNet-5 step, Numba cache already filled."""
    benchmark.group = "cold start, warm Numba cache (process start -> end of first LeNet step)"
    benchmark.extra_info["target_s"] = 3.0
    _spawn(lib, cache_root)  # fills the cache
    to_step = []
    benchmark.pedantic(lambda: to_step.append(_spawn(lib, cache_root)), rounds=5, iterations=1)
    benchmark.extra_info["to_end_of_step_s"] = sorted(to_step)


@pytest.mark.benchmark(group="cold start")
@pytest.mark.parametrize("lib", NN)
def test_cold_start_empty_cache(benchmark, lib, cache_root):
    """Process start to end of the first LeNet-5 step, every kernel compiled from scratch."""
    benchmark.group = "cold start, empty Numba cache (first run ever)"
    benchmark.extra_info["target_torch"] = 3.0
    to_step, counter = [], iter(range(1000))

    def fresh_dir():
        return (os.path.join(cache_root, str(next(counter))),), {}

    benchmark.pedantic(lambda d: to_step.append(_spawn(lib, d)), setup=fresh_dir, rounds=2,
                       iterations=1)
    benchmark.extra_info["to_end_of_step_s"] = sorted(to_step)
