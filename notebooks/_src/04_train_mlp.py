# %% [markdown]
# # 4 · Training an MLP on handwritten digits
#
# Time to train something. This notebook puts the pieces of a training
# pipeline together, each with its PyTorch name:
#
# * a **Dataset** (samples by index) and a **DataLoader** (shuffled batches);
# * a **model**: a multi-layer perceptron built from `jitnet.nn` layers;
# * a **loss** (cross-entropy) and an **optimizer** (Adam);
# * the **training loop**, with loss and accuracy curves;
# * **evaluation**: a confusion matrix and precision, recall and F1 from
#   `jitnet.metrics`.
#
# The data are scikit-learn's 1797 bundled 8x8 images of digits, small enough
# to train on in seconds on any laptop.

# %%
import matplotlib.pyplot as plt
import numpy as np

import jitnet as jn
from jitnet import nn
from jitnet.data import DataLoader, datasets

jn.manual_seed(0)  # weights, shuffling: the same run every time
print("jitnet", jn.__version__)

# %% [markdown]
# ## The data
#
# `datasets.load_digits` returns a stratified train/test split as two
# `TensorDataset`s. With `flatten=True` each image is a vector of 64 pixel
# values in [0, 1], which is what an MLP takes; labels are `int64` class
# indices 0-9.

# %%
train_set, test_set = datasets.load_digits(flatten=True)
x0, y0 = train_set[0]
print("train:", len(train_set), "samples, test:", len(test_set), "samples")
print("one sample:", tuple(x0.shape), x0.dtype, "label", y0.item())

fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
for ax, i in zip(axes.flat, range(16)):
    x, y = train_set[i]
    ax.imshow(x.numpy().reshape(8, 8), cmap="gray_r")
    ax.set_title(str(y.item()))
    ax.axis("off")
fig.suptitle("training samples and their labels")
fig.tight_layout()

# %% [markdown]
# ## Dataset and DataLoader
#
# A **Dataset** answers two questions: how many samples (`len`) and what is
# sample `i` (`dataset[i]`). `TensorDataset` serves the rows of tensors. A
# **DataLoader** draws batches from a Dataset, reshuffling every epoch when
# `shuffle=True`, so that each epoch's gradient steps see the data in a new
# order.

# %%
xs, ys = train_set.tensors
print("tensors:", tuple(xs.shape), tuple(ys.shape))
print("class counts:", np.bincount(ys.numpy()))

train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
test_loader = DataLoader(test_set, batch_size=256)
xb, yb = next(iter(train_loader))
print("batches per epoch:", len(train_loader), "| one batch:", tuple(xb.shape), tuple(yb.shape))
print("first labels of two epochs:", next(iter(train_loader))[1][:8].tolist(),
      next(iter(train_loader))[1][:8].tolist())

# %% [markdown]
# Writing your own Dataset takes two methods. This one wraps NumPy arrays and
# works with the same DataLoader:

# %%
class ArrayDataset(jn.data.Dataset):
    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return jn.tensor(self.images[i]), jn.tensor(self.labels[i])


mine = ArrayDataset(xs.numpy(), ys.numpy())
xb2, yb2 = next(iter(DataLoader(mine, batch_size=5)))
print(tuple(xb2.shape), yb2)  # the default collate function stacks samples into a batch

# %% [markdown]
# ## The model
#
# Two linear layers with a ReLU between them: 64 inputs, 128 hidden units and
# 10 outputs, one score (*logit*) per class. `nn.Sequential` chains layers;
# every layer's weights are `Parameter`s, tensors that require grad and that
# `model.parameters()` hands to the optimizer.

# %%
model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
print(model)
for name, p in model.named_parameters():
    print(f"{name:10s} {tuple(p.shape)}")
print("parameters:", sum(p.numel() for p in model.parameters()))

# %% [markdown]
# ## Loss and optimizer
#
# `CrossEntropyLoss` takes raw logits and integer labels; it applies
# log-softmax itself (a fused, numerically stable kernel), then averages the
# negative log-probability of the right class. Adam adapts a step size per
# parameter. An untrained model guesses uniformly, so its loss is near
# $\ln 10 \approx 2.30$:

# %%
loss_fn = nn.CrossEntropyLoss()
optimizer = jn.optim.Adam(model.parameters(), lr=1e-2)
with jn.no_grad():
    print("initial loss:", loss_fn(model(xb), yb).item(), " ln(10) =", np.log(10))

# %% [markdown]
# ## The training loop
#
# Every step is the same five lines as in PyTorch: forward, loss, clear old
# gradients, backward, update. After each epoch we measure loss and accuracy on
# the test set, with `model.eval()` and `jn.no_grad()` (no graph is recorded
# for evaluation).

# %%
def evaluate(model, loader):
    model.eval()
    total, correct, count = 0.0, 0, 0
    with jn.no_grad():
        for x, y in loader:
            out = model(x)
            total += loss_fn(out, y).item() * len(y)
            correct += (out.argmax(dim=1) == y).sum().item()
            count += len(y)
    return total / count, correct / count


history = {"loss": [], "acc": [], "test_loss": [], "test_acc": []}
for epoch in range(12):
    model.train()
    total, correct, count = 0.0, 0, 0
    for x, y in train_loader:
        out = model(x)                 # forward
        loss = loss_fn(out, y)         # loss
        optimizer.zero_grad()          # clear last step's gradients
        loss.backward()                # backward: fill p.grad for every parameter
        optimizer.step()               # update the parameters
        total += loss.item() * len(y)
        correct += (out.argmax(dim=1) == y).sum().item()
        count += len(y)
    test_loss, test_acc = evaluate(model, test_loader)
    for key, value in zip(history, (total / count, correct / count, test_loss, test_acc)):
        history[key].append(value)
    print(f"epoch {epoch + 1:2d}  loss {total / count:.4f}  acc {correct / count:.3f}"
          f"  | test loss {test_loss:.4f}  test acc {test_acc:.3f}")

