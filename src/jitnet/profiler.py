"""Where a program spends its time, op by op and kernel by kernel (torch.profiler's API).

    import jitnet
    with jitnet.profiler.profile() as prof:
        loss = model(x).sum()
        loss.backward()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))

Two kinds of rows are recorded, each with its calls, total and self time:

- **ops**: the ``forward`` and ``backward`` of every autograd ``Function``
  (``Conv2d``, ``Conv2dBackward``, ``Relu``, ``ReluBackward``), with the source
  line of that forward or backward;
- **kernels**: every call of a kernel-table entry (``cpu::conv.im2col``, the
  device, the family's file under ``kernels/<device>/`` and the entry's name),
  with its source line, its device, and the part of its time that Numba spent
  compiling it (the first call with a new signature) or loading it from its
  disk cache (the first call in a process of a signature compiled before).

A kernel called inside an op is that op's child: the op's *self* time is its
Python (argument handling, the tape) and the kernels' self time is the compiled
code.  ``record_function("name")`` adds a row of your own around any block.

How: ``Function.apply`` and the backward engine call this module's recorder
instead of ``forward`` / ``backward`` while one is on (one global check an op
when none is), and the kernel tables of ``jitnet.kernels`` are swapped for views
that time each entry (so a kernel call costs nothing extra when no profile
records).  Every thread keeps its own stack of open events; a profile records
the ops and kernels of all threads, each with its thread id.

``JITNET_LOG=kernels`` in the environment prints every kernel call as it ends,
to stderr: its number, name, the op it ran in, its arguments' dtypes and
shapes, the result, and its time (like tinygrad's ``DEBUG=2``); one line each::

    jitnet:     4 cpu::conv.im2col               Conv2d         float32[64,1,28,28],
        Window2d -> float32[64,784,9]  412.011us

Differs from PyTorch: times are host (wall-clock) times only -- a CUDA kernel's
time is the host's time to launch it and wait for whatever it waits for -- and
there is no ``schedule``, ``on_trace_ready``, memory, stack or FLOP recording.
An op's time is its ``forward`` / ``backward``; the tape bookkeeping of
``Function.apply`` around them (about a microsecond an op) is outside every
row, in the gap between ``wall_time_total`` and the rows' self times that the
table's footer reports.
"""
from __future__ import annotations

import enum
import functools
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from . import autograd, kernels

__all__ = ["SORT_KEYS", "EventList", "FunctionEvent", "FunctionEventAvg", "ProfilerActivity",
           "profile", "record_function"]

_ROOT = Path(__file__).resolve().parent.parent  # sources are shown as jitnet/ops/conv.py:18
_perf_ns = time.perf_counter_ns


class ProfilerActivity(enum.Enum):
    """What to record (PyTorch's names).  jitnet records host time for both."""

    CPU = "cpu"
    CUDA = "cuda"


# ---------------------------------------------------------------------- recording

class _Event:
    """One op, kernel or ``record_function`` call, while and after it runs (times in ns)."""

    __slots__ = ("name", "kind", "device", "source", "parent", "profile", "thread", "start",
                 "end", "self_ns", "compile0", "compile_s", "self_compile_s", "jit0", "load_s",
                 "children", "input_shapes", "ctx")

    def __init__(self, name, kind, device, source, parent, profile, thread):
        self.name, self.kind, self.device, self.source = name, kind, device, source
        self.parent, self.profile, self.thread = parent, profile, thread
        self.self_ns = 0
        self.compile_s = self.self_compile_s = self.load_s = 0.0
        self.children = []
        self.input_shapes = None
        self.ctx = None  # an op's Context while its forward runs (its label names it)


class _Local(threading.local):
    def __init__(self) -> None:
        self.stack: list[_Event] = []  # this thread's open events, innermost last
        self.thread = threading.get_ident()


_local = _Local()
_compile_watch = None  # jitnet.kernels.compile_watch's watch, once anything has recorded


def _compile_seconds() -> float:
    return _compile_watch.thread_seconds() if _compile_watch is not None else 0.0


class _JitClock(threading.local):
    """Seconds this thread spent holding (or waiting for) Numba's compiler lock: a dispatcher
    takes it on the first call of a signature, to load the machine code from the disk cache
    or, failing that, to compile.  Less the compile time, it is the cache-load time."""

    depth = 0
    t0 = 0.0
    seconds = 0.0


