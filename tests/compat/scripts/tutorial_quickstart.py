"""The official "Learn the Basics" quickstart tutorial (FashionMNIST there; MNIST IDX files here).

The tutorial's code, in order: datasets with ``ToTensor``, ``DataLoader``,
device selection (the ``torch.accelerator`` form of recent versions and the
``torch.backends.mps.is_available()`` form of earlier ones), a ``Flatten`` +
``Sequential`` model printed with ``print(model)``, ``CrossEntropyLoss`` with
SGD, the ``train``/``test`` loops with their progress lines,
``torch.save(model.state_dict(), "model.pth")``, the reload with
``torch.load("model.pth", weights_only=True)``, and a prediction.  Added for
comparison: --out, --init-seed (weights from NumPy), --epochs, --max-batches.
"""
import argparse
import json
import os

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision.transforms import ToTensor

parser = argparse.ArgumentParser()
parser.add_argument("--data", default="data")
parser.add_argument("--out", required=True)
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--init-seed", type=int, default=None)
parser.add_argument("--max-batches", type=int, default=0)
args = parser.parse_args()

# Download training data from open datasets.
training_data = datasets.MNIST(root=args.data, train=True, download=False, transform=ToTensor())
# Download test data from open datasets.
test_data = datasets.MNIST(root=args.data, train=False, download=False, transform=ToTensor())

batch_size = 64

# Create data loaders.
train_dataloader = DataLoader(training_data, batch_size=batch_size)
test_dataloader = DataLoader(test_data, batch_size=batch_size)

for X, y in test_dataloader:
    print(f"Shape of X [N, C, H, W]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    first_shape, first_dtype = list(X.shape), str(y.dtype).split(".")[-1]
    break

device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(f"Using {device} device")
# the same choice, as earlier versions of the tutorial wrote it
old_device = (
    "cuda"
    if torch.cuda.is_available()
    else "mps"
    if torch.backends.mps.is_available()
    else "cpu"
)
assert old_device == device


# Define model
class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28*28, 128),
            nn.ReLU(),
            nn.Linear(128, 128),
            nn.ReLU(),
            nn.Linear(128, 10)
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork().to(device)
print(model)
if args.init_seed is not None:
    rng = np.random.default_rng(args.init_seed)
    model.load_state_dict({
        name: torch.from_numpy((rng.uniform(-1, 1, tuple(p.shape))
                                / np.sqrt(p.shape[-1])).astype(np.float32))
        for name, p in model.state_dict().items()})

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)
train_losses = []


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)

        # Compute prediction error
        pred = model(X)
        loss = loss_fn(pred, y)

        # Backpropagation
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        train_losses.append(loss.item())

        if batch % 100 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")
        if args.max_batches and batch + 1 >= args.max_batches:
            break


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return test_loss, correct


history = []
epochs = args.epochs
for t in range(epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    history.append(test(test_dataloader, model, loss_fn))
print("Done!")

path = os.path.join(os.path.dirname(os.path.abspath(args.out)), torch.__name__ + "_model.pth")
torch.save(model.state_dict(), path)
print("Saved PyTorch Model State to model.pth")

model = NeuralNetwork().to(device)
model.load_state_dict(torch.load(path, weights_only=True))

classes = [str(i) for i in range(10)]
model.eval()
x, y = test_data[0][0], test_data[0][1]
with torch.no_grad():
    x = x.to(device)
    pred = model(x)
    predicted, actual = classes[pred[0].argmax(0)], classes[y]
    print(f'Predicted: "{predicted}", Actual: "{actual}"')

with open(args.out, "w") as f:
    json.dump({"framework": torch.__name__, "device": device, "first_batch_shape": first_shape,
               "label_dtype": first_dtype, "train_losses": train_losses,
               "test_loss": [h[0] for h in history], "test_accuracy": [h[1] for h in history],
               "predicted": predicted, "actual": actual}, f)
