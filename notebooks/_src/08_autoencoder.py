# %% [markdown]
# # 8 · A convolutional autoencoder
#
# An **autoencoder** learns to copy its input through a bottleneck: an
# *encoder* squeezes each 8x8 digit into a short code, a *decoder* rebuilds the
# image from the code alone, and the training signal is simply how far the
# copy is from the original (the mean squared error). No labels are used. To
# fit through the bottleneck the network has to find what digits have in
# common, and the codes it invents turn out to sort the digits by shape.
#
# In this notebook we
#
# * meet **`ConvTranspose2d`**, the layer that upsamples in the decoder, and see
#   that it is exactly the *adjoint* (the backward pass) of a convolution;
# * train an autoencoder with a **2-D code**, so the whole latent space can be
#   drawn;
# * look at **reconstructions**, scatter the **latent space** by class (labels
#   only for colouring), and **interpolate** between two digits by walking in a
#   straight line between their codes.

# %%
import matplotlib.pyplot as plt
import numpy as np

import jitnet as jn
import jitnet.nn.functional as F
from jitnet import nn
from jitnet.autoencoder import build_autoencoder
from jitnet.data import DataLoader, TensorDataset, datasets

jn.manual_seed(0)
print("jitnet", jn.__version__)

# %% [markdown]
# ## Transposed convolution: a convolution run backwards
#
# A stride-2 convolution maps a 4x4 image to 2x2. Its **transpose** goes the
# other way, 2x2 to 4x4: every input pixel stamps a copy of the kernel, scaled
# by its value, onto the output, and overlapping stamps add up. PyTorch's size
# rule is `OH = (H - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1`;
# `output_padding` picks between the input sizes that a strided convolution
# would have mapped to the same output size.
#
# In jitnet the layer has no loop nest of its own: `conv_transpose2d` *is*
# conv2d's input-gradient computation (a GEMM with the transposed weight, then
# `col2im`). The defining property of an adjoint is
# `<conv(u), v> = <u, conv_transpose(v)>` for every `u` and `v`:

# %%
w = jn.randn(3, 2, 3, 3, dtype=jn.float64)     # conv2d: 2 -> 3 channels
u = jn.randn(1, 2, 4, 4, dtype=jn.float64)
v = jn.randn(1, 3, 2, 2, dtype=jn.float64)
cu = F.conv2d(u, w, stride=2, padding=1)                          # 4x4 -> 2x2
tv = F.conv_transpose2d(v, w, stride=2, padding=1, output_padding=1)  # 2x2 -> 4x4
print("conv2d:", tuple(u.shape), "->", tuple(cu.shape), "  conv_transpose2d:", tuple(v.shape),
      "->", tuple(tv.shape))
print("<conv(u), v>           =", float((cu * v).sum().item()))
print("<u, conv_transpose(v)> =", float((u * tv).sum().item()))

# %% [markdown]
# One input pixel set to 1 shows the stamp: the kernel itself, placed at twice
# the pixel's position (stride 2).

# %%
layer = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1, bias=False)
with jn.no_grad():
    layer.weight.copy_(jn.arange(1.0, 10.0).reshape(1, 1, 3, 3))
    impulse = jn.zeros(1, 1, 3, 3)
    impulse[0, 0, 1, 2] = 1.0
    stamp = layer(impulse)
print(stamp[0, 0].numpy())

# %% [markdown]
# ## The model
#
# `jitnet.autoencoder.build_autoencoder` (the model behind
# `jitnet train --task autoencoder`) is two stride-2 convolutions down to a
# 32x2x2 map and a linear layer to the code; the decoder mirrors it with two
# `ConvTranspose2d` layers and ends in a sigmoid, as the pixels lie in [0, 1].
# We ask for a code of only **2** numbers, so we can draw it.

# %%
train_set, test_set = datasets.load_digits()
x_train, x_test = train_set.tensors[0], test_set.tensors[0]
y_test = test_set.tensors[1].numpy()

model = build_autoencoder(latent_dim=2)
encoder, decoder = model[0], model[1]
print(model)
print("parameters:", sum(p.numel() for p in model.parameters()))

# %% [markdown]
# ## Training: the input is its own target