_jit = _JitClock()
_jit_listening = False


def _listen_to_the_compiler_lock() -> None:
    global _jit_listening
    if _jit_listening:
        return
    from numba.core import event

    class _Listener(event.Listener):
        def on_start(self, ev) -> None:
            if _jit.depth == 0:
                _jit.t0 = time.perf_counter()
            _jit.depth += 1

        def on_end(self, ev) -> None:
            _jit.depth -= 1
            if _jit.depth == 0:
                _jit.seconds += time.perf_counter() - _jit.t0

    event.register("numba:compiler_lock", _Listener())
    _jit_listening = True


def _open(name: str, kind: str, device: str, source: str) -> _Event:
    local = _local
    stack = local.stack
    ev = _Event(name, kind, device, source, stack[-1] if stack else None, _rec.profile,
                local.thread)
    stack.append(ev)
    ev.compile0 = _compile_seconds()
    ev.jit0 = _jit.seconds
    ev.start = _perf_ns()
    return ev


def _close(ev: _Event) -> None:
    end = _perf_ns()
    compiled = _compile_seconds() - ev.compile0
    ev.load_s = max(_jit.seconds - ev.jit0 - compiled, 0.0)
    stack = _local.stack
    while stack and stack.pop() is not ev:  # an inner event left open cannot outlive ev
        pass
    took = end - ev.start
    ev.end = end
    ev.self_ns += took
    ev.compile_s = compiled
    ev.self_compile_s += compiled
    parent = ev.parent
    if parent is not None:
        parent.self_ns -= took
        parent.self_compile_s -= compiled
        parent.children.append(ev)
    prof = ev.profile
    if prof is not None and prof._recording:
        prof._events.append(ev)


@functools.cache
def _source_of(fn) -> str:
    """``jitnet/kernels/cpu/conv.py:42``: where ``fn`` (a function or Numba dispatcher) starts."""
    f = getattr(fn, "py_func", fn)
    while hasattr(f, "__wrapped__"):
        f = f.__wrapped__
    f = getattr(f, "py_func", f)
    code = getattr(f, "__code__", None)
    if code is None:
        return "?"
    path = Path(code.co_filename)
    try:
        shown = path.resolve().relative_to(_ROOT).as_posix()
    except ValueError:  # not jitnet's own: the full path
        shown = code.co_filename
    return f"{shown}:{code.co_firstlineno}"


def _kernel_name(device: str, attr: str, fn) -> str:
    """``cpu::conv.im2col``: the device, the family module the entry is defined in, its name."""
    module = getattr(getattr(fn, "py_func", fn), "__module__", None) or ""
    family = module.rsplit(".", 1)[-1]
    return f"{device}::{family}.{attr}" if family and family != device else f"{device}::{attr}"


class _Recorder:
    """What is on: the recording profile (or None) and the JITNET_LOG kernel log."""

    def __init__(self) -> None:
        self.profile: profile | None = None
        self.log = False
        self.logged = 0

    # called by Function.apply and the backward engine (autograd._profiler)
    def forward(self, ctx, raw, kwargs):
        """Run ``ctx.fn.forward`` as an op event named after the op (its label, else class)."""
        fn = ctx.fn
        ev = _open(fn.__name__, "op", ctx.device.type, _source_of(fn.forward))
        ev.ctx = ctx
        try:
            return fn.forward(ctx, *raw, **kwargs)
        finally:
            ev.name = ctx.__dict__.get("label", ev.name)
            ev.ctx = None
            _close(ev)

    def backward(self, node, g):
        """Run a node's backward as an op event (``Conv2dBackward``); a node recorded before
        recording began gets the timed kernel table first, so its kernels show too."""
        if type(node.k) is not _TableView:
            node.k = kernels.table(node.device)
        ev = _open(node.name(), "op", node.device.type, _source_of(node.fn.backward))
        try:
            return node.fn.backward(node, g)
        finally:
            _close(ev)

    def kernel(self, info: tuple, fn, args, kwargs):
        """Run one kernel-table entry as a kernel event (and log it under JITNET_LOG)."""
        ev = _open(*info)
        prof = ev.profile
        if prof is not None and prof.record_shapes:
            ev.input_shapes = [list(a.shape) if hasattr(a, "shape") else [] for a in args]
        try:
            out = fn(*args, **kwargs)
        finally:
            _close(ev)
        if self.log:
            self.logged += 1
            _log_kernel(self.logged, ev, args, out)
        return out


