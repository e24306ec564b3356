"""jitnet.distributed, DistributedDataParallel and DistributedSampler.

The MPI tests start ``mpiexec -n 2`` (tests/mpi_worker.py) and skip when mpi4py or mpiexec
is missing.  Each start costs seconds, so one run does every collective and DDP check.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import jitnet as jn
from jitnet.data import DistributedSampler, TensorDataset

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("mpi_worker.py")


def _mpiexec() -> str | None:
    local = Path(sys.executable).with_name("mpiexec")
    return str(local) if local.exists() else shutil.which("mpiexec")


def _mpi_env(**extra) -> dict:
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", PYTHONPATH=os.pathsep.join(
                   [str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               MPLBACKEND="Agg", **extra)
    return env


def mpirun(args: list[str], timeout: float = 300, **env) -> subprocess.CompletedProcess:
    """``mpiexec -n 2 python ARGS`` (skips the test without mpi4py/mpiexec)."""
    pytest.importorskip("mpi4py")
    exe = _mpiexec()
    if exe is None:
        pytest.skip("mpiexec not found")
    return subprocess.run([exe, "-n", "2", sys.executable, *args], capture_output=True,
                          text=True, timeout=timeout, env=_mpi_env(**env), cwd=ROOT)


# ---------------------------------------------------------------------- under mpiexec

@pytest.fixture(scope="module")
def checks() -> dict:
    # the CUDA simulator lets the staging path run without a GPU
    proc = mpirun([str(WORKER), "checks"], NUMBA_ENABLE_CUDASIM="1")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS ")]
    assert proc.returncode == 0 and len(lines) == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(lines[0][len("RESULTS "):])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["collectives", "ddp_equals_one_process",
                                  "no_sync_accumulates", "unused_parameter_gets_the_mean",
                                  "state_dict_prefix",
                                  "cuda_tensors_staged"])
def test_under_mpiexec(checks, name):
    # collectives: all_reduce SUM/AVG/MAX/MIN/PRODUCT, broadcast, all_gather, reduce, barrier;
    # ddp_equals_one_process: 2 ranks on half batches == 1 process on the batch, to 1e-10,
    # from different initial weights, buckets launched during the backward; no_sync_accumulates;
    # unused_parameter_gets_the_mean; state_dict_prefix ("module."); cuda_tensors_staged
    # (host staging, under the CUDA simulator)
    assert checks[name] is None, checks[name]


@pytest.mark.slow
def test_train_distributed_rank0_alone_writes(tmp_path):
    out = tmp_path / "run"
    proc = mpirun(["-m", "jitnet", "train", "--distributed", "--model", "mlp", "--epochs", "2",
                   "--batch-size", "64", "--no-progress", "--out", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("jitnet train: mlp") == 1, proc.stdout   # one header: rank 0's
    assert proc.stdout.count("epoch   2/2") == 1, proc.stdout
    assert "2 ranks" in proc.stdout
    for name in ("model.safetensors", "history.json", "curves.png", "last.safetensors"):
        assert (out / name).is_file()
    history = json.loads((out / "history.json").read_text())
    assert history["val_accuracy"][-1] > 0.5
    state = jn.load(out / "last.safetensors")
    assert state["world_size"] == 2 and len(state["rng"]) == 2
    # the plain model's keys, so that the run can be resumed with or without --distributed
    assert state["model"] and not any(k.startswith("module.") for k in state["model"])
    assert not any(k.startswith("module.") for k in jn.load(out / "model.safetensors"))


@pytest.mark.slow
def test_a_failing_rank_ends_the_job(tmp_path):
    # rank 1 raises at its third step; rank 0 would wait in the next all-reduce forever
    # unless the failure aborts the job (the timeout turns a hang into a failure)
    proc = mpirun([str(WORKER), "fail-cli", "train", "--distributed", "--model", "mlp",
                   "--epochs", "2", "--batch-size", "64", "--no-progress", "--out",
                   str(tmp_path / "run")], timeout=120)
    assert proc.returncode != 0
    assert "injected failure at step 3" in proc.stderr
    assert "rank 1 of 2 raised RuntimeError" in proc.stderr


# ---------------------------------------------------------------------- in this process

def test_import_jitnet_does_not_import_mpi4py():
    code = ("import sys, jitnet, jitnet.distributed, jitnet.nn.parallel; "
            "print('mpi4py' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_mpi_env(), check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (2, 4, False),
                                                  (12, 4, False), (7, 2, True)])
def test_distributed_sampler_matches_pytorch(n, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    data = list(range(n))
    for rank in range(replicas):
        ours = DistributedSampler(data, num_replicas=replicas, rank=rank, shuffle=False,
                                  drop_last=drop_last)
        theirs = torch_data.DistributedSampler(data, num_replicas=replicas, rank=rank,
                                               shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)


def test_distributed_sampler_shuffles_with_pytorch_arithmetic():
    n, replicas = 11, 3
    shards = []
    for rank in range(replicas):
        s = DistributedSampler(range(n), num_replicas=replicas, rank=rank, seed=5)
        s.set_epoch(2)
        shards.append(list(s))
    perm = np.random.default_rng(5 + 2).permutation(n).tolist()
    padded = perm + perm[:12 - n]
    assert shards == [padded[r::replicas] for r in range(replicas)]
    again = DistributedSampler(range(n), num_replicas=replicas, rank=0, seed=5)
    again.set_epoch(3)
    assert list(again) != shards[0]


def test_distributed_sampler_errors():
    with pytest.raises(ValueError, match="Invalid rank 3"):
        DistributedSampler(range(4), num_replicas=3, rank=3)
    with pytest.raises(ValueError, match="num_replicas must be a positive int"):
        DistributedSampler(range(4), num_replicas=0, rank=0)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(range(4))


def test_sampler_in_a_dataloader():
    ds = TensorDataset(jn.arange(10))
    loader = jn.utils.data.DataLoader(ds, batch_size=2,
                                      sampler=DistributedSampler(ds, 2, 1, shuffle=False))
    assert [b[0].tolist() for b in loader] == [[1, 3], [5, 7], [9]]


def test_collectives_need_a_group():
    with pytest.raises(RuntimeError, match="init_process_group"):
        jn.distributed.all_reduce(jn.zeros(2))
    assert not jn.distributed.is_initialized()
    with pytest.raises(NotImplementedError, match="backend 'nccl'"):
        jn.distributed.init_process_group("nccl")
    with pytest.raises(RuntimeError, match="not been initialized"):
        jn.nn.parallel.DistributedDataParallel(jn.nn.Linear(2, 2))


def test_info_says_how_cuda_tensors_travel():
    pytest.importorskip("mpi4py")
    out = subprocess.run([sys.executable, "-m", "jitnet", "info"], capture_output=True,
                         text=True, env=_mpi_env(), timeout=300, check=True).stdout
    row = next(ln for ln in out.splitlines() if ln.startswith("distributed"))
    assert "mpi4py" in row and ("host staging" in row or "CUDA-aware MPI" in row), row
