"""Alternating A/B timings of the convolution and GEMM workloads of issue 18, against PyTorch
CPU (and NumPy for the GEMMs), in one process; and the peak-RSS growth of a VGG-style model.

A script, not a pytest suite (a loaded machine makes pytest-benchmark's back-to-back
rounds unfair: whoever runs while another job is busy loses).  Each round times a
few calls of the jitnet case, then a few of the reference, alternating, and the
report gives each side's median per call and the ratio of the medians.

    python bench/ab_conv.py                       # every timing case, 15 rounds
    python bench/ab_conv.py conv3x3 vgg32 -r 25   # some cases
    python bench/ab_conv.py --rss                 # peak RSS growth, a fresh process per library

Cases: conv3x3, conv3x3_fwd, conv1x1, lenet16/64/256, vgg32, vgg128, mm1024, bmm_ta, and
issue 13's convT, lstm, gru, transformer (bench_conv_transpose.py, bench_seq.py).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SETTLE_S = 0.05
"""Pause between the two sides of a round: the other library's pool stops spinning."""


def vgg_small(nn):
    """The small VGG of issue 18 for 3x32x32 input: 3x3 convs 3->32->32, pool, 32->64->64,
    pool, fc 4096->128->10."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4096, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _train_step(lib, builder, batch, shape):
    """A closure running one Adam step of ``builder``'s model in ``lib`` (same weights)."""
    import torch

    import jitnet as jn
    import jitnet.nn  # noqa: F401
    import jitnet.optim  # noqa: F401

    x_np = _rand(batch, *shape, seed=1)
    y_np = np.random.default_rng(2).integers(0, 10, batch).astype(np.int64)
    torch.manual_seed(0)
    ref = builder(torch.nn)
    if lib == "torch":
        model, opt = ref, torch.optim.Adam(ref.parameters(), lr=1e-3)
        ce, x, y = torch.nn.functional.cross_entropy, torch.tensor(x_np), torch.tensor(y_np)
    else:
        model = builder(jn.nn)
        model.load_state_dict({k: jn.tensor(v.detach().numpy())
                               for k, v in ref.state_dict().items()})
        opt = jn.optim.Adam(model.parameters(), lr=1e-3)
        ce, x, y = jn.nn.functional.cross_entropy, jn.tensor(x_np), jn.tensor(y_np)

    def step():
        loss = ce(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()

    return step


def _conv(lib, xs, ws, pad, backward=True):
    import torch

    import jitnet as jn
    import jitnet.nn.functional as F

    mod = jn if lib == "jitnet" else torch
    fn = F.conv2d if lib == "jitnet" else torch.nn.functional.conv2d
    x = mod.tensor(_rand(*xs, seed=1), requires_grad=backward)
    w = mod.tensor(_rand(*ws, seed=2) * 0.1, requires_grad=backward)
    b = mod.tensor(_rand(ws[0], seed=3), requires_grad=backward)
    oh = xs[2] + 2 * pad - ws[2] + 1
    g = mod.tensor(_rand(xs[0], ws[0], oh, oh, seed=4))
    if not backward:
        guard = jn.no_grad if lib == "jitnet" else torch.no_grad

        def fwd():
            with guard():
                fn(x, w, b, padding=pad)
        return fwd

    def step():
        x.grad = w.grad = b.grad = None
        fn(x, w, b, padding=pad).backward(g)

    return step


def _mm(lib, shape_a, shape_b, trans_a=False):
    """a @ b (or a^T @ b for 3-D a with trans_a: the transposed view, as a Linear grad)."""
    import torch

    import jitnet as jn

    a, b = _rand(*shape_a, seed=1), _rand(*shape_b, seed=2)
    if lib == "numpy":
        at = a.transpose(0, 2, 1) if trans_a else a
        return lambda: np.matmul(at, b)
    mod = jn if lib == "jitnet" else torch
    ta, tb = mod.tensor(a), mod.tensor(b)
    if trans_a:
        ta = ta.transpose(1, 2)
    return lambda: ta @ tb


def _conv_transpose(lib, backward=True):
    """bench_conv_transpose.py's case: (64, 32, 8, 8) -> (64, 16, 16, 16), forward+backward
    (or the forward alone, without grad)."""
    import torch

    import jitnet as jn
    import jitnet.nn.functional as F

    mod = jn if lib == "jitnet" else torch
    fn = F.conv_transpose2d if lib == "jitnet" else torch.nn.functional.conv_transpose2d
    x = mod.tensor(_rand(64, 32, 8, 8, seed=1), requires_grad=True)
    w = mod.tensor(_rand(32, 16, 3, 3, seed=2) * 0.1, requires_grad=True)
    b = mod.tensor(_rand(16, seed=3), requires_grad=True)
    g = mod.tensor(_rand(64, 16, 16, 16, seed=4))
    if not backward:
        guard = jn.no_grad if lib == "jitnet" else torch.no_grad

        def fwd():
            with guard():
                fn(x, w, b, stride=2, padding=1, output_padding=1)
        return fwd

    def step():
        x.grad = w.grad = b.grad = None
        fn(x, w, b, stride=2, padding=1, output_padding=1).backward(g)

    return step


def _cases():
    from models import lenet5

    conv = {"conv3x3": ((64, 32, 16, 16), (64, 32, 3, 3), 1),
            "conv1x1": ((64, 64, 16, 16), (64, 64, 1, 1), 0)}
    cases = {}
    for name, (xs, ws, pad) in conv.items():
        cases[name] = (f"conv2d fwd+bwd {xs} w{ws} pad {pad}",
                       lambda lib, a=(xs, ws, pad): _conv(lib, *a), ("torch",))
    xs, ws, pad = conv["conv3x3"]
    cases["conv3x3_fwd"] = (f"conv2d fwd (no grad) {xs} w{ws} pad {pad}",
                            lambda lib: _conv(lib, xs, ws, pad, backward=False), ("torch",))
    for batch in (16, 64, 256):
        cases[f"lenet{batch}"] = (f"LeNet-5 Adam step, batch {batch}",
                                  lambda lib, n=batch: _train_step(lib, lenet5, n, (1, 28, 28)),
                                  ("torch",))
    for batch in (32, 128):
        cases[f"vgg{batch}"] = (f"small VGG Adam step, batch {batch}, 3x32x32",
                                lambda lib, n=batch: _train_step(lib, vgg_small, n, (3, 32, 32)),
                                ("torch",))
    cases["mm1024"] = ("matmul 1024 float32", lambda lib: _mm(lib, (1024, 1024), (1024, 1024)),
                       ("numpy", "torch"))
    cases["bmm_ta"] = ("bmm (1,32,144)^T @ (1,32,4096) (a transposed view)",
                       lambda lib: _mm(lib, (1, 32, 144), (1, 32, 4096), trans_a=True),
                       ("numpy", "torch"))
    cases["convT"] = ("conv_transpose2d fwd+bwd (64,32,8,8) -> (64,16,16,16) s2",
                      _conv_transpose, ("torch",))
    cases["convT_fwd"] = ("conv_transpose2d fwd (no grad), the same shapes",
                          lambda lib: _conv_transpose(lib, backward=False), ("torch",))
    import bench_seq  # its cases, step for step (imports conftest: pytest must be installed)

    for name, title in (("lstm", "LSTM(64, 128) fwd+bwd, seq 32 batch 64"),
                        ("gru", "GRU(64, 128) fwd+bwd, seq 32 batch 64"),
                        ("transformer", "TransformerEncoderLayer(128, 4, 512) fwd+bwd, batch 32 "
                                        "seq 64")):
        cases[name] = (title, lambda lib, c=bench_seq.CASES[name]: bench_seq.sequence_step(lib, *c),
                       ("torch",))
    return cases


def _time(fn, calls):
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls


def ab(name, rounds):
    """Alternating rounds of jitnet and each reference; prints medians and ratios."""
    import numba
    import torch
    torch.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    title, make, refs = _cases()[name]
    libs = ("jitnet",) + refs
    fns = {lib: make(lib) for lib in libs}
    per_call = {}
    for lib, fn in fns.items():  # warm-up: compile / cache load, allocator
        fn()
        per_call[lib] = _time(fn, 1)
    calls = max(1, int(0.05 / max(per_call["jitnet"], 1e-6)))  # ~50 ms per block
    times = {lib: [] for lib in libs}
    for r in range(rounds):
        order = libs if r % 2 == 0 else libs[::-1]
        for lib in order:
            time.sleep(SETTLE_S)
            times[lib].append(_time(fns[lib], calls))
    med = {lib: statistics.median(v) for lib, v in times.items()}
    parts = [f"{lib} {med[lib] * 1e3:.3f} ms" for lib in libs]
    ratios = [f"jitnet/{lib} {med['jitnet'] / med[lib]:.2f}" for lib in refs]
    print(f"{name:12s} {title}\n    " + ", ".join(parts) + " | " + ", ".join(ratios), flush=True)
    return med


RSS_STEPS = 15


def _rss_child(lib: str, batch: int) -> None:
    """Runs in a fresh process: peak RSS growth over RSS_STEPS VGG steps, as JSON on stdout."""
    step = _train_step(lib, vgg_small, batch, (3, 32, 32))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(RSS_STEPS):
        step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"lib": lib, "growth_mb": (peak - base) / 1024}))


