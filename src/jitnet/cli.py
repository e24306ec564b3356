"""The ``jitnet`` command: ``jitnet train`` trains a small image classifier end to end,
``jitnet info`` reports versions, threading and CUDA.  ``python -m jitnet`` is the same.

``jitnet train`` with no arguments trains a small CNN on scikit-learn's bundled
8x8 digits (Adam, cosine lr schedule) and writes, to ``--out``:
``model.safetensors`` (the weights of the epoch with the best test
accuracy), ``history.json`` (per-epoch losses, accuracies, lr, and the
settings) and ``curves.png`` (loss and accuracy curves).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .training import Callback

DEFAULTS = dict(model="cnn", data="digits", epochs=15, batch_size=32, lr=0.005, seed=0,
                device="cpu", data_dir="data")
MODELS = ("mlp", "cnn", "lenet", "lstm", "transformer")
TASKS = ("classify", "charlm")
DATASETS = ("digits", "mnist", "cifar10")


# ---------------------------------------------------------------------- models

def build_model(name: str, in_shape: tuple[int, int, int], num_classes: int = 10):
    """The CLI's models for (C, H, W) images: 'mlp' (one hidden layer of 128), 'cnn' (two
    stages of 3x3 conv, batch norm, ReLU and 2x2 max-pool with 16 and 32 channels, then a
    linear classifier) and
    'lenet' (LeNet-5: 5x5 convs with 6 and 16 channels, then 120-84-classes; on inputs
    smaller than 16x16 such as the 8x8 digits its second conv is padded so the feature map
    keeps a usable size)."""
    from . import nn
    from .seqmodels import SEQ_MODELS, digits_sequence_model

    if name in SEQ_MODELS:  # 'lstm', 'transformer': the image read row by row (seqmodels.py)
        return digits_sequence_model(name, in_shape, num_classes)
    c, h, w = in_shape
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, 128), nn.ReLU(),
                             nn.Linear(128, num_classes))
    if name == "cnn":
        return nn.Sequential(
            nn.Conv2d(c, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * (h // 4) * (w // 4), num_classes))
    if name == "lenet":
        h1, w1 = h // 2, w // 2                     # conv 5x5 'same', pool 2
        pad2 = 2 if min(h1, w1) < 8 else 0          # 8x8 digits: keep a 4x4 map
        h2, w2 = (h1 + 2 * pad2 - 4) // 2, (w1 + 2 * pad2 - 4) // 2
        if min(h2, w2) < 1:
            raise ValueError(f"lenet: input {h}x{w} is too small")
        return nn.Sequential(
            nn.Conv2d(c, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, padding=pad2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * h2 * w2, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes))
    raise ValueError(f"unknown model {name!r}; choose one of {MODELS}")


# ---------------------------------------------------------------------- data

def _normalised(images: np.ndarray, mean: Sequence[float], std: Sequence[float]):
    """uint8 (N, H, W[, C]) -> float32 (N, C, H, W), scaled to [0, 1] then normalised."""
    x = images.astype(np.float32) / 255.0
    x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
    m = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    s = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
    return np.ascontiguousarray((x - m) / s)


def load_data(name: str, data_dir: str):
    """(train, test) TensorDatasets of float32 (N, C, H, W) images and int64 labels."""
    from .data import TensorDataset, datasets
    from .tensor import as_tensor

    if name == "digits":
        return datasets.load_digits()
    if name == "mnist":
        cls, mean, std = datasets.MNIST, (0.1307,), (0.3081,)
    elif name == "cifar10":
        cls, mean, std = datasets.CIFAR10, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
    else:
        raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS}")
    out = []
    for train in (True, False):
        ds = cls(data_dir, train=train)
        out.append(TensorDataset(as_tensor(_normalised(ds._images, mean, std)),
                                 as_tensor(ds._labels)))
    return tuple(out)


# ---------------------------------------------------------------------- train

class EpochPrinter(Callback):
    """Prints one summary line per epoch: losses, accuracies, lr and the epoch's time."""

    def __init__(self, epochs: int) -> None:
        self.epochs, self.start = epochs, time.perf_counter()

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        took = time.perf_counter() - self.start
        print(f"epoch {epoch:>3}/{self.epochs}  train loss {logs['loss']:.4f}  "
              f"train acc {logs.get('accuracy', math.nan):.4f}  "
              f"test loss {logs.get('val_loss', math.nan):.4f}  "
              f"test acc {logs.get('val_accuracy', math.nan):.4f}  "
              f"lr {logs['lr']:.2e}  ({took:.1f} s)", flush=True)


