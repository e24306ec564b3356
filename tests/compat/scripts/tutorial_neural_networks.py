"""The official "Neural Networks" and "Automatic Differentiation" tutorials, on digits.

From the tutorials: the LeNet ``Net`` on 32x32 inputs, ``print(net)``,
``list(net.parameters())``, a forward pass of one image, ``net.zero_grad()``
and ``out.backward(torch.randn(1, 10))``, ``MSELoss`` against a target,
printing ``loss.grad_fn`` (and ``z.grad_fn`` in the autograd tutorial),
``requires_grad`` / ``torch.no_grad()`` / ``detach()``, the manual update
``f.data.sub_(f.grad.data * learning_rate)`` and then ``optim.SGD``.  Then
the same network is trained on MNIST IDX files (padded to 32x32) so two
frameworks' loss curves can be compared; weights come from NumPy (--init-seed).
"""
# ruff: noqa: UP004, UP008, UP031, UP032, B007, B028  (upstream's idioms, kept as written)
import argparse
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torchvision import datasets, transforms


class Net(nn.Module):

    def __init__(self):
        super(Net, self).__init__()
        # 1 input image channel, 6 output channels, 5x5 square convolution
        # kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # an affine operation: y = Wx + b
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input):
        # Convolution layer C1: 1 input image channel, 6 output channels,
        # 5x5 square convolution, it uses RELU activation function, and
        # outputs a Tensor with size (N, 6, 28, 28), where N is the size of the batch
        c1 = F.relu(self.conv1(input))
        # Subsampling layer S2: 2x2 grid, purely functional,
        s2 = F.max_pool2d(c1, (2, 2))
        # Convolution layer C3: 6 input channels, 16 output channels,
        # 5x5 square convolution, it uses RELU activation function
        c3 = F.relu(self.conv2(s2))
        # Subsampling layer S4: 2x2 grid, purely functional
        s4 = F.max_pool2d(c3, 2)
        # Flatten operation: purely functional, outputs a (N, 400) Tensor
        s4 = torch.flatten(s4, 1)
        # Fully connected layer F5: (N, 400) Tensor input,
        # and outputs a (N, 120) Tensor, it uses RELU activation function
        f5 = F.relu(self.fc1(s4))
        # Fully connected layer F6: (N, 120) Tensor input,
        # and outputs a (N, 84) Tensor, it uses RELU activation function
        f6 = F.relu(self.fc2(f5))
        # Gaussian layer OUTPUT: (N, 84) Tensor input, and
        # outputs a (N, 10) Tensor
        output = self.fc3(f6)
        return output


def numpy_init(model, seed):
    rng = np.random.default_rng(seed)
    model.load_state_dict({
        name: torch.from_numpy((rng.uniform(-1, 1, tuple(p.shape))
                                / np.sqrt(max(int(np.prod(p.shape[1:])), 16))).astype(np.float32))
        for name, p in model.state_dict().items()})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--init-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()
    notes = {}

    # --- Automatic differentiation with torch.autograd
    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    w = torch.tensor(np.linspace(-1, 1, 15).reshape(5, 3), dtype=torch.float32,
                     requires_grad=True)
    b = torch.tensor([0.1, -0.2, 0.3], requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    print(f"Gradient function for z = {z.grad_fn}")
    print(f"Gradient function for loss = {loss.grad_fn}")
    notes["z_has_grad_fn"] = z.grad_fn is not None
    loss.backward()
    print(w.grad)
    print(b.grad)
    notes["w_grad"] = w.grad.tolist()
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    notes["no_grad_requires_grad"] = z.requires_grad
    z = torch.matmul(x, w) + b
    z_det = z.detach()
    notes["detach_requires_grad"] = z_det.requires_grad

    # --- Neural networks
    net = Net()
    numpy_init(net, args.init_seed)
    print(net)
    params = list(net.parameters())
    print(len(params))
    print(params[0].size())  # conv1's .weight
    notes["n_params"] = len(params)
    notes["conv1_weight_size"] = list(params[0].size())

    input = torch.tensor(np.random.default_rng(1).standard_normal((1, 1, 32, 32)),
                         dtype=torch.float32)
    out = net(input)
    print(out)
    net.zero_grad()
    out.backward(torch.tensor(np.random.default_rng(2).standard_normal((1, 10)),
                              dtype=torch.float32))

    output = net(input)
    target = torch.arange(10, dtype=torch.float32)  # a dummy target, for example
    target = target.view(1, -1)  # make it the same shape as output
    criterion = nn.MSELoss()
    loss = criterion(output, target)
    print(loss)
    print(loss.grad_fn)  # MSELoss
    notes["mse_loss"] = loss.item()

    net.zero_grad()     # zeroes the gradient buffers of all parameters
    print('conv1.bias.grad before backward')
    print(net.conv1.bias.grad)
    loss.backward()
    print('conv1.bias.grad after backward')
    print(net.conv1.bias.grad)
    notes["conv1_bias_grad"] = net.conv1.bias.grad.tolist()

    learning_rate = 0.01
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)

    # --- training on digits with optim.SGD, the tutorial's loop
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    train_set = datasets.MNIST(args.data, train=True, transform=transform)
    loader = torch.utils.data.DataLoader(train_set, batch_size=50, shuffle=False)
    optimizer = optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    losses = []
    for epoch in range(args.epochs):
        running_loss = 0.0
        for i, data in enumerate(loader, 0):
            inputs, labels = data
            inputs = F.pad(inputs, (2, 2, 2, 2))  # 28x28 -> the tutorial's 32x32
            optimizer.zero_grad()   # zero the gradient buffers
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()    # Does the update
            running_loss += loss.item()
            losses.append(loss.item())
            if i % 10 == 9:
                print(f'[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 10:.3f}')
                running_loss = 0.0

    with open(args.out, "w") as f:
        json.dump({"framework": torch.__name__, "train_losses": losses, **notes}, f)


if __name__ == "__main__":
    main()
