"""pytorch/examples' vae/main.py (PyTorch 2.6+ form, torch.accelerator), on MNIST IDX files.

The example's argparse flags (--no-accel, --dry-run ... as there), the VAE of
784-400-20, ``loss_function`` (binary cross-entropy summed plus the KL
divergence), Adam, the train/test loops and their log lines.  Added for
comparison: --out, --init-seed (weights from NumPy), --numpy-noise (the
reparameterisation noise drawn from NumPy, so both frameworks see the same
draws; without it ``torch.randn_like`` is used, as in the example),
--max-batches, and ``torch.save(model.state_dict(), ...)`` at the end.
"""
# ruff: noqa: UP004, UP008, UP031, UP032, B007, B028  (upstream's idioms, kept as written)
import argparse
import json
import os

import numpy as np
import torch
import torch.utils.data
from torch import nn, optim
from torch.nn import functional as F
from torchvision import datasets, transforms

parser = argparse.ArgumentParser(description='VAE MNIST Example')
parser.add_argument('--batch-size', type=int, default=128, metavar='N',
                    help='input batch size for training (default: 128)')
parser.add_argument('--epochs', type=int, default=10, metavar='N',
                    help='number of epochs to train (default: 10)')
parser.add_argument('--no-accel', action='store_true',
                    help='disables accelerator')
parser.add_argument('--dry-run', action='store_true',
                    help='quickly check a single pass')
parser.add_argument('--seed', type=int, default=1, metavar='S',
                    help='random seed (default: 1)')
parser.add_argument('--log-interval', type=int, default=10, metavar='N',
                    help='how many batches to wait before logging training status')
parser.add_argument('--data', default='../data')
parser.add_argument('--out', required=True)
parser.add_argument('--init-seed', type=int, default=None)
parser.add_argument('--numpy-noise', action='store_true')
parser.add_argument('--max-batches', type=int, default=0)
args = parser.parse_args()

use_accel = not args.no_accel and torch.accelerator.is_available()

torch.manual_seed(args.seed)

if use_accel:
    device = torch.accelerator.current_accelerator()
else:
    device = torch.device("cpu")

print(f"Using device: {device}")

kwargs = {'num_workers': 0, 'pin_memory': True} if use_accel else {}
train_loader = torch.utils.data.DataLoader(
    datasets.MNIST(args.data, train=True, download=False,
                   transform=transforms.ToTensor()),
    batch_size=args.batch_size, shuffle=not args.numpy_noise, **kwargs)
test_loader = torch.utils.data.DataLoader(
    datasets.MNIST(args.data, train=False, transform=transforms.ToTensor()),
    batch_size=args.batch_size, shuffle=False, **kwargs)
noise = np.random.default_rng(12345)


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()

        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5*logvar)
        if args.numpy_noise:
            eps = torch.from_numpy(noise.standard_normal(tuple(std.shape)).astype(np.float32))
            eps = eps.to(std.device)
        else:
            eps = torch.randn_like(std)
        return mu + eps*std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


model = VAE().to(device)
if args.init_seed is not None:
    rng = np.random.default_rng(args.init_seed)
    model.load_state_dict({
        name: torch.from_numpy((rng.uniform(-1, 1, tuple(p.shape))
                                / np.sqrt(p.shape[-1])).astype(np.float32))
        for name, p in model.state_dict().items()})
optimizer = optim.Adam(model.parameters(), lr=1e-3)


# Reconstruction + KL divergence losses summed over all elements and batch
def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')

    # see Appendix B from VAE paper:
    # Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
    # https://arxiv.org/abs/1312.6114
    # 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())

    return BCE + KLD


train_losses = []


def train(epoch):
    model.train()
    train_loss = 0
    for batch_idx, (data, _) in enumerate(train_loader):
        data = data.to(device)
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        train_losses.append(loss.item() / len(data))
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader),
                loss.item() / len(data)))
        if args.dry_run or (args.max_batches and batch_idx + 1 >= args.max_batches):
            break

    print('====> Epoch: {} Average loss: {:.4f}'.format(
          epoch, train_loss / len(train_loader.dataset)))


def test(epoch):
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for i, (data, _) in enumerate(test_loader):
            data = data.to(device)
            recon_batch, mu, logvar = model(data)
            test_loss += loss_function(recon_batch, data, mu, logvar).item()

    test_loss /= len(test_loader.dataset)
    print('====> Test set loss: {:.4f}'.format(test_loss))
    return test_loss


if __name__ == "__main__":
    test_losses = []
    for epoch in range(1, args.epochs + 1):
        train(epoch)
        test_losses.append(test(epoch))
        with torch.no_grad():
            sample = torch.randn(64, 20).to(device)
            sample = model.decode(sample).cpu()
            assert tuple(sample.view(64, 1, 28, 28).shape) == (64, 1, 28, 28)
    torch.save(model.state_dict(),
               os.path.join(os.path.dirname(os.path.abspath(args.out)),
                            torch.__name__ + "_vae.pt"))
    with open(args.out, "w") as f:
        json.dump({"framework": torch.__name__, "train_losses": train_losses,
                   "test_loss": test_losses}, f)
