"""jitnet.profiler: the rows a training step records, how their times add up, compile time,
nesting and backward attribution, threads, and the JITNET_LOG=kernels format."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numba
import numpy as np
import pytest

import jitnet as jn
from jitnet import autograd, kernels
from jitnet import nn as jnn
from jitnet.device import CPU
from jitnet.kernels import cpu as cpu_table
from jitnet.profiler import profile, record_function

SRC = Path(jn.__file__).resolve().parent.parent


def _small_cnn_step(batch: int = 8):
    """A conv net training step (conv, relu, max-pool, linear, cross-entropy, Adam)."""
    jn.manual_seed(0)
    model = jnn.Sequential(jnn.Conv2d(1, 4, 3, padding=1), jnn.ReLU(), jnn.MaxPool2d(2),
                           jnn.Flatten(), jnn.Linear(4 * 4 * 4, 10))
    opt = jn.optim.Adam(model.parameters(), lr=1e-3)
    x = jn.randn(batch, 1, 8, 8)
    y = jn.tensor(np.arange(batch) % 10)

    def step():
        loss = jnn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    step()  # compile or load every kernel before anything is profiled
    return step


def _starts_def(source: str, name: str) -> bool:
    """True when ``file:line`` is the start (decorators included) of ``def name``."""
    path, line = source.rsplit(":", 1)
    lines = (SRC / path).read_text().splitlines()[int(line) - 1:int(line) + 3]
    return any(re.match(rf"\s*def {re.escape(name)}\(", text) for text in lines)


def test_a_conv_step_records_its_ops_and_kernels():
    step = _small_cnn_step()
    with profile() as prof:
        for _ in range(2):
            step()
    rows = {r.key: r for r in prof.key_averages()}
    for op in ("Conv2d", "Conv2dBackward", "Relu", "ReluBackward", "MaxPool2d",
               "MaxPool2dBackward", "Linear", "LinearBackward", "ClassLoss",
               "ClassLossBackward"):
        assert rows[op].count == 2 and rows[op].kind == "op" and rows[op].device == "cpu", op
    assert _starts_def(rows["Conv2d"].source, "forward")
    assert rows["Conv2d"].source.startswith("jitnet/ops/conv.py:")
    assert _starts_def(rows["Conv2dBackward"].source, "backward")
    assert rows["cpu::optim.adam_step"].count == 2 * 4  # four parameters, two steps
    kernel_rows = [r for r in rows.values() if r.kind == "kernel"]
    assert len(kernel_rows) >= 5
    for r in kernel_rows:
        m = re.fullmatch(r"cpu::(\w+)\.(\w+)", r.key)
        assert m, r.key
        assert r.device == "cpu"
        assert r.source.startswith(f"jitnet/kernels/cpu/{m.group(1)}.py:"), (r.key, r.source)
        assert _starts_def(r.source, m.group(2)), (r.key, r.source)
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=5)
    for column in ("Name", "Self CPU %", "Self CPU", "CPU total", "# of Calls", "Device",
                   "Compile", "Cache load", "Source", "Self CPU time total:",
                   "Wall time profiled:"):
        assert column in table
    body = [line for line in table.splitlines()[3:] if line and not line.startswith("-")]
    assert len(body) == 5 + 2  # five rows, then the two footer lines


def test_self_times_sum_to_the_top_level_totals_and_fit_in_the_wall_time():
    step = _small_cnn_step(batch=32)
    t0 = time.perf_counter()
    with profile() as prof:
        for _ in range(3):
            step()
    outside = (time.perf_counter() - t0) * 1e6
    events = prof.events()
    top = [e for e in events if e.cpu_parent is None]
    for e in events:
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total + 1e-6
        kids = sum(c.cpu_time_total for c in e.cpu_children)
        assert e.self_cpu_time_total == pytest.approx(e.cpu_time_total - kids, abs=1e-3)
    top_total = sum(e.cpu_time_total for e in top)
    assert events.self_cpu_time_total == pytest.approx(top_total, rel=1e-9)
    assert prof.self_cpu_time_total == pytest.approx(top_total, rel=1e-9)
    # the rows cover most of the profiled time (the rest is Python between the ops), and
    # the profile's own clock sits inside the one around it
    assert 0.3 * prof.wall_time_total <= top_total <= prof.wall_time_total
    assert prof.wall_time_total <= outside
    averages = prof.key_averages()
    assert sum(r.self_cpu_time_total for r in averages) == pytest.approx(top_total, rel=1e-9)
    assert sum(r.count for r in averages) == len(events)


def test_kernels_nest_in_their_op_forward_and_backward():
    x = jn.randn(2, 3, 6, 6, requires_grad=True)
    w = jn.randn(4, 3, 3, 3, requires_grad=True)
    jnn.functional.conv2d(x, w).sum().backward()  # warm
    with profile() as prof:
        with record_function("forward pass"):
            loss = jnn.functional.conv2d(x, w).sum()
        loss.backward()
    events = prof.events()
    user = [e for e in events if e.name == "forward pass"]
    assert len(user) == 1 and user[0].kind == "user" and user[0].cpu_parent is None
    assert {c.name for c in user[0].cpu_children} == {"Conv2d", "Sum"}
    conv = next(e for e in events if e.name == "Conv2d")
    back = next(e for e in events if e.name == "Conv2dBackward")
    assert conv.cpu_parent is user[0] and back.cpu_parent is None
    for op in (conv, back):
        assert op.cpu_children and all(c.kind == "kernel" and c.cpu_parent is op
                                       for c in op.cpu_children)
        assert op.self_cpu_time_total < op.cpu_time_total
    # a graph recorded before the profile began: its backward's kernels still show
    loss = jnn.functional.conv2d(x, w).sum()
    with profile() as prof:
        loss.backward()
    back = next(e for e in prof.events() if e.name == "Conv2dBackward")
    assert back.cpu_children and all(c.name.startswith("cpu::") for c in back.cpu_children)
    assert all(e.name != "Conv2d" for e in prof.events())


@numba.njit(cache=False)  # not cached: it compiles afresh in every process
def _fresh_kernel(a):
    return a * 2.0 + 1.0


def test_compile_time_of_a_first_call_is_reported(monkeypatch):
    monkeypatch.setattr(cpu_table, "fresh_test_kernel", _fresh_kernel, raising=False)
    a = np.arange(4, dtype=np.float64)
    with profile() as prof:
        first = kernels.table(CPU).fresh_test_kernel(a)
        kernels.table(CPU).fresh_test_kernel(a)
        kernels.table(CPU).fresh_test_kernel(a.astype(np.float32))  # a new signature
    np.testing.assert_array_equal(first, a * 2 + 1)
    calls = [e for e in prof.events() if e.name == "cpu::test_profiler.fresh_test_kernel"]
    assert len(calls) == 3
    assert 0 < calls[0].compile_time_total <= calls[0].cpu_time_total
    assert calls[1].compile_time_total == 0
    assert 0 < calls[2].compile_time_total <= calls[2].cpu_time_total
    row = next(r for r in prof.key_averages() if r.key == calls[0].key)
    assert row.compile_time_total == pytest.approx(calls[0].compile_time_total
                                                   + calls[2].compile_time_total)
    line = _fresh_kernel.py_func.__code__.co_firstlineno
    assert row.source == f"{_fresh_kernel.py_func.__code__.co_filename}:{line}"


_CACHED_KERNEL = """
import numba
@numba.njit(cache=True)
def tiny(a):
    return a + 1.0
