# %% [markdown]
# # 9 · Explaining a model, then making it smaller
#
# Two questions come after training. *Why* did the model decide what it did?
# And can it be made *smaller and cheaper* for deployment without losing
# accuracy? Both rest on the same machinery, **hooks**: functions that run
# when a layer is called or when a gradient is computed. In this notebook we
#
# * see hooks at work (`register_forward_hook`, `Tensor.register_hook`);
# * compare four **attribution** methods from `jitnet.explain`: saliency,
#   integrated gradients (and its completeness check), Grad-CAM and occlusion;
# * **prune** the model with `jitnet.nn.utils.prune` (PyTorch's API) and watch
#   accuracy against sparsity;
# * **quantize** it to int8 with `jitnet.quantization.quantize_dynamic` and
#   compare accuracy against checkpoint size.

# %%
import copy
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import jitnet as jn
from jitnet import explain, nn
from jitnet.data import DataLoader, datasets
from jitnet.nn.utils import prune
from jitnet.quantization import quantize_dynamic

jn.manual_seed(0)
train_set, test_set = datasets.load_digits()
x_test, y_test = test_set.tensors
test_loader = DataLoader(test_set, batch_size=512)

# %% [markdown]
# ## A small CNN to explain
#
# The CNN of notebook 5, trained for a few epochs with `jn.fit`.

# %%
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
)
optimizer = jn.optim.Adam(model.parameters(), lr=1e-2)
jn.fit(model, DataLoader(train_set, batch_size=32, shuffle=True), optimizer,
       nn.CrossEntropyLoss(), epochs=5, progress=False)
model.eval()


def accuracy(m):
    return jn.evaluate(m, test_loader)["accuracy"]


base_acc = accuracy(model)
print(f"test accuracy {base_acc:.3f}")

# %% [markdown]
# ## Hooks
#
# A **forward hook** runs after a module's `forward` and sees its input and
# output; a **tensor hook** runs when the gradient of a tensor is computed and
# may replace it. Each `register_*` returns a handle whose `.remove()` takes the
# hook away again. Here a forward hook keeps the second convolution's output,
# and a tensor hook on that output catches the gradient flowing back into it:
# the two ingredients of Grad-CAM.

# %%
seen = {}


def keep_activation(module, inputs, output):
    seen["act"] = output
    output.register_hook(lambda grad: seen.__setitem__("grad", grad))


handle = model[3].register_forward_hook(keep_activation)
scores = model(x_test[:1])
scores[0, y_test[0].item()].backward()
handle.remove()
model.zero_grad()
print("activation", tuple(seen["act"].shape), " gradient", tuple(seen["grad"].shape))

# %% [markdown]
# ## Four attributions
#
# Each method explains the score of one class (here: the predicted one) for a
# batch of images and returns a map of the input's shape (Grad-CAM: of the
# layer's 4x4 grid):
#
# * **saliency**: |d score / d pixel|, the local sensitivity;
# * **integrated gradients**: (x - baseline) times the gradient averaged along the
#   straight path from a black image to x. Unlike saliency it is *complete*:
#   the attributions add up to score(x) - score(baseline);
# * **Grad-CAM**: the layer's channels weighted by their average gradient, summed
#   and rectified: *where* in the feature map the evidence is;
# * **occlusion**: how much the score drops when a 2x2 patch is blacked out.

# %%
images = x_test[:5]
with jn.no_grad():
    preds = model(images).argmax(dim=1)
maps = {
    "saliency": explain.saliency(model, images, preds),
    "integrated gradients": explain.integrated_gradients(model, images, preds),
    "grad-cam": explain.grad_cam(model, images, preds, layer=model[3]),
    "occlusion": explain.occlusion(model, images, preds, window=2, stride=1),
}
fig, axes = plt.subplots(5, 5, figsize=(8, 8.5))
for row in range(5):
    axes[row, 0].imshow(images[row, 0].numpy(), cmap="gray")
    axes[row, 0].set_title(f"true {y_test[row].item()}, pred {preds[row].item()}", fontsize=8)
    axes[row, 0].axis("off")
    for col, (name, att) in enumerate(maps.items(), start=1):
        explain.plot(images[row, 0], att[row], ax=axes[row, col],
                     title=name if row == 0 else None)
fig.tight_layout()

