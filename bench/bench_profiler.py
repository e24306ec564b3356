"""What the profiler costs: one tiny op (``a + b`` on 1-element tensors, forward only, and
with its backward) with no profile, and inside ``jitnet.profiler.profile()``.

With no profile on, the hooks are one global check per op and none per kernel
(the kernel tables are the plain modules), so "no profile" here is the
dispatch cost of an op; compare it with the same case on a jitnet without the
profiler to see the hooks' cost.  The script form prints microseconds per op
and runs on any jitnet (the profiled cases are skipped where there is no
``jitnet.profiler``), for before/after comparisons:

    python -m pytest bench/bench_profiler.py --benchmark-only
    python bench/bench_profiler.py                      # us per op, no pytest
    PYTHONPATH=/path/to/other/src python bench/bench_profiler.py
"""
from __future__ import annotations

import sys
import timeit

import numpy as np
import pytest

import jitnet as jn


def _inputs(requires_grad: bool):
    a = jn.tensor(np.ones(1, np.float32), requires_grad=requires_grad)
    b = jn.tensor(np.ones(1, np.float32))
    return a, b


def forward_op():
    """One add, no graph: the dispatch of an op and its kernel."""
    a, b = _inputs(False)
    return lambda: a + b


def forward_backward():
    """One add recorded on the tape, summed and differentiated (three ops, their backward)."""
    a, b = _inputs(True)

    def run():
        (a + b).sum().backward()
        a.grad = None

    return run


CASES = {"forward": forward_op, "forward_backward": forward_backward}
LABELS = {"forward": "add of (1,) tensors, forward",
          "forward_backward": "add of (1,) tensors, forward+backward"}


@pytest.mark.parametrize("profiled", [False, True], ids=["off", "profiled"])
@pytest.mark.parametrize("case", list(CASES))
def test_dispatch(benchmark, case, profiled):
    """One tiny op (or op + backward) with no profile, or inside one."""
    benchmark.group = f"dispatch {LABELS[case]}, {'profiled' if profiled else 'no profile'}"
    fn = CASES[case]()
    fn()
    if not profiled:
        benchmark(fn)
        return
    with jn.profiler.profile():
        benchmark.pedantic(fn, rounds=2000, iterations=1, warmup_rounds=10)


def _per_call_us(fn, number: int = 20000, repeat: int = 7) -> float:
    """Best of ``repeat`` runs of ``number`` calls, in microseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> int:
    has_profiler = hasattr(jn, "profiler")
    print(f"jitnet from {jn.__file__}")
    for name, make in CASES.items():
        fn = make()
        fn()
        line = f"{LABELS[name]:<38} no profile {_per_call_us(fn):7.2f} us"
        if has_profiler:
            with jn.profiler.profile():
                line += f"   inside a profile {_per_call_us(fn, number=2000, repeat=3):7.2f} us"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
