"""Whole programs, timed as a user times them: a fresh process from spawn to exit.

Each case runs a script of ``bench/programs/`` in a new Python process, the
jitnet and the PyTorch version of the same program (written the same way, from
the same data):

- ``mnist_cnn_*.py``: PyTorch's MNIST example (conv 1->32->64 3x3, max-pool,
  dropout, fc 9216->128->10, Adadelta lr 1.0, StepLR 0.7), one epoch on the
  sklearn digits upscaled to 28x28, then its test pass;
- the default ``jitnet train`` run (the 'cnn' model, 15 epochs on the 8x8
  digits, Adam with a cosine schedule, checkpoints, history and curves), as the
  command itself (``python -m jitnet train``) beside ``train_default.py`` on
  PyTorch; and ``train_default.py --jitnet``, the same program written out by
  hand, on jitnet (only its imports change), beside the same PyTorch script.

Numba's cache is warm: every case runs its program once untimed first (which
compiles whatever the cache lacks), as a user's second run would be.  The time
includes interpreter start, imports, data loading and teardown.  Children get
as many threads as the parent's Numba pool (``NUMBA_NUM_THREADS``,
``OMP_NUM_THREADS`` for PyTorch).

    python -m pytest bench/bench_programs.py --benchmark-only
    python -m pytest bench/bench_programs.py --benchmark-only -k mnist
    python bench/bench_programs.py [--rounds 3] [mnist train_cli train_script]   # no pytest
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PROGRAMS = HERE / "programs"

# id -> (group, {lib: argv after the interpreter}); "{out}" is a fresh output directory
CASES = {
    "mnist": ("program: PyTorch's MNIST example CNN, 1 epoch on 28x28 digits (whole process)", {
        "jitnet": ["mnist_cnn.py", "--jitnet"],
        "torch": ["mnist_cnn.py"],
    }),
    "train_cli": ("program: default `jitnet train` (the command) vs its PyTorch twin "
                  "(whole process)", {
                      "jitnet": ["-m", "jitnet", "train", "--out", "{out}"],
                      "torch": ["train_default.py", "--out", "{out}"],
                  }),
    "train_script": ("program: default `jitnet train` written as a script, jitnet vs PyTorch "
                     "(whole process)", {
                         "jitnet": ["train_default.py", "--jitnet", "--out", "{out}"],
                         "torch": ["train_default.py", "--out", "{out}"],
                     }),
}
ROUNDS = 3


def _env() -> dict:
    """The parent's environment, with this jitnet first on the path and equal thread counts."""
    import numba

    import jitnet

    env = dict(os.environ)
    src = str(Path(jitnet.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([src] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("OMP_NUM_THREADS", str(numba.config.NUMBA_NUM_THREADS))
    return env


def run_program(argv: list[str]) -> float:
    """Run ``python argv...`` in ``bench/programs`` (a fresh output directory for "{out}");
    seconds from spawn to exit.  Raises with the program's stderr when it fails."""
    with tempfile.TemporaryDirectory(prefix="jitnet-program-") as out:
        args = [a.replace("{out}", out) for a in argv]
        start = time.perf_counter()
        done = subprocess.run([sys.executable, *args], cwd=PROGRAMS, env=_env(),
                              capture_output=True, text=True, check=False)
        took = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"program {' '.join(args)} failed ({done.returncode}):\n"
                           f"{done.stderr[-3000:]}")
    return took


def _params():
    from conftest import requires_torch

    return [pytest.param(case, lib, id=f"{case}-{lib}",
                         marks=requires_torch if lib == "torch" else ())
            for case, (_, libs) in CASES.items() for lib in libs]


@pytest.mark.parametrize("case,lib", _params())
def test_program(benchmark, case, lib):
    """One whole program in a fresh process (after one untimed run that warms the cache)."""
    group, libs = CASES[case]
    benchmark.group = group
    benchmark.extra_info["target_torch"] = 1.0
    run_program(libs[lib])
    benchmark.pedantic(run_program, args=(libs[lib],), rounds=ROUNDS, iterations=1)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="time the programs of bench/programs")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("cases", nargs="*", help=f"some of {', '.join(CASES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    for case, (group, libs) in CASES.items():
        if args.cases and case not in args.cases:
            continue
        times: dict[str, list[float]] = {lib: [] for lib in libs}
        for cmd in libs.values():
            run_program(cmd)  # warm the Numba cache (and the OS's file cache)
        for _ in range(args.rounds):  # alternate the libraries, so that load hits both
            for lib, cmd in libs.items():
                times[lib].append(run_program(cmd))
        med = {lib: sorted(t)[len(t) // 2] for lib, t in times.items()}
        print(f"{group}\n  " + "   ".join(f"{lib} {m:.2f} s" for lib, m in med.items())
              + f"   jitnet / torch {med['jitnet'] / med['torch']:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
