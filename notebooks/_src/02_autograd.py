# %% [markdown]
# # 2 · Autograd: the tape
#
# Training a network means computing the gradient of a loss with respect to
# thousands of parameters. Nobody writes those derivatives by hand: the
# framework records every operation as it runs (the *tape*) and then walks the
# record backwards, applying the chain rule one operation at a time. This is
# **reverse-mode automatic differentiation**.
#
# In this notebook we build a small graph, print and draw it, run the backward
# pass by hand, compare with `backward()`, and check the result against finite
# differences.

# %%
import inspect

import numpy as np

import jitnet as jn
from jitnet.viz import draw_graph, graph_text

jn.manual_seed(0)
print("jitnet", jn.__version__)

# %% [markdown]
# ## A small graph
#
# One neuron with a squared-error loss:
#
# $$ z = w \cdot x + b, \qquad y = \sigma(z), \qquad L = (y - t)^2 $$
#
# `w` and `b` are the parameters we want gradients for, so we create them with
# `requires_grad=True`. `x` and the target `t` are data: no gradient needed.

# %%
x = jn.tensor([0.5, -1.0, 2.0])
t = jn.tensor(1.0)
w = jn.tensor([0.1, 0.2, -0.3], requires_grad=True)
b = jn.tensor(0.05, requires_grad=True)

z = (w * x).sum() + b
y = jn.sigmoid(z)
loss = (y - t) ** 2
print("z =", z.item(), " y =", y.item(), " loss =", loss.item())
print(loss)

# %% [markdown]
# Every result of an operation on a tensor that requires grad carries a
# `grad_fn`: the node of the tape that made it. A node remembers the
# `Function` that ran (`ctx.fn`) and the arguments it ran on (`ctx.inputs`).
# Tensors we created ourselves are **leaves**: they have no `grad_fn`.

# %%
print("loss.grad_fn:", loss.grad_fn, " its inputs:", loss.grad_fn.inputs)
print("w is a leaf:", w.is_leaf, " loss is a leaf:", loss.is_leaf)
node = loss.grad_fn
while node is not None:  # follow the first input back to the leaves
    print(f"{node.name():16s} inputs: {[type(i).__name__ for i in node.inputs]}")
    first = node.inputs[0]
    node = first.grad_fn if isinstance(first, jn.Tensor) else None

# %% [markdown]
# Two things to notice. `UnaryBackward` appears twice: every one-input math op
# (sigmoid, square, relu, exp, ...) is the same `Function` class, `Unary`, and
# its integer argument is an *op code* (listed in `jitnet/kernels/opcodes.py`)
# that selects the formula. And following one input at a time only shows one
# path through the graph.
#
# `jitnet.viz.graph_text` prints the whole graph as a tree, root first, with op
# codes translated back to names; pass `names` to label tensors. `#n` numbers
# the operations; an operation used twice is printed once and then referred to
# as `(see above)`.

# %%
names = {"x": x, "t": t, "w": w, "b": b, "z": z, "y": y, "loss": loss}
print(graph_text(loss, names=names))

# %% [markdown]
# `draw_graph` draws the same graph: leaves that need a gradient in blue,
# constants in grey, operations in orange. Data flows down the arrows; the
# backward pass climbs them in reverse. (With graphviz installed you get a
# graphviz drawing; without, a matplotlib figure.)

# %%
draw_graph(loss, names=names)

# %% [markdown]
# ## One Function, forward and backward side by side
#
# Each operation is a `Function` subclass with a `forward` and a `backward`.
# `forward` computes the value and saves what `backward` will need on `ctx`;
# `backward` receives the gradient of the loss with respect to the output, `g`,
# and returns one gradient per input: the chain rule, one step.

# %%
print(inspect.getsource(jn.ops.elementwise.Mul))

# %% [markdown]
# ## Backward by hand
#
# The engine's job is bookkeeping:
#
# 1. order the nodes so that each one comes after every node that uses its
#    output (a *topological order* from the loss);
# 2. seed the loss's gradient with 1 ($\partial L / \partial L$);
# 3. for each node in that order, call its `backward` with the gradient of its
#    output, and hand each returned gradient to the input it belongs to,
#    **adding** when an input is used more than once;
# 4. when an input was broadcast in the forward pass, sum its gradient back down
#    to the input's shape.
#
# Here it is in a dozen lines. The gradients are raw NumPy arrays, exactly what
# `Function.backward` works on.

