# %% [markdown]
# # 6 · How fast is it? jitnet beside NumPy and PyTorch
#
# A framework is judged by its speed as well as its API. This notebook times
# three workloads in jitnet, NumPy and (if installed) PyTorch on the same
# float32 inputs:
#
# 1. a matrix product (`a @ b`), the core of every dense layer;
# 2. a 2-D convolution, the core of every CNN;
# 3. a full training step (forward, loss, backward, Adam update) of a small
#    MLP and a small CNN.
#
# and plots jitnet's time as a ratio of the others'. Then it shows how to run
# the project's full benchmark suite, which does the same thing carefully with
# `pytest-benchmark`.
#
# **Read the numbers with care.** Timings depend on the machine, the number of
# cores, what else is running, and the size of the problem. The sizes here are
# small so that the notebook runs in seconds; the benchmark suite covers larger
# ones. If one number looks absurd (a 128x128 product taking milliseconds),
# something else was using the cores at that moment: run the cell again.

# %%
import ast
import os
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

try:
    import torch
except ImportError:  # everything below still runs, with the PyTorch columns empty
    torch = None

if torch is not None:
    torch.set_num_threads(numba.get_num_threads())  # same number of threads on both sides
print("jitnet", jn.__version__, "| NumPy", np.__version__,
      "| PyTorch", torch.__version__ if torch is not None else "not installed",
      "| threads", numba.get_num_threads())

# %% [markdown]
# ## A fair timer
#
# Two rules. **Warm up first**: jitnet's first call of a kernel compiles it (or
# loads it from the disk cache), and PyTorch and NumPy have first-call costs
# of their own; we time the steady state. **Repeat, and keep the best**: a
# single measurement is at the mercy of whatever else the machine is doing.
# Python's `timeit` documentation recommends the minimum of the repeats: the
# slower ones are usually slowed by other processes, not by the code. (The
# benchmark suite reports medians and spreads as well, over many more rounds.)

# %%
def bench(fn, repeat=5, min_time=0.02):
    """Best seconds per call of fn() over `repeat` runs, after one warm-up call."""
    fn()
    number = 1
    while timeit.timeit(fn, number=number) < min_time and number < 10_000:
        number *= 4
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def fmt(seconds):
    return f"{'-':>11s}" if seconds is None else f"{seconds * 1e3:8.3f} ms"


results = {}  # case -> {"jitnet": s, "numpy": s or None, "torch": s or None}


def report(case, times):
    results[case] = times
    print(f"{case:28s}" + "".join(f"{lib:>8s} {fmt(times.get(lib))}"
                                  for lib in ("jitnet", "numpy", "torch")))


rng = np.random.default_rng(0)


def rand(*shape):
    return rng.standard_normal(shape).astype(np.float32)

# %% [markdown]
# ## Matrix product
#
# jitnet's matmul kernel calls BLAS (through Numba's `np.dot`), the same kind of
# library NumPy and PyTorch call, so all three should be close. Differences come
# from the BLAS build and from fixed per-call costs, which matter more for small
# matrices.

# %%
for n in (128, 512):
    A, B = rand(n, n), rand(n, n)
    ja, jb = jn.tensor(A), jn.tensor(B)
    np.testing.assert_allclose((ja @ jb).numpy(), A @ B, rtol=1e-3, atol=1e-3)
    times = {"jitnet": bench(lambda: ja @ jb), "numpy": bench(lambda: A @ B)}
    if torch is not None:
        ta, tb = torch.from_numpy(A), torch.from_numpy(B)
        times["torch"] = bench(lambda: ta @ tb)
    report(f"matmul {n}x{n}", times)

# %% [markdown]
# ## Convolution
#
# A batch of 32 images with 16 channels of 16x16 pixels, 32 filters of 3x3,
# padding 1. jitnet runs im2col + one matrix product (notebook 3). NumPy has no
# convolution, so its column is the same algorithm written with NumPy:
# `sliding_window_view` to get the patches, then `tensordot`. PyTorch calls its
# optimised CPU convolution.

# %%
F = jn.nn.functional
X, W = rand(32, 16, 16, 16), rand(32, 16, 3, 3)


def numpy_conv2d(x, w):
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    patches = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))
    return np.tensordot(patches, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)


jx, jw = jn.tensor(X), jn.tensor(W)
ref = numpy_conv2d(X, W)
np.testing.assert_allclose(F.conv2d(jx, jw, padding=1).numpy(), ref, rtol=1e-3, atol=1e-3)
times = {"jitnet": bench(lambda: F.conv2d(jx, jw, padding=1)),
         "numpy": bench(lambda: numpy_conv2d(X, W))}
if torch is not None:
    tx, tw = torch.from_numpy(X), torch.from_numpy(W)
    np.testing.assert_allclose(torch.nn.functional.conv2d(tx, tw, padding=1).numpy(), ref,
                               rtol=1e-3, atol=1e-3)
    times["torch"] = bench(lambda: torch.nn.functional.conv2d(tx, tw, padding=1))
report("conv2d 32x16x16x16, 3x3", times)