def rss(batch: int = 128) -> None:
    """Peak RSS growth per library, each in a fresh process (the model and batch are built
    before the baseline, so the growth is the training steps' own memory)."""
    out = {}
    for lib in ("jitnet", "torch"):
        res = subprocess.run([sys.executable, __file__, "--rss-child", lib, str(batch)],
                             capture_output=True, text=True, check=True)
        out[lib] = json.loads(res.stdout.strip().splitlines()[-1])["growth_mb"]
    print(f"peak RSS growth, {RSS_STEPS} small-VGG Adam steps at batch {batch}: "
          f"jitnet {out['jitnet']:.0f} MB, torch {out['torch']:.0f} MB, "
          f"ratio {out['jitnet'] / max(out['torch'], 1e-9):.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cases", nargs="*", help="case names (default: all timing cases)")
    p.add_argument("-r", "--rounds", type=int, default=15)
    p.add_argument("--rss", action="store_true", help="measure the peak RSS growth instead")
    p.add_argument("--rss-child", nargs=2, metavar=("LIB", "BATCH"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.rss_child:
        _rss_child(args.rss_child[0], int(args.rss_child[1]))
        return
    if args.rss:
        rss()
        return
    for name in args.cases or list(_cases()):
        ab(name, args.rounds)


if __name__ == "__main__":
    main()
