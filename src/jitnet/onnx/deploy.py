"""From a ``jitnet train`` run folder to a deployable ONNX model, and back to predictions.

``jitnet export RUN`` and ``jitnet predict RUN IMAGE`` (cli.py) are thin over
these.  The exported graph takes raw images as a user has them, float32
``(batch, C, H, W)`` in [0, 1]: the normalisation the training applied (the
per-channel mean/std that ``history.json`` records under ``"export"``) is the
first op of the graph.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import nn
from ..tensor import Tensor, tensor


class RunError(ValueError):
    """A run folder or an image that cannot be used (the CLI prints it on one line)."""


class Normalize(nn.Module):
    """(x - mean) / std per channel of (N, C, H, W) input; mean and std are buffers."""

    def __init__(self, mean, std) -> None:
        super().__init__()
        c = len(mean)
        self.register_buffer("mean", tensor(np.asarray(mean, np.float32).reshape(1, c, 1, 1)))
        self.register_buffer("std", tensor(np.asarray(std, np.float32).reshape(1, c, 1, 1)))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class Deployed(nn.Module):
    """The trained model behind its input normalisation: raw [0, 1] images in, logits out."""

    def __init__(self, normalize: Normalize, model: nn.Module) -> None:
        super().__init__()
        self.normalize, self.model = normalize, model

    def forward(self, x: Tensor) -> Tensor:
        return self.model(self.normalize(x))


def read_run(run_dir) -> dict:
    """The run's settings: ``config`` (model, data ...) and ``export`` (input_shape, mean,
    std, data_dir: what cli.cmd_train records for export)."""
    from ..cli import IN_SHAPES, NORMALISATION

    run = Path(run_dir)
    if not run.is_dir():
        raise RunError(f"{run} is not a directory (expected the --out folder of jitnet train)")
    hist, weights = run / "history.json", run / "model.safetensors"
    for p in (hist, weights):
        if not p.is_file():
            raise RunError(f"{p} not found: {run} is not a finished jitnet train run")
    try:
        record = json.loads(hist.read_text())
        config = record["config"]
        if (run / "charlm.json").is_file():
            raise RunError(f"{run} is a --task charlm run; export covers image classifiers "
                           "and the --task autoencoder model")
        if config.get("task") == "autoencoder":  # trained on the digits, pixels as they are
            config = dict(config, data="digits", model="autoencoder")
            return {"dir": run, "config": config, "kind": "autoencoder", "weights": weights,
                    "export": {"input_shape": [1, 8, 8], "mean": None, "std": None}}
        data = config["data"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RunError(f"{hist} has no training config ({exc})") from None
    info = record.get("export")
    if info is None:  # a run written before "export" was recorded: the dataset decides
        if data not in IN_SHAPES:
            raise RunError(f"{hist}: unknown dataset {data!r}")
        norm = NORMALISATION[data]
        info = {"input_shape": list(IN_SHAPES[data]), "mean": norm and list(norm[0]),
                "std": norm and list(norm[1]), "data_dir": "data"}
    return {"dir": run, "config": config, "kind": "classifier", "export": info,
            "weights": weights}


def load_deployable(run: dict) -> nn.Module:
    """The run's best checkpoint as a model taking raw [0, 1] images (eval mode)."""
    from ..cli import build_model
    from ..io import load

    if run.get("kind") == "autoencoder":
        from ..autoencoder import build_autoencoder

        model = build_autoencoder(int(run["config"].get("latent_dim", 8)))
    else:
        model = build_model(run["config"]["model"], tuple(run["export"]["input_shape"]))
    model.load_state_dict(load(run["weights"], map_location="cpu"))  # export traces on the CPU
    info = run["export"]
    if info.get("mean") is not None:
        model = Deployed(Normalize(info["mean"], info["std"]), model)
    return model.eval()