_rec = _Recorder()
_recorder: _Recorder | None = None  # _rec while a profile records or the log is on
_switch_lock = threading.Lock()


def _switch() -> None:
    """Turn the hooks on or off to match ``_rec`` (fresh table views at each switch-on)."""
    global _recorder, _compile_watch
    on = _rec.profile is not None or _rec.log
    if on and _recorder is None:
        from .kernels.compile_watch import watch

        _compile_watch = watch()
        _listen_to_the_compiler_lock()
        kernels.set_view(_TableView)
        _recorder = _rec
        autograd._profiler = _rec
    elif not on and _recorder is not None:
        autograd._profiler = None
        _recorder = None
        kernels.set_view(None)


class _TableView:
    """A kernel table whose entries record themselves while a profile or the log is on.

    Entries are wrapped on first use and kept; a wrapper calls its kernel straight
    through once recording stops (a tape node made while recording keeps this view).
    """

    def __init__(self, table) -> None:
        self._table = table
        self.name = getattr(table, "name", "?")

    def __getattr__(self, attr: str):
        value = getattr(self._table, attr)
        if callable(value) and not isinstance(value, type) and not attr.startswith("_"):
            value = _timed(value, (_kernel_name(self.name, attr, value), "kernel", self.name,
                                   _source_of(value)))
        self.__dict__[attr] = value
        return value

    def __repr__(self) -> str:
        return f"<timed kernel table {self.name!r}>"


def _timed(fn, info: tuple):
    @functools.wraps(fn, updated=())
    def timed_kernel(*args, **kwargs):
        rec = _recorder
        if rec is None:
            return fn(*args, **kwargs)
        return rec.kernel(info, fn, args, kwargs)

    return timed_kernel


# ---------------------------------------------------------------------- JITNET_LOG=kernels

def _describe(a) -> str:
    """An argument as the log shows it: ``float32[64,1,28,28]``, ``3``, ``Window2d``."""
    if hasattr(a, "shape") and hasattr(a, "dtype"):
        return f"{a.dtype}[{','.join(str(n) for n in a.shape)}]"
    if isinstance(a, (tuple, list)):
        inner = [_describe(x) for x in a[:4]] + (["..."] if len(a) > 4 else [])
        return f"({', '.join(inner)}{',' if len(a) == 1 else ''})"
    if a is None or isinstance(a, (bool, int, float, str)):
        text = repr(a)
        return text if len(text) <= 16 else text[:13] + "..."
    if isinstance(a, type):
        return a.__name__
    if isinstance(a, np.dtype):
        return str(a)
    return type(a).__name__


def _log_kernel(n: int, ev: _Event, args, out) -> None:
    op = ev.parent
    while op is not None and op.kind == "kernel":
        op = op.parent
    where = "-" if op is None else op.name if op.ctx is None else \
        op.ctx.__dict__.get("label", op.name)
    line = (f"jitnet: {n:>5} {ev.name:<30} {where:<14} "
            f"{', '.join(_describe(a) for a in args)} -> {_describe(out)}  "
            f"{_format_time((ev.end - ev.start) / 1e3)}")
    if ev.compile_s > 0:
        line += f"  (compiling {_format_time(ev.compile_s * 1e6)})"
    elif ev.load_s > 0:
        line += f"  (loading from Numba's cache {_format_time(ev.load_s * 1e6)})"
    sys.stderr.write(line + "\n")


def _configure_log(setting: str) -> None:
    """Apply ``JITNET_LOG``: comma-separated words; ``kernels`` turns the kernel log on."""
    words = {w.strip() for w in setting.split(",") if w.strip()}
    unknown = sorted(words - {"kernels"})
    if unknown:
        sys.stderr.write(f"jitnet: JITNET_LOG: ignoring {', '.join(unknown)} "
                         "(known: kernels)\n")
    with _switch_lock:
        _rec.log = "kernels" in words
        _switch()


# ---------------------------------------------------------------------- results

def _format_time(us: float) -> str:
    """PyTorch's table format: ``412.011us``, ``12.345ms``, ``1.234s``."""
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