# %% [markdown]
# ## Learning curves
#
# Training loss keeps falling; test loss flattens out once the model has learnt
# what generalises. A test curve that turns back up would be the sign of
# overfitting.

# %%
epochs = np.arange(1, len(history["loss"]) + 1)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3))
ax1.plot(epochs, history["loss"], "o-", label="train")
ax1.plot(epochs, history["test_loss"], "o-", label="test")
ax1.set_xlabel("epoch")
ax1.set_ylabel("cross-entropy")
ax1.set_title("loss")
ax1.legend()
ax2.plot(epochs, history["acc"], "o-", label="train")
ax2.plot(epochs, history["test_acc"], "o-", label="test")
ax2.set_xlabel("epoch")
ax2.set_title("accuracy")
ax2.legend()
fig.tight_layout()

# %% [markdown]
# ## Evaluation
#
# `jn.predict` runs the model over a whole tensor in eval mode without a graph.
# The **confusion matrix** counts, for each true class (row), how often each
# class was predicted (column): the diagonal holds the correct answers.

# %%
x_test, y_test = test_set.tensors
logits = jn.predict(model, x_test)
y_pred = logits.argmax(dim=1)
acc = jn.metrics.accuracy(y_test, y_pred)
cm = jn.metrics.confusion_matrix(y_test, y_pred, num_classes=10)
print(f"test accuracy: {acc:.3f}")
assert acc > 0.9, "the MLP should reach over 90% on the digits"

fig, ax = plt.subplots(figsize=(4.6, 4))
im = ax.imshow(cm, cmap="Blues")
for i in range(10):
    for j in range(10):
        if cm[i, j]:
            ax.text(j, i, cm[i, j], ha="center", va="center", fontsize=8,
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
ax.set_xticks(range(10))
ax.set_yticks(range(10))
ax.set_xlabel("predicted")
ax.set_ylabel("true")
ax.set_title("confusion matrix (test set)")
fig.colorbar(im, ax=ax, shrink=0.8)
fig.tight_layout()

# %% [markdown]
# **Precision** of a class: of the samples predicted as that class, the share
# that really are (column-wise). **Recall**: of the samples of that class, the
# share found (row-wise). **F1** is their harmonic mean. Both read straight off
# the confusion matrix, which is how `jitnet.metrics` computes them:

# %%
tp = np.diag(cm)
precision_by_hand = tp / cm.sum(axis=0)
recall_by_hand = tp / cm.sum(axis=1)
precision = jn.metrics.precision(y_test, y_pred, average=None)
recall = jn.metrics.recall(y_test, y_pred, average=None)
f1 = jn.metrics.f1_score(y_test, y_pred, average=None)
np.testing.assert_allclose(precision, precision_by_hand)
np.testing.assert_allclose(recall, recall_by_hand)
np.testing.assert_allclose(f1, 2 * precision * recall / (precision + recall))

print("class  precision  recall   f1")
for c in range(10):
    print(f"  {c}      {precision[c]:.3f}     {recall[c]:.3f}   {f1[c]:.3f}")
print(f"macro    {jn.metrics.precision(y_test, y_pred):.3f}     "
      f"{jn.metrics.recall(y_test, y_pred):.3f}   {jn.metrics.f1_score(y_test, y_pred):.3f}")

# %%
fig, ax = plt.subplots(figsize=(7, 2.6))
width = 0.28
for k, (name, values) in enumerate([("precision", precision), ("recall", recall),
                                     ("F1", f1)]):
    ax.bar(np.arange(10) + (k - 1) * width, values, width, label=name)
ax.set_xticks(range(10))
ax.set_xlabel("class")
ax.set_ylim(0.7, 1.02)
ax.legend(loc="lower right", ncol=3)
ax.set_title("per-class metrics")
fig.tight_layout()

# %% [markdown]
# The mistakes are worth a look: many are digits a person would hesitate over
# too.

# %%
wrong = np.flatnonzero(y_pred.numpy() != y_test.numpy())
print(len(wrong), "mistakes out of", len(y_test))
if len(wrong):
    fig, axes = plt.subplots(1, min(8, len(wrong)), figsize=(8, 1.6), squeeze=False)
    for ax, i in zip(axes[0], wrong[:8]):
        ax.imshow(x_test[int(i)].numpy().reshape(8, 8), cmap="gray_r")
        ax.set_title(f"{y_test[int(i)].item()} as {y_pred[int(i)].item()}", fontsize=9)
        ax.axis("off")
    fig.tight_layout()

# %% [markdown]
# ## The same in one call: `jn.fit`
#
# Once the loop is familiar, `jn.fit` runs it for you (Keras style), with
# metrics from `jitnet.metrics` per epoch and callbacks such as early stopping.
# It returns the history as a dict of lists. A fresh model, four epochs:

# %%
jn.manual_seed(1)
model2 = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
history2 = jn.fit(model2, train_loader, jn.optim.Adam(model2.parameters(), lr=1e-2),
                  nn.CrossEntropyLoss(), epochs=4, val_loader=test_loader,
                  metrics=("accuracy", "f1"), progress=False)
for key, values in history2.items():
    print(f"{key:13s}", " ".join(f"{v:.3f}" for v in values))
print(jn.evaluate(model2, test_loader, nn.CrossEntropyLoss(), metrics=("accuracy", "precision",
                                                                       "recall", "f1")))
