"""The engine hands a backward's fresh gradient array to ``leaf.grad`` without copying it
only when nothing else refers to it (autograd._sole_owner); shared arrays are copied."""
import numpy as np

import jitnet as jn
from jitnet import autograd


def test_sole_owner_detects_other_references():
    def probe():
        x = np.ones(3)
        alone = autograd._sole_owner(x)
        other = x  # noqa: F841  a second reference
        shared = autograd._sole_owner(x)
        return alone, shared

    assert probe() == (True, False)
    fresh_view = np.ones(4).reshape(2, 2)  # a reshape of an array nothing else holds
    assert autograd._sole_owner(fresh_view)
    base = np.ones(4)
    assert not autograd._sole_owner(base.reshape(2, 2))  # its base is held here
    assert not autograd._sole_owner(np.ones(4)[:2])  # a partial view
    assert not autograd._sole_owner(np.broadcast_to(np.ones(1), (4,)))
    view = base[:2]
    assert not autograd._sole_owner(base)  # referenced by the view (and this frame)
    assert view.base is base


def test_add_gives_each_leaf_its_own_gradient():
    a = jn.tensor([1.0, 2.0], requires_grad=True)
    b = jn.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.numpy()[:] = 7.0  # in-place edits of one gradient stay there
    assert b.grad.tolist() == [1.0, 1.0]


def test_seed_gradient_is_never_adopted():
    a = jn.tensor([1.0, 2.0], requires_grad=True)
    seed = jn.tensor([5.0, 6.0])
    (a + 0.0).backward(seed)
    assert a.grad.tolist() == [5.0, 6.0]
    assert not np.shares_memory(a.grad.numpy(), seed.numpy())


def test_fresh_gradients_accumulate_correctly_over_steps():
    rng = np.random.default_rng(0)
    w = jn.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    x = jn.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    want = x.numpy().T @ np.ones((5, 3), np.float32)
    y = (x @ w).sum()
    y.backward(retain_graph=True)
    first = w.grad.numpy().copy()
    y.backward()
    assert np.allclose(first, want, atol=1e-5)
    assert np.allclose(w.grad.numpy(), 2 * want, atol=1e-5)
    assert not np.shares_memory(w.grad.numpy(), first)
