"""The ``jitnet`` command: ``jitnet train`` trains a small image classifier end to end,
``jitnet info`` reports versions, threading and CUDA, ``jitnet export`` / ``jitnet predict``
turn a run into an ONNX model and classify images with it, ``jitnet explain`` draws
attributions for one test image of a trained run, ``jitnet warmup`` compiles the kernels
ahead of a first run.  ``python -m jitnet`` is the same.

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
TASKS = ("classify", "autoencoder", "charlm")
DATASETS = ("digits", "mnist", "cifar10")
# Each dataset's images (C, H, W) and the per-channel (mean, std) that training normalises
# its [0, 1] pixels with (None: used as they are); `jitnet export` puts it in the graph.
IN_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
NORMALISATION = {"digits": None, "mnist": ((0.1307,), (0.3081,)),
                 "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))}


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
    if name not in NORMALISATION:
        raise ValueError(f"unknown dataset {name!r}; choose one of {DATASETS}")
    cls = datasets.MNIST if name == "mnist" else datasets.CIFAR10
    mean, std = NORMALISATION[name]
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


def plot_curves(history: dict, path: Path, title: str | None = None) -> None:
    """Loss and accuracy per epoch (train and test) as a PNG (matplotlib, Agg backend),
    under ``title`` (the CLI: model, data and final test accuracy); epochs are integer
    ticks even for a run of one or two epochs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

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
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _fail(cmd: str, message) -> int:
    """Print argparse's one-line form ``jitnet CMD: error: ...`` (a message or an exception,
    folded onto one line); returns the exit status 2."""
    print(f"jitnet {cmd}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def _train_error(message: str) -> int:
    return _fail("train", message)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _output_dir_problem(out: Path) -> str | None:
    """Why ``out`` cannot be the output directory (None when it can): it is a file, or it
    cannot be created or written.  Creates it (and its parents) when missing."""
    if out.exists() and not out.is_dir():
        return "exists and is not a directory; give a directory to write the run into"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create the directory ({exc.strerror or exc})"
    if not os.access(out, os.W_OK | os.X_OK):
        return "the directory is not writable"
    return None


def cmd_train(args: argparse.Namespace) -> int:
    import jitnet as jn

    from .data import DataLoader
    from .training import ModelCheckpoint, fit

    start = time.perf_counter()
    run = _resume_and_ranks(args)  # --resume / --distributed
    if isinstance(run, int):
        return run
    args, rank, world = run
    lead = rank == 0  # with --distributed only rank 0 prints and writes
    if args.device.startswith("cuda") and not jn.cuda.is_available():
        return _train_error("--device cuda was asked for, but CUDA is not available "
                            f"({jn.cuda._probe()[1]}); use --device cpu")
    out = Path(args.out) if args.out else Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    problem = _output_dir_problem(out)  # before any work: a bad --out fails at once
    if problem:
        return _train_error(f"--out {args.out or out}: {problem}")
    if args.task == "charlm":  # a character-level language model (charlm.py)
        if world > 1:
            return _train_error("--task charlm does not support --distributed")
        from .charlm import train_charlm

        args.out = str(out)
        return train_charlm(args)
    args.lr = DEFAULTS["lr"] if args.lr is None else args.lr
    args.epochs = DEFAULTS["epochs"] if args.epochs is None else args.epochs
    if args.task == "autoencoder":  # issue 13: a conv autoencoder with ConvTranspose2d
        if world > 1:
            return _train_error("--task autoencoder does not support --distributed")
        from .autoencoder import train_autoencoder

        args.out = str(out)
        return train_autoencoder(args)
    jn.manual_seed(args.seed)
    discovery = _start_discovery(args) if world == 1 and args.device == "cpu" else None
    try:
        train_set, test_set = load_data(args.data, args.data_dir)
    except (FileNotFoundError, ValueError) as exc:
        return _train_error(str(exc))
    in_shape = tuple(train_set.tensors[0].shape[1:])
    model = build_model(args.model, in_shape).to(args.device)
    n_params = sum(p.numel() for p in model.parameters())
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    if world > 1:  # each rank trains on its shard of every global batch
        model = jn.nn.parallel.DistributedDataParallel(model)
        train_loader = DataLoader(train_set, batch_size=args.batch_size // world,
                                  sampler=jn.data.DistributedSampler(train_set, seed=args.seed))
    optimizer = jn.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = jn.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    checkpoint = ModelCheckpoint(out / "model.safetensors", monitor="val_accuracy",
                                 mode="max")
    if lead:
        out.mkdir(parents=True, exist_ok=True)
        if not args.resume:
            _write_run_config(out, args)
        print(f"jitnet train: {args.model} ({n_params} parameters) on {args.data} "
              f"({len(train_set)} train / {len(test_set)} test), "
              f"{_plural(args.epochs, 'epoch')}, batch {args.batch_size}, Adam lr {args.lr} "
              f"(cosine), {args.device}, seed {args.seed}"
              + (f", {world} ranks" if world > 1 else "")
              + (f"; resuming {out}" if args.resume else ""), flush=True)
    if discovery is not None:
        _warm_first(args, discovery)
    history = fit(model, train_loader,
                  optimizer, jn.nn.CrossEntropyLoss(), epochs=args.epochs,
                  val_loader=DataLoader(test_set, batch_size=256),
                  callbacks=[checkpoint, EpochPrinter(args.epochs)] if lead else [],
                  scheduler=scheduler, device=args.device, progress=not args.no_progress,
                  state_dir=out, resume_from=out if args.resume else None)
    if not lead:
        return 0
    elapsed = time.perf_counter() - start
    record = history.to_dict()
    record["config"] = {k: getattr(args, k) for k in
                        ("model", "data", "epochs", "batch_size", "lr", "seed", "device")}
    record["best"] = {"epoch": checkpoint.best_epoch, "val_accuracy": checkpoint.best}
    norm = NORMALISATION[args.data]  # what `jitnet export` needs to take raw [0, 1] images
    record["export"] = {"input_shape": list(in_shape), "mean": norm and list(norm[0]),
                        "std": norm and list(norm[1]), "data_dir": os.path.abspath(args.data_dir)}
    record["seconds"] = elapsed
    if args.quantize:
        plain = model.module if world > 1 else model  # the checkpoint holds unwrapped keys
        record["quantized"] = _write_quantized(plain, out, DataLoader(test_set, batch_size=256),
                                               args.device)
    with open(out / "history.json", "w") as fh:
        json.dump(record, fh, indent=2)
    plot_curves(record, out / "curves.png",
                title=f"{args.model} on {args.data}: final test accuracy "
                      f"{history['val_accuracy'][-1]:.1%}")
    print(f"best test accuracy {checkpoint.best:.4f} (epoch {checkpoint.best_epoch}), final "
          f"{history['val_accuracy'][-1]:.4f}; {elapsed:.1f} s in all")
    print(f"wrote {out / 'model.safetensors'}, {out / 'history.json'}, {out / 'curves.png'}")
    return 0


# ---------------------------------------------------------------------- --resume, --distributed

RUN_CONFIG = "config.json"   # the options a run started with, for --resume
_RUN_OPTIONS = ("model", "data", "data_dir", "epochs", "batch_size", "lr", "seed", "device")


def _write_run_config(out: Path, args: argparse.Namespace) -> None:
    from .training import _write_json_atomic

    _write_json_atomic(str(out / RUN_CONFIG), {k: getattr(args, k) for k in _RUN_OPTIONS})


def _resume_and_ranks(args: argparse.Namespace):
    """Apply --resume (the run's own options) and --distributed (join the MPI ranks; the
    output folder is rank 0's).  Returns (args, rank, world size), or an exit status."""
    from .training import training_state_path

    if args.resume:
        run_dir = Path(args.resume)
        if not os.path.isfile(training_state_path(run_dir)) or \
                not (run_dir / RUN_CONFIG).is_file():
            return _train_error(f"--resume: {run_dir} holds no training state to resume (no "
                                f"last.safetensors and {RUN_CONFIG}); start a run with --out "
                                "first")
        try:
            saved = json.loads((run_dir / RUN_CONFIG).read_text())
            for key in _RUN_OPTIONS:
                setattr(args, key, saved[key])
        except (OSError, ValueError, KeyError) as exc:
            return _train_error(f"--resume: cannot read {run_dir / RUN_CONFIG} ({exc})")
        args.out = str(run_dir)
    if not args.distributed:
        args.out = args.out or str(Path("runs") / time.strftime("%Y%m%d-%H%M%S"))
        return args, 0, 1
    import jitnet.distributed as dist

    try:
        dist.init_process_group("mpi")
    except RuntimeError as exc:  # mpi4py missing
        return _train_error(f"--distributed: {exc}")
    rank, world = dist.get_rank(), dist.get_world_size()
    if args.batch_size % world:
        return _train_error(f"--distributed: --batch-size {args.batch_size} (the global "
                            f"batch) must be a multiple of the number of ranks, {world}") \
            if rank == 0 else 2
    box = [args.out or str(Path("runs") / time.strftime("%Y%m%d-%H%M%S"))]
    dist.broadcast_object_list(box, 0)
    args.out = box[0]
    return args, rank, world
def _write_quantized(model, out: Path, test_loader, device: str) -> dict:
    """``train --quantize``: the best checkpoint as an int8 model (Linear: dynamic int8,
    Conv2d: int8 weights) in ``model_int8.safetensors``; returns its accuracy and sizes."""
    import jitnet as jn

    from .training import evaluate

    model.load_state_dict(jn.load(out / "model.safetensors"))
    qmodel = jn.quantization.quantize_dynamic(model, {jn.nn.Linear, jn.nn.Conv2d})
    path = out / "model_int8.safetensors"
    jn.save(qmodel.state_dict(), path)
    info = {"val_accuracy": evaluate(qmodel, test_loader, device=device)["accuracy"],
            "bytes": path.stat().st_size,
            "float_bytes": (out / "model.safetensors").stat().st_size}
    print(f"int8 model: test accuracy {info['val_accuracy']:.4f}, {info['bytes']} bytes "
          f"({info['bytes'] / info['float_bytes']:.0%} of float); wrote {path}")
    return info


# ---------------------------------------------------------------------- explain

def cmd_explain(args: argparse.Namespace) -> int:
    """``jitnet explain RUN_DIR --index N``: a PNG of four attributions for one test image."""
    import jitnet as jn

    def fail(msg: str) -> int:
        return _fail("explain", msg)

    run = Path(args.run_dir)
    if not (run / "history.json").is_file() or not (run / "model.safetensors").is_file():
        return fail(f"{run} is not a run directory (expected history.json and "
                    "model.safetensors from `jitnet train`)")
    config = json.loads((run / "history.json").read_text()).get("config", {})
    try:
        _, test_set = load_data(config.get("data", "digits"), args.data_dir)
    except (FileNotFoundError, ValueError) as exc:
        return fail(str(exc))
    images, labels = test_set.tensors
    if not 0 <= args.index < len(labels):
        return fail(f"--index must be in 0..{len(labels) - 1}, got {args.index}")
    model = build_model(config.get("model", "mlp"), tuple(images.shape[1:]))
    model.load_state_dict(jn.load(run / "model.safetensors"))
    model.eval()
    x, label = images[args.index:args.index + 1], int(labels[args.index])
    with jn.no_grad():
        pred = int(model(x).argmax(1).item())
    h = x.shape[-1]
    convs = [m for m in model.modules() if isinstance(m, jn.nn.Conv2d)]
    maps = {"saliency": jn.explain.saliency(model, x, pred),
            "integrated gradients": jn.explain.integrated_gradients(model, x, pred),
            "grad-cam": jn.explain.grad_cam(model, x, pred, convs[-1]) if convs else None,
            "occlusion": jn.explain.occlusion(model, x, pred, window=max(1, h // 4),
                                              stride=max(1, h // 8))}
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 5, figsize=(13, 3))
    image = x[0].sum(0).numpy()
    axes[0].imshow(image, cmap="gray")
    axes[0].set_title(f"test #{args.index}: label {label}, predicted {pred}")
    axes[0].axis("off")
    for ax, (name, att) in zip(axes[1:], maps.items()):
        if att is None:
            ax.axis("off")
            ax.set_title(f"{name}: n/a (no conv layer)")
            continue
        jn.explain.plot(image, att[0], ax=ax, title=name)
    fig.tight_layout()
    path = Path(args.out) if args.out else run / f"explain_{args.index}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")
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


def _distributed_status() -> str:
    """mpi4py's version and how CUDA tensors travel (CUDA-aware MPI or host staging)."""
    try:
        from .distributed import cuda_transport

        version = _version("mpi4py")
        transport = cuda_transport()
        return transport if version == "not installed" else f"mpi4py {version}; {transport}"
    except Exception as exc:  # never crash `info`
        return f"unavailable ({type(exc).__name__}: {exc})"


def _runtime_rows() -> list[tuple[str, str]]:
    """jitnet.runtime's settings, applied as the first matrix product would apply them."""
    from . import runtime
    from .kernels import ahead

    runtime.apply_cpu_settings()
    s = runtime.settings()
    return [("blas", s["blas"]), ("allocator", s["allocator"]),
            ("compile ahead", ahead.status())]


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
        *_runtime_rows(),
        ("cuda", _cuda_status()),
        ("distributed", _distributed_status()),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


# ---------------------------------------------------------------------- export, predict

def cmd_export(args: argparse.Namespace) -> int:
    """RUN_DIR -> RUN_DIR/model.onnx (raw [0, 1] images in, logits out; reconstructions for
    an autoencoder run), checked against jitnet on the test split with onnxruntime."""
    try:
        from .onnx import deploy

        run = deploy.read_run(args.run_dir)
        out = Path(args.out) if args.out else run["dir"] / _export_name(args)
        model, proto = _exporter(args)(run, out, args.opset)
        sess = deploy.session(out)
    except (ImportError, OSError, ValueError, NotImplementedError) as exc:
        return _fail("export", exc)
    import jitnet as jn

    print(f"jitnet export: wrote {out} (opset {args.opset}, {out.stat().st_size / 1024:.1f} "
          f"KiB, {len(proto.graph.node)} nodes)")
    for kind, values in (("input", sess.get_inputs()), ("output", sess.get_outputs())):
        for v in values:
            dtype = v.type.removeprefix("tensor(").rstrip(")").replace("float", "float32")
            print(f"  {kind:<6} {v.name:<7} {dtype} [{', '.join(str(d) for d in v.shape)}]")
    if run["kind"] == "autoencoder":  # no classes: compare the reconstructions instead
        x = deploy.raw_test_split(run)[0]
        ort_y = np.concatenate([sess.run(None, {"image": x[i:i + 256]})[0]
                                for i in range(0, len(x), 256)])
        jn_y = jn.predict(model, jn.as_tensor(x)).numpy()
        print(f"  test reconstruction MSE on digits ({len(x)} images): onnxruntime "
              f"{np.mean((ort_y - x) ** 2):.5f}, jitnet {np.mean((jn_y - x) ** 2):.5f}")
        return 0
    try:
        x, y = deploy.raw_test_split(run, args.data_dir)
    except (OSError, ValueError) as exc:
        print(f"  test accuracy: not measured ({' '.join(str(exc).split())})")
        return 0
    ort_pred = np.concatenate([sess.run(None, {"image": x[i:i + 256]})[0].argmax(1)
                               for i in range(0, len(x), 256)])
    jn_pred = jn.predict(model, jn.as_tensor(x)).numpy().argmax(1)
    print(f"  test accuracy on {run['config']['data']} ({len(y)} images): onnxruntime "
          f"{(ort_pred == y).mean():.4f}, jitnet {(jn_pred == y).mean():.4f}")
    return 0


def _export_name(args: argparse.Namespace) -> str:
    return "model_int8.onnx" if args.quantize else "model.onnx"


def _exporter(args: argparse.Namespace):
    """``export --quantize``: int8 Linear layers as MatMulInteger (onnx/quantized.py)."""
    from .onnx import deploy, quantized

    return quantized.export_quantized_run if args.quantize else deploy.export_run


def cmd_predict(args: argparse.Namespace) -> int:
    """Classify images with RUN_DIR/model.onnx: the class and every class's probability."""
    try:
        from .onnx import deploy

        path = Path(args.model) if args.model else Path(args.run_dir) / "model.onnx"
        if not path.is_file():
            raise deploy.RunError(f"{path} not found; run `jitnet export {args.run_dir}` first")
        sess = deploy.session(path)
        deploy.check_classifier(sess, path)
        shape = tuple(sess.get_inputs()[0].shape[1:])
        name = sess.get_inputs()[0].name
        for image in args.images:
            x = deploy.load_images(image, shape, args.invert)
            probs = deploy.softmax(sess.run(None, {name: x})[0])
            for i, p in enumerate(probs):
                label = image if len(probs) == 1 else f"{image}[{i}]"
                k = int(p.argmax())
                print(f"{label}: class {k} (probability {p[k]:.4f})")
                print("  " + "  ".join(f"{c}: {v:.4f}" for c, v in enumerate(p)))
    except (ImportError, OSError, ValueError) as exc:
        return _fail("predict", exc)
    return 0


# ---------------------------------------------------------------------- warmup

def cmd_warmup(args: argparse.Namespace) -> int:
    """Compile (into Numba's disk cache) every kernel a default ``jitnet train`` runs — one
    training step and one evaluation of each model — on every core (jitnet.warmup).
    Later runs, in any process, load the kernels instead of compiling them."""
    from . import warmup

    try:
        r = warmup.warm(args.model or MODELS, jobs=args.jobs, progress=not args.no_progress)
    except (RuntimeError, OSError) as exc:
        return _fail("warmup", exc)
    print(f"jitnet warmup: {r['kernels']} kernel signatures ready in {r['seconds']:.1f} s "
          f"({r['compile_seconds']:.1f} s of compiling over {r['jobs']} processes); later "
          "runs load them from Numba's cache")
    return 0


def _start_discovery(args: argparse.Namespace):
    """On a cold kernel cache, start discovering the model's kernels (a child process) while
    ``jitnet train`` loads its data; None when there is nothing to warm up."""
    from . import warmup

    try:
        if args.no_warmup or not warmup.needs_warmup(args.model):
            return None
        return warmup.discover_in_background([args.model], train_batch=args.batch_size)
    except (RuntimeError, OSError) as exc:  # never fatal: the kernels compile on first use
        print(f"jitnet train: note: parallel warm-up skipped ({exc})", file=sys.stderr)
        return None


def _warm_first(args: argparse.Namespace, discovery) -> None:
    """``jitnet train`` on a cold kernel cache: compile the model's kernels on every core
    before training (one bar, "compiling kernels (first run only)"), so the first epoch
    neither waits on one core nor carries compile time in its ETA."""
    from . import warmup

    try:
        warmup.warm([args.model], progress=not args.no_progress, train_batch=args.batch_size,
                    entries=discovery)
    except (RuntimeError, OSError) as exc:  # never fatal: the kernels compile on first use
        print(f"jitnet train: note: parallel warm-up skipped ({exc})", file=sys.stderr)


# ---------------------------------------------------------------------- entry point

class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: ...)`` for flags with a value; not for switches or None."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False \
                or "default:" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jitnet", description="jitnet: train a model, or "
                                     "report the installation.")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train an image classifier (default: a CNN on the "
                       "bundled 8x8 digits)",
                       description="Train an image classifier and write model.safetensors, "
                       "history.json and curves.png to --out.",
                       formatter_class=_DefaultsFormatter)
    t.add_argument("--task", choices=TASKS, default="classify",
                   help="classify images; autoencoder (a conv autoencoder on the digits, "
                   "writing reconstructions.png); charlm (a character-level language model: "
                   "--model lstm|transformer, --data-file)")
    t.add_argument("--model", choices=MODELS, default=DEFAULTS["model"],
                   help="mlp: one hidden layer; cnn: two conv/batch-norm stages; "
                   "lenet: LeNet-5; lstm / transformer: the image read row by row")
    t.add_argument("--data", choices=DATASETS, default=DEFAULTS["data"],
                   help="digits is bundled; mnist and cifar10 are read from --data-dir")
    t.add_argument("--data-dir", default=DEFAULTS["data_dir"],
                   help="root holding MNIST/raw/... or cifar-10-batches-py/")
    t.add_argument("--epochs", type=_positive_int, default=None,
                   help="passes over the training set (charlm: 3 for lstm, 8 for transformer) "
                   f"(default: {DEFAULTS['epochs']})")
    t.add_argument("--batch-size", type=_positive_int, default=DEFAULTS["batch_size"],
                   help="images per optimizer step")
    t.add_argument("--lr", type=_positive_float, default=None,
                   help="Adam's initial learning rate, cosine-annealed to 0 (charlm: per "
                   f"model) (default: {DEFAULTS['lr']})")
    t.add_argument("--device", default=DEFAULTS["device"], help="cpu, cuda or cuda:N")
    t.add_argument("--out", default=None,
                   help="output directory (default: runs/<timestamp>)")
    t.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                   help="seed of jitnet's generator (weights, shuffling)")
    t.add_argument("--no-progress", action="store_true", help="no tqdm progress bars")
    t.add_argument("--no-warmup", action="store_true", help="on a cold kernel cache, compile "
                   "each kernel when first used instead of all at once on every core")
    # training that survives a kill, and data-parallel training over MPI (docs/distributed.md)
    t.add_argument("--resume", metavar="RUN_DIR", default=None,
                   help="continue the run in RUN_DIR from its last.safetensors, with the "
                   "options it was started with (other options are ignored)")
    t.add_argument("--distributed", action="store_true",
                   help="train across the ranks of `mpiexec -n N jitnet train --distributed`; "
                   "--batch-size is the global batch; rank 0 prints and writes")
    t.add_argument("--quantize", action="store_true", help="also write the best model as "
                   "int8 (model_int8.safetensors) and report its test accuracy")
    t.add_argument("--data-file", default=None, help="charlm: a UTF-8 text file (default: "
                   "a sample of the Python standard library's source)")
    t.add_argument("--max-chars", type=_positive_int, default=300_000,
                   help="charlm: size of the default corpus sample")
    t.set_defaults(func=cmd_train)
    g = sub.add_parser("generate", help="sample text from a --task charlm run")
    g.add_argument("run_dir", help="the --out directory of a charlm run")
    g.add_argument("--prompt", default="def ", help="the text to continue")
    g.add_argument("--length", type=_positive_int, default=200, help="characters to sample")
    g.add_argument("--temperature", type=float, default=0.8, help="sampling temperature")
    g.add_argument("--seed", type=int, default=0, help="seed of the sampling")
    g.add_argument("--device", default="cpu", help="cpu or cuda")
    g.set_defaults(func=_cmd_generate)
    e = sub.add_parser("explain", help="a PNG of saliency, integrated gradients, Grad-CAM and "
                       "occlusion for one test image of a run")
    e.add_argument("run_dir", help="a directory written by `jitnet train`")
    e.add_argument("--index", type=int, default=0, help="which test image (default: 0)")
    e.add_argument("--data-dir", default=DEFAULTS["data_dir"],
                   help="root of mnist/cifar10 data, as for train (default: data)")
    e.add_argument("--out", default=None, help="PNG path (default: RUN_DIR/explain_N.png)")
    e.set_defaults(func=cmd_explain)
    i = sub.add_parser("info", help="versions, Numba threading and CUDA availability")
    i.set_defaults(func=cmd_info)
    e = sub.add_parser("export", help="export a trained run to ONNX (RUN_DIR/model.onnx) and "
                       "check it in onnxruntime")
    e.add_argument("run_dir", metavar="RUN_DIR", help="the --out folder of jitnet train")
    e.add_argument("--out", default=None, help="output file (default: RUN_DIR/model.onnx)")
    e.add_argument("--opset", type=int, default=17, help="ONNX opset (13..21, default 17)")
    e.add_argument("--data-dir", default=None, help="where mnist/cifar10 live (default: the "
                   "run's --data-dir)")
    e.add_argument("--quantize", action="store_true", help="export the int8 model instead "
                   "(Linear as MatMulInteger; default file RUN_DIR/model_int8.onnx)")
    e.set_defaults(func=cmd_export)
    p = sub.add_parser("predict", help="classify .png/.npy images with RUN_DIR/model.onnx")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("images", metavar="IMAGE", nargs="+", help=".png or .npy, pixels in [0, 1] "
                   "or uint8; resized to the model's input")
    p.add_argument("--model", default=None, help="ONNX file (default: RUN_DIR/model.onnx)")
    p.add_argument("--invert", action="store_true", help="use 1 - pixel (dark ink on light "
                   "paper; the digits are light ink on dark)")
    p.set_defaults(func=cmd_predict)
    wu = sub.add_parser("warmup", help="compile the kernels the default models need, once "
                        "(they are cached on disk for every later run)")
    wu.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    wu.add_argument("-j", "--jobs", type=_positive_int, default=None,
                    help="compile processes (default: one per core)")
    wu.add_argument("--model", action="append", choices=MODELS, default=None,
                    help="warm up only this model (repeatable; default: every model)")
    wu.set_defaults(func=cmd_warmup)
    return parser


def _cmd_generate(args: argparse.Namespace) -> int:
    from .charlm import cmd_generate

    return cmd_generate(args)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number such as 0.01, "
                                         f"got {text!r}")
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