class FunctionEvent:
    """One recorded call.  Times in microseconds, as PyTorch's.

    ``name``/``key``, ``kind`` ("op", "kernel" or "user"), ``device`` ("cpu", "cuda"),
    ``source`` (``file:line``), ``thread``, ``start_us``/``end_us`` (from the start of the
    profile), ``cpu_time_total`` (inclusive), ``self_cpu_time_total`` (less its children),
    ``compile_time_total`` / ``self_compile_time_total`` (Numba compiling inside it),
    ``cache_load_time_total`` (Numba loading machine code from its disk cache inside it),
    ``cpu_parent``, ``cpu_children``, ``input_shapes`` (with ``record_shapes=True``), ``count`` (1).
    """

    count = 1

    def __init__(self, ev: _Event, origin_ns: int, index: int) -> None:
        self.id = index
        self.name = self.key = ev.name
        self.kind, self.device, self.source, self.thread = ev.kind, ev.device, ev.source, ev.thread
        self.start_us = (ev.start - origin_ns) / 1e3
        self.end_us = (ev.end - origin_ns) / 1e3
        self.cpu_time_total = (ev.end - ev.start) / 1e3
        self.cpu_time = self.cpu_time_total
        self.self_cpu_time_total = ev.self_ns / 1e3
        self.compile_time_total = ev.compile_s * 1e6
        self.self_compile_time_total = ev.self_compile_s * 1e6
        self.cache_load_time_total = ev.load_s * 1e6
        self.input_shapes = ev.input_shapes or []
        self.cpu_parent: FunctionEvent | None = None
        self.cpu_children: list[FunctionEvent] = []

    def __repr__(self) -> str:
        return (f"<FunctionEvent {self.name} {self.kind} on {self.device}: "
                f"{_format_time(self.cpu_time_total)} total, "
                f"{_format_time(self.self_cpu_time_total)} self>")


class FunctionEventAvg:
    """The calls of one name (and, with ``group_by_input_shape``, one input shape) summed:
    ``key``, ``count``, ``cpu_time_total``, ``self_cpu_time_total``, ``cpu_time`` (the mean),
    ``compile_time_total``, ``self_compile_time_total``, ``cache_load_time_total``, ``kind``,
    ``device``, ``source``,
    ``input_shapes``."""

    def __init__(self, first: FunctionEvent, input_shapes) -> None:
        self.key = first.key
        self.kind, self.device, self.source = first.kind, first.device, first.source
        self.input_shapes = input_shapes
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.compile_time_total = self.self_compile_time_total = 0.0
        self.cache_load_time_total = 0.0

    def add(self, ev: FunctionEvent) -> None:
        self.count += ev.count
        self.cpu_time_total += ev.cpu_time_total
        self.self_cpu_time_total += ev.self_cpu_time_total
        self.compile_time_total += ev.compile_time_total
        self.self_compile_time_total += ev.self_compile_time_total
        self.cache_load_time_total += ev.cache_load_time_total

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg {self.key} x{self.count}: "
                f"{_format_time(self.cpu_time_total)} total, "
                f"{_format_time(self.self_cpu_time_total)} self>")


SORT_KEYS = ("self_cpu_time_total", "cpu_time_total", "cpu_time", "count",
             "compile_time_total", "self_compile_time_total", "cache_load_time_total")
"""What ``table(sort_by=...)`` accepts (largest first)."""