def raw_test_split(run: dict, data_dir: str | None = None):
    """The test split of the run's dataset as raw float32 (N, C, H, W) images in [0, 1] and
    int64 labels."""
    from ..cli import _normalised
    from ..data import datasets

    data = run["config"]["data"]
    if data == "digits":
        _, test = datasets.load_digits()
        return test.tensors[0].numpy(), test.tensors[1].numpy()
    cls = {"mnist": datasets.MNIST, "cifar10": datasets.CIFAR10}[data]
    ds = cls(data_dir or run["export"]["data_dir"], train=False)
    c = run["export"]["input_shape"][0]
    return _normalised(ds._images, (0.0,) * c, (1.0,) * c), np.asarray(ds._labels, np.int64)


def export_run(run: dict, out, opset: int = 17):
    """Write the run's deployable model to ``out``; returns (model, ModelProto).  Its input
    is ``image``; its output ``logits``, or ``reconstruction`` for an autoencoder run."""
    from .export import export

    model = load_deployable(run)
    example = tensor(np.zeros([2] + list(run["export"]["input_shape"]), np.float32))
    name = output_name(run)
    proto = export(model, example, str(out), input_names=["image"], output_names=[name],
                   dynamic_axes={"image": {0: "batch"}, name: {0: "batch"}},
                   opset_version=opset)
    return model, proto


def output_name(run: dict) -> str:
    """The exported graph's output: ``logits`` (classifiers) or ``reconstruction``."""
    return "reconstruction" if run.get("kind") == "autoencoder" else "logits"


def check_classifier(sess, path) -> None:
    """RunError unless the model at ``path`` returns (batch, classes) scores."""
    out = sess.get_outputs()[0]
    if len(out.shape) != 2:
        shape = ", ".join(str(d) for d in out.shape)
        raise RunError(f"{path} is not a classifier (its output {out.name!r} is [{shape}]); "
                       "predict applies to classifier runs")


def session(path):
    """An onnxruntime CPU session for ``path``."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise RunError("onnxruntime is not installed: pip install 'jitnet[onnx]'") from None
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """(C, H0, W0) -> (C, h, w): block means when the sizes divide, else nearest pixels."""
    c, h0, w0 = img.shape
    if (h0, w0) == (h, w):
        return img
    if h0 % h == 0 and w0 % w == 0:
        return img.reshape(c, h, h0 // h, w, w0 // w).mean(axis=(2, 4))
    rows = (np.arange(h) * h0 // h).clip(0, h0 - 1)
    cols = (np.arange(w) * w0 // w).clip(0, w0 - 1)
    return img[:, rows][:, :, cols]


def load_images(path, shape, invert: bool = False) -> np.ndarray:
    """A .png or .npy file as float32 (N, C, H, W) in [0, 1] for a model taking ``shape``
    (C, H, W).  Accepts (H, W), (H, W, 3|4) and, for .npy, (C, H, W) and (N, C, H, W);
    uint8 is scaled by 1/255, RGB becomes grey for 1-channel models, other sizes are
    resized; ``invert`` maps v to 1 - v (dark ink on white paper -> the digits' light ink)."""
    p = Path(path)
    c, h, w = shape
    if p.suffix.lower() == ".npy":
        arr = np.load(p)
    elif p.suffix.lower() == ".png":
        import matplotlib.image

        arr = matplotlib.image.imread(p)
    else:
        raise RunError(f"{p}: expected a .png or .npy file")
    if arr.dtype == np.uint8:
        arr = arr / 255.0
    arr = np.asarray(arr, np.float32)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.shape[0] not in (1, 3):
        arr = arr[..., :3].transpose(2, 0, 1)  # (H, W, RGB[A]) -> (3, H, W)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise RunError(f"{p}: expected an image of shape (H, W), (H, W, 3), (C, H, W) or "
                       f"(N, C, H, W), got {arr.shape}")
    if arr.shape[1] == 3 and c == 1:
        arr = arr.mean(axis=1, keepdims=True)
    if arr.shape[1] != c:
        raise RunError(f"{p}: the model takes {c}-channel images, got {arr.shape[1]} channels")
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise RunError(f"{p}: pixel values must lie in [0, 1] (or be uint8), got "
                       f"{arr.min():g}..{arr.max():g}")
    if invert:
        arr = 1.0 - arr
    return np.stack([_resize(im, h, w) for im in arr]).astype(np.float32)
