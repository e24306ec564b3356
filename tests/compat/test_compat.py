"""PyTorch scripts run unmodified on jitnet, and their results match PyTorch's.

Each script in ``scripts/`` is written only against ``torch``, ``torch.nn``,
``torch.nn.functional``, ``torch.optim``, ``torch.utils.data`` and
``torchvision`` (checked below).  ``run_script.py`` runs it in a subprocess:

- on jitnet, through ``sys.modules`` aliases (``torch`` -> ``jitnet`` ...;
  ``torchvision.datasets/transforms`` -> ``jitnet.data.datasets/transforms``);
- on PyTorch where it is installed; torchvision is not installed here, so the
  PyTorch run of the MNIST script uses ``torchvision_standin/`` (torchvision's
  MNIST / ToTensor / Normalize in a few lines of PyTorch) unless the real one is
  present.

Where the script can start both frameworks from the same weights (loaded from
NumPy through ``load_state_dict``) on the same batches, the losses are compared
step by step; elsewhere (PyTorch's and jitnet's random streams differ) both
must reach the same quality.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"
RUNNER = HERE / "run_script.py"
HAS_TORCH = importlib.util.find_spec("torch") is not None
requires_torch = pytest.mark.skipif(not HAS_TORCH, reason="PyTorch not installed")

# runs are shared between the tests of this module: (backend, script, args) -> summary
_cache: dict = {}


def run(backend: str, script: str, tmp_dir: Path, *args: str) -> dict:
    """Run ``scripts/<script>`` on ``backend`` ('jitnet' or 'torch'); its JSON summary."""
    key = (backend, script, args)
    if key not in _cache:
        out = tmp_dir / f"{backend}-{script}-{len(_cache)}.json"
        env = dict(os.environ)
        if backend == "torch":  # two thread pools on a small machine only fight
            env["OMP_NUM_THREADS"] = "1"
        proc = subprocess.run(
            [sys.executable, str(RUNNER), backend, str(SCRIPTS / script), "--out", str(out),
             *args],
            capture_output=True, text=True, timeout=600, env=env, cwd=str(tmp_dir),
        )
        assert proc.returncode == 0, (
            f"{script} failed on {backend}:\n{proc.stdout[-2000:]}\n{proc.stderr[-6000:]}"
        )
        _cache[key] = json.loads(out.read_text())
    return _cache[key]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("compat")


@pytest.fixture(scope="module")
def mnist_root(workdir) -> str:
    pytest.importorskip("sklearn")  # the images are scikit-learn's bundled digits
    sys.path.insert(0, str(HERE))
    try:
        from mnist_idx import make_mnist
    finally:
        sys.path.remove(str(HERE))
    return make_mnist(str(workdir / "data"))


def rel_diff(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(np.abs(a), 1e-6)


# ------------------------------------------------------------------ the scripts are plain PyTorch

ALLOWED_IMPORTS = {"torch", "torchvision", "numpy", "argparse", "json", "math", "os", "time",
                   "random", "shutil", "warnings", "enum"}  # the stdlib pytorch/examples use


@pytest.mark.parametrize("script", sorted(p.name for p in SCRIPTS.glob("*.py")))
def test_scripts_import_only_pytorch_names(script):
    tree = ast.parse((SCRIPTS / script).read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add(node.module.split(".")[0])
    assert "torch" in roots and roots <= ALLOWED_IMPORTS, roots
    assert "jitnet" not in (SCRIPTS / script).read_text()


# ------------------------------------------------------------------ 1. CNN on MNIST IDX files

SAME_START = ("--dropout", "0", "--no-shuffle", "--init-seed", "0", "--epochs", "2")


def test_mnist_cnn_trains_on_jitnet(mnist_root, workdir):
    r = run("jitnet", "mnist_cnn.py", workdir, "--data", mnist_root, "--epochs", "2")
    assert r["framework"] == "jitnet"
    assert r["n_train"] == 1500 and r["n_test"] == 297
    assert len(r["train_losses"]) == 2 * 24  # ceil(1500 / 64) batches per epoch
    assert r["train_losses"][0] > 2.0 and np.mean(r["train_losses"][-5:]) < 1.2
    assert r["test_accuracy"][-1] >= 0.8 and r["test_loss"][-1] < r["test_loss"][0]
    assert r["lr"] == pytest.approx(1.0 * 0.7 ** 2)  # StepLR(step_size=1, gamma=0.7), 2 steps


@requires_torch
def test_mnist_cnn_matches_torch_from_the_same_start(mnist_root, workdir):
    pytest.importorskip("torch")
    j = run("jitnet", "mnist_cnn.py", workdir, "--data", mnist_root, *SAME_START)
    t = run("torch", "mnist_cnn.py", workdir, "--data", mnist_root, *SAME_START)
    assert (j["framework"], t["framework"]) == ("jitnet", "torch")
    assert len(j["train_losses"]) == len(t["train_losses"]) == 48
    # float32 on both sides, 48 Adadelta steps: the curves agree to ~1e-6
    assert rel_diff(j["train_losses"], t["train_losses"]).max() < 1e-3
    assert rel_diff(j["test_loss"], t["test_loss"]).max() < 1e-3
    assert abs(j["test_accuracy"][-1] - t["test_accuracy"][-1]) <= 2 / 297


# ------------------------------------------------------------ 2. regression, custom Module, SGD


def test_regression_on_jitnet(workdir):
    r = run("jitnet", "regression.py", workdir, "--workdir", str(workdir))
    assert r["framework"] == "jitnet"
    assert r["n_params"] == 6 * 16 + 16 + 16 + 1 + 6
    assert r["reloaded_same"]  # torch.save / torch.load round trip of the state_dict
    assert r["val_losses"][-1] < 0.2 * r["baseline_val_loss"]
    assert len(r["train_losses"]) == 20 * 16


@requires_torch
def test_regression_matches_torch(workdir):
    pytest.importorskip("torch")
    j = run("jitnet", "regression.py", workdir, "--workdir", str(workdir))
    t = run("torch", "regression.py", workdir, "--workdir", str(workdir))
    assert rel_diff(j["train_losses"], t["train_losses"]).max() < 1e-3
    assert rel_diff(j["val_losses"], t["val_losses"]).max() < 1e-3
    np.testing.assert_allclose(j["skip"], t["skip"], rtol=1e-3, atol=1e-5)


# ------------------------------------------------------------ 3. Dataset, random_split, schedule


def test_custom_dataset_on_jitnet(workdir):
    r = run("jitnet", "custom_dataset.py", workdir, "--epochs", "15")
    assert r["framework"] == "jitnet"
    assert (r["n_train"], r["n_val"], r["batches_per_epoch"]) == (480, 120, 15)
    assert r["val_indices_disjoint"] and r["final_lr"] == pytest.approx(0.0, abs=1e-12)
    assert max(r["val_accuracy"][-3:]) >= 0.9
    assert r["val_loss"][-1] < 0.5 * r["val_loss"][0]


@requires_torch
def test_custom_dataset_reaches_torch_quality(workdir):
    pytest.importorskip("torch")
    j = run("jitnet", "custom_dataset.py", workdir, "--epochs", "15")
    t = run("torch", "custom_dataset.py", workdir, "--epochs", "15")
    # different random streams (init, split, shuffling): compare quality, not numbers
    assert abs(j["val_accuracy"][-1] - t["val_accuracy"][-1]) <= 0.1
    assert j["batches_per_epoch"] == t["batches_per_epoch"]
    assert j["final_lr"] == pytest.approx(t["final_lr"], abs=1e-12)


# ------------------------------------------------ 4-9. programs in the styles of pytorch/examples
# and the official tutorials (issue 17).  Each starts both frameworks from the same NumPy
# weights on the same batches.  Curves: float32 rounding differences (1e-7) grow along a
# run, fastest with a large lr or momentum, so each test checks the first steps tightly and
# the whole curve loosely; float64 (the L-BFGS script) agrees to rounding throughout.


def same_curve(j, t, first=10, early=1e-4, overall=2e-2):
    """Both runs took the same number of steps and their losses agree."""
    assert len(j) == len(t) > 0
    diff = rel_diff(j, t)
    assert diff[:first].max() < early, diff[:first]
    assert diff.max() < overall, diff


def both(script, workdir, *args):
    j = run("jitnet", script, workdir, *args)
    t = run("torch", script, workdir, *args) if HAS_TORCH else None
    assert j["framework"] == "jitnet" and (t is None or t["framework"] == "torch")
    return j, t


def test_examples_mnist_with_accelerator_api(mnist_root, workdir):
    j, t = both("examples_mnist.py", workdir, "--data", mnist_root, "--epochs", "1",
                "--init-seed", "0", "--dropout", "0", "--no-shuffle", "--save-model",
                "--max-batches", "12", "--log-interval", "4")
    assert j["device"] == "cpu" and j["reloaded_same"]  # torch.load(weights_only=True)
    assert len(j["train_losses"]) == 12 and j["lr"] == pytest.approx(0.7)
    if t is not None:
        same_curve(j["train_losses"], t["train_losses"])
        assert rel_diff(j["test_loss"], t["test_loss"]).max() < 1e-2


def test_examples_mnist_dry_run(mnist_root, workdir):
    r = run("jitnet", "examples_mnist.py", workdir, "--data", mnist_root, "--epochs", "1",
            "--dry-run")
    assert len(r["train_losses"]) == 1 and r["reloaded_same"] is None


def test_tutorial_quickstart(mnist_root, workdir):
    j, t = both("tutorial_quickstart.py", workdir, "--data", mnist_root, "--epochs", "1",
                "--init-seed", "0")
    assert j["first_batch_shape"] == [64, 1, 28, 28] and j["label_dtype"] == "int64"
    assert j["predicted"] == j["actual"]
    if t is not None:
        same_curve(j["train_losses"], t["train_losses"], overall=1e-4)
        assert (j["device"], j["test_accuracy"]) == (t["device"], t["test_accuracy"])


def test_tutorial_neural_networks(mnist_root, workdir):
    j, t = both("tutorial_neural_networks.py", workdir, "--data", mnist_root)
    assert j["z_has_grad_fn"] and not j["no_grad_requires_grad"]
    assert not j["detach_requires_grad"]
    assert (j["n_params"], j["conv1_weight_size"]) == (10, [6, 1, 5, 5])
    if t is not None:
        np.testing.assert_allclose(j["w_grad"], t["w_grad"], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(j["conv1_bias_grad"], t["conv1_bias_grad"], rtol=1e-4,
                                   atol=1e-6)
        assert j["mse_loss"] == pytest.approx(t["mse_loss"], rel=1e-5)
        same_curve(j["train_losses"], t["train_losses"])


@pytest.mark.parametrize("line_search", [False, True], ids=["fixed-step", "strong-wolfe"])
def test_legacy_idioms_and_lbfgs(mnist_root, workdir, line_search):
    j, t = both("legacy_lbfgs.py", workdir, "--data", mnist_root,
                *(["--line-search"] if line_search else []))
    assert (j["x_type"], j["y_type"]) == ("DoubleTensor", "LongTensor")
    assert j["float_is_float_tensor"] and not j["double_is_float_tensor"]
    assert j["legacy_sizes"] == [2, 3] and j["reloaded_same"]
    assert j["train_losses"][-1] < 0.5 * j["train_losses"][0] and j["accuracy"] > 0.9
    if t is not None:  # float64 and deterministic: the same trajectory to rounding
        same_curve(j["train_losses"], t["train_losses"], early=1e-12, overall=1e-9)
        np.testing.assert_allclose(j["weight"], t["weight"], rtol=1e-8, atol=1e-10)


def test_examples_vae(mnist_root, workdir):
    j, t = both("examples_vae.py", workdir, "--data", mnist_root, "--epochs", "1",
                "--init-seed", "0", "--numpy-noise", "--log-interval", "4")
    assert len(j["train_losses"]) == 12  # ceil(1500 / 128)
    assert j["train_losses"][-1] < j["train_losses"][0]
    if t is not None:
        same_curve(j["train_losses"], t["train_losses"], overall=1e-4)
        assert rel_diff(j["test_loss"], t["test_loss"]).max() < 1e-4


def test_examples_imagenet_style_loop(mnist_root, workdir):
    j, t = both("examples_imagenet_style.py", workdir, mnist_root, "--init-seed", "0",
                "--seed", "0")
    assert j["cudnn"] == [True, False] and j["checkpoint_epoch"] in (1, 2)
    assert j["reloaded_acc1"] == pytest.approx(j["best_acc1"])
    assert j["val_acc5"][-1] >= j["val_acc1"][-1] >= 50
    if t is not None:
        assert j["lrs"] == t["lrs"]  # SequentialLR(LinearLR, CosineAnnealingWarmRestarts)
        same_curve(j["train_losses"], t["train_losses"])
        assert abs(j["val_acc1"][-1] - t["val_acc1"][-1]) <= 100 * 3 / 297
