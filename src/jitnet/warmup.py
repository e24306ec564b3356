"""Compile the kernels a model needs ahead of time, on every core: ``jitnet warmup``.

Numba compiles one kernel at a time, in the process that first calls it, so a
first run waits for every kernel in turn while the other cores idle.  Warming
up instead takes two steps:

1. **Discover** the signatures.  A child process runs the workload (one
   training step and one evaluation of each model) with ``NUMBA_DISABLE_JIT=1``:
   every kernel runs as plain Python on the real arrays (about a second for a
   digits CNN) and ``kernels._jit`` notes the Numba type of each argument of
   each call — exactly the signatures a jitted run would compile.
2. **Compile** them in a pool of worker processes, one kernel signature per
   task, into Numba's disk cache.  Any later process (the training run that
   follows, a notebook) loads them instead of compiling.

A marker file beside the cache records that a model's kernels are warm for
this jitnet and Numba; ``needs_warmup`` reads it, so ``jitnet train`` warms up
only on a cold cache.  Nothing here is needed for correctness: a kernel the
workload did not reach simply compiles on its first call, as without warmup.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def _train_step(name: str, batch: int, rng):
    """One Adam step of CLI model ``name`` on random 8x8 digit-shaped images; returns the
    model."""
    import jitnet as jn

    from .cli import build_model

    model = build_model(name, (1, 8, 8))
    optimizer = jn.optim.Adam(model.parameters(), lr=1e-3)
    x = jn.tensor(rng.standard_normal((batch, 1, 8, 8)).astype(np.float32))
    y = jn.tensor(rng.integers(0, 10, batch))
    loss = jn.nn.CrossEntropyLoss()(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    loss.item()
    return model


def _evaluate(model, batch: int, rng) -> None:
    """One no-grad evaluation of ``model`` (predicted classes) on a random batch."""
    import jitnet as jn

    model.eval()
    with jn.no_grad():
        x = jn.tensor(rng.standard_normal((batch, 1, 8, 8)).astype(np.float32))
        jn.argmax(model(x), 1).numpy()


def workload(models: Sequence[str], train_batch: int = 32, eval_batch: int = 256) -> None:
    """One Adam training step and one no-grad evaluation of each CLI model on random 8x8
    digit-shaped images: the kernels (and array sizes, hence one task or one per thread)
    a default ``jitnet train`` runs."""
    rng = np.random.default_rng(0)
    for name in models:
        _evaluate(_train_step(name, train_batch, rng), eval_batch, rng)


def _sections(models: Sequence[str], train_batch: int = 32, eval_batch: int = 256) -> list:
    """Run as plain Python (``NUMBA_DISABLE_JIT=1``, recording): per model, the recorded
    entries of its training step and of its evaluation, each model on its own record."""
    from .kernels import _jit

    rng = np.random.default_rng(0)
    groups = []
    for name in models:
        _jit._recorded.clear()
        model = _train_step(name, train_batch, rng)
        step = _jit.recorded()
        _evaluate(model, eval_batch, rng)
        groups.append((name, step, _jit.recorded()[len(step):]))
    return groups


def _discover(mode: str, models: Sequence[str], train_batch: int):
    """Run ``python -m jitnet.warmup MODE`` (``--discover`` or ``--sections``) as plain
    Python in a child process and return what it recorded."""
    with tempfile.TemporaryDirectory(prefix="jitnet-discover-") as tmp:
        out = Path(tmp) / "entries.pkl"
        env = dict(os.environ, NUMBA_DISABLE_JIT="1", JITNET_RECORD_KERNELS="1")
        env.pop("NUMBA_ENABLE_CUDASIM", None)
        proc = subprocess.run(
            [sys.executable, "-m", "jitnet.warmup", mode, str(out), str(train_batch),
             *models],
            env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"jitnet warmup: discovering kernels failed: {last}")
        return pickle.loads(out.read_bytes())


def discover(models: Sequence[str], train_batch: int = 32) -> list[tuple]:
    """The (kernel key, recipe, signature) triples ``workload(models, train_batch)``
    compiles, found by running it as plain Python in a child process (module docstring)."""
    return _discover("--discover", models, train_batch)


def manifest(models: Sequence[str] | None = None) -> dict:
    """The compile-ahead manifest (``kernels/ahead.py``): per CLI model, the signatures of
    one training step and of one evaluation, discovered as ``discover`` does."""
    import numba

    from .cli import MODELS

    return {"numba": numba.__version__, "python": sys.version_info[:2],
            "groups": _discover("--sections", models or MODELS, 32)}


def _dispatcher(key: str, recipe: tuple | None):
    """The kernel ``key`` ("module:qualname") in this process, made by ``recipe`` if it is
    built at run time."""
    from .kernels import _jit

    module, _, _ = key.partition(":")
    importlib.import_module(module)
    if recipe is not None and key not in _jit.KERNELS:
        factory_module, _, factory = recipe[0].partition(":")
        getattr(importlib.import_module(factory_module), factory)(*recipe[1:])
    return _jit.KERNELS[key]


def _compile_entry(entry: tuple) -> tuple[str, float]:
    """Worker task: compile (or load) one recorded kernel signature into the disk cache."""
    key, recipe, sig = entry
    t0 = time.perf_counter()
    from .kernels.cpu import tasks

    tasks.num_threads()  # a task kernel's fork links the thread pool's symbols: start it
    _dispatcher(key, recipe).compile(sig)
    return key, time.perf_counter() - t0


def compile_entries(entries: Sequence[tuple], jobs: int,
                    on_done: Callable[[str], None] | None = None) -> float:
    """Compile ``entries`` in ``jobs`` worker processes (in this process if ``jobs`` is 1);
    ``on_done(key)`` after each.  Returns the summed compile seconds of the workers.

    The workers are ``python -m jitnet.warmup --serve`` children fed entry numbers on
    stdin, not a multiprocessing pool: a pool's spawned children re-import the caller's
    main module, which re-runs a user's unguarded script.
    """
    if jobs <= 1:
        total = 0.0
        for e in entries:
            total += _compile_entry(e)[1]
            if on_done:
                on_done(e[0])
        return total
    import threading
    from collections import deque

    # a shared queue, so a worker that drew cheap kernels takes the next one (no order
    # matters: every recorded kernel compiles on its own)
    todo = deque(range(len(entries)))
    lock = threading.Lock()
    totals: list[float] = []
    errors: list[str] = []

    def run(path: Path, log: Path) -> None:
        with open(log, "w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "jitnet.warmup", "--serve",
                                     str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=err, text=True, env=env)
            try:
                while True:
                    with lock:
                        i = todo.popleft() if todo and not errors else None
                    if i is None:
                        break
                    proc.stdin.write(f"{i}\n")
                    proc.stdin.flush()
                    line = proc.stdout.readline()
                    if not line:
                        break  # the worker died; its stderr says why
                    with lock:
                        totals.append(float(line.split()[-1]))
                        if on_done:
                            on_done(entries[i][0])
            finally:
                proc.stdin.close()
                rc = proc.wait()
        if rc != 0:
            text = log.read_text().strip().splitlines()
            with lock:
                errors.append(text[-1] if text else f"exit code {rc}")

    from .kernels import ahead

    env = dict(os.environ, **{ahead.ENV: "0"})  # the workers are the helpers here
    with tempfile.TemporaryDirectory(prefix="jitnet-warmup-") as tmp:
        path = Path(tmp) / "entries.pkl"
        path.write_bytes(pickle.dumps(list(entries)))
        threads = [threading.Thread(target=run, args=(path, Path(tmp) / f"worker{i}.log"))
                   for i in range(jobs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise RuntimeError(f"jitnet warmup: a compile worker failed: {errors[0]}")
    return sum(totals)


def _marker(model: str) -> Path | None:
    """The file that says ``model``'s kernels are in the cache, or None (no cache)."""
    from .kernels import _jit
    from .kernels.cpu.elementwise import op_kernels
    from .kernels.opcodes import RELU

    cache = getattr(op_kernels(RELU)[0], "_cache", None)
    path = getattr(cache, "cache_path", None)
    if not path:
        return None
    import numba

    import jitnet

    cpu = Path(_jit.__file__).resolve().parent / "cpu"
    h = hashlib.sha256()
    for part in (jitnet.__version__, numba.__version__, _jit.scalar_stamp(), sys.version):
        h.update(str(part).encode())
    for f in sorted(cpu.glob("*.py")):
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return Path(path) / f"jitnet-warm-{model}-{h.hexdigest()[:16]}"


