"""Regression tests for issue 19 (differential fuzzing against PyTorch), one per case number,
for the cases in indexing, reductions, shape ops and matrix products; plus the missing names.

Expected values are PyTorch 2.13's (checked with ``python -c``), written out so the tests
run without PyTorch.  Elementwise cases (#2, #6, #9, ...) live with the elementwise ops.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import requires_torch, t64

import jitnet as jn
import jitnet.nn.functional as F
from jitnet.autograd import gradcheck

inf, nan = math.inf, math.nan


def grad_of(fn, values):
    x = jn.tensor(values, dtype=jn.float64, requires_grad=True)
    fn(x).backward()
    return x.grad.numpy()


# ---------------------------------------------------------------- 3: int beside array indices

def test_case03_int_mixed_with_array_index():
    x = jn.arange(120).reshape(2, 3, 4, 5)
    host = np.arange(120).reshape(2, 3, 4, 5)
    cases = [  # (index, PyTorch's shape, the same selection written without the mix)
        ((0, slice(None), [0, 1]), (3, 2, 5), host[0][:, [0, 1]]),
        ((0, [0, 1], slice(None), [0, 1]), (2, 4), host[0][[0, 1], :, [0, 1]]),
        ((slice(None), [0, 1], 0, [0, 1]), (2, 2), host[:, :, 0][:, [0, 1], [0, 1]]),
        ((0, None, [0, 1]), (1, 2, 4, 5), host[0][None, [0, 1]]),
        ((Ellipsis, 0, [1, 2]), (2, 3, 2), host[..., 0, :][..., [1, 2]]),
        # found by the long fuzz run: an Ellipsis covering no dim does not separate arrays
        ((slice(None), [0, 0], Ellipsis, 0, [1, 1]), (2, 2), host[:, :, 0][:, [0, 0], [1, 1]]),
        (([0, 1], Ellipsis, [1, 2], slice(None), slice(None)), (2, 4, 5), host[[0, 1], [1, 2]]),
    ]
    for index, shape, expect in cases:
        got = x[index]
        assert tuple(got.shape) == shape, index
        np.testing.assert_array_equal(got.numpy(), expect)
    y = jn.zeros(2, 3, 4)  # setitem through the same index, and its gradient
    y[0, :, [0, 1]] = jn.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(y.numpy()[0][:, [0, 1]], np.arange(6.0).reshape(3, 2))
    assert y.numpy().sum() == 15.0
    assert gradcheck(lambda a: a[0, :, [0, 2]] * 2, (t64(np.ones((2, 3, 4))),))


# ---------------------------------------------------------------- 4: x[i] of 1-D is a view

def test_case04_int_index_of_1d_is_a_view():
    x = jn.arange(5.0)
    v = x[1]
    assert v.ndim == 0
    v.zero_()
    x[2][...] = 9
    assert x.tolist() == [0.0, 0.0, 9.0, 3.0, 4.0]


# ---------------------------------------------------------------- 5: flip copies

def test_case05_flip_never_shares_memory():
    t = jn.ones(1, 3)
    f = t.flip(0)
    f[0, 0] = 5
    assert t.tolist() == [[1.0, 1.0, 1.0]]
    g = t.flip(0, 1)
    g[0, 0] = 7
    assert t.tolist() == [[1.0, 1.0, 1.0]]


# ---------------------------------------------------------------- 7: integer prod -> int64

def test_case07_int32_prod_accumulates_in_int64():
    x = jn.tensor([65536, 65536, 3], dtype=jn.int32)  # 2**32 * 3 overflows int32
    p = x.prod()
    assert p.dtype is jn.int64 and p.item() == 3 * 2**32
    assert x.prod(0).dtype is jn.int64
    assert jn.tensor([True, False]).prod().dtype is jn.int64


# ---------------------------------------------------------------- 8: logsumexp / log_softmax

def test_case08_logsumexp_infinite_rows_and_log_softmax_of_huge_negatives():
    assert jn.logsumexp(jn.tensor([-inf, -inf]), 0).item() == -inf
    assert jn.logsumexp(jn.tensor([inf, 1.0]), 0).item() == inf
    rows = jn.tensor([[-inf, -inf], [0.0, 1.0]]).logsumexp(1)
    assert rows[0].item() == -inf and rows[1].item() == pytest.approx(math.log(1 + math.e))
    for dim in (0, 1):  # the row kernel and the column kernel
        x = jn.tensor([[-1e30, -1e30], [-1e30, -1e30]])
        np.testing.assert_allclose(jn.log_softmax(x, dim).numpy(), -math.log(2), rtol=1e-6)
    # gradients as PyTorch: nan where the shift cannot be removed
    np.testing.assert_array_equal(grad_of(lambda x: x.logsumexp(0), [inf, 1.0]), [nan, 0.0])
    assert np.isnan(grad_of(lambda x: x.logsumexp(0), [-inf, -inf])).all()
    assert gradcheck(lambda a: a.logsumexp(1), (t64(np.random.default_rng(0).standard_normal(
        (2, 3))),))


# ---------------------------------------------------------------- 11: ties split the gradient

def test_case11_amax_and_inf_norm_ties_split_the_gradient():
    np.testing.assert_allclose(grad_of(lambda x: x.amax(), [1.0, 3, 3]), [0, 0.5, 0.5])
    np.testing.assert_allclose(grad_of(lambda x: x.amax(0).sum(), [[1.0, 3], [1, 3]]),
                               [[0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_allclose(grad_of(lambda x: x.amin(), [1.0, 1, 3]), [0.5, 0.5, 0])
    np.testing.assert_allclose(grad_of(lambda x: x.norm(inf), [1.0, -3, 3]), [0, -0.5, 0.5])
    # max(dim) keeps PyTorch's rule: the whole gradient to the returned index
    np.testing.assert_allclose(grad_of(lambda x: x.max(0).values.sum(), [[1.0, 3], [1, 3]]),
                               [[1, 1], [0, 0]])


# ---------------------------------------------------------------- 13: max() with NaN

def test_case13_max_with_nan_gradient():
    np.testing.assert_array_equal(grad_of(lambda x: x.max(), [1.0, nan, 3]), [0, 1, 0])
    np.testing.assert_array_equal(grad_of(lambda x: x.max(), [nan, nan, 3]), [0.5, 0.5, 0])
    np.testing.assert_array_equal(grad_of(lambda x: x.min(), [1.0, nan, 3]), [0, 1, 0])
    assert np.isnan(grad_of(lambda x: x.amax(), [1.0, nan, 3])).all()  # PyTorch's amax too


# ---------------------------------------------------------------- 16: empty inputs

def test_case16_reductions_over_the_nonempty_dim_of_an_empty_tensor():
    x = jn.zeros(0, 3)
    values, indices = x.max(1)
    assert tuple(values.shape) == (0,) and indices.dtype is jn.int64
    assert tuple(x.min(1).values.shape) == (0,)
    assert tuple(x.argmin(1).shape) == (0,)
    assert tuple(x.amax(1).shape) == (0,)
    assert tuple(x.logsumexp(1).shape) == (0,)
    assert x.logsumexp(0).tolist() == [-inf, -inf, -inf]
    with pytest.raises(IndexError, match=r"argmin\(\): Expected reduction dim 0 to have non-zero"):
        x.argmin(0)
    with pytest.raises(IndexError, match=r"amax\(\): Expected reduction dim 0"):
        x.amax(0)
    with pytest.raises(RuntimeError, match=r"max\(\): Expected reduction dim to be specified"):
        x.max()
    with pytest.raises(IndexError, match=r"argmax\(\): Expected reduction dim to be specified"):
        x.argmax()


# ---------------------------------------------------------------- 17: tuple dims, 0-d

def test_case17_tuple_dims_and_0d_logsumexp():
    x = jn.ones(2, 3)
    assert x.logsumexp((0, 1)).item() == pytest.approx(1 + math.log(6))
    assert x.amax((0, 1)).item() == 1.0
    assert x.amin((0, 1)).item() == 1.0
    assert x.norm(inf, (0, 1)).item() == 1.0
    assert tuple(x.amax((0, 1), keepdim=True).shape) == (1, 1)
    assert jn.tensor(2.0).logsumexp(0).item() == 2.0
    a = t64(np.random.default_rng(1).standard_normal((2, 3, 2)))
    assert gradcheck(lambda v: v.logsumexp((0, 2)), (a,))
    assert gradcheck(lambda v: v.amax((0, 2)), (a,))


# ---------------------------------------------------------------- 18: gradients at zero

def test_case18_std_of_one_element_and_norm_at_zero_backward():
    assert grad_of(lambda x: x.std(unbiased=False), [2.0]).tolist() == [0.0]
    assert np.isnan(grad_of(lambda x: x.std(), [2.0])).all()  # PyTorch: nan (0/0 variance)
    for p in ("fro", 1, 2, 3):
        assert grad_of(lambda x, p=p: x.norm(p), [0.0, 0.0]).tolist() == [0.0, 0.0]
    assert grad_of(lambda x: x.norm(0.5), [0.0, 1.0]).tolist() == [0.0, 1.0]


# ---------------------------------------------------------------- 21: zero inner dim

def test_case21_matmul_with_zero_size_inner_dim():
    assert (jn.zeros(2, 0) @ jn.zeros(0, 3)).tolist() == [[0.0] * 3] * 2
    out = jn.bmm(jn.ones(2, 2, 0), jn.ones(2, 0, 3))
    assert tuple(out.shape) == (2, 2, 3) and not out.numpy().any()
    assert tuple(jn.matmul(jn.ones(3, 2, 0), jn.ones(0, 4)).shape) == (3, 2, 4)


# ---------------------------------------------------------------- 23: setitem on the graph

def test_case23_setitem_on_a_non_leaf_is_differentiated():
    x = jn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y[0] = 5
    assert y.tolist() == [5.0, 4.0, 6.0] and y.grad_fn is not None
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 2.0, 2.0]
    w = jn.tensor(7.0, requires_grad=True)
    x.grad = None
    y = x * 2
    y[1] = w
    (y * jn.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 6.0] and w.grad.item() == 2.0
    a = t64(np.arange(6.0).reshape(2, 3))
    b = t64(np.ones(3))

    def f(a, b):
        y = a * 1.5
        y[1] = b * b
        return y

    assert gradcheck(f, (a, b))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 1.0
    with jn.no_grad():
        x[0] = 1.0  # allowed, as in PyTorch
    assert x.tolist()[0] == 1.0


# ---------------------------------------------------------------- 24: extra leading 1-dims

def test_case24_values_with_extra_leading_size_one_dims():
    x = jn.zeros(3)
    x[0] = jn.tensor([7.0])
    assert x.tolist() == [7.0, 0.0, 0.0]
    m = jn.tensor([True, False, True])
    x[m] = jn.tensor([[1.0, 2.0]])
    assert x.tolist() == [1.0, 0.0, 2.0]
    x[m] = (3, 4)  # PyTorch refuses a tuple; jitnet converts it (docs/pytorch-compat.md)
    assert x.tolist() == [3.0, 0.0, 4.0]
    y = jn.zeros(2, 3)
    y[0] = jn.tensor([[1.0, 2.0, 3.0]])
    assert y.tolist() == [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]
    with pytest.raises(RuntimeError, match=r"shape mismatch: value tensor of shape \[2, 1, 3\]"):
        y[0] = jn.ones(2, 1, 3)


# ---------------------------------------------------------------- 25: expand views

def test_case25_writes_into_expand_views():
    b = jn.tensor([1.0, 2.0])
    b.expand(1, 2).add_(1)  # no element shared: writes through
    assert b.tolist() == [2.0, 3.0]
    b.expand(3, 2)[0] = 7  # a row of the view shares nothing
    assert b.tolist() == [7.0, 7.0]
    b.expand(3, 2).zero_()  # a fill is well defined
    assert b.tolist() == [0.0, 0.0]
    msg = "unsupported operation: more than one element of the written-to tensor"
    e = jn.tensor([1.0, 2.0]).expand(3, 2)
    for write in (lambda: e.add_(1), lambda: e.mul_(2), lambda: e.copy_(jn.ones(3, 2)),
                  lambda: e.__setitem__((slice(None), 0), 5.0)):
        with pytest.raises(RuntimeError, match=msg):
            write()


# ---------------------------------------------------------------- 26: chunk, cat

def test_case26_chunk_of_empty_dim_and_cat_skips_legacy_empty():
    pieces = jn.zeros(4, 0).chunk(3, 1)
    assert len(pieces) == 3 and all(tuple(p.shape) == (4, 0) for p in pieces)
    out = jn.cat([jn.zeros(0), jn.ones(2, 2)], 1)
    assert out.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    with pytest.raises(RuntimeError, match="cat: sizes of tensors must match"):
        jn.cat([jn.zeros(1), jn.ones(2, 2)], 0)


# ---------------------------------------------------------------- 27: repeat is contiguous

def test_case27_repeat_result_is_contiguous():
    r = jn.ones(2, 4).repeat(2, 1, 1)
    assert r.is_contiguous() and tuple(r.view(16).shape) == (16,)
    x = jn.ones(3)
    x.repeat(1)[0] = 5  # a copy even when every count is 1
    assert x.tolist() == [1.0, 1.0, 1.0]


# ---------------------------------------------------------------- 29, 30: raise as PyTorch

def test_case29_raises_where_pytorch_raises():
    with pytest.raises(RuntimeError, match=r"argmax\(\): does not support bool input"):
        jn.tensor([True, False]).argmax()
    with pytest.raises(RuntimeError, match="norm: Expected a floating point tensor"):
        jn.tensor([1, 2]).norm()
    with pytest.raises(TypeError, match="prod: dim must be an int"):
        jn.tensor([[1.0, 2.0]]).prod(dim=(0,))
    z = jn.zeros(3, dtype=jn.int64)
    with pytest.raises(RuntimeError, match="Index put requires the source and destination"):
        z[jn.tensor([0, 1])] = jn.tensor([1.5, 2.5])
    z[0:2] = jn.tensor([1.5, 2.5])  # basic indices cast, as PyTorch's copy_
    z[jn.tensor([2])] = 1.5  # a number is cast too
    assert z.tolist() == [1, 2, 1]


def test_case29_negative_slice_step_is_kept():
    # a documented extension (docs/pytorch-compat.md, "differences"): PyTorch raises
    assert jn.arange(4)[::-1].tolist() == [3, 2, 1, 0]


def test_case30_logsumexp_of_bool_and_int():
    out = jn.tensor([True, False]).logsumexp(0)
    assert out.dtype is jn.float32 and out.item() == pytest.approx(1.3132617)
    assert jn.tensor([1, 2]).logsumexp(0).item() == pytest.approx(2.3132617)


# ---------------------------------------------------------------- missing names

def test_missing_amin_movedim_swapaxes_select():
    x = jn.arange(24.0).reshape(2, 3, 4)
    host = x.numpy()
    np.testing.assert_array_equal(jn.amin(x, (0, 2)).numpy(), host.min((0, 2)))
    np.testing.assert_array_equal(jn.movedim(x, (0, 1), (2, 0)).numpy(),
                                  np.moveaxis(host, (0, 1), (2, 0)))
    np.testing.assert_array_equal(x.movedim(0, -1).numpy(), np.moveaxis(host, 0, -1))
    np.testing.assert_array_equal(jn.swapaxes(x, 0, 2).numpy(), host.swapaxes(0, 2))
    np.testing.assert_array_equal(x.swapdims(1, 2).numpy(), host.swapaxes(1, 2))
    np.testing.assert_array_equal(x.select(1, -1).numpy(), host[:, -1])
    assert gradcheck(lambda a: a.movedim(0, 1).select(0, 1), (t64(host),))
    with pytest.raises(RuntimeError, match="movedim: repeated dim in `source`"):
        jn.movedim(x, (0, 0), (1, 2))
    with pytest.raises(RuntimeError, match="movedim: Invalid source or destination dims"):
        jn.movedim(x, (0, 1), (1,))
    with pytest.raises(IndexError, match=r"select\(\): index 3 out of range"):
        x.select(1, 3)


def test_missing_take_along_dim_and_index_add():
    x = jn.arange(24.0).reshape(2, 3, 4)
    out = jn.take_along_dim(x, jn.tensor([[[0]]]), dim=1)  # broadcasts like PyTorch
    np.testing.assert_array_equal(out.numpy(), x.numpy()[:, :1, :])
    assert jn.take_along_dim(x, jn.tensor([3, 0])).tolist() == [3.0, 0.0]
    idx = jn.tensor([[2, 0], [1, 1]])
    a = t64(np.random.default_rng(0).standard_normal((2, 3)))
    assert gradcheck(lambda v: jn.take_along_dim(v, idx, 1), (a,))
    with pytest.raises(RuntimeError, match="take_along_dim: input and indices should have"):
        jn.take_along_dim(x, jn.tensor([[0]]), 1)

    y = jn.zeros(3, 2)
    out = y.index_add(0, jn.tensor([0, 2, 0]), jn.ones(3, 2), alpha=2)
    assert out.tolist() == [[4.0, 4.0], [0.0, 0.0], [2.0, 2.0]]
    y.index_add_(1, jn.tensor([1]), jn.ones(3, 1))
    assert y.tolist() == [[0.0, 1.0]] * 3
    src = t64(np.random.default_rng(1).standard_normal((3, 2)))
    assert gradcheck(lambda v, s: jn.index_add(v, 0, jn.tensor([0, 2, 0]), s, alpha=0.5),
                     (t64(np.zeros((3, 2))), src))
    with pytest.raises(IndexError, match="index_add: index 5 is out of bounds"):
        y.index_add(0, jn.tensor([0, 5]), jn.ones(2, 2))
    with pytest.raises(RuntimeError, match=r"index_add_\(\): source of shape \(3, 2\)"):
        y.index_add(0, jn.tensor([0, 1]), jn.ones(3, 2))
    with pytest.raises(RuntimeError, match="must have the same scalar type"):
        y.index_add(0, jn.tensor([0, 1]), jn.ones(2, 2, dtype=jn.float64))


@pytest.mark.parametrize("mode, expect", [
    ("reflect", [2, 1, 0, 1, 2, 1]),
    ("replicate", [0, 0, 0, 1, 2, 2]),
    ("circular", [1, 2, 0, 1, 2, 0]),
])
def test_missing_pad_modes(mode, expect):
    x = jn.arange(6.0).reshape(1, 2, 3)
    out = F.pad(x, (2, 1), mode=mode)
    assert out[0, 0].tolist() == expect and out[0, 1].tolist() == [v + 3 for v in expect]
    assert tuple(F.pad(x, (-1, 1), mode=mode).shape) == (1, 2, 3)
    img = t64(np.random.default_rng(2).standard_normal((1, 1, 3, 4)))
    assert gradcheck(lambda a: F.pad(a, (1, 2, 2, 1), mode=mode), (img,))
    with pytest.raises(NotImplementedError, match="padding size 2 is not supported for 1D"):
        F.pad(jn.ones(3), (1, 1), mode=mode)
    with pytest.raises(ValueError, match="doesn't take in value argument"):
        F.pad(x, (1, 1), mode=mode, value=3.0)


def test_missing_pad_mode_limits():
    x = jn.ones(1, 2, 3)
    with pytest.raises(RuntimeError, match="padding size should be less than"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(x, (4, 0), mode="circular")
    assert tuple(F.pad(x, (4, 0), mode="replicate").shape) == (1, 2, 7)


@requires_torch
def test_missing_pad_modes_match_torch_2d():
    import torch
    import torch.nn.functional as TF

    a = np.random.default_rng(3).standard_normal((2, 3, 4, 5))
    for mode in ("reflect", "replicate", "circular"):
        got = F.pad(jn.tensor(a), (2, 1, 0, 3), mode=mode).numpy()
        want = TF.pad(torch.tensor(a), (2, 1, 0, 3), mode=mode).numpy()
        np.testing.assert_allclose(got, want)
