"""A custom Dataset with DataLoader, random_split, Adam and a cosine schedule.

Plain PyTorch (torch, torch.nn, torch.nn.functional, torch.optim, torch.utils.data):
three-class spirals, a small MLP with BatchNorm, cross-entropy.  Summary JSON to --out.
"""
import argparse
import json
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, random_split


class Spirals(Dataset):
    """Points on three interleaved spirals; item i is (features float32 (2,), label int64)."""

    def __init__(self, n_per_class=200, noise=0.15, seed=0):
        rng = np.random.default_rng(seed)
        points, labels = [], []
        for c in range(3):
            r = np.linspace(0.1, 1.0, n_per_class)
            theta = np.linspace(c * 2 * math.pi / 3, c * 2 * math.pi / 3 + 3.0, n_per_class)
            theta = theta + noise * rng.standard_normal(n_per_class)
            points.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))
            labels.append(np.full(n_per_class, c))
        self.x = torch.tensor(np.concatenate(points), dtype=torch.float32)
        self.y = torch.tensor(np.concatenate(labels), dtype=torch.long)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]


def make_model():
    return nn.Sequential(
        nn.Linear(2, 64), nn.BatchNorm1d(64), nn.ReLU(),
        nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 3),
    )


def evaluate(model, loader):
    model.eval()
    correct, total, loss = 0, 0, 0.0
    with torch.no_grad():
        for xb, yb in loader:
            logits = model(xb)
            loss += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += (logits.argmax(1) == yb).sum().item()
            total += yb.shape[0]
    return loss / total, correct / total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()

    torch.manual_seed(0)
    data = Spirals()
    train_set, val_set = random_split(data, [480, 120],
                                      generator=torch.Generator().manual_seed(42))
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True, drop_last=True)
    val_loader = DataLoader(val_set, batch_size=64)

    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    history = []
    for _epoch in range(args.epochs):
        model.train()
        for xb, yb in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
        scheduler.step()
        history.append(evaluate(model, val_loader))
    with open(args.out, "w") as f:
        json.dump({"framework": torch.__name__,
                   "val_loss": [h[0] for h in history], "val_accuracy": [h[1] for h in history],
                   "n_train": len(train_set), "n_val": len(val_set),
                   "batches_per_epoch": len(train_loader),
                   "final_lr": scheduler.get_last_lr()[0],
                   "val_indices_disjoint": len(set(train_set.indices) & set(val_set.indices)) == 0},
                  f)


if __name__ == "__main__":
    main()
