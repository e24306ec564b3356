"""The models the training benchmarks time, written once for both libraries.

Each builder takes the ``nn`` namespace (``jitnet.nn`` or ``torch.nn``) and
returns the same architecture, so jitnet and PyTorch run identical layers;
``bench_train.py`` then copies PyTorch's initial weights into jitnet's model.
This module imports neither library: the cold-start benchmark runs it in a
fresh process that must not pay for importing PyTorch.
"""
from __future__ import annotations


def lenet5(nn):
    """LeNet-5 on 1x28x28 (MNIST-sized): two 5x5 convolutions, three linear layers."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # 6x14x14
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),             # 16x5x5
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def mlp784(nn):
    """A 784-256-128-10 MLP on flattened 28x28 images."""
    return nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(),
        nn.Linear(256, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


def digits_mlp(nn):
    """A 64-128-10 MLP on scikit-learn's 8x8 digits (the ``jitnet train`` example size)."""
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def digits_cnn(nn):
    """A small CNN on 1x8x8 digits: two 3x3 convolutions with pooling, one linear layer."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 16x4x4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32x2x2
        nn.Flatten(),
        nn.Linear(128, 10),
    )


def vgg_cifar(nn):
    """A small VGG for 3x32x32 (CIFAR-shaped) input: 3x3 convolutions 3->32->32, pool,
    32->64->64, pool, then 4096->128->10.  Nearly all its time is 3x3 convolutions."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 32x16x16
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 64x8x8
        nn.Flatten(),
        nn.Linear(4096, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


# name -> (builder, batch size, input shape of one sample)
MODELS = {
    "lenet5": (lenet5, 64, (1, 28, 28)),
    "mlp784": (mlp784, 128, (784,)),
    "digits_mlp": (digits_mlp, 64, (64,)),
    "digits_cnn": (digits_cnn, 64, (1, 8, 8)),
    "vgg_cifar": (vgg_cifar, 32, (3, 32, 32)),
}

# name -> the batch sizes timed besides the one in MODELS (bench_train.py's batch sweep):
# the ratio to PyTorch grows with the work per step, so one batch size hides it
BATCH_SWEEP = {
    "lenet5": (16, 256),
    "vgg_cifar": (128,),
}