# %% [markdown]
# The completeness check: the integrated-gradients attributions of each image
# should sum to the score difference from the baseline, up to the error of the
# 50-point quadrature of the path integral.

# %%
attr, delta = explain.integrated_gradients(model, images, preds, return_convergence_delta=True)
with jn.no_grad():
    gap = (model(images) - model(jn.zeros_like(images))).numpy()[np.arange(5), preds.numpy()]
for k in range(5):
    print(f"image {k}: sum of attributions {attr[k].sum().item():+8.4f}, "
          f"score(x) - score(0) {gap[k]:+8.4f}, relative error {abs(delta[k].item() / gap[k]):.2%}")

# %% [markdown]
# ## Pruning: accuracy against sparsity
#
# `prune.global_unstructured` ranks the weights of several layers together by
# magnitude and zeroes the smallest fraction `amount`. The layer keeps the
# original weights in `weight_orig`, a 0/1 `weight_mask` buffer, and a forward
# pre-hook that recomputes `weight = weight_orig * weight_mask` before each call,
# so training after pruning updates only the surviving weights. `prune.remove`
# makes it permanent.

# %%
def pruned_copy(amount):
    m = copy.deepcopy(model)
    targets = [(layer, "weight") for layer in m if isinstance(layer, (nn.Conv2d, nn.Linear))]
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=amount)
    return m


sparsities = [0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95]
pruned_acc = [accuracy(pruned_copy(s)) for s in sparsities]
m = pruned_copy(0.8)
print("layer 0 keeps", int(m[0].weight_mask.sum().item()), "of", m[0].weight_mask.numel(),
      "weights;", "pruned:", prune.is_pruned(m), "| buffers:", [n for n, _ in m[0].named_buffers()])
for s, a in zip(sparsities, pruned_acc):
    print(f"sparsity {s:4.0%}: test accuracy {a:.3f}")

# %% [markdown]
# ## Quantization: accuracy against size
#
# `quantize_dynamic` returns a copy of the model whose Linear layers hold int8
# weights with one scale per output channel; at run time each row of the input
# is quantized to int8 too, and an int8 x int8 -> int32 kernel does the product,
# rescaled once at the end. `nn.Conv2d` can be included for int8 *storage*
# (its weights are dequantized for the float convolution). The checkpoint
# shrinks to about a quarter. Pruning and quantization compose: prune, `remove`
# the masks, then quantize.

# %%
folder = tempfile.mkdtemp()


def checkpoint_kib(m, name):
    path = os.path.join(folder, name)
    jn.save(m.state_dict(), path)
    return os.path.getsize(path) / 1024


qmodel = quantize_dynamic(model, {nn.Linear, nn.Conv2d}, dtype=jn.qint8)
both = pruned_copy(0.7)
for layer in both:
    if prune.is_pruned(layer):
        prune.remove(layer, "weight")
both_q = quantize_dynamic(both, {nn.Linear, nn.Conv2d})
rows = [("float32", model), ("int8", qmodel), ("70% pruned", both), ("70% pruned + int8", both_q)]
results = [(name, checkpoint_kib(m, name + ".safetensors"), accuracy(m)) for name, m in rows]
for name, kib, acc in results:
    print(f"{name:18s} {kib:6.1f} KiB   test accuracy {acc:.3f}")
print(qmodel)

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
ax1.plot([100 * s for s in sparsities], pruned_acc, marker="o")
ax1.axhline(base_acc, color="grey", ls="--", lw=1)
ax1.set(xlabel="weights pruned (%)", ylabel="test accuracy", title="global L1 pruning")
for name, kib, acc in results:
    ax2.scatter(kib, acc, s=40)
    ax2.annotate(name, (kib, acc), textcoords="offset points", xytext=(5, 5), fontsize=8)
ax2.set(xlabel="checkpoint size (KiB)", ylabel="test accuracy", title="size vs accuracy")
for ax in (ax1, ax2):
    ax.grid(alpha=0.3)
fig.tight_layout()

# %% [markdown]
# Pruned weights are still stored densely, zeros included, so pruning alone
# does not shrink the file: the saving comes from sparse storage or, as here,
# from the int8 weights. On this small model int8 costs next to no accuracy;
# the accuracy of heavy pruning recovers much of its loss if the pruned model
# is trained a little more (the mask keeps the pruned weights at zero).
