"""Old-style PyTorch (0.3-era idioms still found in the wild) with L-BFGS, in float64.

``Variable(..., requires_grad=...)``, ``torch.Tensor(list)``, ``torch.LongTensor``
/ ``torch.DoubleTensor`` / ``torch.FloatTensor``, ``x.type(torch.DoubleTensor)``
and ``x.type()``, ``isinstance(x, torch.FloatTensor)``, ``.data`` updates; a
softmax regression on the 8x8 digits (recovered from the 28x28 IDX files)
fitted with ``optim.LBFGS`` and a closure, as pytorch/examples'
time_sequence_prediction does (``.double()``, ``lr=0.8``, ``strong_wolfe``
with --line-search), then saved with ``torch.save`` to an open file and
loaded back with ``torch.load(f, map_location=lambda storage, loc: storage)``.
Everything is deterministic (zero initial weights, full batch), so two
frameworks' loss curves can be compared to float64 rounding.
"""
import argparse
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.autograd import Variable
from torchvision import datasets, transforms


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--line-search", action="store_true")
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()

    dataset = datasets.MNIST(args.data, train=True, transform=transforms.ToTensor())
    images, labels = [], []
    for i in range(args.n):
        img, label = dataset[i]
        images.append(img[0, 2:26:3, 2:26:3].reshape(-1).tolist())  # back to the 8x8 digit
        labels.append(label)

    x = Variable(torch.Tensor(images).type(torch.DoubleTensor), requires_grad=False)
    y = Variable(torch.LongTensor(labels))
    notes = {"x_type": x.type().split(".")[-1], "y_type": y.type().split(".")[-1],
             "float_is_float_tensor": isinstance(x.type(torch.FloatTensor), torch.FloatTensor),
             "double_is_float_tensor": isinstance(x, torch.FloatTensor),
             "legacy_sizes": list(torch.FloatTensor(2, 3).size())}

    model = nn.Linear(64, 10).double()
    model.weight.data.zero_()
    model.bias.data.zero_()
    optimizer = optim.LBFGS(model.parameters(), lr=0.8, history_size=10, max_iter=10,
                            line_search_fn="strong_wolfe" if args.line_search else None)

    losses = []
    for i in range(args.steps):
        print('STEP: ', i)

        def closure():
            optimizer.zero_grad()
            out = model(x)
            loss = F.cross_entropy(out, y) + 1e-3 * (model.weight ** 2).sum()
            print('loss:', loss.item())
            losses.append(loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)

    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).type(torch.DoubleTensor).mean().item()

    path = os.path.join(os.path.dirname(os.path.abspath(args.out)), torch.__name__ + "_lr.pt")
    with open(path, "wb") as f:
        torch.save({"state": model.state_dict(), "steps": args.steps}, f)
    with open(path, "rb") as f:
        saved = torch.load(f, map_location=lambda storage, loc: storage)
    same = all(torch.equal(saved["state"][k], v) for k, v in model.state_dict().items())

    with open(args.out, "w") as f:
        json.dump({"framework": torch.__name__, "train_losses": losses, "accuracy": accuracy,
                   "reloaded_same": same and saved["steps"] == args.steps,
                   "weight": model.weight.data.reshape(-1).tolist(), **notes}, f)


if __name__ == "__main__":
    main()
