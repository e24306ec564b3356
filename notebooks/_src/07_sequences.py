# %% [markdown]
# # 7 · Sequences: LSTM and attention
#
# Two ways a network reads a sequence. A **recurrent** layer carries a state from
# step to step; an **attention** layer lets every position look at every other
# one at once. This notebook writes an LSTM cell from plain tensor ops and checks
# it against `nn.LSTM` number for number, then looks at attention weights, and
# finally at the fused kernel jitnet runs for one LSTM time step.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

import jitnet as jn
import jitnet.nn.functional as F
from jitnet import nn

jn.manual_seed(0)

# %% [markdown]
# ## An LSTM cell from tensor ops
#
# One LSTM step maps an input `x_t` and the previous state `(h, c)` to a new
# state. Four gates come out of one affine map of `x_t` and `h`, in PyTorch's
# order **i, f, g, o** (input, forget, candidate, output):
#
# - `i, f, o = sigmoid(...)`, `g = tanh(...)`
# - `c' = f * c + i * g` (forget some of the old memory, write some new)
# - `h' = o * tanh(c')`
#
# Written with ordinary differentiable tensor ops, with the weights of an
# `nn.LSTM` layer:

# %%
lstm = nn.LSTM(input_size=3, hidden_size=4).double()
W_ih, W_hh = lstm.weight_ih_l0, lstm.weight_hh_l0
b_ih, b_hh = lstm.bias_ih_l0, lstm.bias_hh_l0


def lstm_cell(x, h, c):
    gates = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh      # (N, 4H)
    i, f, g, o = gates.chunk(4, dim=1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c = f * c + i * g
    return o * c.tanh(), c


x = jn.randn(5, 2, 3, dtype=jn.float64)             # (L, N, H_in): 5 steps, batch of 2
h = c = jn.zeros(2, 4, dtype=jn.float64)
outputs = []
for t in range(x.shape[0]):
    h, c = lstm_cell(x[t], h, c)
    outputs.append(h)
by_hand = jn.stack(outputs)

out, (h_n, c_n) = lstm(x)
print("largest difference, outputs:   ", (out - by_hand).abs().max().item())
print("largest difference, last cell: ", (c_n[0] - c).abs().max().item())

# %% [markdown]
# The numbers agree to rounding. The gradients do too: autograd differentiates
# through the hand-written loop, and `nn.LSTM` has its own backward.

# %%
w = jn.randn(5, 2, 4, dtype=jn.float64)
(by_hand * w).sum().backward()
g_hand = W_hh.grad.numpy().copy()
W_hh.grad = None
(lstm(x)[0] * w).sum().backward()
print("largest difference, dL/dW_hh:", np.abs(W_hh.grad.numpy() - g_hand).max())

# %% [markdown]
# ## Why a fused kernel
#
# The cell above is about ten tensor ops per time step (two matmuls, adds, a
# chunk, four activations, three multiplies...), each a pass over memory, each a
# node on the autograd tape. `nn.LSTM` instead computes the input projection of
# **all** steps in one matrix product before the loop; then each step costs one
# matrix product `h @ W_hh^T` and **one** fused kernel that adds the gate halves,
# applies the nonlinearities and updates `(h, c)` in a single pass. Its
# per-element formula is written once, in `jitnet/kernels/scalar/rnn.py`, and
# compiled for both the CPU (Numba) and CUDA:

# %%
from jitnet.kernels.scalar import rnn as rnn_formulas  # noqa: E402

print(inspect.getsource(rnn_formulas.lstm_fwd))
print(inspect.getsource(rnn_formulas.lstm_bwd))

# %% [markdown]
# The CPU kernel around it is a plain loop over the (batch, hidden) units of one
# step; the CUDA twin (`kernels/cuda/rnn.py`) runs one thread per unit.

# %%
from jitnet.kernels.cpu import rnn as cpu_rnn  # noqa: E402

print(inspect.getsource(cpu_rnn._lstm_fwd_kernel.py_func))

# %% [markdown]
# ## Attention weights
#
# Scaled dot-product attention scores every query against every key,
# `softmax(q k^T / sqrt(d))`, and returns the weighted average of the values.
# Here the "tokens" are a short sequence with repeats, each token a fixed random
# vector: a query matches the keys of the same token best, so each row of the
# weight matrix lights up where its token occurs. A causal mask (query `i` may
# look only at keys `j <= i`, as in a language model) blanks the upper triangle.

# %%
tokens = "abcabdca"
table = {ch: jn.randn(16) * 2 for ch in sorted(set(tokens))}
q = jn.stack([table[ch] for ch in tokens]).unsqueeze(0)    # (1, L, 16)
mha = nn.MultiheadAttention(16, num_heads=1)
mha.in_proj_weight.data = jn.cat([jn.eye(16)] * 3)         # q, k, v projections = identity
causal = jn.tensor(np.triu(np.ones((len(tokens),) * 2, dtype=bool), 1))
with jn.no_grad():
    _, weights = mha(q.transpose(0, 1), q.transpose(0, 1), q.transpose(0, 1))
    _, weights_causal = mha(q.transpose(0, 1), q.transpose(0, 1), q.transpose(0, 1),
                            attn_mask=causal)

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, wt, title in zip(axes, (weights, weights_causal), ("full", "causal")):
    ax.imshow(wt[0].numpy(), cmap="viridis")
    ax.set_xticks(range(len(tokens)), list(tokens))
    ax.set_yticks(range(len(tokens)), list(tokens))
    ax.set(xlabel="key", ylabel="query", title=f"attention weights ({title})")
fig.tight_layout()
plt.show()

# %% [markdown]
# The same weights come from the functional form, which the layer calls per head;
# its scale, mask and row softmax run as one fused kernel forward and one
# backward:

# %%
same = F.scaled_dot_product_attention(q, q, q, attn_mask=~causal)
manual = (q @ q.transpose(1, 2) / 4.0).masked_fill(causal, float("-inf")).softmax(-1) @ q
print("largest difference:", (same - manual).abs().max().item())
