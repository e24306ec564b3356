"""Regression tests for the elementwise cases of issue 19 (named after the case numbers):
each matches PyTorch's value, gradient, dtype or exception type."""
import math

import numpy as np
import pytest
from helpers import requires_torch

import jitnet as jn
import jitnet.nn.functional as F

pytestmark = requires_torch
T = jn.tensor


def _grads(fn, *arrays):
    """(jitnet grads, torch grads) of fn(*leaves).sum() on float64 leaves."""
    import torch

    jl = [T(a, dtype=jn.float64, requires_grad=True) for a in arrays]
    tl = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    fn(*jl).sum().backward()
    fn(*tl).sum().backward()
    return [x.grad.numpy() for x in jl], [x.grad.numpy() for x in tl]


def _same_grads(fn, *arrays):
    got, want = _grads(fn, *arrays)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_case02_bitwise_ints():
    a, b = T([6, 3, -4]), T([3, 5, 7])
    assert (a & b).tolist() == [2, 1, 4] and (a & b).dtype is jn.int64
    assert (a | b).tolist() == [7, 7, -1] and (a ^ b).tolist() == [5, 6, -5]
    assert (~a).tolist() == [-7, -4, 3]
    assert jn.bitwise_and(a, b).tolist() == [2, 1, 4] and a.bitwise_or(b).tolist() == [7, 7, -1]
    assert jn.bitwise_xor(a, 1).tolist() == [7, 2, -3] and jn.bitwise_not(a).tolist() == [-7, -4, 3]
    assert (6 & a).tolist() == [6, 2, 4]
    assert (T([6], dtype=jn.int32) & T(3)).dtype is jn.int32  # 0-d int64 does not widen
    assert (~T([6], dtype=jn.uint8)).tolist() == [249]
    assert (a & True).tolist() == [0, 1, 0]


def test_case02_bitwise_on_bools_is_logical():
    p, q = T([True, True, False]), T([True, False, False])
    assert (p & q).tolist() == [True, False, False] and (p & q).dtype is jn.bool
    assert (p | q).tolist() == [True, True, False] and (p ^ q).tolist() == [False, True, False]
    assert (~p).tolist() == [False, False, True]


def test_case02_bitwise_on_floats_raises():
    x = T([1.0, 2.0])
    with pytest.raises(NotImplementedError, match="bitwise_and"):
        x & T([1, 2])
    with pytest.raises(NotImplementedError, match="bitwise_or"):
        T([1, 2]) | 2.5
    with pytest.raises(TypeError, match="invert"):
        _ = ~x
    with pytest.raises(NotImplementedError, match="bitwise_not"):
        jn.bitwise_not(x)


def test_case06_clamp_min_greater_than_max_gives_max():
    x = T([0.0, 1.0, 2.0], requires_grad=True)
    y = jn.clamp(x, min=1, max=0)
    assert y.tolist() == [0.0, 0.0, 0.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]  # PyTorch: no element lies in [1, 0]
    assert T([0, 1, 2]).clamp(1, 0).tolist() == [0, 0, 0]
    assert jn.clamp(x, min=T(1.0), max=T(0.0)).tolist() == [0.0, 0.0, 0.0]


def test_case09_zero_dim_tensors_do_not_widen():
    import torch

    cases = [(jn.float32, (2,), jn.float64, ()), (jn.int32, (2,), jn.int64, ()),
             (jn.int32, (2,), jn.float64, ()), (jn.bool, (2,), jn.int32, ()),
             (jn.float64, (2,), jn.float32, ()), (jn.int32, (), jn.int64, ()),
             (jn.uint8, (2,), jn.int64, ())]
    for da, sa, db, sb in cases:
        a, b = jn.ones(sa, dtype=da), jn.ones(sb, dtype=db)
        ta = torch.ones(sa, dtype=getattr(torch, da.name))
        tb = torch.ones(sb, dtype=getattr(torch, db.name))
        want = (ta + tb).dtype
        assert (a + b).dtype.name == str(want).split(".")[1], (da, sa, db, sb)
        assert (b * a).dtype.name == str(want).split(".")[1]
        cond = jn.ones(sa, dtype=jn.bool)
        assert jn.where(cond, a, b).dtype.name == str(
            torch.where(torch.ones(sa, dtype=torch.bool), ta, tb).dtype).split(".")[1]


