"""Differential fuzzing of shape and view ops against PyTorch, applied to non-contiguous
views (transposes, strided slices, expands) of tensors with size-1 and zero-size dims,
with the gradients of float64 leaves."""
from __future__ import annotations

import numpy as np
import torch
from fuzz_common import assert_same, assert_same_grads, count, fuzz_settings, leaves, run, shapes
from hypothesis import given
from hypothesis import strategies as st

import jitnet as jn


@st.composite
def prepared(draw):
    """A base shape and a chain of view-making steps giving a non-contiguous tensor."""
    shape = draw(shapes(min_dims=1, max_dims=4))
    steps = []
    cur = list(shape)
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["transpose", "slice", "expand"]))
        if kind == "transpose" and len(cur) >= 2:
            a, b = draw(st.integers(0, len(cur) - 1)), draw(st.integers(0, len(cur) - 1))
            steps.append(("transpose", a, b))
            cur[a], cur[b] = cur[b], cur[a]
        elif kind == "slice":
            d = draw(st.integers(0, len(cur) - 1))
            step = draw(st.integers(1, 2))
            steps.append(("slice", d, step))
            cur[d] = len(range(0, cur[d], step))
        elif kind == "expand":
            ones = [i for i, s in enumerate(cur) if s == 1]
            if ones:
                d = draw(st.sampled_from(ones))
                steps.append(("expand", d, 3))
                cur[d] = 3
    return shape, steps, tuple(cur)


def _prep(x, steps):
    for kind, a, b in steps:
        if kind == "transpose":
            x = x.transpose(a, b)
        elif kind == "slice":
            x = x[(slice(None),) * a + (slice(None, None, b),)]
        else:
            size = list(x.shape)
            size[a] = b
            x = x.expand(*size)
    return x


@st.composite
def shape_op(draw, cur):
    """(name, function of a tensor) for a shape op that makes sense for ``cur``."""
    n = len(cur)
    numel = int(np.prod(cur))
    choices = ["reshape", "view", "flatten", "squeeze", "unsqueeze", "permute", "flip",
               "repeat", "contiguous", "movedim", "cat", "stack", "expand_leading"]
    if n:
        choices += ["narrow", "chunk", "split", "unbind", "select", "swapaxes"]
    name = draw(st.sampled_from(choices))
    d = draw(st.integers(-n, n - 1)) if n else 0
    if name in ("reshape", "view"):
        if numel == 0:
            target = (0, -1) if draw(st.booleans()) and 0 not in cur[:0] else tuple(cur[::-1])
        else:
            divisors = [k for k in range(1, numel + 1) if numel % k == 0]
            k = draw(st.sampled_from(divisors))
            target = (k, -1) if draw(st.booleans()) else (numel // k, k)
        return f"{name}{target}", lambda x: getattr(x, name)(*target)
    if name == "flatten":
        return "flatten", lambda x: x.flatten()
    if name == "squeeze":
        return f"squeeze({d})", lambda x: x.squeeze(d) if n else x.squeeze()
    if name == "unsqueeze":
        u = draw(st.integers(-n - 1, n))
        return f"unsqueeze({u})", lambda x: x.unsqueeze(u)
    if name == "permute":
        perm = draw(st.permutations(range(n)))
        return f"permute{tuple(perm)}", lambda x: x.permute(*perm)
    if name == "flip":
        dims = draw(st.lists(st.integers(0, max(n - 1, 0)), unique=True, max_size=n))
        return f"flip{tuple(dims)}", lambda x: x.flip(dims)
    if name == "repeat":
        reps = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n + 1))
        return f"repeat{tuple(reps)}", lambda x: x.repeat(*reps)
    if name == "contiguous":
        return "contiguous().view(-1)", lambda x: x.contiguous().view(-1)
    if name == "movedim":
        src = draw(st.integers(0, max(n - 1, 0)))
        dst = draw(st.integers(0, max(n - 1, 0)))
        return f"movedim({src}, {dst})", lambda x: x.movedim(src, dst) if n else x
    if name == "cat":
        return f"cat(x, x*2, dim={d})", lambda x: (jn if isinstance(x, jn.Tensor) else
                                                   torch).cat([x, x * 2], d) if n else x
    if name == "stack":
        s = draw(st.integers(-n - 1, n))
        return f"stack(x, x, dim={s})", lambda x: (jn if isinstance(x, jn.Tensor) else
                                                  torch).stack([x, x], s)
    if name == "expand_leading":
        return "expand(2, ...)", lambda x: x.expand(2, *x.shape)
    size = cur[d]
    if name == "narrow":
        start = draw(st.integers(0, size))
        length = draw(st.integers(0, size - start))
        return f"narrow({d}, {start}, {length})", lambda x: x.narrow(d, start, length)
    if name == "chunk":
        c = draw(st.integers(1, 4))
        return f"chunk({c}, {d})", lambda x: x.chunk(c, d)
    if name == "split":
        s = draw(st.integers(1, 3))
        return f"split({s}, {d})", lambda x: x.split(s, d)
    if name == "unbind":
        return f"unbind({d})", lambda x: x.unbind(d)
    if name == "select":
        if size == 0:
            return "select(empty)", lambda x: x.select(d, 0)
        i = draw(st.integers(-size, size - 1))
        return f"select({d}, {i})", lambda x: x.select(d, i)
    e = draw(st.integers(-n, n - 1))
    return f"swapaxes({d}, {e})", lambda x: x.swapaxes(d, e)


@fuzz_settings()
@given(prep=prepared(), data=st.data(), grad=st.booleans(), seed=st.integers(0, 2**16))
def test_fuzz_shape_ops_on_views(prep, data, grad, seed):
    shape, steps, cur = prep
    name, fn = data.draw(shape_op(cur), "op")
    count("shape/view ops")
    a = np.random.default_rng(seed).standard_normal(shape)
    (xj,), (xt,) = leaves([a], ["float64"], grad)
    vj, vt = _prep(xj, steps), _prep(xt, steps)
    oj, ot = run(fn, vj), run(fn, vt)
    what = f"{name} of {steps} of {list(shape)}"
    if isinstance(ot, tuple):
        oj = tuple(oj) if isinstance(oj, (tuple, list)) else oj
        assert_same(oj, ot, what)
        if ot:  # the gradient through every piece
            oj = run(lambda: jn.cat([p.reshape(-1) for p in oj]))
            ot = torch.cat([p.reshape(-1) for p in ot])
        else:
            return
    assert_same(oj, ot, what)
    assert_same_grads(oj, ot, [xj], [xt], what)