# %%
optimizer = jn.optim.Adam(model.parameters(), lr=0.01)
history = jn.fit(model, DataLoader(TensorDataset(x_train, x_train), batch_size=64, shuffle=True),
                 optimizer, nn.MSELoss(), epochs=25, metrics=(),
                 val_loader=DataLoader(TensorDataset(x_test, x_test), batch_size=512),
                 progress=False)
plt.figure(figsize=(5, 3))
plt.plot(history.epochs, history["loss"], label="train")
plt.plot(history.epochs, history["val_loss"], label="test")
plt.xlabel("epoch")
plt.ylabel("reconstruction MSE")
plt.legend()
plt.show()
print(f"test reconstruction MSE after {history.epochs[-1]} epochs: {history['val_loss'][-1]:.4f}")

# %% [markdown]
# ## Reconstructions
#
# Test digits the model never trained on (top) and what it rebuilds from their
# two numbers (bottom). Two numbers are not much: the copies keep each digit's
# overall shape and lose the details. (With `latent_dim=8`, as the CLI uses,
# they are much sharper.)

# %%
model.eval()
with jn.no_grad():
    codes = encoder(x_test)
    recon = decoder(codes).numpy()
fig, axes = plt.subplots(2, 10, figsize=(10, 2.2))
for i in range(10):
    axes[0, i].imshow(x_test[i, 0].numpy(), cmap="gray_r", vmin=0, vmax=1)
    axes[1, i].imshow(recon[i, 0], cmap="gray_r", vmin=0, vmax=1)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_ylabel("original")
axes[1, 0].set_ylabel("decoded")
plt.show()

# %% [markdown]
# ## The latent space
#
# Every test digit is now a point in the plane. The model never saw a label,
# yet digits of one class land near each other: similar shapes get similar
# codes, because that is what lets the decoder rebuild them.

# %%
z = codes.numpy()
plt.figure(figsize=(6, 5))
points = plt.scatter(z[:, 0], z[:, 1], c=y_test, cmap="tab10", s=12)
plt.colorbar(points, ticks=range(10), label="digit")
plt.xlabel("code[0]")
plt.ylabel("code[1]")
plt.title("test digits in the 2-D latent space")
plt.show()

# %% [markdown]
# ## Walking between two digits
#
# The decoder accepts *any* point of the plane, not only codes of real
# digits. Walking in a straight line from the code of one digit to another's
# and decoding each step morphs one into the other: new images the training
# set never contained, a first taste of **generative** models.

# %%
a, b = int(np.flatnonzero(y_test == 0)[0]), int(np.flatnonzero(y_test == 7)[0])
steps = np.linspace(0.0, 1.0, 9, dtype=np.float32)[:, None]
path = (1 - steps) * z[a] + steps * z[b]
with jn.no_grad():
    frames = decoder(jn.tensor(path)).numpy()
fig, axes = plt.subplots(1, len(steps), figsize=(10, 1.4))
for ax, img, t in zip(axes, frames, steps[:, 0]):
    ax.imshow(img[0], cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(f"{t:.2f}", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
plt.show()

# %% [markdown]
# Decoding a whole grid of points spanning the codes of the test set draws the
# map the decoder has learned: each region of the plane is a kind of digit,
# and neighbouring regions blend smoothly.

# %%
lo, hi = np.percentile(z, 5, axis=0), np.percentile(z, 95, axis=0)
g0, g1 = np.linspace(lo[0], hi[0], 10), np.linspace(hi[1], lo[1], 10)
grid = np.array([[u0, u1] for u1 in g1 for u0 in g0], dtype=np.float32)
with jn.no_grad():
    tiles = decoder(jn.tensor(grid)).numpy().reshape(10, 10, 8, 8)
tiles = np.pad(tiles, ((0, 0), (0, 0), (0, 1), (0, 1)))  # a blank line between tiles
plt.figure(figsize=(5, 5))
plt.imshow(tiles.transpose(0, 2, 1, 3).reshape(90, 90), cmap="gray_r", vmin=0, vmax=1)
plt.axis("off")
plt.title("decoded latent grid")
plt.show()

# %% [markdown]
# ## From the command line
#
# `jitnet train --task autoencoder` trains the same model with an 8-number
# code and writes `reconstructions.png` (originals above reconstructions) and
# the reconstruction MSE per epoch in `history.json`.
