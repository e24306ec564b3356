"""A convolutional autoencoder for the bundled 8x8 digits, behind ``jitnet train --task
autoencoder`` and notebook 08: the model, its training run, and the image grid it writes.

Encoder: two stride-2 3x3 convolutions (8x8 -> 4x4 -> 2x2, 16 and 32 channels) and a linear
map to a ``latent_dim`` code; decoder: the mirror image, a linear map back to 32x2x2 and two
stride-2 ``ConvTranspose2d`` (output_padding 1, so 2x2 -> 4x4 -> 8x8) ending in a sigmoid,
since the digits are scaled to [0, 1].  Trained with the mean squared reconstruction error.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def build_autoencoder(latent_dim: int = 8, channels: int = 1):
    """``nn.Sequential(encoder, decoder)`` for (N, channels, 8, 8) images; ``model[0]`` maps an
    image to its (N, latent_dim) code and ``model[1]`` a code back to an image."""
    from . import nn

    encoder = nn.Sequential(
        nn.Conv2d(channels, 16, 3, stride=2, padding=1), nn.ReLU(inplace=True),   # 4x4
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(inplace=True),         # 2x2
        nn.Flatten(), nn.Linear(32 * 2 * 2, latent_dim))
    decoder = nn.Sequential(
        nn.Linear(latent_dim, 32 * 2 * 2), nn.ReLU(inplace=True), nn.Unflatten(1, (32, 2, 2)),
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1),    # 4x4
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(16, channels, 3, stride=2, padding=1, output_padding=1),  # 8x8
        nn.Sigmoid())
    return nn.Sequential(encoder, decoder)


def reconstruction_grid(originals: np.ndarray, reconstructions: np.ndarray, path,
                        title: str = "") -> None:
    """A PNG of (N, 1, H, W) images in [0, 1]: originals in the top row, their reconstructions
    below (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(originals)
    fig, axes = plt.subplots(2, n, figsize=(1.1 * n, 2.6), squeeze=False)
    for row, images in enumerate((originals, reconstructions)):
        for i in range(n):
            ax = axes[row, i]
            ax.imshow(images[i, 0], cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(("original", "reconstructed")[row])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train_autoencoder(args: argparse.Namespace, latent_dim: int = 8) -> int:
    """``jitnet train --task autoencoder``: fit on the digits' train split, report the test
    reconstruction MSE per epoch; write model.safetensors (best test MSE), history.json and
    reconstructions.png (the first 10 test digits above their reconstructions)."""
    import jitnet as jn

    from .data import DataLoader, TensorDataset
    from .training import ModelCheckpoint, fit

    if args.data != "digits":
        print(f"jitnet train: error: --task autoencoder trains on the bundled digits, not "
              f"{args.data}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    jn.manual_seed(args.seed)
    train_set, test_set = (TensorDataset(ds.tensors[0], ds.tensors[0])
                           for ds in jn.data.datasets.load_digits())
    model = build_autoencoder(latent_dim).to(args.device)
    optimizer = jn.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = jn.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    out = Path(args.out) if args.out else Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = ModelCheckpoint(out / "model.safetensors", monitor="val_loss", mode="min")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"jitnet train: conv autoencoder ({n_params} parameters, latent {latent_dim}) on "
          f"digits ({len(train_set)} train / {len(test_set)} test), {args.epochs} epochs, batch "
          f"{args.batch_size}, Adam lr {args.lr} (cosine), {args.device}", flush=True)

    class _Printer(jn.training.Callback):
        def on_epoch_end(self, epoch, logs):
            print(f"epoch {epoch:>3}/{args.epochs}  train mse {logs['loss']:.5f}  "
                  f"test mse {logs['val_loss']:.5f}", flush=True)

    history = fit(model, DataLoader(train_set, batch_size=args.batch_size, shuffle=True),
                  optimizer, jn.nn.MSELoss(), epochs=args.epochs, metrics=(),
                  val_loader=DataLoader(test_set, batch_size=256),
                  callbacks=[checkpoint, _Printer()], scheduler=scheduler, device=args.device,
                  progress=not args.no_progress)
    record = history.to_dict()
    record["train_mse"], record["reconstruction_mse"] = record["loss"], record["val_loss"]
    record["config"] = {k: getattr(args, k) for k in
                        ("task", "epochs", "batch_size", "lr", "seed", "device")}
    record["config"]["latent_dim"] = latent_dim
    record["best"] = {"epoch": checkpoint.best_epoch, "reconstruction_mse": checkpoint.best}
    record["seconds"] = time.perf_counter() - start
    with open(out / "history.json", "w") as fh:
        json.dump(record, fh, indent=2)
    model.eval()
    x = test_set.tensors[0][:10]
    with jn.no_grad():
        y = model(x.to(args.device)).cpu().numpy()
    reconstruction_grid(x.numpy(), y, out / "reconstructions.png",
                        f"test reconstructions, MSE {record['val_loss'][-1]:.4f}")
    print(f"best test reconstruction MSE {checkpoint.best:.5f} (epoch {checkpoint.best_epoch}); "
          f"{record['seconds']:.1f} s in all")
    print(f"wrote {out / 'model.safetensors'}, {out / 'history.json'}, "
          f"{out / 'reconstructions.png'}")
    return 0