def plot_curves(history: dict, path: Path) -> None:
    """Loss and accuracy per epoch (train and test) as a PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = history["epoch"]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("loss", "train"), ("val_loss", "test")):
        if key in history:
            ax_loss.plot(epochs, history[key], marker="o", label=label)
    for key, label in (("accuracy", "train"), ("val_accuracy", "test")):
        if key in history:
            ax_acc.plot(epochs, history[key], marker="o", label=label)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def cmd_train(args: argparse.Namespace) -> int:
    import jitnet as jn

    from .data import DataLoader
    from .training import ModelCheckpoint, fit

    start = time.perf_counter()
    if args.device.startswith("cuda") and not jn.cuda.is_available():
        print("jitnet train: --device cuda was asked for, but CUDA is not available "
              f"({jn.cuda._probe()[1]}); use --device cpu", file=sys.stderr)
        return 2
    if args.task == "charlm":  # a character-level language model (charlm.py)
        from .charlm import train_charlm

        return train_charlm(args)
    args.lr = DEFAULTS["lr"] if args.lr is None else args.lr
    args.epochs = DEFAULTS["epochs"] if args.epochs is None else args.epochs
    jn.manual_seed(args.seed)
    try:
        train_set, test_set = load_data(args.data, args.data_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"jitnet train: {exc}", file=sys.stderr)
        return 2
    in_shape = tuple(train_set.tensors[0].shape[1:])
    model = build_model(args.model, in_shape).to(args.device)
    optimizer = jn.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = jn.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    out = Path(args.out) if args.out else Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = ModelCheckpoint(out / "model.safetensors", monitor="val_accuracy",
                                 mode="max")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"jitnet train: {args.model} ({n_params} parameters) on {args.data} "
          f"({len(train_set)} train / {len(test_set)} test), {args.epochs} epochs, batch "
          f"{args.batch_size}, Adam lr {args.lr} (cosine), {args.device}, seed {args.seed}",
          flush=True)
    history = fit(model, DataLoader(train_set, batch_size=args.batch_size, shuffle=True),
                  optimizer, jn.nn.CrossEntropyLoss(), epochs=args.epochs,
                  val_loader=DataLoader(test_set, batch_size=256),
                  callbacks=[checkpoint, EpochPrinter(args.epochs)],
                  scheduler=scheduler, device=args.device, progress=not args.no_progress)
    elapsed = time.perf_counter() - start
    record = history.to_dict()
    record["config"] = {k: getattr(args, k) for k in
                        ("model", "data", "epochs", "batch_size", "lr", "seed", "device")}
    record["best"] = {"epoch": checkpoint.best_epoch, "val_accuracy": checkpoint.best}
    record["seconds"] = elapsed
    with open(out / "history.json", "w") as fh:
        json.dump(record, fh, indent=2)
    plot_curves(record, out / "curves.png")
    print(f"best test accuracy {checkpoint.best:.4f} (epoch {checkpoint.best_epoch}), final "
          f"{history['val_accuracy'][-1]:.4f}; {elapsed:.1f} s in all")
    print(f"wrote {out / 'model.safetensors'}, {out / 'history.json'}, {out / 'curves.png'}")
    return 0


# ---------------------------------------------------------------------- info

def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _threading() -> str:
    import numba

    from .kernels import cpu
    from .kernels._jit import PARALLEL_MIN
    from .kernels.opcodes import RELU

    try:  # the layer is chosen when the first parallel kernel runs
        cpu.unary(RELU, np.zeros(PARALLEL_MIN, dtype=np.float32))
        layer = numba.threading_layer()
    except Exception as exc:  # never crash `info`
        layer = f"unknown ({exc})"
    return (f"{layer} (NUMBA_THREADING_LAYER={numba.config.THREADING_LAYER}), "
            f"{numba.get_num_threads()} threads")


def _cuda_status() -> str:
    from .device import cuda, simulator_enabled

    try:
        ok, why = cuda._probe()
        if not ok:
            return f"none ({why})"
        if simulator_enabled():
            return "simulator (NUMBA_ENABLE_CUDASIM=1)"
        from numba import cuda as ncuda

        dev = ncuda.get_current_device()
        name = dev.name.decode() if isinstance(dev.name, bytes) else dev.name
        return f"real GPU: {name} (compute capability {dev.compute_capability})"
    except Exception as exc:  # never crash `info`
        return f"none ({type(exc).__name__}: {exc})"


def cmd_info(args: argparse.Namespace) -> int:
    import jitnet

    rows = [
        ("jitnet", jitnet.__version__),
        ("python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("numpy", _version("numpy")),
        ("numba", _version("numba")),
        ("llvmlite", _version("llvmlite")),
        ("platform", platform.platform()),
        ("threading", _threading()),
        ("cuda", _cuda_status()),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


# ---------------------------------------------------------------------- entry point

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jitnet", description="jitnet: train a model, or "
                                     "report the installation.")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train an image classifier (default: a CNN on the "
                       "bundled 8x8 digits)")
    t.add_argument("--model", choices=MODELS, default=DEFAULTS["model"])
    t.add_argument("--data", choices=DATASETS, default=DEFAULTS["data"],
                   help="digits is bundled; mnist and cifar10 are read from --data-dir")
    t.add_argument("--data-dir", default=DEFAULTS["data_dir"],
                   help="root holding MNIST/raw/... or cifar-10-batches-py/ (default: data)")
    t.add_argument("--epochs", type=_positive_int, default=None,
                   help=f"default {DEFAULTS['epochs']} (charlm: 3 lstm, 8 transformer)")
    t.add_argument("--batch-size", type=_positive_int, default=DEFAULTS["batch_size"])
    t.add_argument("--lr", type=_positive_float, default=None,
                   help=f"default {DEFAULTS['lr']} (charlm: per model)")
    t.add_argument("--device", default=DEFAULTS["device"], help="cpu or cuda")
    t.add_argument("--out", default=None, help="output directory (default: runs/<timestamp>)")
    t.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    t.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    t.add_argument("--task", choices=TASKS, default="classify",
                   help="classify images (default) or train a character-level language "
                   "model (charlm: --model lstm|transformer, --data-file)")
    t.add_argument("--data-file", default=None, help="charlm: a UTF-8 text file (default: "
                   "a sample of the Python standard library's source)")
    t.add_argument("--max-chars", type=_positive_int, default=300_000,
                   help="charlm: size of the default corpus sample")
    t.set_defaults(func=cmd_train)
    g = sub.add_parser("generate", help="sample text from a --task charlm run")
    g.add_argument("run_dir", help="the --out directory of a charlm run")
    g.add_argument("--prompt", default="def ")
    g.add_argument("--length", type=_positive_int, default=200)
    g.add_argument("--temperature", type=float, default=0.8)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="cpu")
    g.set_defaults(func=_cmd_generate)
    i = sub.add_parser("info", help="versions, Numba threading and CUDA availability")
    i.set_defaults(func=cmd_info)
    return parser


def _cmd_generate(args: argparse.Namespace) -> int:
    from .charlm import cmd_generate

    return cmd_generate(args)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``jitnet`` command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    if getattr(args, "device", "cpu") not in ("cpu", "cuda") and \
            not str(args.device).startswith("cuda:"):
        print(f"jitnet: --device must be cpu or cuda, got {args.device!r}", file=sys.stderr)
        return 2
    os.environ.setdefault("MPLBACKEND", "Agg")
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
