"""Where one Adam training step of a bench model spends its time: ``jitnet.profiler``'s table.

    python bench/profile_step.py lenet5                 # batch 64, 10 profiled steps
    python bench/profile_step.py vgg_cifar --batch 128 --steps 5 --rows 25
    python bench/profile_step.py lenet5 --sort cpu_time_total --trace /tmp/lenet.json

The models and default batch sizes are those of ``models.py`` (the ones
``bench_train.py`` times).  One untimed step first compiles or loads the kernels;
``--cold`` profiles that first step instead (Numba's compile and cache-load
columns then show what a fresh process pays).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
from models import MODELS

import jitnet as jn
import jitnet.nn  # noqa: F401
import jitnet.optim  # noqa: F401
from jitnet.profiler import SORT_KEYS, profile, record_function


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(MODELS))
    parser.add_argument("--batch", type=int, default=None, help="default: the model's own")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--sort", choices=SORT_KEYS, default="self_cpu_time_total")
    parser.add_argument("--cold", action="store_true", help="profile the first step")
    parser.add_argument("--trace", help="also write a Chrome trace here")
    args = parser.parse_args(argv)
    builder, batch, shape = MODELS[args.model]
    batch = args.batch or batch
    rng = np.random.default_rng(0)
    jn.manual_seed(0)
    model = builder(jn.nn)
    opt = jn.optim.Adam(model.parameters(), lr=1e-3)
    x = jn.tensor(rng.standard_normal((batch, *shape)).astype(np.float32))
    y = jn.tensor(rng.integers(0, 10, batch))

    def step():
        with record_function("forward"):
            loss = jn.nn.functional.cross_entropy(model(x), y)
        with record_function("backward"):
            loss.backward()
        with record_function("optimizer"):
            opt.step()
            opt.zero_grad()
        return loss.item()

    if not args.cold:
        step()
    steps = 1 if args.cold else args.steps
    with profile() as prof:
        for _ in range(steps):
            step()
    print(f"{args.model}, batch {batch}: {steps} Adam step(s), "
          f"{prof.wall_time_total / steps / 1e3:.2f} ms a step (wall)")
    print(prof.key_averages().table(sort_by=args.sort, row_limit=args.rows))
    if args.trace:
        prof.export_chrome_trace(args.trace)
    return 0


if __name__ == "__main__":
    sys.exit(main())
