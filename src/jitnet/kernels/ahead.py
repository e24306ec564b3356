"""Compile ahead: on a first run, a second process compiles the kernels the step needs next.

Numba compiles a kernel in the process that first calls it, when it is called,
so a first training step waits for its kernels one after the other: forward,
then backward, then the optimizer, while the machine's other cores idle.  The
kernels a step will need are predictable, though: a CNN's forward is followed
by its backward and an optimizer step.  So the first time a process has to
compile a kernel that a known workload uses (a *manifest* group, below), it
starts one helper process that compiles the rest of that workload's kernels
into Numba's disk cache, **from the end of the step backwards**: the optimizer,
then the backward kernels, while this process compiles the forward.  The two
meet in the middle; when this process reaches a kernel the helper has already
compiled, Numba loads it from the cache in milliseconds.  On LeNet-5's first
step (2 vCPUs) the wait goes from 8.0-10.0 to 6.1-6.8 s (``bench/compile_profile.py``).

Nothing here changes what runs, only who compiles it first:

- **Claims.**  A kernel signature is compiled under an ``flock`` on a lock file
  of its own beside the cache.  The helper compiles only what it can claim
  without waiting; this process, needing a kernel the helper holds, waits for
  it (the lock drops when the helper finishes -- or dies) and then loads it.
  Only a *top-level* compile waits: a kernel compiled inside another kernel's
  compile never does, so no two compiles can wait on each other.
- **The manifest** (``manifest.pkl``) lists, per CLI model (``jitnet.cli.MODELS``),
  the kernel signatures of one Adam training step and one evaluation, as
  ``jitnet.warmup`` discovers them.  ``python -m jitnet.warmup --write-manifest``
  rewrites it; ``tests/test_ahead.py`` fails when it is stale.  A kernel not in
  it simply compiles where it is called, as it always did.
- **The helper** (forked; ``python -m jitnet.warmup --ahead`` where forking is not
  safe) hears which kernels this process starts compiling, on a pipe, and picks
  the manifest group that
  matches them best.  It exits when that group is compiled, or at once when
  this process exits (the pipe closes; Numba writes cache files atomically,
  so stopping mid-compile leaves no half-written file).

It starts only where it can help: more than one CPU, a writable disk cache
that does not hold the kernel yet, POSIX ``flock``, and
``JITNET_COMPILE_AHEAD`` not ``0`` (``jitnet info`` shows the state).  It
changes nothing at import: the helper is started by the first compile.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path

ENV = "JITNET_COMPILE_AHEAD"
MANIFEST = Path(__file__).resolve().parent / "manifest.pkl"
WAIT_S = 300.0
"""The longest this process waits for the helper's compile of one kernel before it
compiles the kernel itself (a compile takes seconds; this only bounds a hung helper)."""

_UNKNOWN = "not checked yet"
_state: dict = {"role": "main", "proc": None, "ruled_out": _UNKNOWN, "manifest": None}
_lock = threading.Lock()
_depth = threading.local()


def ident(key: str, sig: tuple) -> str:
    """The name of one kernel signature: ``"module:qualname"`` and the repr of its types."""
    return f"{key}{sig!r}"


def _lock_path(disp, name: str) -> Path:
    folder = Path(disp._cache._cache_path) / "jitnet-locks"
    folder.mkdir(exist_ok=True)
    return folder / hashlib.sha1(name.encode()).hexdigest()[:20]


@contextlib.contextmanager
def claim(disp, name: str, wait: bool):
    """Hold the lock of kernel signature ``name`` while the body compiles it; yields
    whether it is held.  ``wait``: wait (up to ``WAIT_S``) for the other process's compile
    of it to end first.  No lock file (an unwritable folder): yields True, unguarded."""
    import fcntl

    try:
        fd = os.open(_lock_path(disp, name), os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:  # no lock file: compile unguarded, as without a helper
        yield True
        return

    def take() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    try:
        held = take()
        deadline = time.monotonic() + WAIT_S
        while not held and wait and time.monotonic() < deadline:
            time.sleep(0.005)
            held = take()
        yield held
    finally:
        os.close(fd)  # drops the lock


def load_manifest() -> list | None:
    """The manifest's groups ``[(model, step entries, eval entries), ...]``, each entry a
    ``warmup`` (key, recipe, signature) triple; None when missing or made for another
    Numba or Python."""
    if _state["manifest"] is None:
        import numba

        try:
            data = pickle.loads(MANIFEST.read_bytes())
            ok = data["numba"] == numba.__version__ and data["python"] == sys.version_info[:2]
            _state["manifest"] = data["groups"] if ok else []
        except Exception:  # noqa: BLE001  (unreadable: no prediction, nothing breaks)
            _state["manifest"] = []
    return _state["manifest"] or None


def _known(name: str) -> bool:
    """Whether kernel signature ``name`` is in the manifest."""
    if "idents" not in _state:
        _state["idents"] = {ident(k, s) for _, step, ev in load_manifest() or ()
                            for k, _, s in step + ev}
    return name in _state["idents"]


def _cached(disp, sig: tuple) -> bool:
    """Whether Numba's disk cache already holds ``disp``'s compile for ``sig``."""
    cache = disp._cache
    try:
        key = cache._index_key(sig, disp.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # noqa: BLE001  (cannot tell: assume it is, start nothing)
        return True


def _ruled_out() -> str | None:
    """Why no helper can run in this process, or None (checked once)."""
    if _state["ruled_out"] is _UNKNOWN:
        _state["ruled_out"] = _rule_out()
    return _state["ruled_out"]


def _rule_out() -> str | None:
    if os.environ.get(ENV, "1") == "0":
        return f"off ({ENV}=0)"
    try:
        import fcntl  # noqa: F401
    except ImportError:
        return "off (no POSIX flock here)"
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cpus or 1) < 2:
        return "off (one CPU)"
    if load_manifest() is None:
        return "off (no manifest for this Numba and Python)"
    return None


class _Helper:
    """The forked helper: its pid and the write end of its pipe (what ``Popen`` gives)."""

    def __init__(self, pid: int, stdin):
        self.pid, self.stdin = pid, stdin


def _start(first: str) -> None:
    """Start the helper: forked from this process where that is safe (no other thread,
    no MPI), so it starts with every module already imported; else a new interpreter."""
    if hasattr(os, "fork") and threading.active_count() == 1 and "mpi4py" not in sys.modules:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the helper: never returns into the caller's program
            try:
                os.close(w)
                # let go of the caller's stdout/stderr: a pipe reading them (a shell's `|`,
                # subprocess.run) ends when the caller does, not when the helper does
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                serve(first, os.fdopen(r))
            finally:
                os._exit(0)
        os.close(r)
        _state["proc"] = _Helper(pid, os.fdopen(w, "w"))
        return
    env = dict(os.environ, **{ENV: "0"})  # the helper's compiles never start another
    try:
        _state["proc"] = subprocess.Popen(
            [sys.executable, "-m", "jitnet.warmup", "--ahead", first], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, text=True)
    except OSError as exc:
        _state["ruled_out"] = f"off (could not start the helper: {exc})"


def _tell(name: str) -> None:
    proc = _state["proc"]
    try:
        proc.stdin.write(name + "\n")
        proc.stdin.flush()
    except (OSError, ValueError):  # the helper is done or gone: carry on alone
        with contextlib.suppress(OSError, ValueError):
            proc.stdin.close()
        if isinstance(proc, _Helper):
            with contextlib.suppress(OSError):
                os.waitpid(proc.pid, os.WNOHANG)  # reap it


def _top_level_miss(disp, name: str, sig: tuple) -> None:
    """This process starts compiling ``name``: tell the helper, or start one if it helps."""
    with _lock:
        if _state["proc"] is not None:
            _tell(name)
            return
        if _state["role"] == "main" and _ruled_out() is None and _known(name) and \
                not _cached(disp, sig):
            _start(name)


def compiling(disp, key: str):
    """``disp.compile`` wrapped to claim each new signature (module docstring); set as the
    dispatcher's ``compile`` by ``_jit.kernel``."""
    compile_ = disp.compile

    def compile(sig):
        if not isinstance(sig, tuple) or sig in disp.overloads:
            return compile_(sig)
        depth = getattr(_depth, "n", 0)
        name = ident(key, sig)
        if depth == 0:
            _top_level_miss(disp, name, sig)
        if _state["proc"] is None and _state["role"] == "main":
            return compile_(sig)
        # who waits for the other process's compile: this process's top-level compiles
        # (holding no lock), and the helper's nested ones (main never waits holding one)
        main = _state["role"] == "main"
        with claim(disp, name, wait=(depth == 0) == main):
            _depth.n = depth + 1
            try:
                return compile_(sig)
            finally:
                _depth.n = depth

    compile.__wrapped__ = compile_
    return compile


