"""int8 inference: a 784-1024-1024-10 MLP at batch 256 with no graph, float32 vs int8.

``jitnet`` int8 is ``jitnet.quantization.quantize_dynamic`` (int8 weights per
output channel, activations quantized per row at run time, the int8 x int8 ->
int32 kernel of ``kernels/cpu/quant.py``); ``torch`` int8 is PyTorch's own
``torch.ao.quantization.quantize_dynamic`` (fbgemm).  Both start from the same
float weights.  Two groups (float32, int8), each with both libraries; the
ratio that matters for jitnet, int8 / float32, is printed by the script form:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE pytest bench/bench_quant.py --benchmark-only
    python bench/bench_quant.py            # medians and the four ratios, no pytest

The script times the four models in turn, round after round, so a change in load
hits all of them alike.
"""
from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from conftest import NN, rand, run, torch

import jitnet as jn

BATCH, SIZES = 256, (784, 1024, 1024, 10)


def build(lib: str, precision: str):
    """(model, input) of ``lib`` ("jitnet" or "torch"), float32 or int8, same weights."""
    mod = jn if lib == "jitnet" else torch
    nn = mod.nn
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers).eval()
    with mod.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(mod.tensor(rand(*tuple(p.shape), seed=i) * 0.03))
    if precision == "int8":
        if lib == "jitnet":
            model = jn.quantization.quantize_dynamic(model, {jn.nn.Linear}, dtype=jn.qint8)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear},
                                                               dtype=torch.qint8)
    return model, mod.tensor(rand(BATCH, SIZES[0], seed=99))


def infer(lib: str, model, x):
    with (jn if lib == "jitnet" else torch).no_grad():
        return model(x)


@pytest.mark.parametrize("precision", ["float32", "int8"])
@pytest.mark.parametrize("lib", NN)
def test_mlp_inference(benchmark, lib, precision):
    """One no-grad forward of the 784-1024-1024-10 MLP at batch 256."""
    model, x = build(lib, precision)
    benchmark.group = f"mlp 784-1024-1024-10 inference batch {BATCH} ({precision})"
    out = run(benchmark, infer, lib, model, x)
    assert tuple(out.shape) == (BATCH, SIZES[-1])


def _alternating_medians(fns: dict, rounds: int = 30) -> dict:
    """Median seconds of each callable, timed in turn (A, B, C, A, B, C, ...) so that a
    change in the machine's load hits every one alike; one untimed warm-up call each."""
    for fn in fns.values():
        fn()
    times = {key: [] for key in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - t)
    return {key: float(np.median(v)) for key, v in times.items()}


def main() -> None:
    libs = ["jitnet"] + (["torch"] if torch is not None else [])
    fns = {}
    for lib in libs:
        for precision in ("float32", "int8"):
            model, x = build(lib, precision)
            fns[lib, precision] = lambda lib=lib, model=model, x=x: infer(lib, model, x)
    t = _alternating_medians(fns)
    for (lib, precision), sec in t.items():
        print(f"{lib:>6} {precision:>7}: {sec * 1e3:8.2f} ms")
    print(f"jitnet int8 / jitnet float32: {t['jitnet', 'int8'] / t['jitnet', 'float32']:.2f}")
    if torch is not None:
        print(f"torch  int8 / torch  float32: {t['torch', 'int8'] / t['torch', 'float32']:.2f}")
        print(f"jitnet int8 / torch int8:     {t['jitnet', 'int8'] / t['torch', 'int8']:.2f}")
        print(f"jitnet f32  / torch f32:      {t['jitnet', 'float32'] / t['torch', 'float32']:.2f}")


if __name__ == "__main__":
    main()
