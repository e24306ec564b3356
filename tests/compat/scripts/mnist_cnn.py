"""A small CNN on MNIST-format IDX files, in the shape of PyTorch's examples/mnist/main.py.

Plain PyTorch: torch, torch.nn, torch.nn.functional, torch.optim, torchvision.
Prints nothing but a JSON summary written to --out.

--init-seed N builds the initial weights from NumPy (through load_state_dict),
so two frameworks can start from the same point; --dropout 0 and --no-shuffle
make the run deterministic.
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torchvision import datasets, transforms


class Net(nn.Module):
    def __init__(self, dropout=0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(2 * dropout)
        self.fc1 = nn.Linear(16 * 5 * 5, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def numpy_init(model, seed):
    """Every parameter from a seeded NumPy stream, loaded through load_state_dict."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, p in model.state_dict().items():
        fan_in = int(np.prod(p.shape[1:])) if p.dim() > 1 else 16
        values = rng.uniform(-1, 1, tuple(p.shape)) / np.sqrt(fan_in)
        state[name] = torch.from_numpy(values.astype(np.float32))
    model.load_state_dict(state)


def train(model, device, train_loader, optimizer):
    model.train()
    losses = []
    for data, target in train_loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    return test_loss, correct / len(test_loader.dataset)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.25)
    parser.add_argument("--no-shuffle", action="store_true")
    parser.add_argument("--init-seed", type=int, default=None)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.1307,), (0.3081,)),
    ])
    train_set = datasets.MNIST(args.data, train=True, download=False, transform=transform)
    test_set = datasets.MNIST(args.data, train=False, transform=transform)
    train_loader = torch.utils.data.DataLoader(
        train_set, batch_size=args.batch_size, shuffle=not args.no_shuffle)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=args.test_batch_size)

    model = Net(args.dropout).to(device)
    if args.init_seed is not None:
        numpy_init(model, args.init_seed)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)

    start = time.perf_counter()
    losses, history = [], []
    for _epoch in range(args.epochs):
        losses += train(model, device, train_loader, optimizer)
        history.append(test(model, device, test_loader))
        scheduler.step()
    elapsed = time.perf_counter() - start
    with open(args.out, "w") as f:
        json.dump({"framework": torch.__name__,
                        "train_losses": losses,
            "test_loss": [h[0] for h in history],
            "test_accuracy": [h[1] for h in history],
            "lr": optimizer.param_groups[0]["lr"],
            "n_train": len(train_set), "n_test": len(test_set),
            "seconds": elapsed,
        }, f)


if __name__ == "__main__":
    main()
