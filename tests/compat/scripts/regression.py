"""Regression with a custom Module subclass, SGD with momentum, and a save/load round trip.

Plain PyTorch (torch, torch.nn, torch.optim).  The data and the initial
weights come from NumPy, so every framework sees the same numbers: the loss
curves of two frameworks can be compared step by step.  Summary JSON to --out.
"""
import argparse
import json
import os

import numpy as np
import torch
from torch import nn


class MLPRegressor(nn.Module):
    """y = w2 . tanh(W1 x + b1) + b2 + a linear skip term."""

    def __init__(self, n_in, hidden):
        super().__init__()
        self.hidden = nn.Linear(n_in, hidden)
        self.out = nn.Linear(hidden, 1)
        self.skip = nn.Parameter(torch.zeros(n_in))

    def forward(self, x):
        h = torch.tanh(self.hidden(x))
        return self.out(h).squeeze(-1) + x @ self.skip


def make_data(n, n_in, seed):
    w = 0.5 * np.random.default_rng(123).standard_normal(n_in).astype(np.float32)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_in)).astype(np.float32)
    y = np.sin(x @ w) + 0.5 * x[:, 0] - 0.1 * x[:, 1] ** 2
    y = y + 0.05 * rng.standard_normal(n).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))


def numpy_init(model, seed):
    rng = np.random.default_rng(seed)
    model.load_state_dict({
        name: torch.tensor(rng.uniform(-0.5, 0.5, tuple(p.shape)), dtype=torch.float32)
        for name, p in model.state_dict().items()
    })


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()

    torch.manual_seed(0)
    x, y = make_data(512, 6, seed=0)
    x_val, y_val = make_data(128, 6, seed=1)
    model = MLPRegressor(6, 16)
    numpy_init(model, seed=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
    loss_fn = nn.MSELoss()

    losses, val_losses = [], []
    for _epoch in range(args.epochs):
        model.train()
        for start in range(0, x.shape[0], args.batch_size):
            xb, yb = x[start:start + args.batch_size], y[start:start + args.batch_size]
            pred = model(xb)
            loss = loss_fn(pred, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            val_losses.append(loss_fn(model(x_val), y_val).item())

    # save, load into a fresh model, and check it predicts the same
    path = os.path.join(args.workdir, "regressor.pt")
    torch.save(model.state_dict(), path)
    clone = MLPRegressor(6, 16)
    clone.load_state_dict(torch.load(path))
    clone.eval()
    with torch.no_grad():
        same = torch.allclose(clone(x_val), model(x_val))
        baseline = ((y_val - y.mean()) ** 2).mean().item()
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    with open(args.out, "w") as f:
        json.dump({"framework": torch.__name__,
                   "train_losses": losses, "val_losses": val_losses,
                   "baseline_val_loss": baseline, "reloaded_same": bool(same),
                   "n_params": n_params, "skip": model.skip.detach().tolist()}, f)


if __name__ == "__main__":
    main()
