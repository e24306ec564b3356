"""CUDA tiled matmul against the CPU (BLAS) matmul: partial tiles, batches, transposes, vectors."""
import numpy as np
import pytest
from twins import check, rand

SHAPES = [((5, 7), (7, 3)), ((11, 9), (9, 10)), ((2, 9, 19), (19, 4)), ((2, 1, 3, 4), (3, 4, 5)),
          ((4,), (4, 3)), ((3, 4), (4,)), ((6,), (6,)), ((1, 1), (1, 1))]


@pytest.mark.parametrize("sa,sb", SHAPES)
def test_matmul_forward_and_backward(sa, sb):
    check(lambda a, b: a @ b, rand(*sa, seed=1), rand(*sb, seed=2), rtol=1e-5, atol=1e-5)


def test_transposed_operands_and_float64():
    a, b = rand(9, 5, seed=3).astype(np.float64), rand(4, 5, seed=4).astype(np.float64)
    check(lambda x, y: (x @ y.T, x.T @ x, y.mT @ y), a, b, rtol=1e-12, atol=1e-12)


def test_integer_matmul_and_empty_inner_dim():
    a = np.arange(12, dtype=np.int64).reshape(3, 4) - 5
    check(lambda x: x @ x.T, a, grad=False)
    check(lambda x, y: x @ y, np.zeros((3, 0), np.float32), np.zeros((0, 2), np.float32))