"""

_LOAD_IT = """
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
import jitnet as jn
from jitnet import kernels
from jitnet.device import CPU
import tiny_cached
kernels.cpu.tiny_cached = tiny_cached.tiny
with jn.profiler.profile() as prof:
    kernels.table(CPU).tiny_cached(np.ones(3))
(e,) = [e for e in prof.events() if e.name.endswith("tiny_cached")]
print(e.compile_time_total, e.cache_load_time_total, e.cpu_time_total)
"""


def test_a_load_from_numbas_disk_cache_is_reported_apart_from_compiling(tmp_path):
    (tmp_path / "tiny_cached.py").write_text(_CACHED_KERNEL)
    env = dict(os.environ, PYTHONPATH=str(SRC), NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, "-c", _LOAD_IT, str(tmp_path)], env=env,
                           capture_output=True, text=True, timeout=300, check=True)
            for _ in range(2)]
    compiled, _, took = map(float, runs[0].stdout.split())
    assert 0 < compiled <= took  # the first process compiles (and writes the cache)
    compiled, loaded, took = map(float, runs[1].stdout.split())
    assert compiled == 0 and 0 < loaded <= took  # the second one loads it


def test_the_hooks_are_off_outside_a_profile_even_after_an_error():
    assert kernels.table(CPU) is cpu_table and autograd._profiler is None
    with pytest.raises(ZeroDivisionError):
        with profile():
            assert kernels.table(CPU) is not cpu_table
            assert autograd._profiler is not None
            raise ZeroDivisionError("inside the profile")
    assert kernels.table(CPU) is cpu_table and autograd._profiler is None
    with profile():
        with pytest.raises(RuntimeError, match="already recording"):
            profile().start()
    p = profile()
    with p:
        pass
    with pytest.raises(RuntimeError, match="already recorded"):
        p.start()
    with pytest.raises(RuntimeError, match="not recording"):
        p.stop()


def test_bad_arguments_raise():
    with pytest.raises(NotImplementedError, match="profile_memory"):
        profile(profile_memory=True)
    with pytest.raises(TypeError, match="ProfilerActivity"):
        profile(activities=["cpu"])
    profile(activities=[jn.profiler.ProfilerActivity.CPU, jn.profiler.ProfilerActivity.CUDA])
    with profile() as prof:
        jn.ones(2) + 1
    with pytest.raises(ValueError, match="sort_by"):
        prof.key_averages().table(sort_by="cuda_time")
    with pytest.raises(TypeError, match="name"):
        record_function(3)


def test_sort_keys_order_the_table_and_shapes_group_rows():
    a, b = jn.ones(3), jn.ones(2, 2)
    with profile(record_shapes=True) as prof:
        for _ in range(3):
            a + a
        b * b
    avg = prof.key_averages()
    rows = avg.table(sort_by="count").splitlines()[3:]
    counts = [int(line.split()[6]) for line in rows
              if line and not line.startswith(("-", "Self CPU time", "Wall time"))]
    assert counts == sorted(counts, reverse=True)
    by_shape = {(r.key, str(r.input_shapes)): r.count
                for r in prof.key_averages(group_by_input_shape=True)}
    binary = {k: v for k, v in by_shape.items() if k[0] == "cpu::elementwise.binary"}
    assert len(binary) == 2 and sorted(binary.values()) == [1, 3]


def test_chrome_trace(tmp_path):
    with profile() as prof:
        jn.ones(2) * 3
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(path)
    trace = json.loads(path.read_text())["traceEvents"]
    assert {e["name"] for e in trace} >= {"Mul", "cpu::elementwise.binary"}
    assert all(e["ph"] == "X" and e["dur"] >= 0 for e in trace)


def test_profiling_while_another_thread_runs_ops():
    stop, errors = threading.Event(), []

    def work():
        try:
            x = jn.randn(4, 4, requires_grad=True)
            while not stop.is_set():
                (x @ x).relu().sum().backward()
        except BaseException as exc:  # noqa: BLE001  (reported by the main thread)
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    try:
        threads = set()
        for _ in range(3):
            with profile() as prof:
                y = jn.ones(8, requires_grad=True)
                (y * 2).sum().backward()
                time.sleep(0.01)
            threads |= {e.thread for e in prof.events()}
            prof.key_averages().table()
    finally:
        stop.set()
        worker.join()
    assert not errors, errors
    assert threading.get_ident() in threads
    assert kernels.table(CPU) is cpu_table


def test_jitnet_log_kernels_prints_each_kernel_call():
    code = ("import jitnet as jn\n"
            "x = jn.ones(2, 3, requires_grad=True)\n"
            "(x * 2).sum().backward()\n")
    env = dict(os.environ, JITNET_LOG="kernels", PYTHONPATH=str(SRC))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=300, check=True)
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("jitnet:")]
    pattern = re.compile(r"jitnet: +(\d+) (cpu::\w+\.\w+) +(\S+) +(.*) -> (.*?)  "
                         r"(\d+\.\d{3})(us|ms|s)"
                         r"(  \((compiling|loading from Numba's cache) \d+\.\d{3}(us|ms|s)\))?")
    parsed = [pattern.fullmatch(ln) for ln in lines]
    assert lines and all(parsed), lines
    assert [int(m.group(1)) for m in parsed] == list(range(1, len(lines) + 1))
    mul = [m for m in parsed if m.group(3) == "Mul"]
    assert mul and mul[0].group(2) == "cpu::elementwise.binary"
    assert "float32[2,3]" in mul[0].group(4) and mul[0].group(5) == "float32[2,3]"
    assert any(m.group(3) == "MulBackward" for m in parsed)
    quiet = subprocess.run([sys.executable, "-c", code],
                           env={k: v for k, v in env.items() if k != "JITNET_LOG"},
                           capture_output=True, text=True, timeout=300, check=True)
    assert "jitnet:" not in quiet.stderr
