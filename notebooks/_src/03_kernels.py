# %% [markdown]
# # 3 · From an op to its kernel
#
# In notebook 1 we saw that `x * y` calls a `Function`, which calls a *kernel*.
# Kernels are where the arithmetic happens. In jitnet they are short Python
# functions that [Numba](https://numba.pydata.org) compiles to machine code:
# `@njit` for the CPU (a loop each thread runs on its share of the work) and
# `@cuda.jit` for NVIDIA GPUs.
#
# This notebook follows `relu` from the tensor method down to its loop, reads
# the im2col kernel behind convolutions, times serial against parallel loops,
# runs the CUDA version of a kernel on Numba's **CUDA simulator** (no GPU
# needed), and measures what compiling costs and how Numba's disk cache saves
# it.
#
# **The first cell must run before anything imports Numba.** Numba reads
# `NUMBA_ENABLE_CUDASIM` once, when it is first imported; setting it later has
# no effect. (In a notebook that already imported jitnet, restart the kernel.)

# %%
import os

os.environ["NUMBA_ENABLE_CUDASIM"] = "1"  # before numba (and so jitnet) is first imported

# %%
import inspect
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import timeit
from pathlib import Path

import matplotlib.pyplot as plt
import numba
import numpy as np

import jitnet as jn
import jitnet.testing
from jitnet.kernels import opcodes
from jitnet.kernels.cpu import conv, elementwise
from jitnet.ops._nn_args import window2d

jitnet.testing.use_cuda_simulator()  # make the simulator's device arrays behave like a GPU's

print("jitnet", jn.__version__, "| numba", numba.__version__,
      "| CPU threads:", numba.get_num_threads(),
      "| CUDA simulator:", numba.config.ENABLE_CUDASIM)

# %% [markdown]
# ## Following `relu` down the stack
#
# Each layer is a few lines. The tensor method calls the op:

# %%
print(inspect.getsource(jn.Tensor.relu))
print(inspect.getsource(jn.ops.elementwise.relu))
print(inspect.getsource(jn.ops.elementwise.unary))

# %% [markdown]
# All one-input math ops share one `Function`, `Unary`, and are told apart by an
# integer **op code**. `forward` asks `ctx.k` (the kernel table of the input's
# device) for its `unary` kernel; it never checks which device that is.

# %%
print("RELU op code:", opcodes.RELU)
print(inspect.getsource(jn.ops.elementwise.Unary))

# %% [markdown]
# `ctx.k` comes from `jitnet.kernels.table(device)`: one Python module per
# device, exporting the same kernel names with the same signatures.

# %%
x = jn.tensor([-2.0, -0.5, 0.0, 1.5])
k = jn.kernels.table(x.device)
print(k)
print("a few of its kernels:", [n for n in ("unary", "unary_bwd", "reduce", "bmm", "im2col")
                                 if hasattr(k, n)])

# %% [markdown]
# ## The CPU kernel
#
# `kernels/cpu/elementwise.py`, op code `RELU`. The wrapper `unary` is plain
# Python: it flattens the input, allocates the output and picks one of two
# compiled loops by size.

# %%
print(inspect.getsource(elementwise.unary))

# %% [markdown]
# The formula itself lives in one scalar function with a branch per op code.
# Here is its start, down to the relu line:

# %%
def show_until(fn, marker, extra=1):
    """Print fn's source up to the first line containing `marker`, plus `extra` lines."""
    lines = inspect.getsource(fn).splitlines()
    end = next(i for i, line in enumerate(lines) if marker in line)
    print("\n".join(lines[: end + 1 + extra]))


from jitnet.kernels.scalar import elementwise as scalar_elementwise

show_until(scalar_elementwise.unary_fwd, "op == RELU")

# %% [markdown]
# One switch for 35 ops is one source for both devices, but compiling it whole
# for the CPU would make Numba type all 35 branches before a first relu runs
# (about 6 s). So each op gets its own kernels, made on its first call: the
# switch is *folded* to that op's branch (`kernels/_partial.py` rewrites the
# function's source with `op` fixed and drops every branch the constant
# decides). This is what relu's kernels compile:

