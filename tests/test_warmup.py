"""Saying what happens while kernels compile: fit's progress bar and ``jitnet warmup``."""
from __future__ import annotations

import io
import time

import pytest

from jitnet import cli
from jitnet.kernels.compile_watch import NOTICE, watch
from jitnet.training import _Progress


def test_progress_bar_names_compiles_and_leaves_them_out_of_its_clock():
    tqdm = pytest.importorskip("tqdm").tqdm

    def quiet(*args, **kwargs):
        kwargs["file"] = io.StringIO()
        return tqdm(*args, **kwargs)

    bar = _Progress(quiet, [0, 1, 2], "Epoch 1/1")
    w = watch()
    start = bar.bar.start_t
    w._start()  # what Numba's "numba:compile" event does
    assert bar.bar.desc == f"Epoch 1/1, {NOTICE}"
    time.sleep(0.05)
    w._end()
    bar.batch_done(loss="1.0")
    assert bar.bar.desc == "Epoch 1/1" and bar.bar.n == 1
    assert bar.bar.start_t - start >= 0.05  # the compile is not in the rate (nor the ETA)
    bar.batch_done(loss=None)
    assert bar.bar.start_t - start < 0.1  # a batch without compiles shifts nothing
    bar.close({"loss": "1.0"})
    assert bar._compiling not in w.on_start


def test_watch_counts_real_compiles_only():
    import numba
    import numpy as np

    w = watch()
    before = w.count

    @numba.njit
    def f(x):
        return x + 1

    f(np.float32(1))
    assert w.count == before + 1 and not w.compiling
    f(np.float32(2))  # already compiled: no event
    assert w.count == before + 1


def _run(args, cache, code=None):
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "jitnet", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout


def test_warmup_compiles_in_workers_what_the_workload_then_loads(tmp_path):
    out = _run(["warmup", "--model", "mlp", "-j", "2", "--no-progress"], tmp_path)
    assert out.startswith("jitnet warmup: ") and "kernel signatures ready" in out, out
    n = int(out.split()[2])
    assert n >= 5  # linear, relu, loss, reduction and Adam kernels at least
    # a new process running the same workload compiles nothing: all of it is cached
    count = _run([], tmp_path, code=(
        "from jitnet.kernels.compile_watch import watch\n"
        "w = watch()\n"
        "from jitnet import warmup\n"
        "assert not warmup.needs_warmup('mlp')\n"
        "warmup.workload(['mlp'])\n"
        "print(w.count)\n"))
    assert count.split() == ["0"]


def test_discovery_records_the_signatures_of_python_calls_only():
    from jitnet import warmup

    entries = warmup.discover(["mlp"])
    keys = [k for k, _, _ in entries]
    assert len(keys) == len(set(zip(keys, [str(s) for _, _, s in entries])))
    assert "jitnet.kernels.cpu.elementwise:_map_relu" in keys
    relu = next(e for e in entries if e[0] == "jitnet.kernels.cpu.elementwise:_map_relu")
    assert relu[1] == ("jitnet.kernels.cpu.elementwise:op_kernels", 9)


def test_train_warms_up_only_a_cold_cache(monkeypatch):
    import argparse

    from jitnet import warmup

    calls, found = [], []
    monkeypatch.setattr(warmup, "warm", lambda models, entries, **kw: calls.append(
        (models, entries)))
    monkeypatch.setattr(warmup, "discover_in_background",
                        lambda models, **kw: found.append(models) or "future")
    args = argparse.Namespace(model="cnn", no_warmup=False, no_progress=True, batch_size=32)

    def train_start():  # what cmd_train does: discovery first, the warm-up after the header
        discovery = cli._start_discovery(args)
        if discovery is not None:
            cli._warm_first(args, discovery)

    monkeypatch.setattr(warmup, "needs_warmup", lambda m: True)
    train_start()
    args.no_warmup = True
    train_start()
    args.no_warmup = False
    monkeypatch.setattr(warmup, "needs_warmup", lambda m: False)
    train_start()
    assert found == [["cnn"]]
    assert calls == [(["cnn"], "future")]
