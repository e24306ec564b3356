"""The PyTorch twin of ``jitnet train`` with its defaults: the 'cnn' model (two stages of
3x3 conv, batch norm, ReLU and 2x2 max-pool, 16 and 32 channels, a linear classifier) on
the 8x8 digits (jitnet's split), 15 epochs of batch 32, Adam lr 0.005 with a cosine
schedule, evaluated on the test split (batch 256) after every epoch.  Like the command it
writes to ``--out``: the best epoch's weights, the last epoch's training state (model,
optimizer, scheduler, history) after every epoch, ``history.json`` and ``curves.png``.
With ``--jitnet`` the same program runs on jitnet: only the imports change (and the
checkpoints take jitnet's own file format, safetensors).

    python bench/programs/train_default.py [--jitnet] --out /tmp/run [--epochs 15]
"""
import argparse
import json
import sys
import time
from pathlib import Path

from digits_data import digits

if "--jitnet" in sys.argv:  # the same program on jitnet: PyTorch's names, jitnet's modules
    import jitnet as torch
    import jitnet.nn as nn
    from jitnet.data import DataLoader, TensorDataset
    from jitnet.optim.lr_scheduler import CosineAnnealingLR
    SUFFIX = ".safetensors"
else:
    import torch
    import torch.nn as nn
    from torch.optim.lr_scheduler import CosineAnnealingLR
    from torch.utils.data import DataLoader, TensorDataset
    SUFFIX = ".pt"


def build_model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10))


def run_epoch(model, loader, loss_fn, optimizer=None):
    """Mean loss and accuracy over ``loader``; one training pass when given an optimizer."""
    model.train(optimizer is not None)
    total, correct, count = 0.0, 0, 0
    with torch.set_grad_enabled(optimizer is not None):
        for x, y in loader:
            out = model(x)
            loss = loss_fn(out, y)
            if optimizer is not None:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total += loss.item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            count += len(y)
    return total / count, correct / count


def plot_curves(history, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, keys in ((ax_loss, ("loss", "val_loss")), (ax_acc, ("accuracy", "val_accuracy"))):
        for key in keys:
            ax.plot(history["epoch"], history[key], marker="o", label=key)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description="the default `jitnet train` run")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--jitnet", action="store_true", help="run on jitnet (the imports)")
    args = parser.parse_args()
    start = time.perf_counter()
    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = digits(args.seed)
    train_loader = DataLoader(TensorDataset(torch.tensor(x_train), torch.tensor(y_train)),
                              batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(TensorDataset(torch.tensor(x_test), torch.tensor(y_test)),
                             batch_size=256)
    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(vars(args)))
    history = {k: [] for k in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr")}
    best = -1.0
    for epoch in range(1, args.epochs + 1):
        took = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        loss, acc = run_epoch(model, train_loader, loss_fn, optimizer)
        val_loss, val_acc = run_epoch(model, test_loader, loss_fn)
        scheduler.step()
        for key, value in zip(history, (epoch, loss, acc, val_loss, val_acc, lr)):
            history[key].append(value)
        if val_acc > best:
            best = val_acc
            torch.save(model.state_dict(), out / f"model{SUFFIX}")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "epoch": epoch, "history": history},
                   out / f"last{SUFFIX}")
        print(f"epoch {epoch:>3}/{args.epochs}  train loss {loss:.4f}  train acc {acc:.4f}  "
              f"test loss {val_loss:.4f}  test acc {val_acc:.4f}  lr {lr:.2e}  "
              f"({time.perf_counter() - took:.1f} s)", flush=True)
    (out / "history.json").write_text(json.dumps(history, indent=2))
    plot_curves(history, out / "curves.png")
    print(f"best test accuracy {best:.4f}; {time.perf_counter() - start:.1f} s in all")


if __name__ == "__main__":
    main()
