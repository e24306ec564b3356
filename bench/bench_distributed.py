"""Data-parallel throughput: images/s of DistributedDataParallel training on 1 and 2 ranks.

    python bench/bench_distributed.py [--ranks 1 2] [--model lenet] [--batch 128] [--steps 20]

starts ``mpiexec -n R`` for each R (a script, not a pytest-benchmark suite: the timed code
runs in other processes).  Every rank trains the same model (Adam, cross-entropy) on its
share of a fixed global batch of random 1x28x28 images (``--model lenet``/``mlp``/``cnn``
from ``jitnet train``), so the work per step is the same for every R and images/s compares
directly.  Each rank gets ``NUMBA_NUM_THREADS = cores // R`` threads unless the variable is
set.  The first steps (JIT compile, cache load) are not timed.  Results print as a table and
go to ``--json`` (default bench/results/distributed.json).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def worker(args: argparse.Namespace) -> None:
    import numpy as np

    import jitnet as jn
    import jitnet.distributed as dist
    from jitnet.cli import build_model

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch % world:
        raise SystemExit(f"--batch {args.batch} is not a multiple of {world} ranks")
    local = args.batch // world
    jn.manual_seed(0)
    model = jn.nn.parallel.DistributedDataParallel(build_model(args.model, (1, 28, 28)))
    opt = jn.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = jn.nn.CrossEntropyLoss()
    rng = np.random.default_rng(rank)
    x = jn.tensor(rng.standard_normal((local, 1, 28, 28)).astype(np.float32))
    y = jn.tensor(rng.integers(0, 10, local))

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    dist.barrier()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    dist.barrier()
    took = time.perf_counter() - start
    if rank == 0:
        print("RESULT " + json.dumps({
            "ranks": world, "model": args.model, "global_batch": args.batch,
            "steps": args.steps, "seconds": took, "images_per_s": args.batch * args.steps / took,
            "threads_per_rank": int(os.environ.get("NUMBA_NUM_THREADS", "0")) or None}),
            flush=True)
    dist.destroy_process_group()


def launch(args: argparse.Namespace, ranks: int) -> dict:
    mpiexec = Path(sys.executable).with_name("mpiexec")
    exe = str(mpiexec) if mpiexec.exists() else shutil.which("mpiexec")
    if exe is None:
        raise SystemExit("bench_distributed: mpiexec not found (pip install 'jitnet[distributed]')")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    env.setdefault("NUMBA_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // ranks)))
    cmd = [exe, "-n", str(ranks), sys.executable, __file__, "--worker", "--model", args.model,
           "--batch", str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"bench_distributed: {ranks} ranks failed:\n{proc.stderr[-2000:]}")
    return json.loads(lines[0][len("RESULT "):])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument("--model", default="lenet", choices=("mlp", "cnn", "lenet"))
    p.add_argument("--batch", type=int, default=128, help="global batch (split over ranks)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--json", default=str(HERE / "results" / "distributed.json"))
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    rows = [launch(args, r) for r in args.ranks]
    base = rows[0]["images_per_s"]
    print(f"{'ranks':>5}  {'threads/rank':>12}  {'images/s':>9}  {'speed-up':>8}")
    for row in rows:
        print(f"{row['ranks']:>5}  {row['threads_per_rank'] or '-':>12}  "
              f"{row['images_per_s']:>9.1f}  {row['images_per_s'] / base:>7.2f}x")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"cpu_count": os.cpu_count(), "runs": rows},
                                          indent=2) + "\n")


if __name__ == "__main__":
    main()