# %%
def topological_order(root_ctx):
    """Nodes reachable from root_ctx, each after all nodes that consume its output."""
    order, seen = [], set()

    def visit(ctx):
        if id(ctx) in seen:
            return
        seen.add(id(ctx))
        for inp in ctx.inputs:
            if isinstance(inp, jn.Tensor) and inp.grad_fn is not None:
                visit(inp.grad_fn)
        order.append(ctx)  # after all of its inputs

    visit(root_ctx)
    return order[::-1]  # reversed: the root first


def unbroadcast(g, shape):
    """Sum a gradient of a broadcast shape down to `shape` (broadcasting, in reverse)."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def backward_by_hand(loss):
    grads = {id(loss.grad_fn): np.ones(loss.shape, dtype=np.float32)}  # seed dL/dL = 1
    leaf_grads = {}
    for ctx in topological_order(loss.grad_fn):
        g_out = grads.pop(id(ctx))
        g_in = ctx.fn.backward(ctx, g_out)
        if not isinstance(g_in, tuple):
            g_in = (g_in,)
        for inp, g in zip(ctx.inputs, g_in):
            if not isinstance(inp, jn.Tensor) or not inp.requires_grad or g is None:
                continue  # constants and non-tensor arguments take no gradient
            g = unbroadcast(np.asarray(g), tuple(inp.shape))
            target = grads if inp.grad_fn is not None else leaf_grads
            key = id(inp.grad_fn) if inp.grad_fn is not None else id(inp)
            target[key] = target.get(key, 0) + g  # add: an input may be used twice
    return leaf_grads


manual = backward_by_hand(loss)
print("dL/dw by hand:", manual[id(w)])
print("dL/db by hand:", manual[id(b)])

# %% [markdown]
# For this tiny graph we can also do the calculus on paper:
# $\partial L/\partial y = 2(y - t)$, $\partial y/\partial z = y(1-y)$,
# $\partial z/\partial w = x$ and $\partial z/\partial b = 1$.

# %%
yv, tv, xv = y.item(), t.item(), x.numpy()
dz = 2 * (yv - tv) * yv * (1 - yv)
print("dL/dw on paper:", dz * xv)
print("dL/db on paper:", dz)
np.testing.assert_allclose(manual[id(w)], dz * xv, rtol=1e-5)
np.testing.assert_allclose(manual[id(b)], dz, rtol=1e-5)

# %% [markdown]
# ## The same with `backward()`
#
# `loss.backward()` does exactly the walk above (see `jitnet/autograd.py`,
# `run_backward`), and stores each leaf's gradient in its `.grad`.

# %%
loss.backward()
print("w.grad:", w.grad)
print("b.grad:", b.grad)
np.testing.assert_allclose(w.grad.numpy(), manual[id(w)], rtol=1e-6)
np.testing.assert_allclose(b.grad.numpy(), manual[id(b)], rtol=1e-6)
print("backward() agrees with the hand-written walk")

# %% [markdown]
# After a backward pass the graph is **freed**: the saved arrays are dropped, so
# the memory of a training step dies with its loss. A second `backward()` on the
# same graph is an error unless the first one passed `retain_graph=True`.

# %%
print(graph_text(loss, names=names))
try:
    loss.backward()
except RuntimeError as err:
    print("RuntimeError:", str(err).split(".")[0])

# %% [markdown]
# Gradients **accumulate**: a second forward and backward adds to `.grad`. That
# is why training loops clear the gradients (`optimizer.zero_grad()`) before
# each step.

# %%
before = w.grad.numpy().copy()
((jn.sigmoid((w * x).sum() + b) - t) ** 2).backward()
print("w.grad after a second backward:", w.grad.numpy(), "= 2 x", before)
np.testing.assert_allclose(w.grad.numpy(), 2 * before, rtol=1e-6)
w.grad = None
b.grad = None

# %% [markdown]
# Inside `jn.no_grad()` nothing is recorded: no `grad_fn`, no saved arrays.
# Use it for evaluation and for updating parameters.

# %%
with jn.no_grad():
    y_eval = jn.sigmoid((w * x).sum() + b)
print("requires_grad:", y_eval.requires_grad, " grad_fn:", y_eval.grad_fn)

# %% [markdown]
# ## Broadcasting and shared inputs
#
# Two details of step 3 and 4 in action. `u` is used three times, so its
# gradient is the sum of three contributions; the bias `c` of shape (3,) is
# broadcast over 4 rows, so its gradient is summed over those rows.

# %%
u = jn.randn(4, 3, requires_grad=True)
c = jn.zeros(3, requires_grad=True)
out = ((u * u + c) * u).mean()
print(graph_text(out, names={"u": u, "c": c}))
manual = backward_by_hand(out)
out.backward()
np.testing.assert_allclose(u.grad.numpy(), manual[id(u)], rtol=1e-5)
np.testing.assert_allclose(c.grad.numpy(), manual[id(c)], rtol=1e-5)
print("c.grad shape:", tuple(c.grad.shape), " (summed over the 4 broadcast rows)")

# %% [markdown]
# ## Checking gradients with finite differences
#
# How do we know a `backward` is right? Compare it with the definition of the
# derivative. Nudge one input element by a small $\epsilon$ each way and
# measure how the output moves:
#
# $$ \frac{\partial f}{\partial x_i} \approx \frac{f(x + \epsilon e_i) - f(x - \epsilon e_i)}{2\epsilon} $$
#
# In float64 with $\epsilon = 10^{-6}$ this *central difference* agrees with the
# true derivative to about 8 digits. One element by hand:

# %%
def f(v):
    return (jn.sigmoid(v) * v).sum()


v = jn.tensor([0.3, -1.2, 2.0], dtype=jn.float64, requires_grad=True)
f(v).backward()
eps = 1e-6
with jn.no_grad():
    vp = v.detach().clone()
    vm = v.detach().clone()
    vp[1] = vp[1].item() + eps
    vm[1] = vm[1].item() - eps
    numeric = (f(vp).item() - f(vm).item()) / (2 * eps)
print(f"autograd: {v.grad[1].item():.10f}   finite difference: {numeric:.10f}")

# %% [markdown]
# `jn.autograd.gradcheck(fn, inputs)` does this for every element of every
# input that requires grad (they must be float64), and raises an error naming
# the worst element if anything disagrees. jitnet's test suite runs it on every
# differentiable operation.

# %%
A = jn.randn(3, 4, dtype=jn.float64, requires_grad=True)
B = jn.randn(4, 2, dtype=jn.float64, requires_grad=True)
print(jn.autograd.gradcheck(lambda a, b: (a @ b).tanh(), (A, B)))
print(jn.autograd.gradcheck(lambda a: a.relu().pow(3).mean(dim=0), A))

# %% [markdown]
# ## Writing your own Function
#
# A new differentiable operation is a `Function` subclass. `forward` works on
# raw arrays and reaches computation only through `ctx.k`, the kernel table of
# the inputs' device, so the same class runs on CPU and CUDA. Here is
# $f(x) = x^3$, and a buggy twin that forgets the 3 in $3x^2$.
# `gradcheck` accepts the first and catches the second.

# %%
class Cube(jn.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.x = x
        return ctx.k.binary("mul", ctx.k.binary("mul", x, x), x)

    @staticmethod
    def backward(ctx, g):
        x2 = ctx.k.binary("mul", ctx.x, ctx.x)
        return ctx.k.binary("mul", g, ctx.k.binary("mul", x2, 3.0))


class BuggyCube(Cube):
    @staticmethod
    def backward(ctx, g):
        return ctx.k.binary("mul", g, ctx.k.binary("mul", ctx.x, ctx.x))  # forgot the 3


s = jn.randn(5, dtype=jn.float64, requires_grad=True)
print("Cube     :", jn.autograd.gradcheck(Cube.apply, s))
print("BuggyCube:", jn.autograd.gradcheck(BuggyCube.apply, s, raise_exception=False))
try:
    jn.autograd.gradcheck(BuggyCube.apply, s)
except jn.autograd.GradcheckError as err:
    print(err)

# %% [markdown]
# ## Summary
#
# * Every operation on a tensor that requires grad adds a node to the tape:
#   `tensor.grad_fn`, with its inputs in `grad_fn.inputs`.
# * `backward()` visits the nodes in reverse topological order, calls each
#   `Function.backward`, sums gradients of shared inputs and of broadcast
#   dimensions, and stores the leaves' gradients in `.grad`.
# * `gradcheck` compares the result with central finite differences in float64.