def needs_warmup(model: str) -> bool:
    """True when ``model``'s kernels have not been warmed up into this cache yet."""
    marker = _marker(model)
    return marker is not None and not marker.exists()


def discover_in_background(models: Sequence[str], train_batch: int = 32):
    """Start ``discover(models, train_batch)`` on a thread (its work is a child process);
    returns a ``concurrent.futures.Future`` of the entries, for ``warm(entries=...)``.
    ``jitnet train`` starts it first and loads its data meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jitnet-discover")
    future = pool.submit(discover, models, train_batch)
    pool.shutdown(wait=False)
    return future


def warm(models: Sequence[str], jobs: int | None = None, progress: bool = True,
         out=None, train_batch: int = 32, entries=None) -> dict:
    """Discover and compile the kernels of ``models`` (CLI model names) on ``jobs``
    processes (default: every core), with a tqdm bar when ``progress``.  ``entries``: a
    ``discover_in_background`` future (or its result) to use instead of discovering here.
    Returns ``{"kernels": n, "jobs": processes, "seconds": wall, "compile_seconds":
    summed}``."""
    from .training import _tqdm

    t0 = time.perf_counter()
    if entries is None:
        entries = discover(models, train_batch)
    elif hasattr(entries, "result"):
        entries = entries.result()
    jobs = min(jobs or os.cpu_count() or 1, max(1, len(entries)))
    tqdm = _tqdm() if progress else None
    bar = tqdm(total=len(entries), desc="compiling kernels (first run only)", unit="kernel",
               file=out or sys.stdout, dynamic_ncols=True) if tqdm else None
    try:
        seconds = compile_entries(entries, jobs, (lambda key: bar.update(1)) if bar else None)
    finally:
        if bar is not None:
            bar.close()
    for m in models:
        marker = _marker(m)
        if marker is not None:
            try:
                marker.write_text(f"{len(entries)} kernel signatures\n")
            except OSError:  # a read-only cache: nothing to remember
                pass
    return {"kernels": len(entries), "jobs": jobs, "seconds": time.perf_counter() - t0,
            "compile_seconds": seconds}


def _main(argv: list[str]) -> int:
    if argv[:1] == ["--discover"]:  # the discovery child (see discover)
        out, batch, models = Path(argv[1]), int(argv[2]), argv[3:]
        workload(models, train_batch=batch)
        from .kernels import _jit

        out.write_bytes(pickle.dumps(_jit.recorded()))
        return 0
    if argv[:1] == ["--sections"]:  # the manifest's discovery child (see manifest)
        out, batch, models = Path(argv[1]), int(argv[2]), argv[3:]
        out.write_bytes(pickle.dumps(_sections(models, train_batch=batch)))
        return 0
    if argv[:1] == ["--write-manifest"]:  # developers: after changing kernel signatures
        from .kernels import ahead

        ahead.MANIFEST.write_bytes(pickle.dumps(manifest(argv[1:] or None)))
        print(f"wrote {ahead.MANIFEST}")
        return 0
    if argv[:1] == ["--ahead"]:  # the compile-ahead helper (kernels/ahead.py)
        from .kernels import ahead

        ahead.serve(argv[1])
        return 0
    if argv[:1] == ["--serve"]:  # a compile worker (see compile_entries)
        entries = pickle.loads(Path(argv[1]).read_bytes())
        for line in sys.stdin:
            key, seconds = _compile_entry(entries[int(line)])
            print(key, f"{seconds:.3f}", flush=True)
        return 0
    print("usage: jitnet warmup (this module is run by it)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
