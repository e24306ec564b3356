"""CUDA optimizers, scans, sorting, gather/scatter and in-place ops against the CPU."""
import numpy as np
import pytest
from twins import check, rand

import jitnet as jn
import jitnet.nn as nn

OPTIMIZERS = {
    "sgd": lambda ps: jn.optim.SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: jn.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                            weight_decay=0.01),
    "adam": lambda ps: jn.optim.Adam(ps, lr=0.01, amsgrad=True),
    "adamw": lambda ps: jn.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    "rmsprop": lambda ps: jn.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    "adagrad": lambda ps: jn.optim.Adagrad(ps, lr=0.1),
    "adadelta": lambda ps: jn.optim.Adadelta(ps, lr=1.0),
    "nadam": lambda ps: jn.optim.NAdam(ps, lr=0.01, weight_decay=0.1),
    "radam": lambda ps: jn.optim.RAdam(ps, lr=0.01, betas=(0.9, 0.9)),  # rectified from step 6
    "adamax": lambda ps: jn.optim.Adamax(ps, lr=0.01, weight_decay=0.1),
    "rmsprop_plain": lambda ps: jn.optim.RMSprop(ps, lr=0.01),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_steps_match(name):
    def fn(w):
        p = nn.Parameter(w.detach().clone())
        opt = OPTIMIZERS[name]([p])
        for _ in range(7 if name == "radam" else 2):
            opt.zero_grad()
            ((p * p * p).sum()).backward()
            opt.step()
        return p.detach()
    check(fn, rand(3, 4, seed=1), grad=False, rtol=1e-5, atol=1e-6)


def test_cumsum_sort_topk():
    x = rand(3, 5, seed=2)
    x[1, 2] = x[1, 4]
    check(lambda t: (t.cumsum(1), t.cumsum(0), jn.cumsum(t.long(), 1)), x)
    check(lambda t: (jn.sort(t, 1).values, jn.sort(t, 0, descending=True).values,
                     jn.topk(t, 2).values), x)
    check(lambda t: (jn.sort(t, 1).indices, jn.argsort(t, 0, descending=True)), x, grad=False)
    y = np.array([3.0, np.nan, 1.0, 3.0, -1.0, np.nan, 2.0], dtype=np.float32)
    check(lambda t: (jn.argsort(t), jn.argsort(t, descending=True)), y, grad=False)


def test_gather_scatter_and_inplace_ops():
    x = rand(3, 4, seed=3)
    idx = np.array([[0, 3], [1, 1], [2, 0]])

    def fn(t):
        i = jn.tensor(idx, device=t.device)
        return (jn.gather(t, 1, i), t.scatter(1, i, t[:, :2] * 2),
                t.scatter_add(1, i, t[:, :2]))
    check(fn, x)

    def inplace(t):
        u = t.detach().clone()
        u.add_(1.5).mul_(t.detach()).sub_(t.detach()[0]).div_(2)
        u.clamp_(-0.5, 0.5)
        u.masked_fill_(u > 0.4, 9.0)
        return u
    check(inplace, x, grad=False)


def test_logic_matrix_repeat_split_tour():
    x = rand(3, 4, seed=4)
    x[0, 1] = np.nan
    check(lambda t: (jn.isnan(t), jn.isfinite(t), jn.isinf(t / 0.0), jn.any(t > 1),
                     jn.all(t > -5, 1), jn.count_nonzero(t > 0), jn.logical_not(t > 0),
                     jn.isclose(t, t * 1.0000001), jn.masked_select(t, t > 0)), x, grad=False)
    y = rand(3, 4, seed=5)
    check(lambda t: (jn.tril(t), jn.triu(t, 1), jn.outer(t[0], t[1]), jn.mv(t, t[0]),
                     jn.dot(t[0], t[1]), jn.flip(t, (0, 1)), t.repeat(2, 1), jn.tile(t, (1, 2)),
                     jn.repeat_interleave(t, 2, dim=0), jn.index_select(t, 1, jn.tensor(
                         [3, 0], device=t.device)), jn.masked_fill(t, t > 0, -1.0)), y)
    check(lambda t: (*jn.split(t, [1, 3], 1), *jn.chunk(t, 2, 0), *jn.unbind(t, 1),
                     jn.narrow(t, 1, 1, 2)), y)
