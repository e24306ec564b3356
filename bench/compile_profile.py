"""Where a first run's time goes: compile time per Numba kernel, import + LeNet-5 + one Adam step.

    python bench/compile_profile.py            # empty NUMBA_CACHE_DIR: every kernel compiles
    python bench/compile_profile.py --warm     # a second run on the cache the first one filled
    python bench/compile_profile.py --torch    # PyTorch's cold start, for the ratio

The workload is ``bench_coldstart.py``'s (``coldstart_child.py``: import, build LeNet-5,
forward, backward, one Adam step on a 64-image batch).  It runs in a child process whose
``NUMBA_CACHE_DIR`` is a new empty directory, so nothing is cached.  The child
wraps ``numba.core.dispatcher.Dispatcher.compile`` and times every call,
*exclusive* of nested compiles (a kernel that calls another jitted function
compiles it inside its own compile), and tells compiles from cache loads by
the dispatcher's own hit counters.  It prints one line per function, slowest
first, then the sum of compile time and the wall time of each phase.

Under load (other processes on the machine) every wall figure stretches;
compare runs taken under the same load, and read the child's CPU time (printed
too), which load stretches far less.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _install_timer():
    """Wrap Dispatcher.compile; returns the {qualname: [seconds, compiles, cache loads]} table."""
    from numba.core import dispatcher

    table: dict[str, list] = defaultdict(lambda: [0.0, 0, 0, ""])
    stack: list[float] = []  # child time accumulated per open compile
    names: list[str] = []  # the functions being compiled, outermost first
    original = dispatcher.Dispatcher.compile

    def compile(self, sig):
        name = f"{self.py_func.__module__}.{self.py_func.__qualname__}"
        hits = sum(self._cache_hits.values())
        known = len(self.overloads)
        stack.append(0.0)
        names.append(name)
        t0 = time.perf_counter()
        try:
            return original(self, sig)
        finally:
            total = time.perf_counter() - t0
            names.pop()
            children = stack.pop()
            if stack:
                stack[-1] += total
            row = table[name]
            if names and not row[3]:  # the first kernel whose compile needed this one
                row[3] = names[0].replace("jitnet.kernels.", "")
            if len(self.overloads) > known:  # a new signature: compiled or loaded
                if sum(self._cache_hits.values()) > hits:
                    row[2] += 1
                else:
                    row[1] += 1
            row[0] += total - children

    dispatcher.Dispatcher.compile = compile
    return table


def _child(lib: str) -> None:
    t0 = time.perf_counter()
    sys.path.insert(0, str(HERE))
    table = _install_timer() if lib == "jitnet" else {}
    from coldstart_child import first_step, load

    mod = load(lib)
    t_import = time.perf_counter()
    marks = {}
    first_step(mod, lambda phase: marks.setdefault(phase, time.perf_counter()))
    t_fwd, t_bwd, t_end = marks["forward"], marks["backward"], time.perf_counter()
    rows = sorted(table.items(), key=lambda kv: -kv[1][0])
    if rows:
        print(f"{'seconds':>8} {'compiled':>8} {'loaded':>6}  function  [first needed by]")
        for name, (sec, n_comp, n_load, parent) in rows:
            if sec >= 0.005:
                print(f"{sec:8.3f} {n_comp:8d} {n_load:6d}  {name}"
                      + (f"  [{parent}]" if parent else ""))
        n_comp = sum(r[1] for r in table.values())
        n_load = sum(r[2] for r in table.values())
        print(f"{sum(r[0] for r in table.values()):8.3f} {n_comp:8d} {n_load:6d}  "
              f"TOTAL ({len(table)} functions)")
    print(f"wall: import {t_import - t0:.2f} s, forward {t_fwd - t_import:.2f} s, "
          f"backward {t_bwd - t_fwd:.2f} s, Adam step {t_end - t_bwd:.2f} s, "
          f"total {t_end - t0:.2f} s")
    os._exit(0)


def _run(lib: str, cache_dir: str) -> float:
    """Run the child; prints its CPU time (user + system), which load stretches less than
    wall time; returns the wall time."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    start, cpu0 = time.time(), _children_cpu()
    subprocess.run([sys.executable, str(Path(__file__)), "--child", lib], env=env, check=True)
    print(f"process CPU time (user + system): {_children_cpu() - cpu0:.2f} s")
    return time.time() - start


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", action="store_true", help="also profile a second, cached run")
    ap.add_argument("--torch", action="store_true", help="also time PyTorch's cold start")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child)
        return
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average before: {load:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="jitnet-compile-") as cache:
        print("== jitnet, empty Numba cache")
        cold = _run("jitnet", cache)
        print(f"process wall (spawn -> end of step): {cold:.2f} s")
        if args.warm:
            print("== jitnet, warm Numba cache")
            print(f"process wall: {_run('jitnet', cache):.2f} s")
    if args.torch:
        print("== torch")
        t = _run("torch", tempfile.gettempdir())
        print(f"process wall: {t:.2f} s  (jitnet cold / torch = {cold / t:.1f}x)")


if __name__ == "__main__":
    main()
