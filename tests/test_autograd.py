"""The tape: accumulation, retain_graph, no_grad, graph freeing, gradcheck itself (autograd.py)."""
import gc
import threading
import tracemalloc

import numpy as np
import pytest

import jitnet as jn
from jitnet.autograd import Function, GradcheckError, gradcheck


def test_scalar_backward_and_leaf_accumulation():
    x = jn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    (x * 3).sum().backward()  # accumulates across calls
    assert x.grad.tolist() == [5.0, 7.0, 9.0]


def test_tensor_used_several_times_sums_its_gradients():
    x = jn.tensor(2.0, requires_grad=True)
    y = x * x + x * 3 + x  # dy/dx = 2x + 4
    y.backward()
    assert x.grad.item() == 8.0


def test_backward_with_explicit_gradient():
    x = jn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.backward(jn.tensor([1.0, 10.0]))
    assert x.grad.tolist() == [2.0, 20.0]


def test_backward_errors():
    x = jn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs.*shape \\(2,\\)"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        jn.tensor([1.0]).sum().backward()
    with pytest.raises(RuntimeError, match="gradient has shape"):
        (x * 2).backward(jn.ones(3))


def test_graph_is_freed_unless_retained():
    x = jn.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_broadcast_gradients_are_reduced_to_input_shape():
    a = jn.ones(3, 1, requires_grad=True)
    b = jn.ones(4, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and a.grad.tolist() == [[4.0]] * 3
    assert b.grad.shape == (4,) and b.grad.tolist() == [3.0] * 4


def test_no_grad_detach_requires_grad_():
    x = jn.ones(2, requires_grad=True)
    with jn.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert jn.is_grad_enabled()
    z = (x * 2).detach()
    assert not z.requires_grad
    w = jn.ones(2).requires_grad_()
    assert w.requires_grad

    @jn.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with jn.no_grad():
        with jn.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    prev = jn.set_grad_enabled(False)
    assert not jn.is_grad_enabled()
    jn.set_grad_enabled(True)
    assert prev is not None and jn.is_grad_enabled()
    with jn.inference_mode():
        assert not (x * 2).requires_grad


def test_grad_mode_is_thread_local():
    seen = []
    with jn.no_grad():
        t = threading.Thread(target=lambda: seen.append(jn.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_memory_does_not_grow_over_10000_steps():
    w = jn.randn(16, 16, requires_grad=True)
    x = jn.randn(8, 16)

    def step():
        loss = ((x @ w).relu() * 0.5).sum()
        loss.backward()
        w.grad = None

    for _ in range(200):
        step()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(10_000):
        step()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 200_000, f"memory grew by {grown} bytes over 10,000 steps"


def test_custom_function():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.x = x
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            return 3 * ctx.x ** 2 * g

    x = jn.tensor([2.0], dtype=jn.float64, requires_grad=True)
    y = Cube.apply(x)
    assert "CubeBackward" in repr(y)
    assert gradcheck(Cube.apply, (x,))


def test_gradcheck_catches_a_wrong_gradient():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = jn.tensor([1.0, 2.0], dtype=jn.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(Wrong.apply, (x,))
    assert gradcheck(Wrong.apply, (x,), raise_exception=False) is False
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * 2, (jn.ones(2, requires_grad=True),))


def test_gradcheck_leaves_inputs_unchanged():
    a = np.array([0.3, -1.2])
    x = jn.tensor(a, requires_grad=True)
    gradcheck(lambda t: (t * t).sum(), (x,))
    assert np.array_equal(x.detach().numpy(), a)
