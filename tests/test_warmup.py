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


def test_warmup_command_reports_compiles(capsys):
    assert cli.main(["warmup", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("jitnet warmup: compiled ") and "kernel signatures in" in out \
        or out.startswith("jitnet warmup: nothing to compile: every kernel was already in")
