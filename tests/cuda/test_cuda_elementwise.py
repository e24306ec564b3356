"""CUDA elementwise kernels against their CPU twins: unary maps, binary ops, where."""
import numpy as np
import pytest
from twins import check, rand

import jitnet as jn
import jitnet.nn.functional as F

X = rand(3, 5, seed=1)
POS = np.abs(X) + 0.1

UNARY = {
    "relu": (lambda x: x.relu(), X),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), X),
    "gelu": (lambda x: F.gelu(x), X),
    "sigmoid": (lambda x: x.sigmoid(), X * 30),
    "tanh": (lambda x: x.tanh(), X),
    "exp": (lambda x: x.exp(), X),
    "log": (lambda x: x.log(), POS),
    "sqrt": (lambda x: x.sqrt(), POS),
    "sin": (lambda x: x.sin(), X),
    "cos": (lambda x: x.cos(), X),
    "abs": (lambda x: x.abs(), X),
    "neg": (lambda x: -x, X),
    "pow": (lambda x: x ** 3, X),
    "pow_frac": (lambda x: x ** 1.5, POS),
    "clamp": (lambda x: x.clamp(-0.5, 0.7), X),
    "clamp_min": (lambda x: x.clamp(min=0.1), X),
    "sign": (lambda x: x.sign(), X),
    "square": (lambda x: x.square(), X),
    "reciprocal": (lambda x: x.reciprocal(), POS),
    "rsqrt": (lambda x: x.rsqrt(), POS),
    # the math surface of issue 17 (kernels/scalar/elementwise.py, shared with the CPU)
    "log1p": (lambda x: x.log1p(), POS - 0.05),
    "expm1": (lambda x: x.expm1(), X),
    "log2": (lambda x: x.log2(), POS),
    "log10": (lambda x: x.log10(), POS),
    "exp2": (lambda x: x.exp2(), X),
    "rounding": (lambda x: (x * 3).floor() + (x * 3).ceil() + (x * 3).trunc() + (x * 3).round()
                 + (x * 30).round(decimals=-1) + x.round(decimals=2), X),
    "frac": (lambda x: (x * 3).frac(), X),
    "erf": (lambda x: x.erf(), X),
    "erfinv": (lambda x: (x * 0.4).erfinv(), X),
    "softplus": (lambda x: F.softplus(x, 2.0, 1.5), X),
    "mish": (lambda x: F.mish(x * 4), X),
    "silu": (lambda x: F.silu(x * 4), X),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 0.6), X),
    "elu": (lambda x: F.elu(x, 0.7), X),
    "selu": (lambda x: F.selu(x), X),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_forward_and_backward(name):
    fn, x = UNARY[name]
    check(fn, x)


def test_unary_float64_and_integer_input():
    check(lambda x: x.sigmoid() * x.exp(), X.astype(np.float64), rtol=1e-12, atol=1e-12)
    check(lambda x: (x.abs(), -x, x.relu(), x.exp()), np.array([[-3, 0, 2]], dtype=np.int64))


def test_exp_of_huge_values_is_inf_not_an_error():
    x = np.array([1000.0, -1000.0, 0.0], dtype=np.float32)
    out = check(lambda t: (t.exp(), t.sigmoid()), x, grad=False)
    assert np.isinf(out[0][0]) and out[1][0] == 1.0 and out[1][1] == 0.0


BROADCASTS = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((2, 1, 4), (3, 1)), ((1,), (2, 3)),
              ((), (2, 3)), ((2, 1, 3, 1, 2), (1, 2, 1, 2, 1))]


@pytest.mark.parametrize("sa,sb", BROADCASTS)
def test_arithmetic_with_broadcasting(sa, sb):
    a, b = rand(*sa, seed=2), np.abs(rand(*sb, seed=3)) + 0.5
    check(lambda x, y: (x + y, x - y, x * y, x / y, (x.abs() + 0.5) ** y), a, b, rtol=1e-5,
          atol=1e-5)


