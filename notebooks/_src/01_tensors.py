# %% [markdown]
# # 1 · Tensors
#
# A deep-learning framework is, first of all, an array library. In jitnet the
# array type is `jitnet.Tensor`. This notebook covers what a tensor holds and how
# to make one, how dtypes are chosen, how broadcasting lines up shapes, which
# operations share memory (views) and which copy, and how tensors move to and
# from NumPy.
#
# Everything here runs on the CPU in a few seconds. If you know PyTorch, most of
# it will look familiar: jitnet keeps PyTorch's names and rules on purpose.

# %%
import numpy as np

import jitnet as jn

jn.manual_seed(0)  # jitnet's own random generator: same numbers on every run
print("jitnet", jn.__version__)

# %% [markdown]
# ## What a tensor is
#
# A `Tensor` wraps one raw array (a NumPy array on the CPU) and adds a few
# things NumPy does not have: a **device** (`cpu` or `cuda`), a flag saying
# whether autograd should follow it (`requires_grad`), and room for a gradient
# (`grad`). The raw array lives in the private attribute `_data`. We peek at it
# here to understand the design; ordinary code never needs it.

# %%
x = jn.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
print(x)
print("shape:", x.shape, " ndim:", x.ndim, " numel:", x.numel())
print("dtype:", x.dtype, " device:", x.device, " requires_grad:", x.requires_grad)
print("underneath:", type(x._data).__name__, x._data.dtype)

# %% [markdown]
# ## Making tensors
#
# The creation functions have PyTorch's names and arguments. Random tensors come
# from jitnet's generator, seeded above with `jn.manual_seed`.

# %%
print(jn.zeros(2, 3))
print(jn.ones((2, 2), dtype=jn.float64))
print(jn.arange(5))
print(jn.linspace(0, 1, 5))
print(jn.eye(3))
print(jn.full((2, 2), 7))
print(jn.rand(2, 3))           # uniform in [0, 1)
print(jn.randn(2, 3))          # standard normal
print(jn.randint(0, 10, (6,)))

# %% [markdown]
# ## dtypes
#
# Every tensor has one element type. When you do not name it, jitnet infers it
# the way PyTorch does:
#
# | data you pass | dtype |
# |---|---|
# | Python floats (or a mix with ints) | `float32`, the default float |
# | Python ints only | `int64` |
# | Python bools | `bool` |
# | a NumPy array | the array's own dtype (`float64` stays `float64`) |
#
# The last row surprises people: `np.array([1.0])` is float64, so a tensor made
# from it is float64 too, and float64 math is slower than float32. Deep learning
# uses float32 almost everywhere.

# %%
print(jn.tensor([1, 2, 3]).dtype)
print(jn.tensor([1, 2.5]).dtype)
print(jn.tensor([True, False]).dtype)
print(jn.tensor(np.array([1.0, 2.0])).dtype)
print(jn.tensor([1, 2], dtype=jn.float64).dtype)

# %% [markdown]
# Each `DType` knows its NumPy twin (`.np`) and its size in bytes.

# %%
for dt in (jn.float32, jn.float64, jn.int64, jn.int32, jn.uint8, jn.bool):
    print(f"{dt.name:8s} numpy: {np.dtype(dt.np).name:8s} bytes: {dt.itemsize}")

# %% [markdown]
# **Type promotion.** When two tensors of different dtypes meet, the result
# takes the "larger" type: int with float gives float, float32 with float64
# gives float64. Dividing integers with `/` is true division and gives a float,
# as in Python 3. Comparisons give `bool` tensors.
#
# You convert explicitly with `.to(dtype)` or the shortcuts `.float()`,
# `.double()`, `.long()`, `.int()`, `.bool()`.

