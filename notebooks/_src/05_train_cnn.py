# %% [markdown]
# # 5 · A convolutional network, and looking inside it
#
# An MLP sees an image as a flat list of 64 numbers: it does not know that
# neighbouring pixels belong together. A **convolutional** network slides small
# learned filters over the image, so the same feature detector is applied at
# every position. In this notebook we
#
# * train a small CNN on the 8x8 digits, with **data augmentation**;
# * look at what it learned: its **filters** and the **feature maps** they
#   produce;
# * ask which pixels a decision depends on with a **saliency map**, the
#   gradient of a class score with respect to the input;
# * **save** the trained model and load it back with `jn.save` / `jn.load`;
# * **deploy** it: export to ONNX and run it in onnxruntime, without jitnet.

# %%
import os
import shutil
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import jitnet as jn
from jitnet import nn
from jitnet.data import DataLoader, datasets
from jitnet.data import transforms as T

jn.manual_seed(0)
print("jitnet", jn.__version__)

# %% [markdown]
# ## Data, as images this time
#
# Without `flatten=True`, `load_digits` keeps each image's shape: (1, 8, 8),
# one channel of 8x8 pixels, the **NCHW** layout (batch, channels, height,
# width) that convolutions expect.

# %%
train_set, test_set = datasets.load_digits()
x_test, y_test = test_set.tensors
print("train images:", tuple(train_set.tensors[0].shape), " test images:", tuple(x_test.shape))

# %% [markdown]
# ## Data augmentation
#
# A model that has seen each training digit only in one position and angle can
# be thrown by a slightly rotated one. **Augmentation** shows it a randomly
# perturbed copy of each image every epoch, which is almost like having more
# data. The transforms in `jitnet.data.transforms` have torchvision's names;
# they act on one sample at a time, so we apply them in a small `Dataset`
# wrapper. Only the training set is augmented: the test set stays as it is.

# %%
augment = T.Compose([T.RandomRotation(10)])


class Augmented(jn.data.Dataset):
    """The samples of `base`, with `transform` applied to each image on every access."""

    def __init__(self, base, transform):
        self.base, self.transform = base, transform

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        x, y = self.base[i]
        return self.transform(x), y


train_loader = DataLoader(Augmented(train_set, augment), batch_size=32, shuffle=True)
test_loader = DataLoader(test_set, batch_size=256)

# %%
fig, axes = plt.subplots(3, 8, figsize=(8, 3.2))
for col in range(8):
    x, y = train_set[col]
    axes[0, col].imshow(x.numpy()[0], cmap="gray_r")
    axes[0, col].set_title(str(y.item()))
    for row in (1, 2):
        axes[row, col].imshow(augment(x).numpy()[0], cmap="gray_r")
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_ylabel("original")
axes[1, 0].set_ylabel("augmented")
axes[2, 0].set_ylabel("again")
fig.tight_layout()

# %% [markdown]
# ## The model
#
# Two blocks of *convolution, ReLU, 2x2 max-pooling*, then a linear layer.
# Each 3x3 convolution with `padding=1` keeps the image size; each pooling
# halves it: 1x8x8 -> 16x8x8 -> 16x4x4 -> 32x4x4 -> 32x2x2 -> 128 -> 10.

# %%
def make_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 10),
    )


model = make_cnn()
print(model)
print("parameters:", sum(p.numel() for p in model.parameters()))
h = x_test[:2]
for layer in model:
    h = layer(h)
    print(f"{type(layer).__name__:10s} -> {tuple(h.shape)}")

# %% [markdown]
# ## Training
#
# The same loop as for the MLP. A few epochs are enough here.

# %%
loss_fn = nn.CrossEntropyLoss()
optimizer = jn.optim.Adam(model.parameters(), lr=1e-2)
history = {"loss": [], "test_loss": [], "test_acc": []}
for epoch in range(6):
    model.train()
    total, count = 0.0, 0
    for x, y in train_loader:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
    scores = jn.evaluate(model, test_loader, loss_fn, metrics=("accuracy",))
    history["loss"].append(total / count)
    history["test_loss"].append(scores["loss"])
    history["test_acc"].append(scores["accuracy"])
    print(f"epoch {epoch + 1}  train loss {total / count:.4f}  test loss {scores['loss']:.4f}"
          f"  test acc {scores['accuracy']:.3f}")

