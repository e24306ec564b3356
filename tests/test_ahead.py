"""Compile ahead (kernels/ahead.py): the helper process, its locks and its manifest."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import types

import pytest

from jitnet import warmup
from jitnet.kernels import ahead

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only (flock, fork)")

# one LeNet step from an empty cache; prints what the main process compiled and loaded
_STEP = """
import json, sys
import numpy as np
from jitnet import warmup
from jitnet.kernels import _jit, ahead
model = warmup._train_step("lenet", 16, np.random.default_rng(0))
w = next(model.parameters()).detach().numpy()
hits = sum(sum(d._cache_hits.values()) for d in _jit.KERNELS.values())
misses = sum(sum(d._cache_misses.values()) for d in _jit.KERNELS.values())
print(json.dumps({"w": w.ravel()[:20].tolist(), "hits": hits, "misses": misses,
                  "helper": ahead._state["proc"] is not None, "status": ahead.status()}))
"""


def _run_step(cache_dir, **env) -> dict:
    out = subprocess.run([sys.executable, "-c", _STEP], capture_output=True, text=True,
                         env=dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), **env),
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the helper needs a second CPU")
def test_helper_compiles_the_step_ahead_and_changes_no_number(tmp_path):
    """From an empty cache the first compile starts the helper, the main process then loads
    kernels it never compiled (the helper's), and the step's numbers are the same as
    without a helper."""
    alone = _run_step(tmp_path / "alone", JITNET_COMPILE_AHEAD="0")
    assert not alone["helper"] and alone["hits"] == 0 and alone["status"].startswith("off")
    helped = _run_step(tmp_path / "helped", JITNET_COMPILE_AHEAD="1")
    assert helped["helper"]
    assert helped["hits"] >= 1, helped  # loaded from the cache the helper filled
    assert helped["misses"] < alone["misses"]
    assert helped["w"] == alone["w"]
    warm = _run_step(tmp_path / "helped", JITNET_COMPILE_AHEAD="1")
    assert not warm["helper"] and warm["misses"] == 0  # a warm cache starts nothing


def _fake_dispatcher(folder):
    return types.SimpleNamespace(_cache=types.SimpleNamespace(_cache_path=str(folder)))


def test_claim_waits_for_the_other_process_and_skips_when_told(tmp_path):
    disp = _fake_dispatcher(tmp_path)
    path = ahead._lock_path(disp, "k(sig)")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(1.0)",
         str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with ahead.claim(disp, "k(sig)", wait=False) as held:
            assert not held  # the helper's top level: skip what the other one compiles
        t0 = time.monotonic()
        with ahead.claim(disp, "k(sig)", wait=True) as held:
            assert held
        assert time.monotonic() - t0 > 0.5  # waited for the holder to let go (after 1 s)
    finally:
        holder.wait()
    with ahead.claim(disp, "other(sig)", wait=False) as held:
        assert held


def test_manifest_is_current():
    """The shipped manifest lists what the CLI models' step and evaluation compile today:
    after changing a kernel's signature, run ``python -m jitnet.warmup --write-manifest``."""
    shipped = ahead.load_manifest()
    assert shipped, "kernels/manifest.pkl is missing or made for another Numba/Python"
    now = warmup.manifest()["groups"]

    def names(groups):
        return [(m, [ahead.ident(k, s) for k, _, s in step], [ahead.ident(k, s) for k, _, s in ev])
                for m, step, ev in groups]

    assert names(now) == names(shipped)