# %%
from jitnet.kernels._partial import fix_args

print(fix_args(scalar_elementwise.unary_fwd, op=opcodes.RELU).folded_source)
print(fix_args(scalar_elementwise.unary_grad, op=opcodes.RELU).folded_source)

# %% [markdown]
# The loop is a template with the formula as a free name (`fwd`), instantiated
# per op. It is a *task kernel*: its last two arguments `(t, tasks)` say which
# share of the array to map (`span` cuts the array into `tasks` contiguous
# pieces). Called with `(0, 1)` it maps the whole array on this thread;
# `tasks.run_tasks` runs `tasks` of them at once on Numba's thread pool. With
# the op known at compile time the compiler turns the loop into SIMD
# instructions.

# %%
from jitnet.kernels.cpu import tasks

print(inspect.getsource(elementwise._map_loop))
relu_map, relu_grad = elementwise.op_kernels(opcodes.RELU)
print(relu_map, relu_grad)

# %% [markdown]
# Why one kernel instead of a serial loop and a parallel (`prange`) twin?
# Numba compiles a function *into* every function that calls it, so a `prange`
# twin would compile the whole loop body a second time. Instead `@task` (or
# `tasks.forking`, for a template) puts a *fork* in front of the loop: called
# with `t = -1`, the kernel runs `tasks` copies of itself on Numba's thread
# pool, each calling the kernel's own machine code with its `t`. One compile
# serves the serial call and the parallel one. Here is what is compiled for
# relu's map, and `run_tasks`, which picks the call:

# %%
print(tasks.forking(elementwise._map_loop).forked_source)
print(inspect.getsource(tasks.run_tasks))

# %% [markdown]
# Kernels take and return plain NumPy arrays: no tensors, no autograd. So we
# can call one directly and check it against NumPy.

# %%
a = np.array([-2.0, -0.5, 0.0, 1.5], dtype=np.float32)
print(elementwise.unary(opcodes.RELU, a))
np.testing.assert_array_equal(elementwise.unary(opcodes.RELU, a), np.maximum(a, 0))
np.testing.assert_array_equal(jn.relu(x).numpy(), np.maximum(a, 0))

# %% [markdown]
# ## Serial or parallel?
#
# Waking a pool of threads costs microseconds, so small arrays run faster
# serially. The wrapper switches at `PARALLEL_MIN` elements. Let's time one
# task against one task per thread on a small and a large array. (The numbers depend on your machine: on
# a laptop with many cores the parallel loop wins on large arrays; on a busy
# two-core machine, such as a CI runner, it may not win at all. Memory
# bandwidth, not arithmetic, limits a loop this simple.)

# %%
from jitnet.kernels._jit import PARALLEL_MIN

print("PARALLEL_MIN =", PARALLEL_MIN)


def best_time(fn, number):
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


rows = []
for n in (1_000, 1 << 20):
    src_arr = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    out = np.empty_like(src_arr)
    args = (src_arr, out, 0.0, 0.0)
    threads = tasks.num_threads()
    tasks.run_tasks(relu_map, args, 1)  # compile (or load) first
    tasks.run_tasks(relu_map, args, threads)
    number = 200 if n < PARALLEL_MIN else 10
    t_serial = best_time(lambda: tasks.run_tasks(relu_map, args, 1), number)
    t_parallel = best_time(lambda: tasks.run_tasks(relu_map, args, threads), number)
    t_numpy = best_time(lambda: np.maximum(src_arr, 0, out=out), number)
    rows.append((n, t_serial, t_parallel, t_numpy))
    print(f"n={n:>8}: serial {t_serial * 1e6:8.1f} us  parallel {t_parallel * 1e6:8.1f} us"
          f"  numpy {t_numpy * 1e6:8.1f} us")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
