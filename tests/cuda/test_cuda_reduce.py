"""CUDA reductions against their CPU twins: every dim pattern, the two-pass split, argmax."""
import numpy as np
import pytest
from twins import check, rand

import jitnet as jn

X = rand(3, 4, 5, seed=1)


@pytest.mark.parametrize("dim", [None, 0, 1, 2, (0, 1), (1, 2), (0, 2), -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_and_mean_over_every_dim_pattern(dim, keepdim):
    check(lambda x: (x.sum(dim, keepdim), x.mean(dim, keepdim)), X)


def test_prod_max_min_all_and_along_dims():
    x = rand(4, 6, seed=2)
    check(lambda t: (t.prod(1), t.max(), t.min(), t.amax(0), x.shape and t.max(1).values,
                     t.min(0, keepdim=True).values), x)
    check(lambda t: (t.max(1).indices, t.min(0).indices, t.argmax(), t.argmin(1, keepdim=True)),
          x, grad=False)


def test_long_rows_take_the_two_pass_split():
    x = rand(3, 700, seed=3)  # few channels, many elements: several blocks per channel
    check(lambda t: (t.sum(1), t.mean(), t.max(1).values, t.sum(0)), x, rtol=1e-5, atol=1e-4)


def test_nan_propagates_and_ties_pick_the_first():
    x = np.array([[1.0, 3.0, 3.0, -2.0], [0.5, np.nan, 7.0, np.nan], [2.0, 2.0, 2.0, 2.0]],
                 dtype=np.float32)
    check(lambda t: (t.max(1).values, t.max(1).indices, t.argmin(1), t.sum(1)), x, grad=False)
    check(lambda t: t.max(), np.array([1.0, 5.0, 5.0, 2.0], dtype=np.float32))  # tie: split grad


def test_integer_and_bool_reductions():
    i = np.array([[3, -1, 4], [1, 5, -9]], dtype=np.int64)
    check(lambda t: (t.sum(), t.sum(0), t.max(1).values, t.argmax(), t.prod(1)), i, grad=False)
    b = np.array([[True, False, True], [True, True, False]])
    check(lambda t: (t.sum(), t.sum(1)), b, grad=False)


def test_var_std_logsumexp_norm():
    x = rand(3, 6, seed=4) * 10
    check(lambda t: (t.var(1), t.std(), t.logsumexp(1), t.norm(), t.norm(p=1, dim=0)), x,
          rtol=1e-4, atol=1e-5)


def test_empty_sum_and_zero_dim():
    check(lambda t: (t.sum(0), t.sum()), np.zeros((0, 3), dtype=np.float32), grad=False)
    check(lambda t: (t.sum(), t.mean(), t * 2), np.array(2.5, dtype=np.float32))


def test_argmax_of_a_vector_spans_blocks():
    x = rand(300, seed=5)
    x[217] = 50.0
    out = check(lambda t: (t.argmax(), t.argmin()), x, grad=False)
    assert out[0] == 217


def test_reduction_result_stays_on_device():
    t = jn.tensor(X, device="cuda")
    assert t.sum(1).device == jn.device("cuda") and t.argmax(0).is_cuda