# %% [markdown]
# ## A training step
#
# The real test: forward, cross-entropy, backward and an Adam update, for the
# digits MLP of notebook 4 and the CNN of notebook 5, batch 64. NumPy has no
# autograd, so only jitnet and PyTorch take part.
#
# Because jitnet keeps PyTorch's layer names, we build the *same* architecture
# in both from one function (pass in `jn.nn` or `torch.nn`) and copy PyTorch's
# initial weights into jitnet's model by `state_dict` key. Then both compute
# the same first loss, a good sign that we time the same work.

# %%
def mlp(nn_):
    return nn_.Sequential(nn_.Linear(64, 128), nn_.ReLU(), nn_.Linear(128, 10))


def cnn(nn_):
    return nn_.Sequential(
        nn_.Conv2d(1, 16, 3, padding=1), nn_.ReLU(), nn_.MaxPool2d(2),
        nn_.Conv2d(16, 32, 3, padding=1), nn_.ReLU(), nn_.MaxPool2d(2),
        nn_.Flatten(), nn_.Linear(128, 10))


def step_fn(model, opt, loss_fn, x, y):
    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


labels = rng.integers(0, 10, 64)
for name, build, shape in (("train step MLP 64-128-10", mlp, (64, 64)),
                           ("train step CNN (digits)", cnn, (64, 1, 8, 8))):
    x_np = rand(*shape)
    jn.manual_seed(0)
    j_model = build(jn.nn)
    times = {"numpy": None}
    if torch is not None:
        torch.manual_seed(0)
        t_model = build(torch.nn)
        j_model.load_state_dict({k: jn.tensor(v.detach().numpy())
                                 for k, v in t_model.state_dict().items()})
        t_step = step_fn(t_model, torch.optim.Adam(t_model.parameters(), lr=1e-3),
                         torch.nn.functional.cross_entropy, torch.from_numpy(x_np),
                         torch.from_numpy(labels))
    j_step = step_fn(j_model, jn.optim.Adam(j_model.parameters(), lr=1e-3),
                     F.cross_entropy, jn.tensor(x_np), jn.tensor(labels))
    j_first = j_step().item()
    if torch is not None:
        t_first = t_step().item()
        print(f"{name}: first loss jitnet {j_first:.6f}, PyTorch {t_first:.6f}")
        assert abs(j_first - t_first) < 1e-4 * max(1.0, abs(t_first))
        times["torch"] = bench(t_step)
    times["jitnet"] = bench(j_step)
    report(name, times)

# %% [markdown]
# ## Ratios
#
# Each bar is jitnet's time divided by the other library's: **below 1, jitnet
# is faster; above 1, slower**. The scale is logarithmic so that 2x faster and
# 2x slower are the same distance from the line.

# %%
cases = list(results)
fig, ax = plt.subplots(figsize=(8, 3.4))
xs = np.arange(len(cases))
for k, (lib, label) in enumerate((("numpy", "jitnet / NumPy"), ("torch", "jitnet / PyTorch"))):
    ratios = [results[c]["jitnet"] / results[c][lib] if results[c].get(lib) else np.nan
              for c in cases]
    bars = ax.bar(xs + (k - 0.5) * 0.38, ratios, 0.38, label=label)
    for bar, r in zip(bars, ratios):
        if np.isfinite(r):
            ax.annotate(f"{r:.2f}", (bar.get_x() + bar.get_width() / 2, r), ha="center",
                        va="bottom", fontsize=8)
ax.axhline(1.0, color="black", lw=0.8)
ax.set_yscale("log")
ax.set_xticks(xs, [textwrap.fill(c, 16) for c in cases], fontsize=8)
ax.set_ylabel("time ratio (lower is better)")
ax.set_title("jitnet relative to NumPy and PyTorch (best of 5 repeats)")
ax.legend()
fig.tight_layout()

print(f"{'case':28s} {'jitnet/NumPy':>13s} {'jitnet/PyTorch':>15s}")
for c in cases:
    r = results[c]
    rn = f"{r['jitnet'] / r['numpy']:.2f}" if r.get("numpy") else "-"
    rt = f"{r['jitnet'] / r['torch']:.2f}" if r.get("torch") else "-"
    print(f"{c:28s} {rn:>13s} {rt:>15s}")

# %% [markdown]
# Where does the time of a small training step go? Each op costs a fixed
# overhead in Python (checking inputs, recording the tape, choosing a kernel)
# on top of its arithmetic. For the tiny digits models the arithmetic is
# microseconds, so this per-op overhead dominates; for big layers the kernels
# dominate and the overhead vanishes in comparison.