labels = [f"n={n:,}" for n, *_ in rows]
xs = np.arange(len(rows))
for i, (name, col) in enumerate([("serial", 1), ("parallel", 2), ("numpy", 3)]):
    ax.bar(xs + (i - 1) * 0.27, [r[col] * 1e6 for r in rows], width=0.27, label=name)
ax.set_xticks(xs, labels)
ax.set_yscale("log")
ax.set_ylabel("time per call (us, log)")
ax.set_title("relu: serial vs parallel kernel")
ax.legend()
fig.tight_layout()

# %% [markdown]
# ## im2col: how a convolution becomes one matrix product
#
# `kernels/cpu/conv.py` computes a 2-D convolution as **im2col + GEMM**: it
# copies every receptive field (the patch of input under the kernel at one
# output position) into a column of a matrix `cols`, so the whole convolution
# becomes a single matrix product `W @ cols`, the operation BLAS libraries are
# fastest at. Read the wrapper and the per-task loop:

# %%
print(inspect.getsource(conv.im2col))
print(inspect.getsource(conv._im2col_task))

# %% [markdown]
# On a tiny input we can see it. A 1-image, 1-channel 4x4 input and a 3x3
# kernel with stride 1 and no padding give a 2x2 output, so `cols` has
# 3*3 = 9 rows (one per kernel tap) and 2*2 = 4 columns (one per output
# pixel). Column `j` is the 3x3 patch under output pixel `j`, flattened.

# %%
img = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
# the geometry: input shape, kernel, stride, padding, dilation, output size
g = window2d(img.shape, (3, 3), (1, 1), (0, 0), (1, 1), (2, 2))
print(g)
cols = conv.im2col(img, g)
print("input:\n", img[0, 0])
print("cols", cols.shape, ":\n", cols)
print("column 0 as a patch:\n", cols[:, 0].reshape(3, 3))

# %% [markdown]
# Now the convolution is a matrix product. Check it against a direct sliding
# window computed with NumPy:

# %%
rng = np.random.default_rng(0)
x4 = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)   # N, C, H, W
w4 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)   # O, C, kh, kw
n_, c_, h_, w_ = x4.shape
oh, ow = h_ - 2, w_ - 2
cols = conv.im2col(x4, window2d(x4.shape, (3, 3), (1, 1), (0, 0), (1, 1), (oh, ow)))
y_gemm = (w4.reshape(4, -1) @ cols).reshape(4, n_, oh, ow).transpose(1, 0, 2, 3)

windows = np.lib.stride_tricks.sliding_window_view(x4, (3, 3), axis=(2, 3))  # N,C,oh,ow,3,3
y_direct = np.einsum("ncijkl,ockl->noij", windows, w4)
print("cols:", cols.shape, " output:", y_gemm.shape)
np.testing.assert_allclose(y_gemm, y_direct, rtol=1e-4, atol=1e-4)
print("im2col + GEMM == direct convolution")

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 2.6), gridspec_kw={"width_ratios": [1, 3]})
axes[0].imshow(x4[0, 0], cmap="viridis")
axes[0].set_title("image 0, channel 0")
axes[1].imshow(cols[:9, :], cmap="viridis", aspect="auto")
axes[1].set_title("cols rows 0-8 (channel 0 taps), one column per output pixel")
axes[1].set_xlabel("output pixel (image 0, then image 1)")
axes[1].set_ylabel("kernel tap")
fig.tight_layout()

# %% [markdown]
# ## The same kernel for CUDA
#
# `kernels/cuda/` mirrors `kernels/cpu/` file for file and name for name:
# `kernels/cuda/elementwise.py` exports `unary`, `kernels/cuda/conv.py` exports
# `im2col`, with the same signatures. The formulas are the same too; the relu
# line of the CUDA scalar function is the CPU one, compiled with
# `@cuda.jit(device=True)` instead of `@njit`:

# %%
from jitnet.kernels.cuda import conv as cuda_conv
from jitnet.kernels.cuda import elementwise as cuda_elementwise

show_until(cuda_elementwise.unary_scalar, "op == RELU")