# %%
epochs = np.arange(1, len(history["loss"]) + 1)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3))
ax1.plot(epochs, history["loss"], "o-", label="train (augmented)")
ax1.plot(epochs, history["test_loss"], "o-", label="test")
ax1.set_xlabel("epoch")
ax1.set_title("cross-entropy")
ax1.legend()
ax2.plot(epochs, history["test_acc"], "o-", color="C1")
ax2.set_xlabel("epoch")
ax2.set_title("test accuracy")
fig.tight_layout()

y_pred = jn.predict(model, x_test).argmax(dim=1)
acc = jn.metrics.accuracy(y_test, y_pred)
print(f"test accuracy {acc:.3f}, macro F1 {jn.metrics.f1_score(y_test, y_pred):.3f}")
assert acc > 0.85, "the CNN should reach over 85% on the digits in a few epochs"

# %% [markdown]
# ## What the filters learned
#
# The first convolution has 16 filters of 3x3 weights, one per output channel.
# Each one responds to a small pattern (an edge at some angle, a corner, a
# bright or dark spot). On 8x8 images the patterns are crude, but you can
# usually spot edge detectors: a bright row or column beside a dark one.

# %%
w1 = model[0].weight.detach().numpy()   # (16, 1, 3, 3)
print("first-layer weights:", w1.shape)
lim = np.abs(w1).max()
fig, axes = plt.subplots(2, 8, figsize=(8, 2.3))
for k, ax in enumerate(axes.flat):
    ax.imshow(w1[k, 0], cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(f"filter {k}", fontsize=8)
    ax.axis("off")
fig.suptitle("conv1 filters (red positive, blue negative)")
fig.tight_layout()

# %% [markdown]
# ## Feature maps
#
# Applying the first block to one image gives 16 **feature maps**: where in the
# image each filter found its pattern (after the ReLU, only positive responses
# survive). Deeper layers combine these maps into larger shapes.

# %%
image = x_test[:1]                       # (1, 1, 8, 8)
with jn.no_grad():
    maps = model[1](model[0](image))     # conv1 then ReLU: (1, 16, 8, 8)
maps = maps.numpy()[0]
fig, axes = plt.subplots(2, 9, figsize=(9, 2.4))
axes[0, 0].imshow(image.numpy()[0, 0], cmap="gray_r")
axes[0, 0].set_title(f"input ({y_test[0].item()})", fontsize=8)
axes[1, 0].axis("off")
for k in range(16):
    ax = axes[k % 2, 1 + k // 2]
    ax.imshow(maps[k], cmap="viridis")
    ax.set_title(f"map {k}", fontsize=8)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()

# %% [markdown]
# ## Saliency: which pixels matter?
#
# Autograd can differentiate with respect to *anything* that requires grad,
# including the input. The gradient of the predicted class's score with
# respect to the image says how much each pixel would change that score if it
# changed a little. Its magnitude is a **saliency map**: a simple, honest first
# tool for interpreting a model. Note that we take the gradient of the *score*
# (logit), not of the loss, and that the model's weights are left untouched.
#
# `jitnet.explain.saliency(model, x, target)` does exactly this for a whole
# batch: it makes `x` a leaf that requires grad, sums each sample's `target`
# score, and returns `|d score / d x|` with `jn.autograd.grad`, which hands the
# gradient back instead of accumulating it into any `.grad`. (Notebook 09 puts
# it beside integrated gradients, Grad-CAM and occlusion.)

# %%
from jitnet import explain

model.eval()
images = x_test[:6]
with jn.no_grad():
    preds = model(images).argmax(dim=1)
sal = explain.saliency(model, images, target=preds)   # (6, 1, 8, 8), one pass for the batch
fig, axes = plt.subplots(2, 6, figsize=(9, 3.3))
for col in range(6):
    axes[0, col].imshow(images[col, 0].numpy(), cmap="gray_r")
    axes[0, col].set_title(f"true {y_test[col].item()}, pred {preds[col].item()}", fontsize=8)
    axes[1, col].imshow(sal[col, 0].numpy(), cmap="hot")
    axes[1, col].set_title("saliency", fontsize=8)
for ax in axes.flat:
    ax.axis("off")
fig.tight_layout()

# %% [markdown]
# One check that the gradient is what we think: nudging the most salient pixel
# should move the class score by about gradient times nudge. (`abs=False` keeps
# the gradient's sign.)

# %%
img, c = x_test[:1], preds[0].item()
g = explain.saliency(model, img, target=c, abs=False).numpy()[0, 0]
i, j = np.unravel_index(np.abs(g).argmax(), g.shape)
eps = 1e-2
bumped = img.numpy().copy()
bumped[0, 0, i, j] += eps
with jn.no_grad():
    before = model(img)[0, c].item()
    after = model(jn.tensor(bumped))[0, c].item()
print(f"pixel ({i}, {j}): predicted change {g[i, j] * eps:+.5f}, actual {after - before:+.5f}")

# %% [markdown]
# ## Saving and loading
#
# `model.state_dict()` is an ordered dict of the model's tensors by name.
# `jn.save` writes it (or any nesting of dicts, lists, tensors and numbers) in
# the **safetensors** format: plain arrays plus a JSON header, no pickle, so
# loading a file never runs code from it. A checkpoint usually bundles the
# optimizer's state and the epoch too, to resume training later.

# %%
folder = tempfile.mkdtemp()
path = os.path.join(folder, "digits_cnn.safetensors")
jn.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 6}, path)
print(f"wrote {os.path.getsize(path) / 1024:.1f} KiB")

