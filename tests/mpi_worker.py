"""Run under ``mpiexec -n 2`` by tests/test_distributed.py (not collected by pytest itself).

``python tests/mpi_worker.py checks``: every rank runs the collective and
DistributedDataParallel checks; rank 0 prints one JSON line ``RESULTS {name: error or null}``.
``python tests/mpi_worker.py fail-cli ARGS...``: ``jitnet train`` where rank 1's optimizer
raises at its third step (the other rank must be ended, not left waiting).
"""
from __future__ import annotations

import json
import sys
import traceback

import numpy as np

import jitnet as jn
import jitnet.distributed as dist
from jitnet import nn
from jitnet.nn.parallel import DistributedDataParallel as DDP

CHECKS = {}


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


def close(a, b, tol=0.0):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    err = float(np.max(np.abs(a - b))) if a.size else 0.0
    assert err <= tol, f"max abs difference {err} > {tol}\n{a}\n{b}"


@check
def collectives():
    r, n = dist.get_rank(), dist.get_world_size()
    assert (dist.get_backend(), n) == ("mpi", 2)
    base = np.arange(6, dtype=np.float64).reshape(2, 3)
    values = [base + 10 * k for k in range(n)]           # rank k's tensor
    expect = {dist.ReduceOp.SUM: sum(values), dist.ReduceOp.AVG: sum(values) / n,
              dist.ReduceOp.MAX: np.maximum.reduce(values),
              dist.ReduceOp.MIN: np.minimum.reduce(values),
              dist.ReduceOp.PRODUCT: np.multiply.reduce(values)}
    for op, want in expect.items():
        t = jn.tensor(values[r])
        assert dist.all_reduce(t, op=op) is None
        close(t.numpy(), want)
    t = jn.tensor(values[r].astype(np.int64))
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    close(t.numpy(), np.maximum.reduce(values).astype(np.int64))
    # a non-contiguous view is reduced in place, through its base
    big = jn.tensor(np.stack([values[r], values[r]]))
    view = big[:, 0]
    dist.all_reduce(view)
    close(big.numpy()[:, 0], np.stack([sum(values)[0]] * 2))
    close(big.numpy()[:, 1], np.stack([values[r][1]] * 2))
    t = jn.tensor(float(r + 1))                       # 0-d
    dist.all_reduce(t, op=dist.ReduceOp.PRODUCT)
    assert t.item() == 2.0
    # async
    t = jn.tensor(values[r])
    work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    assert work.wait() and work.is_completed()
    close(t.numpy(), sum(values) / n)
    # broadcast from rank 1
    t = jn.tensor(values[r])
    dist.broadcast(t, src=1)
    close(t.numpy(), values[1])
    # all_gather
    out = [jn.zeros(2, 3, dtype=jn.float64) for _ in range(n)]
    dist.all_gather(out, jn.tensor(values[r]))
    for k in range(n):
        close(out[k].numpy(), values[k])
    # reduce to rank 0: others keep their tensor
    t = jn.tensor(values[r])
    dist.reduce(t, dst=0, op=dist.ReduceOp.SUM)
    close(t.numpy(), sum(values) if r == 0 else values[r])
    dist.barrier()
    objs = [None] * n
    dist.all_gather_object(objs, {"rank": r})
    assert objs == [{"rank": k} for k in range(n)]
    box = [f"from {r}"]
    dist.broadcast_object_list(box, src=0)
    assert box == ["from 0"]
    for bad, match in ((lambda: dist.broadcast(jn.zeros(2), src=5), "src must be a rank"),
                       (lambda: dist.all_gather([jn.zeros(2)], jn.zeros(2)), "world_size=2"),
                       (lambda: dist.all_reduce(jn.zeros(2, dtype=jn.int64),
                                                op=dist.ReduceOp.AVG), "floating-point"),
                       (lambda: dist.all_reduce(jn.zeros(2), group=object()), "default group")):
        try:
            bad()
        except (ValueError, TypeError, NotImplementedError) as exc:
            assert match in str(exc), str(exc)
        else:
            raise AssertionError(f"no error for {match}")


