"""Every kernel this session launched also compiles for a real GPU.

The simulator runs kernels as Python, so a kernel that Numba cannot type for
the GPU would pass every simulator test.  The launch helper records each
launch's (kernel, argument types) (conftest.py switches it on); this test
adds a small training workload, then compiles every recorded signature to PTX
in a subprocess without the simulator (``ptx_compile.py``).  That needs
NVVM and NVRTC, which ``numba-cuda[cu12]`` (jitnet's ``cuda`` extra) installs, for
sm_90 and sm_75 (``ptx_compile.TARGETS``); without them the test skips, unless
``JITNET_REQUIRE_PTX=1`` (set by CI) makes the missing toolkit a failure.
conftest.py runs it last, so it checks the whole suite's launches.
"""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import jitnet as jn
import jitnet.nn.functional as F
from jitnet.device import simulator_enabled

pytestmark = pytest.mark.skipif(not simulator_enabled(),
                                reason="records come from a simulator run")

HERE = os.path.dirname(os.path.abspath(__file__))


def _workload():
    rng = np.random.default_rng(0)
    x = jn.tensor(rng.standard_normal((2, 1, 6, 6)).astype(np.float32), device="cuda")
    w = jn.tensor(rng.standard_normal((3, 1, 3, 3)).astype(np.float32), device="cuda",
                  requires_grad=True)
    y = F.max_pool2d(F.conv2d(x, w, padding=1).relu(), 2)
    loss = F.cross_entropy(y.flatten(1), jn.tensor([1, 2], device="cuda"))
    loss.backward()
    (x.sum(1) * 2 - x.mean()).max(1)


def test_every_launched_kernel_compiles_to_ptx(tmp_path):
    from jitnet.kernels.cuda import _launch

    recorded = _launch._recorded
    if recorded is None:
        recorded = _launch.record_signatures(True)
    _workload()
    records = {(k.py_func.__module__, k.py_func.__name__, sig) for k, sig in recorded}
    path = tmp_path / "sigs.pkl"
    with open(path, "wb") as f:
        pickle.dump(records, f)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    r = subprocess.run([sys.executable, os.path.join(HERE, "ptx_compile.py"), str(path)],
                       capture_output=True, text=True, env=env, timeout=900)
    required = os.environ.get("JITNET_REQUIRE_PTX") == "1"
    if r.returncode == 3:
        _skip_or_fail(required, r.stdout.strip())
    fails = [ln for ln in r.stdout.splitlines() if ln.startswith("FAIL")]
    if fails and all("DynamicLibNotFoundError" in ln for ln in fails):
        # NVVM is present but a CUDA runtime library (NVRTC) is not: a partial
        # toolkit, not a kernel bug
        _skip_or_fail(required, "CUDA toolkit incomplete here: " + fails[0][-120:])
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]


def _skip_or_fail(required: bool, why: str) -> None:
    if required:
        pytest.fail(f"JITNET_REQUIRE_PTX=1 but the PTX check cannot run: {why}")
    pytest.skip(why)