checkpoint = jn.load(path)
print("checkpoint keys:", list(checkpoint), "| epoch", checkpoint["epoch"])
print("model tensors:", {k: tuple(v.shape) for k, v in checkpoint["model"].items()})

restored = make_cnn()
restored.load_state_dict(checkpoint["model"])
restored_opt = jn.optim.Adam(restored.parameters(), lr=1e-2)
restored_opt.load_state_dict(checkpoint["optimizer"])

same = jn.predict(restored, x_test)
orig = jn.predict(model, x_test)
print("identical outputs after reload:", jn.equal(same, orig))
assert jn.equal(same, orig)
shutil.rmtree(folder)  # tidy up the example checkpoint


# %% [markdown]
# ## Deploying: export to ONNX, run in onnxruntime
#
# A model that runs only inside the framework that trained it is hard to ship
# to a server, a phone or a browser. **ONNX** is the standard exchange format
# for trained networks: a graph of standard ops (`Conv`, `Relu`, `Gemm` ...)
# with the weights stored beside it, which runtimes such as **onnxruntime**
# execute without jitnet (or Python) installed.
#
# `jitnet.onnx.export` (PyTorch's `torch.onnx.export` signature) runs the model
# once in eval mode on an example input and records every op together with the
# layer it ran in; each op becomes ONNX nodes and the parameters become
# initializers named by their `state_dict` keys. `dynamic_axes` marks the batch
# dimension symbolic, so the exported graph takes any batch size. Ops it cannot
# express raise `NotImplementedError` naming the layer (`model.3`) rather than
# writing a wrong graph. `docs/deployment.md` lists what is covered.

# %%
import onnxruntime as ort

import jitnet.onnx

folder = tempfile.mkdtemp()
onnx_path = os.path.join(folder, "digits_cnn.onnx")
proto = jitnet.onnx.export(model, x_test[:2], onnx_path,
                           input_names=["image"], output_names=["logits"],
                           dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
print("graph:", " -> ".join(node.op_type for node in proto.graph.node))
print("initializers:", ", ".join(init.name for init in proto.graph.initializer))
print(f"file: {os.path.getsize(onnx_path) / 1024:.1f} KiB")

# %% [markdown]
# onnxruntime loads the file and runs it on the whole test set in one batch
# (359 images, though the example had 2). Its logits match jitnet's to float32
# rounding, so it makes the same predictions.

# %%
sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
for v in sess.get_inputs() + sess.get_outputs():
    print(f"{v.name:7s} {v.type} {v.shape}")
(logits,) = sess.run(None, {"image": x_test.numpy()})
reference = jn.predict(model, x_test).numpy()
print("largest |onnxruntime - jitnet| logit difference:", float(np.abs(logits - reference).max()))
labels = y_test.numpy()
print(f"test accuracy: onnxruntime {(logits.argmax(1) == labels).mean():.4f}, "
      f"jitnet {(reference.argmax(1) == labels).mean():.4f}")
assert np.allclose(logits, reference, rtol=1e-3, atol=1e-4)
shutil.rmtree(folder)

# %% [markdown]
# From the command line the same takes two steps: `jitnet export RUN` turns a
# `jitnet train --out RUN` folder into `RUN/model.onnx` (with the training's
# input normalisation inside the graph, so it takes raw images in [0, 1]) and
# prints onnxruntime's test accuracy beside jitnet's; `jitnet predict RUN
# digit.png` classifies your own image with it.