# %% [markdown]
# ## Where the time goes: the profiler
#
# Ratios say *how much* slower or faster; a profiler says *where*.
# `jitnet.profiler` has PyTorch's API (`torch.profiler`): everything run inside
# `with jn.profiler.profile() as prof:` is recorded, and
# `prof.key_averages().table(...)` sums it up, one row per name. There are two
# kinds of rows:
#
# - **ops**, the `forward` and `backward` of each autograd Function (`Conv2d`,
#   `Conv2dBackward`, `Relu`, ...), with the line of jitnet's source where that
#   forward or backward is defined;
# - **kernels**, the compiled code the ops call, named after the kernel table
#   entry (`cpu::conv.im2col` is `im2col` in `kernels/cpu/conv.py`), with its
#   device, its source line, and how much of its time Numba spent compiling it
#   (the first call with new argument types) or loading it from its disk cache
#   (the first call in a new process).
#
# *Self* time is a row's time minus the rows it called: an op's self time is
# its Python (checks, reshapes, the tape), a kernel's self time is the
# compiled code. We profile ten steps of the digits CNN from above.

# %%
jn.manual_seed(0)
p_model = cnn(jn.nn)
p_step = step_fn(p_model, jn.optim.Adam(p_model.parameters(), lr=1e-3), F.cross_entropy,
                 jn.tensor(rand(64, 1, 8, 8)), jn.tensor(labels))
p_step()  # the first call compiles or loads the kernels; profile the steady state
time.sleep(0.5)  # let PyTorch's OpenMP threads, busy-waiting since its last step, sleep
with jn.profiler.profile() as prof:
    for _ in range(10):
        p_step()
print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))

# %% [markdown]
# The footer compares the rows with the wall time of the profile: what is left
# is Python that ran between the ops (the model's `forward`, the optimizer's
# loop, `Function.apply` wrapping each result in a Tensor). `sort_by` takes
# `"self_cpu_time_total"`, `"cpu_time_total"`, `"cpu_time"` (the mean) or
# `"count"`. `prof.events()` gives every call with its parent and children,
# e.g. which kernels one op ran:

# %%
events = prof.events()
conv = next(e for e in events if e.name == "Conv2dBackward")
print(conv.name, "ran", ", ".join(f"{c.name} ({c.cpu_time_total:.0f} us)"
                                  for c in conv.cpu_children))

# %% [markdown]
# Setting `JITNET_LOG=kernels` in the environment prints every kernel call as it
# ends, to stderr, without any code change (tinygrad's `DEBUG=2` does the same):
# its number, the kernel, the op it ran in, its arguments (arrays as
# `dtype[shape]`), the result and the time. The first call of each kernel in a
# fresh process loads its machine code from Numba's disk cache, and says how
# long that took; a kernel compiled for the first time says how long compiling
# took.

# %%
program = ("import jitnet as jn\n"
           "x = jn.ones(2, 3, requires_grad=True)\n"
           "(x * 2).relu().sum().backward()\n")
env = dict(os.environ, JITNET_LOG="kernels",
           PYTHONPATH=os.pathsep.join([str(Path(jn.__file__).parent.parent),
                                       os.environ.get("PYTHONPATH", "")]))
logged = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                        text=True, check=True)
print(logged.stderr)

# %% [markdown]
# ## The benchmark suite
#
# The repository's `bench/` folder holds the careful version of these
# measurements, written for
# [pytest-benchmark](https://pytest-benchmark.readthedocs.io): many sizes, each
# case in jitnet, NumPy and PyTorch, calibrated rounds, statistics, and a JSON
# file of results. From the repository root:
#
# ```bash
# # everything (several minutes); unset OpenBLAS tuning variables so that
# # NumPy, PyTorch and jitnet all use their defaults
# env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
#     python -m pytest bench/ --benchmark-only --benchmark-json bench/results/cpu.json
#
# # one family, e.g. the convolutions, or select cases with -k
# python -m pytest bench/bench_conv.py --benchmark-only
# python -m pytest bench/ --benchmark-only -k "matmul and 512"
#
# # ratio tables (markdown) and a bar chart from the JSON
# python bench/report.py bench/results/cpu.json --md bench/results/cpu.md \
#     --png bench/results/cpu.png
# ```
#
# When this notebook runs inside the repository, the next cells list the suite
# and run one small benchmark end to end, with a short time budget per case.

# %%
root = Path.cwd().parent
bench_dir = root / "bench"
have_suite = (bench_dir / "report.py").exists()
if have_suite:
    for f in sorted(bench_dir.glob("bench_*.py")):
        doc = ast.get_docstring(ast.parse(f.read_text())) or ""
        print(f"{f.name:20s} {doc.splitlines()[0] if doc else ''}")
else:
    print("bench/ not found: run this notebook from the repository's notebooks/ folder")

# %%
if have_suite:
    out_dir = Path(tempfile.mkdtemp())
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(bench_dir / "bench_core.py"), "-k", "tiny_graph",
         "--benchmark-only", "--benchmark-max-time=0.2", "--benchmark-columns=min,median,rounds",
         "--color=no",
         f"--benchmark-json={out_dir / 'tiny.json'}", "-q", "-p", "no:cacheprovider"],
        cwd=root, env=env, capture_output=True, text=True)
    print(run.stdout[-1500:])
    assert run.returncode == 0, run.stderr[-2000:]
    table = subprocess.run([sys.executable, str(bench_dir / "report.py"),
                            str(out_dir / "tiny.json")], cwd=root, capture_output=True,
                           text=True, check=True)
    print(table.stdout)
    shutil.rmtree(out_dir)