def status() -> str:
    """For ``jitnet info``: whether a first compile would start the helper."""
    if _state["proc"] is not None:
        return f"on (helper process {_state['proc'].pid})"
    return _ruled_out() or f"on ({ENV}=1, starts at a first compile)"


def serve(first: str, stream=None) -> None:
    """The helper's loop (``python -m jitnet.warmup --ahead FIRST``, or forked): compile
    the best matching manifest group from the end of its step backwards, then its
    evaluation.  ``stream`` (default stdin) names the kernels the main process starts."""
    from ..warmup import _dispatcher
    from .cpu import tasks

    _state.update(role="helper", proc=None)
    groups = load_manifest() or []
    seen, lock = {first}, threading.Lock()
    stream = stream or sys.stdin

    def listen() -> None:
        for line in stream:
            with lock:
                seen.add(line.rstrip("\n"))
        os._exit(0)  # the main process has ended

    threading.Thread(target=listen, daemon=True).start()
    tasks.num_threads()  # a task kernel's fork links the thread pool's symbols: start it
    orders = [[(ident(k, s), k, r, s) for k, r, s in step[::-1] + ev] for _, step, ev in groups]
    done: set[str] = set()
    while True:
        with lock:
            now = set(seen)
        # the group most of whose kernels this process has started (a share, so that of
        # two groups matching as many, the smaller, more specific one wins)
        order = max(orders, key=lambda o: sum(n in now for n, *_ in o) / len(o))
        todo = [e for e in order if e[0] not in done and e[0] not in now]
        if not todo:
            return
        name, key, recipe, sig = todo[0]
        done.add(name)
        try:
            disp = _dispatcher(key, recipe)
            with claim(disp, name, wait=False) as held:
                if held:
                    _depth.n = 1
                    try:
                        disp.compile.__wrapped__(sig)
                    finally:
                        _depth.n = 0
        except Exception:  # noqa: BLE001  (a prediction that fails costs nothing)
            continue