def test_scalar_operands_on_either_side():
    check(lambda x: (x + 2, 3 - x, x * 0.1, 1.5 / (x.abs() + 1), 2 ** x, x - 1), X)


def test_mixed_dtypes_promote_as_on_cpu():
    i = np.array([[1, -2, 3]], dtype=np.int64)
    f = rand(2, 3, seed=4)
    check(lambda a, b: (a + b, a * 2.5, a / a, a // 2, a % 2, b * a), i, f)
    check(lambda a: (a + 1, a * a, -a, a // -2, a % -2), np.array([7, -7, 0, 5], dtype=np.int32))


def test_comparisons_and_logic():
    a, b = rand(4, 3, seed=5), rand(3, seed=6)
    a[0, 0] = b[0]
    check(lambda x, y: (x == y, x != y, x < y, x <= y, x > y, x >= y, x > 0.2), a, b,
          grad=False)
    m = np.array([True, False, True, False])
    n = np.array([True, True, False, False])
    check(lambda p, q: (p & q, p | q, p ^ q, ~p, p == q), m, n, grad=False)


def test_maximum_minimum_nan_and_ties():
    a = np.array([1.0, np.nan, 3.0, 2.0, 5.0], dtype=np.float32)
    b = np.array([2.0, 1.0, np.nan, 2.0, 4.0], dtype=np.float32)
    check(lambda x, y: (jn.maximum(x, y), jn.minimum(x, y)), a, b)


def test_floor_divide_and_remainder_follow_python_signs():
    a = np.array([7.5, -7.5, 7.5, -7.5], dtype=np.float32)
    b = np.array([2.0, 2.0, -2.0, -2.0], dtype=np.float32)
    check(lambda x, y: (x // y, x % y), a, b, grad=False)


def test_where_with_broadcast_and_scalars():
    c = rand(3, 4, seed=7) > 0
    a, b = rand(3, 4, seed=8), rand(4, seed=9)
    check(lambda x, y: jn.where(jn.tensor(c, device=x.device), x, y), a, b)
    check(lambda x: jn.where(x > 0, x, 0.0), a)
    check(lambda x: jn.where(x > 0, 1.0, x), a)


def test_math_edges_are_inf_or_nan_not_errors():
    """The simulator runs the shared formulas as Python: overflow and domain edges are guarded."""
    x = np.array([1000.0, -1000.0, 0.0, -0.0, np.inf, -np.inf, np.nan, -1.0], dtype=np.float64)
    check(lambda t: (t.expm1(), t.exp2(), t.log1p(), t.log2(), t.rsqrt(), t.erfinv(), t.frac(),
                     t.floor(), t.round(), t.sin(), F.softplus(t), F.mish(t), F.silu(t),
                     F.elu(t)), x, grad=False)


def test_binary_math_and_rounding_divisions():
    a, b = rand(3, 4, seed=7) * 4, np.abs(rand(4, seed=8)) + 0.5
    b[1] = -b[1]
    check(lambda x, y: (x.atan2(y), x.hypot(y), x.fmod(y), x.remainder(y),
                        jn.div(x, y, rounding_mode="trunc"), jn.div(x, y, rounding_mode="floor")),
          a, b, rtol=1e-5, atol=1e-5)
    i, j = np.array([7, -7, 5, -5, 0], dtype=np.int64), np.array([2, 2, -3, -3, 4], dtype=np.int64)
    check(lambda x, y: (x.fmod(y), jn.div(x, y, rounding_mode="trunc"), x ** y, y ** (x % 3)), i, j)


def test_bitwise_ops():
    i, j = np.array([6, 3, -4, 0], dtype=np.int64), np.array([3, 5, 7, -1], dtype=np.int64)
    check(lambda x, y: (x & y, x | y, x ^ y, ~x, x & 3, 5 | y), i, j)
    check(lambda x: (~x, x.int() & 6), np.array([1, 250, 7], dtype=np.uint8))
    p, q = np.array([True, False, True]), np.array([True, True, False])
    check(lambda x, y: (x & y, x | y, x ^ y, ~x), p, q)