class Shared(nn.Module):
    """Uses one weight twice, so its gradient is final only after its second use."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 6)
        self.b = nn.Linear(6, 6)
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        h = self.a(x).tanh()
        h = self.b(h).tanh()
        h = self.b(h).tanh()
        return self.head(h)


def _models(seed: int):
    """The one-process reference, with rank 0's init (what DDP broadcasts), and this rank's
    replica, with its own init (seed + rank)."""
    jn.manual_seed(seed)
    ref = Shared().double()
    jn.manual_seed(seed + dist.get_rank())
    mine = Shared().double()
    return ref, mine


def _batches(steps: int, batch: int):
    rng = np.random.default_rng(42)
    return [(jn.tensor(rng.standard_normal((batch, 4))),
             jn.tensor(rng.standard_normal((batch, 3)))) for _ in range(steps)]


@check
def ddp_equals_one_process():
    r, n = dist.get_rank(), dist.get_world_size()
    ref, mine = _models(seed=100)                    # ranks start from different inits
    model = DDP(mine, bucket_cap_mb=200 / 2**20)     # ~200-byte buckets: several of them
    assert len(model._buckets) > 2
    launches = []                                    # buckets out after each ready gradient
    launch = model._launch_ready

    def spy():
        launch()
        launches.append(model._next)

    model._launch_ready = spy
    opt_ref = jn.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    opt = jn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.MSELoss()
    for x, y in _batches(steps=5, batch=8):
        opt_ref.zero_grad()
        loss_fn(ref(x), y).backward()
        opt_ref.step()
        half = slice(r * 8 // n, (r + 1) * 8 // n)
        opt.zero_grad()
        loss_fn(model(x[half]), y[half]).backward()
        opt.step()
    for (k, p), (k2, q) in zip(ref.state_dict().items(), model.module.state_dict().items()):
        assert k == k2
        close(q.numpy(), p.numpy(), 1e-10)
    # overlap: some buckets were all-reducing while others still waited for gradients
    assert any(0 < k < len(model._buckets) for k in launches), launches
    # and the ranks agree with each other
    for p in model.parameters():
        both = [jn.zeros(*p.shape, dtype=jn.float64) for _ in range(n)]
        dist.all_gather(both, p.detach())
        close(both[0].numpy(), both[1].numpy(), 1e-10)


@check
def no_sync_accumulates():
    r, n = dist.get_rank(), dist.get_world_size()
    ref, mine = _models(seed=7)
    model = DDP(mine)
    batches = _batches(steps=3, batch=8)
    loss_fn = nn.MSELoss()
    for x, y in batches:
        loss_fn(ref(x), y).backward()
    half = slice(r * 8 // n, (r + 1) * 8 // n)
    with model.no_sync():
        for x, y in batches[:2]:
            loss_fn(model(x[half]), y[half]).backward()
    # no communication happened: the ranks' local gradients differ
    g = model.module.head.weight.grad.detach().clone()
    both = [jn.zeros(*g.shape, dtype=jn.float64) for _ in range(n)]
    dist.all_gather(both, g)
    assert np.abs(both[0].numpy() - both[1].numpy()).max() > 1e-6
    x, y = batches[2]
    loss_fn(model(x[half]), y[half]).backward()      # synced: reduces the accumulated sum
    for p, q in zip(ref.parameters(), model.module.parameters()):
        close(q.grad.numpy(), p.grad.numpy(), 1e-12)


@check
def unused_parameter_gets_the_mean():
    r = dist.get_rank()
    jn.manual_seed(3)
    net = nn.ModuleDict({"used": nn.Linear(3, 2), "unused": nn.Linear(3, 2)}).double()
    model = DDP(net)
    x = jn.tensor(np.full((2, 3), float(r + 1)))
    if r == 0:   # rank 0 also uses the second layer: rank 1 contributes zeros for it
        loss = (net["used"](x).sum() + net["unused"](x).sum())
    else:
        loss = net["used"](x).sum()
    model._sync_this_backward = True
    loss.backward()
    close(net["used"].weight.grad.numpy(), np.full((2, 3), (2 * 1 + 2 * 2) / 2))
    close(net["unused"].weight.grad.numpy(), np.full((2, 3), 2 * 1 / 2))


@check
def state_dict_prefix():
    model = DDP(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))
    keys = list(model.state_dict())
    assert keys and all(k.startswith("module.") for k in keys), keys
    assert "module.1.running_mean" in keys
    assert model.module is model._modules["module"]


@check
def cuda_tensors_staged():
    if not jn.cuda.is_available():
        return "skipped: no CUDA (not even the simulator)"
    r, n = dist.get_rank(), dist.get_world_size()
    t = jn.tensor(np.full(5, float(r + 1))).to("cuda")
    dist.all_reduce(t)
    assert t.device.type == "cuda"
    close(t.cpu().numpy(), np.full(5, float(sum(range(1, n + 1)))))
    assert "staging" in dist.cuda_transport() or "CUDA-aware" in dist.cuda_transport()
    return None


def run_checks() -> int:
    dist.init_process_group("mpi")
    results = {}
    for name, fn in CHECKS.items():
        try:
            results[name] = fn()
        except Exception:
            results[name] = f"rank {dist.get_rank()}: {traceback.format_exc()}"
        dist.barrier()
    everyone = [None] * dist.get_world_size()
    dist.all_gather_object(everyone, results)
    if dist.get_rank() == 0:
        merged = {name: next((res[name] for res in everyone if res[name]), None)
                  for name in CHECKS}
        print("RESULTS " + json.dumps(merged), flush=True)
    dist.destroy_process_group()
    return 0


def fail_cli(argv) -> int:
    """Rank 1 raises at its third optimizer step of ``jitnet train``."""
    from jitnet import cli

    original = jn.optim.Adam.step
    calls = [0]

    def step(self, *args, **kwargs):
        calls[0] += 1
        if dist.get_rank() == 1 and calls[0] == 3:
            raise RuntimeError("injected failure at step 3")
        return original(self, *args, **kwargs)

    jn.optim.Adam.step = step
    return cli.main(argv)


if __name__ == "__main__":
    mode = sys.argv[1]
    sys.exit(run_checks() if mode == "checks" else fail_cli(sys.argv[2:]))
