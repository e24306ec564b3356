"""Peak memory of training: how much 15 Adam steps of the small VGG (``models.vgg_cifar``,
batch 128 of 3x32x32) raise a fresh process's peak resident set size.

Each measurement is one new process per library: import, build the model, the
optimizer and the batch, note the peak RSS so far (``resource.getrusage``'s
``ru_maxrss``), run 15 steps, note it again; the growth is the difference, so
the interpreter, the libraries and the weights are left out and what remains
is what training holds at its peak (activations, saved tensors, gradients,
optimizer state, workspace such as im2col matrices, and whatever the allocator
keeps).  Numba's cache is warmed by one untimed run first, so no compiler
memory is counted.  Target: jitnet's growth <= 1.25x PyTorch's.  The value is
reported in MB through ``extra_info`` (``report.py`` shows it in place of a
time).

    python -m pytest bench/bench_memory.py --benchmark-only
    python bench/bench_memory.py            # both libraries, no pytest
    python bench/bench_memory.py jitnet     # one measurement (the child)
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
STEPS, BATCH = 15, 128
ROUNDS = 3


def _peak_mb() -> float:
    """This process's peak RSS in MB: VmHWM where Linux has it.  ``ru_maxrss`` survives
    ``exec`` on Linux: a child spawned by a large parent (pytest after the other benches)
    starts with the parent's peak, and the growth then reads 0."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _child(lib: str) -> None:
    """The measured process: prints JSON {"before_mb", "after_mb", "growth_mb"}."""
    import numpy as np
    from models import vgg_cifar

    if lib == "torch":
        import torch as mod
        import torch.nn
        import torch.optim  # noqa: F401

        mod.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", mod.get_num_threads())))
    else:
        import jitnet as mod
        import jitnet.nn
        import jitnet.optim  # noqa: F401
    rng = np.random.default_rng(0)
    mod.manual_seed(0)
    x = mod.tensor(rng.standard_normal((BATCH, 3, 32, 32)).astype(np.float32))
    y = mod.tensor(rng.integers(0, 10, BATCH))
    model = vgg_cifar(mod.nn)
    opt = mod.optim.Adam(model.parameters(), lr=1e-3)
    before = _peak_mb()
    for _ in range(STEPS):
        loss = mod.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        loss.item()
    after = _peak_mb()
    print(json.dumps({"before_mb": before, "after_mb": after, "growth_mb": after - before}),
          flush=True)


def measure(lib: str) -> dict:
    """Run the child for ``lib`` in a fresh process; its JSON result."""
    import numba

    import jitnet

    env = dict(os.environ)
    src = str(Path(jitnet.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([src] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("OMP_NUM_THREADS", str(numba.config.NUMBA_NUM_THREADS))
    done = subprocess.run([sys.executable, str(Path(__file__)), lib], cwd=HERE, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"memory child ({lib}) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _params():
    from conftest import NN

    return NN


@pytest.mark.parametrize("lib", _params())
def test_peak_rss_growth(benchmark, lib):
    """Peak-RSS growth over 15 VGG steps at batch 128, fresh process (median of rounds)."""
    benchmark.group = (f"peak RSS growth, {STEPS} Adam steps of the small VGG at batch "
                       f"{BATCH} (fresh process)")
    measure(lib)  # warms the Numba cache
    growths = []
    benchmark.pedantic(lambda: growths.append(measure(lib)["growth_mb"]), rounds=ROUNDS,
                       iterations=1)
    benchmark.extra_info.update(value=sorted(growths)[len(growths) // 2], unit="MB",
                                growths_mb=sorted(growths), target_torch=1.25)


def main() -> int:
    results = {}
    for lib in ("jitnet", "torch"):
        measure(lib)  # warm
    for lib in ("jitnet", "torch"):
        runs = [measure(lib) for _ in range(ROUNDS)]
        growths = sorted(r["growth_mb"] for r in runs)
        results[lib] = growths[len(growths) // 2]
        print(f"{lib:<7} peak RSS growth {results[lib]:7.1f} MB  (rounds: "
              f"{', '.join(f'{g:.0f}' for g in growths)}; peak before the steps "
              f"{runs[0]['before_mb']:.0f} MB)", flush=True)
    print(f"jitnet / torch {results['jitnet'] / results['torch']:.2f} (target <= 1.25)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        _child(sys.argv[1])
    else:
        sys.exit(main())
