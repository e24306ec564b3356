"""matmul / @ / mm / bmm with 1-D and broadcast batch dims (ops/matmul.py, kernels/cpu/matmul)."""
import numpy as np
import pytest
from helpers import assert_matches_torch, requires_torch, t64

import jitnet as jn
from jitnet.autograd import gradcheck

SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (3, 4, 2)),
    ((3, 4), (2, 4, 5)),
    ((5,), (2, 5, 3)),
    ((2, 3, 4), (4,)),
]


@pytest.mark.parametrize("sa, sb", SHAPES)
def test_matmul_values_and_gradients(sa, sb, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    out = jn.tensor(a) @ jn.tensor(b)
    assert out.shape == np.matmul(a, b).shape
    assert np.allclose(out.numpy(), np.matmul(a, b))
    assert gradcheck(lambda x, y: x @ y, (t64(a), t64(b)))


def test_float32_matmul_large(rng):
    a = rng.standard_normal((300, 200)).astype(np.float32)
    b = rng.standard_normal((200, 100)).astype(np.float32)
    assert np.allclose((jn.tensor(a) @ jn.tensor(b)).numpy(), a @ b, atol=1e-3)
    ta = jn.tensor(a, requires_grad=True)
    (ta @ jn.tensor(b)).sum().backward()
    assert np.allclose(ta.grad.numpy(), np.ones((300, 100), np.float32) @ b.T, atol=1e-3)


@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("batch, m, k, n", [
    (1, 131, 140, 120), (3, 64, 140, 120),  # row blocks (uneven included)
    (1, 6, 40, 10000),  # column blocks: a convolution's forward shape
    (2, 6, 30000, 9),  # split along K: a convolution's weight-gradient shape
])
def test_bmm_kernel_parallel_splits(trans_a, trans_b, batch, m, k, n, rng):
    """Products big enough for the threaded kernels, one case per way of splitting."""
    from jitnet.kernels.cpu import matmul as mk

    a = rng.standard_normal((batch, k, m) if trans_a else (batch, m, k)).astype(np.float32)
    b = rng.standard_normal((batch, n, k) if trans_b else (batch, k, n)).astype(np.float32)
    assert batch * m * n * k >= mk.PARALLEL_FLOPS
    want = np.matmul(a.transpose(0, 2, 1) if trans_a else a, b.transpose(0, 2, 1) if trans_b else b)
    out = mk.bmm(a, b, trans_a, trans_b)
    assert out.shape == want.shape and out.flags.c_contiguous
    assert np.allclose(out, want, rtol=1e-4, atol=1e-4 * np.sqrt(k))  # float32 sums of k terms


def test_transposed_operands_and_integers(rng):
    a = rng.standard_normal((5, 3))
    assert np.allclose((jn.tensor(a).T @ jn.tensor(a)).numpy(), a.T @ a)
    assert (jn.tensor([[1, 2]]) @ jn.tensor([[3], [4]])).tolist() == [[11]]
    assert jn.mm(jn.ones(2, 3), jn.ones(3, 4)).shape == (2, 4)
    assert jn.bmm(jn.ones(2, 2, 3), jn.ones(2, 3, 4)).shape == (2, 2, 4)


def test_matmul_errors():
    with pytest.raises(RuntimeError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) cannot be"):
        jn.ones(2, 3) @ jn.ones(4, 5)
    with pytest.raises(RuntimeError, match="same dtype"):
        jn.ones(2, 2) @ jn.ones(2, 2, dtype=jn.float64)
    with pytest.raises(RuntimeError, match="batch dims"):
        jn.ones(2, 2, 3) @ jn.ones(3, 3, 4)
    with pytest.raises(RuntimeError, match="0-d"):
        jn.tensor(1.0) @ jn.ones(2)
    with pytest.raises(RuntimeError, match="mm: expected 2-D"):
        jn.mm(jn.ones(2), jn.ones(2, 2))
    with pytest.raises(RuntimeError, match="bmm: batch sizes differ"):
        jn.bmm(jn.ones(2, 2, 3), jn.ones(3, 3, 4))


@requires_torch
@pytest.mark.parametrize("sa, sb", SHAPES[:6])
def test_against_torch(sa, sb, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    assert_matches_torch(lambda x, y: x @ y, lambda x, y: x @ y, a, b)