class EventList(list):
    """A list of ``FunctionEvent`` (``events()``) or ``FunctionEventAvg`` (``key_averages()``)
    with PyTorch's ``table`` and ``key_averages``.  ``wall_time_total``: the profile's wall
    time in microseconds (None for a list built by hand)."""

    def __init__(self, items: Iterable = (), wall_time_total: float | None = None) -> None:
        super().__init__(items)
        self.wall_time_total = wall_time_total

    @property
    def self_cpu_time_total(self) -> float:
        """Sum of the self times (us): the time inside any recorded call."""
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape: bool = False) -> EventList:
        """One ``FunctionEventAvg`` per name (and input shapes), in order of first call."""
        groups: dict = {}
        for ev in self:
            shapes = ev.input_shapes if group_by_input_shape else None
            key = (ev.key, str(shapes)) if group_by_input_shape else ev.key
            avg = groups.get(key)
            if avg is None:
                avg = groups[key] = FunctionEventAvg(ev, shapes)
            avg.add(ev)
        return EventList(groups.values(), self.wall_time_total)

    def table(self, sort_by: str | None = None, row_limit: int = 100,
              max_name_column_width: int = 55, header: str | None = None) -> str:
        """The rows as a text table: name, self and total time (and their shares of the
        summed self time), mean time, calls, device, Numba's compile and cache-load time,
        source.  ``sort_by``:
        one of ``SORT_KEYS`` (largest first), or None for the list's order; ``row_limit``
        rows at most (a negative limit: all)."""
        if sort_by is not None and sort_by not in SORT_KEYS:
            raise ValueError(f"table: sort_by must be one of {', '.join(SORT_KEYS)} or None, "
                             f"got {sort_by!r}")
        rows = list(self)
        if sort_by is not None:
            rows.sort(key=lambda e: getattr(e, sort_by), reverse=True)
        if row_limit is not None and row_limit >= 0:
            rows = rows[:row_limit]
        total_self = self.self_cpu_time_total
        shapes = any(getattr(e, "input_shapes", None) for e in rows)

        def pct(us: float) -> str:
            return f"{100.0 * us / total_self:.2f}%" if total_self > 0 else "-"

        def short(name: str) -> str:
            return name if len(name) <= max_name_column_width else \
                name[:max_name_column_width - 3] + "..."

        head = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
                "# of Calls", "Device", "Compile", "Cache load", "Source"] + \
            (["Input Shapes"] if shapes else [])
        body = []
        for e in rows:
            line = [short(e.key), pct(e.self_cpu_time_total), _format_time(e.self_cpu_time_total),
                    pct(e.cpu_time_total), _format_time(e.cpu_time_total),
                    _format_time(e.cpu_time), str(e.count), e.device,
                    _format_time(e.compile_time_total) if e.compile_time_total > 0 else "-",
                    _format_time(e.cache_load_time_total) if e.cache_load_time_total > 0
                    else "-",
                    e.source]
            if shapes:
                line.append(str(e.input_shapes))
            body.append(line)
        widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(head)]
        rule = "  ".join("-" * w for w in widths)

        def fmt(cells: list[str]) -> str:
            # the name and the source read left-aligned, the numbers right-aligned
            return "  ".join(c.ljust(w) if i in (0, 7, 10, 11) else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        out = ([header] if header else []) + [rule, fmt(head), rule] + [fmt(r) for r in body]
        out += [rule, f"Self CPU time total: {_format_time(total_self)}"]
        if self.wall_time_total is not None:
            outside = max(self.wall_time_total - total_self, 0.0)
            share = 100.0 * outside / self.wall_time_total if self.wall_time_total > 0 else 0.0
            out.append(f"Wall time profiled: {_format_time(self.wall_time_total)} "
                       f"({_format_time(outside)}, {share:.1f}%, outside every row: Python "
                       "between ops, Function.apply's bookkeeping)")
        return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- the profile

class profile:
    """Record the ops and kernels run inside ``with profile() as prof:`` (or between
    ``prof.start()`` and ``prof.stop()``), on every thread.

    ``activities`` (``ProfilerActivity.CPU`` / ``.CUDA``) is accepted and checked; host
    times are recorded either way.  ``record_shapes=True`` keeps each kernel call's input
    shapes (``key_averages(group_by_input_shape=True)``).  Profiles do not nest: starting
    one while another records raises RuntimeError.  Differs from PyTorch: ``schedule``,
    ``on_trace_ready``, ``profile_memory``, ``with_stack``, ``with_flops`` and
    ``with_modules`` raise NotImplementedError.
    """

    def __init__(self, *, activities: Iterable[ProfilerActivity] | None = None,
                 schedule: Callable | None = None, on_trace_ready: Callable | None = None,
                 record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False) -> None:
        asked = {"schedule": schedule, "on_trace_ready": on_trace_ready,
                 "profile_memory": profile_memory, "with_stack": with_stack,
                 "with_flops": with_flops, "with_modules": with_modules}
        unsupported = [name for name, value in asked.items() if value]
        if unsupported:
            raise NotImplementedError(f"profile: {', '.join(unsupported)} is not supported by "
                                      "jitnet (host times of ops and kernels only)")
        acts = list(activities) if activities is not None else [ProfilerActivity.CPU]
        for a in acts:
            if not isinstance(a, ProfilerActivity):
                raise TypeError(f"profile: activities must be ProfilerActivity members, got "
                                f"{a!r}")
        self.activities = acts
        self.record_shapes = bool(record_shapes)
        self._events: list[_Event] = []
        self._recording = False
        self._start_ns: int | None = None
        self._stop_ns: int | None = None

    def start(self) -> None:
        """Begin recording (a profile records once: a second start raises)."""
        with _switch_lock:
            if _rec.profile is not None:
                raise RuntimeError("profile: another profile is already recording (profiles "
                                   "do not nest)")
            if self._start_ns is not None:
                raise RuntimeError("profile: this profile has already recorded; make a new one")
            self._recording = True
            _rec.profile = self
            _switch()
            self._start_ns = _perf_ns()

    def stop(self) -> None:
        """Stop recording; later calls of the kernels and ops run without the profiler."""
        end = _perf_ns()
        with _switch_lock:
            if _rec.profile is not self:
                raise RuntimeError("profile: stop() called on a profile that is not recording")
            self._stop_ns = end
            self._recording = False
            _rec.profile = None
            _switch()

    def __enter__(self) -> profile:
        self.start()
        return self

    def step(self) -> None:
        """PyTorch's end-of-iteration signal for a ``schedule``; with none (jitnet has no
        schedules) it does nothing, so loops written for torch.profiler run unchanged."""

    def __exit__(self, *exc) -> bool:
        self.stop()
        return False

    @property
    def wall_time_total(self) -> float:
        """Microseconds between ``start`` and ``stop`` (or now, while recording)."""
        if self._start_ns is None:
            return 0.0
        end = self._stop_ns if self._stop_ns is not None else _perf_ns()
        return (end - self._start_ns) / 1e3

    @property
    def self_cpu_time_total(self) -> float:
        """Microseconds inside any recorded op or kernel (the sum of the self times)."""
        return sum(ev.self_ns for ev in self._events) / 1e3

    def events(self) -> EventList:
        """Every recorded call as a ``FunctionEvent``, in order of start, with its
        ``cpu_parent`` and ``cpu_children`` (a call whose parent began before the profile
        did is top-level)."""
        raw = sorted(self._events, key=lambda e: e.start)
        origin = self._start_ns or 0
        made = {id(ev): FunctionEvent(ev, origin, i) for i, ev in enumerate(raw)}
        for ev in raw:
            parent = made.get(id(ev.parent)) if ev.parent is not None else None
            if parent is not None:
                child = made[id(ev)]
                child.cpu_parent = parent
                parent.cpu_children.append(child)
        return EventList(made.values(), self.wall_time_total)

    def key_averages(self, group_by_input_shape: bool = False) -> EventList:
        """One ``FunctionEventAvg`` per op or kernel name; ``.table(...)`` prints them."""
        return self.events().key_averages(group_by_input_shape)

    def export_chrome_trace(self, path: str | os.PathLike) -> None:
        """Write the events as a Chrome trace (``chrome://tracing``, Perfetto): one complete
        ("X") event per call, per thread."""
        pid = os.getpid()
        trace = [{"name": e.name, "cat": e.kind, "ph": "X", "ts": e.start_us,
                  "dur": e.cpu_time_total, "pid": pid, "tid": e.thread,
                  "args": {"device": e.device, "source": e.source,
                           "compile_us": e.compile_time_total,
                           "cache_load_us": e.cache_load_time_total}} for e in self.events()]
        Path(path).write_text(json.dumps({"traceEvents": trace, "displayTimeUnit": "ms"}))


class record_function:
    """A row of your own: ``with record_function("data loading"): ...`` (or as a
    decorator).  Ops and kernels run inside become its children.  Costs nothing when no
    profile records.  ``args`` (PyTorch's extra string) is accepted and not recorded."""

    def __init__(self, name: str, args: str | None = None) -> None:
        if not isinstance(name, str):
            raise TypeError(f"record_function: name must be a str, got {type(name).__name__}")
        self.name = name
        self._ev: _Event | None = None

    def __enter__(self) -> record_function:
        if _recorder is not None:
            self._ev = _open(self.name, "user", "cpu", "-")
        return self

    def __exit__(self, *exc) -> bool:
        if self._ev is not None:
            _close(self._ev)
            self._ev = None
        return False

    def __call__(self, fn: Callable) -> Callable:
        name = self.name

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(name):
                return fn(*args, **kwargs)

        return wrapper


if os.environ.get("JITNET_LOG"):
    _configure_log(os.environ["JITNET_LOG"])