def test_case09_where_dtypes():
    c = T([True, False])
    assert jn.where(c, T([1.0, 2.0]), T(1.0, dtype=jn.float64)).dtype is jn.float32
    assert jn.where(c, T([1, 2], dtype=jn.int32), 5).dtype is jn.int32
    assert jn.where(c, T([1, 2], dtype=jn.int32), 2.5).dtype is jn.float32
    assert jn.where(c, 1.0, 5).dtype is jn.float32


def test_case10_int_base_float_exponent_gradient_uses_float_log():
    import torch

    b = T([0.5, 1.0, 2.0], requires_grad=True)
    y = T([1, 2, 3]) ** b
    y.sum().backward()
    tb = torch.tensor([0.5, 1.0, 2.0], requires_grad=True)
    (torch.tensor([1, 2, 3]) ** tb).sum().backward()
    assert y.dtype is jn.float32
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-6)


def test_case12_remainder_is_differentiable():
    a = T([1.0, 2.0, 3.5], requires_grad=True)
    y = a % 2
    assert y.requires_grad and y.tolist() == [1.0, 0.0, 1.5]
    y.sum().backward()
    assert a.grad.tolist() == [1.0, 1.0, 1.0]
    _same_grads(lambda x, d: x % d, [1.0, -2.5, 3.5], [2.0, 2.0, -1.5])
    _same_grads(lambda x, d: x.fmod(d), [1.0, -2.5, 3.5], [2.0, 2.0, -1.5])
    _same_grads(lambda x, d: x.remainder(d), [1.0, -2.5, 3.5], [2.0, 2.0, -1.5])
    d = T([2.0, -1.5], requires_grad=True)  # PyTorch has no derivative here; jitnet's is -floor
    (5 % d).sum().backward()
    assert d.grad.tolist() == [-2.0, 4.0]