# %% [markdown]
# What changes is the loop. A GPU runs thousands of threads at once, so the
# kernel is written from the point of view of **one thread**: `cuda.grid(1)` is
# this thread's global index, `cuda.gridsize(1)` the number of threads
# launched. Each thread handles elements `i, i + gridsize, i + 2*gridsize, ...`
# (a *grid-stride loop*), so any array size is covered by a grid of bounded
# size. The Python wrapper allocates the output on the device and launches the
# kernel; the data never leaves the GPU.

# %%
print(inspect.getsource(cuda_elementwise._map_kernel))
print(inspect.getsource(cuda_elementwise.unary))

# %% [markdown]
# im2col for CUDA: one thread per entry of `cols`. Each thread works out which
# (channel, tap) row and which output pixel its entry belongs to, and copies one
# input pixel (or writes 0 in the padding). Consecutive threads write
# consecutive entries, so the GPU's memory accesses are *coalesced*.

# %%
print(inspect.getsource(cuda_conv._im2col_kernel))

# %% [markdown]
# **Running it without a GPU.** With `NUMBA_ENABLE_CUDASIM=1` (our first cell),
# Numba's CUDA simulator runs every `@cuda.jit` kernel as ordinary Python, one
# Python thread per CUDA thread. It is far too slow for real work but exact,
# which makes it ideal for testing kernels and for reading them. jitnet treats
# it as a CUDA device:

# %%
print("jn.cuda.is_available():", jn.cuda.is_available())
xc = x.to("cuda")
print(xc.device, xc)
yc = jn.relu(xc)
print("relu on cuda:", yc.cpu())
np.testing.assert_array_equal(yc.cpu().numpy(), jn.relu(x).numpy())

# %% [markdown]
# The kernel tables can be called directly too: here is CUDA im2col on the tiny
# 4x4 image from before, compared with the CPU result.

# %%
kc = jn.kernels.table(xc.device)         # the CUDA kernel table
img_dev = kc.from_host(img)              # copy the (1, 1, 4, 4) image to the device
cols_dev = kc.im2col(img_dev, g)
cols_cuda = kc.to_host(cols_dev)
print(cols_cuda)
np.testing.assert_array_equal(cols_cuda, conv.im2col(img, g))
print("CUDA im2col == CPU im2col")

# %% [markdown]
# And a whole differentiable convolution on the (simulated) GPU, forward and
# backward, checked against the CPU:

# %%
F = jn.nn.functional
xs = jn.randn(1, 2, 5, 5, requires_grad=True)
ws = jn.randn(3, 2, 3, 3, requires_grad=True)
xs_c = xs.detach().to("cuda").requires_grad_()
ws_c = ws.detach().to("cuda").requires_grad_()
F.conv2d(xs, ws, padding=1).relu().sum().backward()
F.conv2d(xs_c, ws_c, padding=1).relu().sum().backward()
np.testing.assert_allclose(ws_c.grad.cpu().numpy(), ws.grad.numpy(), rtol=1e-4, atol=1e-4)
np.testing.assert_allclose(xs_c.grad.cpu().numpy(), xs.grad.numpy(), rtol=1e-4, atol=1e-4)
print("conv2d gradients on cuda match the CPU")

# %% [markdown]
# On a machine with an NVIDIA GPU, remove the `NUMBA_ENABLE_CUDASIM` line from
# the first cell and the same code runs on the real device.

# %% [markdown]
# ## What compiling costs
#
# Numba compiles a function the first time it is called with a new combination
# of argument types (a *signature*). The first call pays for type inference and
# LLVM code generation; later calls with the same types jump straight to the
# machine code. Let's define a fresh function and time it.

# %%
@numba.njit
def saxpy(a, x, y):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = a * x[i] + y[i]
    return out


xs32 = np.ones(1000, dtype=np.float32)
t0 = time.perf_counter()
saxpy(2.0, xs32, xs32)
first = time.perf_counter() - t0
t0 = time.perf_counter()
saxpy(2.0, xs32, xs32)
second = time.perf_counter() - t0
print(f"first call {first * 1e3:8.1f} ms (compile + run)")
print(f"second call {second * 1e3:7.3f} ms (run)")