# %%
i = jn.tensor([1, 2, 3])
f = jn.tensor([0.5, 0.5, 0.5])
d = jn.tensor([1.0, 1.0, 1.0], dtype=jn.float64)
print("int64 + float32   ->", (i + f).dtype)
print("float32 + float64 ->", (f + d).dtype)
print("int64 / 2         ->", (i / 2).dtype, i / 2)
print("int64 > 1         ->", (i > 1).dtype, i > 1)
print("cast              ->", i.float().dtype, f.to(jn.float64).dtype, f.long())

# %% [markdown]
# ## Reshaping
#
# `reshape`, `view`, `flatten`, `unsqueeze`/`squeeze`, `permute`/`transpose`
# change how the same numbers are arranged; `cat` and `stack` join tensors.

# %%
a = jn.arange(12)
m = a.reshape(3, 4)
print(m)
print("unsqueeze(0):", m.unsqueeze(0).shape, " flatten:", m.flatten().shape)
print("transpose   :", m.transpose(0, 1).shape, " permute:", m.unsqueeze(0).permute(2, 0, 1).shape)
print("cat dim 0   :", jn.cat([m, m], dim=0).shape, " stack:", jn.stack([m, m]).shape)
print("reshape(-1, 6) infers the -1:", m.reshape(-1, 6).shape)

# %% [markdown]
# ## Broadcasting
#
# Elementwise operations accept tensors of different shapes when the shapes are
# *compatible*. Line the shapes up from the right; two sizes are compatible when
# they are equal or one of them is 1 (a missing dimension counts as 1). Each
# size-1 dimension is stretched to match, without copying anything.
#
# ```
#   col   (3, 1)
#   row      (4,)   ->  treated as (1, 4)
#   ----------------
#   sum   (3, 4)
# ```

# %%
col = jn.tensor([[0.0], [10.0], [20.0]])    # shape (3, 1)
row = jn.tensor([1.0, 2.0, 3.0, 4.0])       # shape (4,)
table = col + row
print(table)
assert tuple(table.shape) == (3, 4)

# %% [markdown]
# A classic use: centre every column of a data matrix by subtracting its mean.
# `keepdim=True` keeps the reduced dimension as size 1 so the result broadcasts
# straight back against the original.

# %%
data = jn.randn(5, 3) * 4 + 10
mean = data.mean(dim=0, keepdim=True)   # shape (1, 3)
centred = data - mean
print("mean shape:", mean.shape)
print("column means after centring:", centred.mean(dim=0))
assert np.allclose(centred.mean(dim=0).numpy(), 0, atol=1e-5)

# %% [markdown]
# Shapes that do not line up are an error, raised before any computation runs,
# and the message names both shapes:

# %%
try:
    jn.ones(3) + jn.ones(4)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# jitnet follows NumPy's rules exactly, so NumPy is a handy referee:

# %%
for s1, s2 in [((2, 1, 4), (3, 1)), ((5,), (1,)), ((2, 3), (2, 1))]:
    got = (jn.ones(*s1) * jn.ones(*s2)).shape
    want = np.broadcast_shapes(s1, s2)
    print(f"{s1} * {s2} -> {tuple(got)}   numpy says {want}")
    assert tuple(got) == want

# %% [markdown]
# ## Views and copies
#
# Some operations return a **view**: a new tensor that reads and writes the
# *same memory* as the original, just with a different shape or step between
# elements (its *strides*). Others return a **copy**. The difference matters as
# soon as you write into a tensor.
#
# `view`, basic slicing (`x[1]`, `x[:, 0]`), `transpose`/`permute` and `expand`
# make views; `clone` always copies; `reshape` gives a view when it can and a
# copy when it must.
#
# On the CPU, `.numpy()` returns the underlying array without copying, so
# `np.shares_memory` tells us whether two tensors share storage.

# %%
def shares(t1, t2):
    return np.shares_memory(t1.numpy(), t2.numpy())