def test_case12_rounding_divisions_match_torch():
    import torch

    a, b = [-7, -5, 5, 7, 0], [3, -3, 3, -2, 4]
    for mode in (None, "trunc", "floor"):
        for cast in (float, int):
            x, y = [cast(v) for v in a], [cast(v) for v in b]
            got = jn.div(T(x), T(y), rounding_mode=mode)
            want = torch.div(torch.tensor(x), torch.tensor(y), rounding_mode=mode)
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
            assert got.dtype.name == str(want.dtype).split(".")[1]
    for name in ("floor_divide", "remainder", "fmod"):
        for x, y in ((a, b), ([-7.5, 7.5, 2.0, -0.5, 9.0], b)):
            got = getattr(jn, name)(T(x), T(y))
            want = getattr(torch, name)(torch.tensor(x), torch.tensor(y))
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
            assert getattr(T(x), name)(3).dtype.name == str(
                getattr(torch.tensor(x), name)(3).dtype).split(".")[1]
    assert (T([7, -7]) // 2).tolist() == [3, -4] and (17 // T([5])).tolist() == [3]
    assert (7 % T([5, -5])).tolist() == [2, -3]
    _same_grads(lambda x, d: jn.div(x, d, rounding_mode="trunc") if isinstance(x, jn.Tensor)
                else torch.div(x, d, rounding_mode="trunc"), [1.0, -2.5], [2.0, 2.0])
    with pytest.raises(RuntimeError, match="rounding_mode"):
        jn.div(T([1]), 2, rounding_mode="round")


def test_case13_maximum_minimum_nan_gradients():
    nan = math.nan
    _same_grads(lambda a, b: a.maximum(b),
                [nan, 1.0, 2.0, 3.0], [1.0, nan, 2.0, 0.0])
    _same_grads(lambda a, b: a.minimum(b), [nan, 1.0, 2.0, 3.0], [1.0, nan, 2.0, 0.0])


def test_case14_pow_gradients_at_zero_base():
    _same_grads(lambda a, b: a ** b, [0.0, 0.0, 0.0, 0.0, 2.0, -1.5],
                [0.0, 0.5, 2.0, -1.0, 0.0, 2.0])
    _same_grads(lambda b: 0.0 ** b, [-1.0, 0.0, 3.0])
    _same_grads(lambda a: a ** 0.0, [0.0, 2.0])


def test_case15_bce_target_gradient_at_the_edges():
    import torch

    for x in (0.0, 1.0, 0.3):
        i = T([x], dtype=jn.float64, requires_grad=True)
        t = T([0.4], dtype=jn.float64, requires_grad=True)
        ti = torch.tensor([x], dtype=torch.float64, requires_grad=True)
        tt = torch.tensor([0.4], dtype=torch.float64, requires_grad=True)
        loss = F.binary_cross_entropy(i, t)
        tl = torch.nn.functional.binary_cross_entropy(ti, tt)
        loss.backward()
        tl.backward()
        assert loss.item() == pytest.approx(tl.item())
        assert t.grad.item() == pytest.approx(tt.grad.item())  # inf / -inf at 0 / 1
        assert i.grad.item() == pytest.approx(ti.grad.item(), rel=1e-9)


def test_case19_alpha_on_integer_tensors():
    assert jn.add(T([1, 2]), 1, alpha=2).tolist() == [3, 4]
    assert jn.add(T([1, 2]), 1, alpha=2).dtype is jn.int64
    assert jn.sub(T([1, 2], dtype=jn.int32), T([1, 1], dtype=jn.int32), alpha=2).dtype is jn.int32
    assert T([1, 2]).add(1.5, alpha=2).tolist() == [4.0, 5.0]
    assert T([1.0, 2.0]).sub(1, alpha=0.5).tolist() == [0.5, 1.5]
    with pytest.raises(RuntimeError, match="alpha must not be a floating point"):
        jn.add(T([1, 2]), 1, alpha=2.5)


def test_case20_int_tensor_to_negative_int_tensor_power():
    import torch

    a, b = [0, 1, -1, -1, 2, -3, 3], [-1, -2, -2, -3, -1, -2, 2]
    got = T(a) ** T(b)
    assert got.tolist() == (torch.tensor(a) ** torch.tensor(b)).tolist()
    assert (2 ** T([-1, 2])).tolist() == [0, 4]
    assert (T([2], dtype=jn.int32) ** T([-1, 3], dtype=jn.int32)).dtype is jn.int32


def test_case22_negative_base_scalar_pow_gradient_is_nan():
    x = T([1.0, 2.0, 3.0], dtype=jn.float64, requires_grad=True)
    y = (-2) ** x
    assert y.tolist() == [-2.0, 4.0, -8.0]
    y.sum().backward()
    assert np.isnan(x.grad.numpy()).all()


def test_case28_dtypes():
    assert (T([True, False]) ** 2).dtype is jn.int64
    assert (T([True, False]) ** 2).tolist() == [1, 0]
    assert (T([1, 2]) ** 3.0).dtype is jn.float32 and (T([1, 2]) ** 3.0).tolist() == [1.0, 8.0]
    assert (T([1, 2]) ** 3).dtype is jn.int64
    assert T([1, 2], dtype=jn.int32).clamp(-1.0, 1.0).dtype is jn.float32
    assert T([1, 2], dtype=jn.int32).clamp(-1, 1).dtype is jn.int32


def test_case29_integer_negative_power_raises():
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        T([1, 2]) ** -1
    assert (T([1.0, 2.0]) ** -1).tolist() == [1.0, 0.5]


@pytest.mark.parametrize("expr", ["x // 0", "x % 0", "x // jn.tensor([0, 1])",
                                  "jn.fmod(x, 0)", "jn.div(x, 0, rounding_mode='trunc')"])
def test_case29_integer_division_by_zero_raises(expr):
    x = T([1, 2])  # noqa: F841 (used by eval)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        eval(expr)


def test_case29_float_division_by_zero_computes():
    x = T([1.0, -2.0])
    assert (x // 0).tolist() == [math.inf, -math.inf]
    assert np.isnan((x % 0).numpy()).all() and np.isnan(jn.fmod(x, 0).numpy()).all()


def test_case29_bool_subtraction_and_negation_raise():
    b = T([True, False])
    with pytest.raises(RuntimeError, match="Subtraction.*bool tensor"):
        2.5 - b
    with pytest.raises(RuntimeError, match="Subtraction.*bool tensor"):
        b - 1
    with pytest.raises(RuntimeError, match="Subtraction.*bool tensor"):
        T([1, 2]) - True
    with pytest.raises(RuntimeError, match="two bool tensors"):
        b - b
    with pytest.raises(RuntimeError, match="Negation.*bool"):
        _ = -b
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
        F.relu(b)
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
        jn.relu(b)


def test_case29_isclose_dtype_mismatch_raises():
    with pytest.raises(RuntimeError, match="did not match"):
        jn.isclose(T([1.0]), T([1.0], dtype=jn.float64))


def test_case30_isclose_on_bools_and_ints():
    assert jn.isclose(T([True, False]), T([True, True])).tolist() == [True, False]
    assert jn.isclose(T([1, 2]), T([1, 3])).tolist() == [True, False]
    assert T([1.0, 2.0]).isclose(T([1.0, 2.1])).tolist() == [True, False]


def test_case30_linear_on_integer_tensors_is_a_clear_error():
    # PyTorch computes an int64 linear; jitnet's kernels are float-only and say so, by name
    with pytest.raises(TypeError, match="linear: expected a floating point input"):
        F.linear(T([[1, 2]]), T([[1, 2]]))
    with pytest.raises(TypeError, match="linear"):
        F.linear(T([[1.0, 2.0]]), T([[1, 2]]))


# ---------------------------------------------------------------- a dtype / error sweep

_DTYPES = ["bool", "uint8", "int32", "int64", "float32", "float64"]
_VALUES = {"bool": [True, False, True], "uint8": [1, 2, 3], "int32": [3, -2, 5],
           "int64": [4, 3, -6], "float32": [1.5, -2.0, 3.0], "float64": [0.5, 2.0, -1.0]}
_OPS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "floordiv": lambda a, b: a // b,
    "mod": lambda a, b: a % b, "and": lambda a, b: a & b, "or": lambda a, b: a | b,
    "xor": lambda a, b: a ^ b, "maximum": lambda a, b: a.maximum(b),
    "fmod": lambda a, b: a.fmod(b), "atan2": lambda a, b: a.atan2(b),
}


def _outcome(fn, *args):
    """(dtype name, values) of fn(*args), or the exception type's name."""
    try:
        r = fn(*args)
    except Exception as e:  # noqa: BLE001 (the exception type is what is compared)
        return type(e).__name__
    return str(r.dtype).split(".")[-1], np.asarray(r.tolist(), dtype=float)


def _agree(t, j) -> bool:
    if isinstance(t, str) or isinstance(j, str):
        return t == j
    return t[0] == j[0] and np.allclose(t[1], j[1], rtol=1e-3, equal_nan=True)


@pytest.mark.parametrize("name", sorted(_OPS))
def test_dtype_and_error_sweep_matches_torch(name):
    """Every dtype pair, dimensioned and 0-d, and Python scalars on either side: the same
    result dtype and values, or the same exception type, as PyTorch."""
    import torch

    fn = _OPS[name]

    def make(lib, d, dims):
        return lib.tensor(_VALUES[d] if dims else _VALUES[d][0], dtype=getattr(lib, d))

    def pair(lib, da, sa, db, sb):
        return fn(make(lib, da, sa), make(lib, db, sb))

    def with_scalar(lib, da, s, left):
        x = make(lib, da, True)
        return fn(x, s) if left else fn(s, x)

    bad = []
    for da in _DTYPES:
        for db in _DTYPES:
            for sa, sb in ((True, True), (True, False), (False, True)):
                t, j = _outcome(pair, torch, da, sa, db, sb), _outcome(pair, jn, da, sa, db, sb)
                if not _agree(t, j):
                    bad.append((da, sa, db, sb, t, j))
        if name in ("maximum", "fmod", "atan2"):
            continue  # tensor-only ops here (jitnet's atan2 also takes a scalar; PyTorch not)
        for s in (2, 2.5, True):
            for left in (True, False):
                t = _outcome(with_scalar, torch, da, s, left)
                j = _outcome(with_scalar, jn, da, s, left)
                if not _agree(t, j):
                    bad.append((da, "scalar", s, left, t, j))
    assert not bad, bad[:5]


def test_fuzz_found_square_and_abs_of_bool():
    """Found by tests/fuzz once its skip-list was emptied: bool.square() is int64 (PyTorch's
    pow(x, 2)); bool.abs() raises NotImplementedError, as PyTorch has no bool kernel."""
    x = jn.tensor([True, False])
    y = x.square()
    assert y.dtype is jn.int64 and y.tolist() == [1, 0]
    with pytest.raises(NotImplementedError, match="abs"):
        x.abs()