t0 = time.perf_counter()
saxpy(2.0, xs32.astype(np.float64), xs32.astype(np.float64))  # new types: compiles again
print(f"float64 call {(time.perf_counter() - t0) * 1e3:6.1f} ms; signatures now:")
for sig in saxpy.signatures:
    print("  ", sig)

# %% [markdown]
# ## The disk cache
#
# Compiling in every new Python process would make `import jitnet; train()`
# slow to start. jitnet's kernels are decorated with `njit(cache=True)` (via the
# `@kernel` decorator in `kernels/_jit.py`): the compiled code is saved in a
# `__pycache__` folder next to the source, as an index file per function
# (`.nbi`: which signatures are cached) and a data file per signature (`.nbc`:
# the machine code). A new process loads them instead of compiling.
#
# Each dispatcher knows where its cache lives and counts hits (loaded from
# disk) and misses (compiled here):

# %%
print(inspect.getsource(jn.kernels._jit.kernel))
stats = relu_map.stats
cache_dir = Path(stats.cache_path)
print("cache folder:", cache_dir)
print("hits:", dict(stats.cache_hits), " misses:", dict(stats.cache_misses))
index_files = sorted(p.name for p in cache_dir.glob("elementwise.*.nbi"))
print(len(index_files), "index files for elementwise.py, e.g.:")
for name in index_files[:4]:
    print("  ", name)

# %% [markdown]
# The file name is `<module>.<function>-<line>.<python version>.nbi`. Numba
# also records the source file's timestamp, so editing a kernel invalidates its
# cache and the next call compiles afresh.
#
# To measure what the cache saves, run `import jitnet` and two `relu` calls in
# fresh processes. `NUMBA_CACHE_DIR` points Numba at an empty folder of our
# own, so the first process finds no cache and compiles; the second finds the
# files the first one wrote.

# %%
probe = textwrap.dedent('''
    import time
    t0 = time.perf_counter()
    import jitnet as jn
    x = jn.randn(1000)
    t1 = time.perf_counter(); jn.relu(x); t2 = time.perf_counter(); jn.relu(x)
    t3 = time.perf_counter()
    print(f"{(t1 - t0) * 1e3:.0f} {(t2 - t1) * 1e3:.0f} {(t3 - t2) * 1e3:.3f}")
''')
private_cache = Path(tempfile.mkdtemp())
env = dict(os.environ, NUMBA_CACHE_DIR=str(private_cache))
for label in ("process 1, empty cache", "process 2, warm cache "):
    out = subprocess.run([sys.executable, "-c", probe], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    print(f"{label}: import jitnet {out[0]:>5} ms | first relu {out[1]:>5} ms"
          f" | second relu {out[2]} ms")
written = sorted(p.name for p in private_cache.rglob("elementwise.*.nb*"))
print("files written by process 1:", written)
shutil.rmtree(private_cache)

# %% [markdown]
# Compiling the relu kernel takes seconds (the kernel holds the formulas of
# every unary op); loading it takes a fraction of that. What remains of the
# first call in process 2 is Numba's own start-up (its type system and LLVM
# back end), paid once per process, and the second call costs microseconds.

# %% [markdown]
# ## Summary
#
# * An op reaches its kernel through `ctx.k`, the kernel table of its inputs'
#   device; `Function`s never branch on the device.
# * A CPU kernel is a plain Python wrapper (allocate, pick one task or one per
#   thread) around `@njit` task loops over NumPy arrays; a family of ops shares one kernel
#   through an op code.
# * Convolution is im2col followed by one matrix product.
# * The CUDA table has the same kernel names; the simulator runs them on the
#   CPU, slowly but faithfully, for teaching and testing.
# * Compiling costs from a fraction of a second to seconds per kernel and
#   signature; the disk cache pays it once per machine, not once per process.
