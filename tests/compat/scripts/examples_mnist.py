"""pytorch/examples' mnist/main.py as of PyTorch 2.6+ (torch.accelerator), on MNIST IDX files.

The program's shape is the example's: argparse flags (--no-accel, --dry-run,
--log-interval, --save-model), ``torch.accelerator`` device selection,
Adadelta with StepLR, ``torch.save(model.state_dict(), ...)``, then a reload
with ``torch.load(..., weights_only=True)``.  Added for comparison only:
--out (a JSON summary), --init-seed (weights from NumPy), --dropout and
--no-shuffle (a deterministic run), --max-batches (a short run).
"""
# ruff: noqa: UP004, UP008, UP031, UP032, B007, B028  (upstream's idioms, kept as written)
import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torchvision import datasets, transforms


class Net(nn.Module):
    def __init__(self, dropout=0.25):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(2 * dropout)
        self.fc1 = nn.Linear(2304, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def numpy_init(model, seed):
    rng = np.random.default_rng(seed)
    state = {}
    for name, p in model.state_dict().items():
        fan_in = int(np.prod(p.shape[1:])) if p.dim() > 1 else 16
        state[name] = torch.from_numpy(
            (rng.uniform(-1, 1, tuple(p.shape)) / np.sqrt(fan_in)).astype(np.float32))
    model.load_state_dict(state)


def train(args, model, device, train_loader, optimizer, epoch, losses):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % args.log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
        if args.dry_run or (args.max_batches and batch_idx + 1 >= args.max_batches):
            break


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()

    test_loss /= len(test_loader.dataset)

    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))
    return test_loss, correct / len(test_loader.dataset)


def main():
    # Training settings
    parser = argparse.ArgumentParser(description='PyTorch MNIST Example')
    parser.add_argument('--batch-size', type=int, default=64, metavar='N',
                        help='input batch size for training (default: 64)')
    parser.add_argument('--test-batch-size', type=int, default=1000, metavar='N',
                        help='input batch size for testing (default: 1000)')
    parser.add_argument('--epochs', type=int, default=14, metavar='N',
                        help='number of epochs to train (default: 14)')
    parser.add_argument('--lr', type=float, default=1.0, metavar='LR',
                        help='learning rate (default: 1.0)')
    parser.add_argument('--gamma', type=float, default=0.7, metavar='M',
                        help='Learning rate step gamma (default: 0.7)')
    parser.add_argument('--no-accel', action='store_true',
                        help='disables accelerator')
    parser.add_argument('--dry-run', action='store_true',
                        help='quickly check a single pass')
    parser.add_argument('--seed', type=int, default=1, metavar='S',
                        help='random seed (default: 1)')
    parser.add_argument('--log-interval', type=int, default=10, metavar='N',
                        help='how many batches to wait before logging training status')
    parser.add_argument('--save-model', action='store_true',
                        help='For Saving the current Model')
    parser.add_argument('--data', default='../data')
    parser.add_argument('--out', required=True)
    parser.add_argument('--init-seed', type=int, default=None)
    parser.add_argument('--dropout', type=float, default=0.25)
    parser.add_argument('--no-shuffle', action='store_true')
    parser.add_argument('--max-batches', type=int, default=0)
    args = parser.parse_args()

    use_accel = not args.no_accel and torch.accelerator.is_available()

    torch.manual_seed(args.seed)

    if use_accel:
        device = torch.accelerator.current_accelerator()
    else:
        device = torch.device("cpu")

    train_kwargs = {'batch_size': args.batch_size, 'shuffle': not args.no_shuffle}
    test_kwargs = {'batch_size': args.test_batch_size}
    if use_accel:
        accel_kwargs = {'num_workers': 0,
                        'pin_memory': True}
        train_kwargs.update(accel_kwargs)
        test_kwargs.update(accel_kwargs)

    transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.1307,), (0.3081,))
    ])
    dataset1 = datasets.MNIST(args.data, train=True, download=False,
                              transform=transform)
    dataset2 = datasets.MNIST(args.data, train=False,
                              transform=transform)
    train_loader = torch.utils.data.DataLoader(dataset1, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(dataset2, **test_kwargs)

    model = Net(args.dropout).to(device)
    if args.init_seed is not None:
        numpy_init(model, args.init_seed)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    losses, history = [], []
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch, losses)
        history.append(test(model, device, test_loader))
        scheduler.step()

    reloaded = None
    if args.save_model:
        path = os.path.join(os.path.dirname(os.path.abspath(args.out)),
                            torch.__name__ + "_mnist_cnn.pt")
        torch.save(model.state_dict(), path)
        fresh = Net(args.dropout).to(device)
        fresh.load_state_dict(torch.load(path, weights_only=True))
        reloaded = test(fresh, device, test_loader)[0] == history[-1][0]

    with open(args.out, "w") as f:
        json.dump({"framework": torch.__name__, "device": str(device),
                   "train_losses": losses,
                   "test_loss": [h[0] for h in history],
                   "test_accuracy": [h[1] for h in history],
                   "lr": optimizer.param_groups[0]["lr"], "reloaded_same": reloaded}, f)


if __name__ == '__main__':
    main()