x = jn.arange(12).float().reshape(3, 4)
v = x.view(4, 3)
row1 = x[1]
c = x.clone()
print("view shares memory:  ", shares(x, v))
print("slice shares memory: ", shares(x, row1))
print("clone shares memory: ", shares(x, c))

v[0, 0] = 100.0        # write through the view...
row1[0] = -1.0         # ...and through the slice
c[2, 3] = 999.0        # the clone is independent
print(x)
assert x[0, 0].item() == 100.0 and x[1, 0].item() == -1.0 and x[2, 3].item() == 11.0

# %% [markdown]
# **Strides** explain which reshapes can be views. A strided array finds element
# `[i, j]` at byte offset `i * stride[0] + j * stride[1]`. A transpose just
# swaps the strides: no data moves, but the result is no longer *contiguous*
# (rows are not laid end to end). Flattening a non-contiguous tensor cannot be
# described by strides, so `view` refuses and `reshape` quietly copies.

# %%
t = x.T
print("x strides (bytes):  ", x.numpy().strides, " contiguous:", x.is_contiguous())
print("x.T strides (bytes):", t.numpy().strides, " contiguous:", t.is_contiguous())
try:
    t.view(12)
except RuntimeError as err:
    print("RuntimeError:", err)
flat = t.reshape(12)
print("reshape of x.T shares memory with x:", shares(flat, x))

# %% [markdown]
# `expand` is the extreme case: stride 0 along the stretched dimension, so a
# (3, 1000) "matrix" costs the memory of 3 numbers. This is exactly how
# broadcasting avoids copies.

# %%
c = jn.tensor([[1.0], [2.0], [3.0]])
e = c.expand(3, 1000)
print("shape:", e.shape, " strides:", e.numpy().strides, " bytes held:", c.numpy().nbytes,
      " shares memory with c:", np.shares_memory(e.numpy(), c.numpy()))

# %% [markdown]
# ## NumPy interop
#
# * `jn.from_numpy(a)` wraps an array **without copying**: changes to one show
#   in the other.
# * `jn.tensor(a)` always **copies**.
# * `t.numpy()` gives the CPU tensor's array **without copying**. If the tensor
#   requires grad, detach it first: `t.detach().numpy()`.
# * `np.asarray(t)` works too, so NumPy and matplotlib functions accept tensors.

# %%
a = np.zeros(3, dtype=np.float32)
shared = jn.from_numpy(a)
copied = jn.tensor(a)
a[0] = 42.0
print("from_numpy:", shared)
print("tensor    :", copied)
assert shared[0].item() == 42.0 and copied[0].item() == 0.0

w = jn.randn(3, requires_grad=True)
try:
    w.numpy()
except RuntimeError as err:
    print("RuntimeError:", err)
print("detached:", w.detach().numpy())

# %% [markdown]
# Because the interop is cheap, NumPy is the natural reference when you check a
# jitnet computation:

# %%
A = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
B = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
ours = (jn.from_numpy(A) @ jn.from_numpy(B)).relu().sum(dim=1)
ref = np.maximum(A @ B, 0).sum(axis=1)
print(ours)
np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-5, atol=1e-6)
print("matches NumPy")

# %% [markdown]
# ## Where the work happens
#
# Each tensor method is a thin call: `x * y` goes to `jitnet.ops` (which checks
# shapes and dtypes), then to a `Function` (which records the operation for
# autograd), then to a *kernel* for the tensor's device. `inspect.getsource`
# shows each step; every one is a few lines of Python.

# %%
import inspect

print(inspect.getsource(jn.Tensor.__mul__))
print(inspect.getsource(jn.ops.elementwise.mul))
print(inspect.getsource(jn.ops.elementwise.Mul))

# %% [markdown]
# `Mul.forward` receives the raw arrays and asks `ctx.k`, the kernel table of the
# tensors' device, for the `binary` kernel; `Mul.backward` is the product rule.
# The next notebook is about that second half, autograd; notebook 3 opens the
# kernels.
