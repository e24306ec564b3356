"""The PyTorch-shaped Tensor and function surface (issue 9, part 1).

Index ops (ops/index.py), scans (ops/scan.py), split/repeat (ops/split.py,
ops/repeat.py), logic (ops/logic.py), in-place ops (ops/inplace.py), and the
Tensor methods / top-level names that a PyTorch script expects: values against
NumPy, gradients with float64 gradcheck, PyTorch parity where installed, and
the errors for bad input.
"""
import numpy as np
import pytest
from helpers import assert_matches_torch, requires_torch, t64

import jitnet as jn
from jitnet.autograd import gradcheck

# ------------------------------------------------------------------ top-level names


def test_top_level_functions_match_methods_and_numpy(rng):
    a = rng.standard_normal((2, 3, 4))
    x = jn.tensor(a)
    assert jn.flatten(x, 1).shape == (2, 12) and jn.flatten(x).shape == (24,)
    m, n = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    np.testing.assert_allclose(jn.matmul(jn.tensor(m), jn.tensor(n)).numpy(), m @ n)
    np.testing.assert_allclose(jn.mm(jn.tensor(m), jn.tensor(n)).numpy(), m @ n)
    b = rng.standard_normal((2, 4, 5))
    np.testing.assert_allclose(jn.bmm(x, jn.tensor(b)).numpy(), a @ b)
    np.testing.assert_allclose(jn.exp(x).numpy(), np.exp(a))
    np.testing.assert_allclose(jn.log(jn.exp(x)).numpy(), a, atol=1e-12)
    np.testing.assert_allclose(jn.sum(x, 1).numpy(), a.sum(1))
    np.testing.assert_allclose(jn.mean(x, (0, 2)).numpy(), a.mean((0, 2)))
    assert jn.max(x).item() == a.max()
    v, i = jn.max(x, dim=2)
    assert np.array_equal(i.numpy(), a.argmax(2)) and np.array_equal(v.numpy(), a.max(2))
    assert np.array_equal(jn.argmax(x, dim=1).numpy(), a.argmax(1))
    assert jn.argmax(x).item() == a.argmax()
    np.testing.assert_allclose(jn.sigmoid(x).numpy(), 1 / (1 + np.exp(-a)))
    np.testing.assert_allclose(jn.tanh(x).numpy(), np.tanh(a))
    np.testing.assert_allclose(jn.relu(x).numpy(), np.maximum(a, 0))
    assert jn.numel(x) == 24


def test_like_creation_linspace_seed_allclose():
    x = jn.ones(2, 3, dtype=jn.float64)
    z = jn.zeros_like(x)
    assert z.shape == (2, 3) and z.dtype is jn.float64 and z.sum().item() == 0
    f = jn.full_like(x, 7)
    assert f.dtype is jn.float64 and f.tolist() == [[7.0] * 3] * 2
    assert jn.full_like(x, 2, dtype=jn.int64).dtype is jn.int64
    jn.manual_seed(3)
    r1, n1 = jn.rand_like(x), jn.randn_like(x)
    jn.manual_seed(3)
    r2, n2 = jn.rand_like(x), jn.randn_like(x)
    assert jn.equal(r1, r2) and jn.equal(n1, n2) and r1.dtype is jn.float64
    assert (r1 >= 0).all() and (r1 < 1).all()
    ls = jn.linspace(0, 1, 5)
    assert ls.dtype is jn.float32 and np.allclose(ls.numpy(), [0, 0.25, 0.5, 0.75, 1])
    assert jn.allclose(jn.tensor([1.0, 2.0]), jn.tensor([1.0, 2.0 + 1e-9]))
    assert not jn.allclose(jn.tensor([1.0]), jn.tensor([1.1]))


def test_dtype_objects_and_casts():
    assert jn.float is jn.float32 and jn.long is jn.int64 and jn.double is jn.float64
    assert jn.int is jn.int32 and jn.bool.name == "bool"
    x = jn.tensor([1.7, -2.2, 0.0])
    assert x.float().dtype is jn.float32 and x.double().dtype is jn.float64
    assert x.long().tolist() == [1, -2, 0] and x.long().dtype is jn.int64
    assert x.int().dtype is jn.int32 and x.bool().tolist() == [True, True, False]
    assert x.to(jn.float64).dtype is jn.float64
    assert x.to("cpu", jn.int64).dtype is jn.int64
    assert x.to(jn.device("cpu"), dtype=jn.float64).dtype is jn.float64
    assert x.to(device="cpu").device == jn.device("cpu")
    assert x.type_as(jn.tensor([1])).dtype is jn.int64
    assert x.to(jn.zeros(1, dtype=jn.float64)).dtype is jn.float64


def test_devices_and_cuda_queries():
    cpu = jn.device("cpu")
    assert cpu == "cpu" and str(cpu) == "cpu"
    for make in (lambda d: jn.zeros(2, device=d), lambda d: jn.ones(2, device=d),
                 lambda d: jn.tensor([1.0], device=d), lambda d: jn.rand(2, device=d),
                 lambda d: jn.randn(2, device=d), lambda d: jn.arange(3, device=d),
                 lambda d: jn.full((2,), 1.0, device=d), lambda d: jn.eye(2, device=d),
                 lambda d: jn.zeros_like(jn.ones(2), device=d)):
        assert make(cpu).device == cpu
    assert jn.ones(2).to(cpu).device.type == "cpu" and jn.ones(2).cpu().is_cuda is False
    assert isinstance(jn.cuda.is_available(), bool)
    count = jn.cuda.device_count()
    assert count >= 1 if jn.cuda.is_available() else count == 0
    with pytest.raises(RuntimeError, match="unknown device"):
        jn.device("tpu")


def test_grad_mode_switches_as_context_managers_and_decorators():
    x = jn.ones(2, requires_grad=True)
    with jn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert jn.is_grad_enabled()
    with jn.no_grad(), jn.enable_grad():
        assert (x * 2).requires_grad
    with jn.inference_mode():
        assert not (x * 2).requires_grad
    with jn.inference_mode(False):
        assert (x * 2).requires_grad

    @jn.enable_grad()
    def on(t):
        return t * 2

    @jn.inference_mode()
    def off(t):
        return t * 2

    @jn.set_grad_enabled(False)
    def off2(t):
        return t * 2

    assert jn.is_grad_enabled()  # as a decorator, set_grad_enabled switches only inside
    with jn.no_grad():
        assert on(x).requires_grad
    assert not off(x).requires_grad and not off2(x).requires_grad and jn.is_grad_enabled()


# ------------------------------------------------------------------ tensor basics


def test_shape_queries_iteration_and_truth(rng):
    a = rng.standard_normal((3, 4))
    x = jn.tensor(a)
    assert x.dim() == 2 and x.size(0) == 3 and x.size(-1) == 4 and x.size() == (3, 4)
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3 and all(np.array_equal(r.numpy(), a[i]) for i, r in enumerate(rows))
    assert bool(jn.tensor([2.0])) and not bool(jn.tensor(0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(x)
    with pytest.raises(IndexError, match="size: Dimension out of range"):
        x.size(2)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(jn.tensor(1.0))
    assert x[1, 2].item() == a[1, 2] and x.tolist() == a.tolist()
    assert np.shares_memory(x.numpy(), x._data)


def test_view_reshape_expand_as_clone_contiguous(rng):
    a = rng.standard_normal((2, 6))
    x = jn.tensor(a)
    assert x.view_as(jn.zeros(3, 4)).shape == (3, 4)
    assert x.T.reshape_as(jn.zeros(12)).shape == (12,)
    assert jn.ones(1, 6).expand_as(x).shape == (2, 6)
    c = x.clone()
    c[0, 0] = 100.0
    assert x[0, 0].item() == a[0, 0]
    t = x.T
    assert not t.is_contiguous() and t.contiguous().is_contiguous()
    assert np.array_equal(t.contiguous().numpy(), a.T)
    assert gradcheck(lambda u: u.clone().view_as(jn.zeros(3, 4)) * 2, (t64(a),))
    assert gradcheck(lambda u: u.T.contiguous().reshape_as(jn.zeros(12)), (t64(a),))


def test_new_factories_follow_the_source_tensor():
    x = jn.ones(2, dtype=jn.float64)
    assert x.new_zeros(3, 2).shape == (3, 2) and x.new_zeros((3,)).dtype is jn.float64
    assert x.new_ones(2).tolist() == [1.0, 1.0]
    assert x.new_full((2,), 5).tolist() == [5.0, 5.0] and x.new_empty(4).shape == (4,)
    t = x.new_tensor([1, 2])
    assert t.dtype is jn.float64 and t.tolist() == [1.0, 2.0]
    assert x.new_zeros(2, dtype=jn.int64).dtype is jn.int64


def test_sum_mean_dtype_prod_norm(rng):
    a = rng.standard_normal((3, 4))
    x = jn.tensor(a, dtype=jn.float32)
    assert x.sum(dtype=jn.float64).dtype is jn.float64
    assert abs(x.sum(dtype=jn.float64).item() - a.astype(np.float32).sum(dtype=np.float64)) < 1e-9
    i = jn.tensor([[1, 2], [3, 4]])
    assert i.sum().dtype is jn.int64 and i.mean(dtype=jn.float32).item() == 2.5
    np.testing.assert_allclose(jn.tensor(a).prod(1).numpy(), a.prod(1))
    np.testing.assert_allclose(jn.tensor(a).norm().item(), np.linalg.norm(a))
    np.testing.assert_allclose(jn.tensor(a).norm(p=1, dim=0).numpy(), np.abs(a).sum(0))
    assert gradcheck(lambda u: u.prod(1), (t64(a),))
    assert gradcheck(lambda u: u.norm(dim=1), (t64(a),))


# ------------------------------------------------------------------ cumsum


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_values_and_gradients(dim, rng):
    a = rng.standard_normal((3, 4, 5))
    np.testing.assert_allclose(jn.tensor(a).cumsum(dim).numpy(), np.cumsum(a, dim))
    np.testing.assert_allclose(jn.cumsum(jn.tensor(a), dim=dim).numpy(), np.cumsum(a, dim))
    assert gradcheck(lambda u: u.cumsum(dim), (t64(a[:2, :3, :2]),))


def test_cumsum_dtypes_and_edge_cases():
    assert jn.tensor([True, False, True]).cumsum(0).tolist() == [1, 1, 2]
    i = jn.tensor([1, 2, 3], dtype=jn.int32).cumsum(0)
    assert i.dtype is jn.int64 and i.tolist() == [1, 3, 6]
    assert jn.tensor([1, 2]).cumsum(0, dtype=jn.float64).dtype is jn.float64
    assert jn.tensor(5.0).cumsum(0).item() == 5.0
    assert jn.zeros(0, 3).cumsum(0).shape == (0, 3)
    big = np.full(100_000, 0.1, dtype=np.float32)  # float64 accumulation: tiny drift only
    assert abs(jn.tensor(big).cumsum(0)[-1].item() - 10_000.0) < 1e-2
    t = jn.tensor(np.arange(12.0).reshape(3, 4)).T  # non-contiguous input
    np.testing.assert_allclose(t.cumsum(1).numpy(), np.cumsum(np.arange(12.0).reshape(3, 4).T, 1))
    with pytest.raises(IndexError, match="cumsum: Dimension out of range"):
        jn.ones(3).cumsum(1)
    with pytest.raises(TypeError, match="cumsum: expected a Tensor"):
        jn.cumsum([1, 2], 0)


def test_cumsum_parallel_path_matches_numpy(rng):
    a = rng.standard_normal((64, 40, 16)).astype(np.float32)  # above PARALLEL_MIN
    np.testing.assert_allclose(jn.tensor(a).cumsum(1).numpy(), np.cumsum(a, 1, dtype=np.float64),
                               rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ sort / topk / argsort


def test_sort_and_argsort_values_and_ties():
    x = jn.tensor([[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]])
    v, i = x.sort()
    assert v.tolist() == [[1, 1, 2, 3], [-1, 0, 5, 5]] and i.tolist() == [[1, 3, 2, 0],
                                                                         [3, 0, 1, 2]]
    v, i = jn.sort(x, dim=1, descending=True)
    assert v.tolist() == [[3, 2, 1, 1], [5, 5, 0, -1]]
    assert i.tolist() == [[0, 2, 1, 3], [1, 2, 0, 3]]  # stable: ties keep their order
    assert i.dtype is jn.int64
    assert x.sort(0).indices.tolist() == [[1, 0, 0, 1], [0, 1, 1, 0]]
    assert x.argsort(dim=1).tolist() == [[1, 3, 2, 0], [3, 0, 1, 2]]
    assert jn.argsort(x, descending=True).tolist() == [[0, 2, 1, 3], [1, 2, 0, 3]]
    nan = jn.tensor([1.0, float("nan"), 0.0])
    assert nan.argsort().tolist() == [2, 0, 1] and nan.argsort(descending=True).tolist()[0] == 1
    s = jn.sort(jn.tensor(4.0))
    assert s.values.item() == 4.0 and s.indices.item() == 0
    assert jn.tensor([3, 1, 2]).sort().values.tolist() == [1, 2, 3]


def test_topk_values_indices_and_gradients(rng):
    a = rng.permutation(20).reshape(4, 5).astype(np.float64)
    x = jn.tensor(a)
    v, i = x.topk(2)
    expect = -np.sort(-a, axis=1)[:, :2]
    assert np.array_equal(v.numpy(), expect)
    assert np.array_equal(np.take_along_axis(a, i.numpy(), 1), expect)
    v, i = jn.topk(x, 3, dim=0, largest=False)
    assert np.array_equal(v.numpy(), np.sort(a, axis=0)[:3])
    assert x.topk(0).values.shape == (4, 0) and x.topk(5).values.shape == (4, 5)
    assert gradcheck(lambda u: u.topk(2, dim=1).values, (t64(a),))
    assert gradcheck(lambda u: u.sort(0, descending=True).values, (t64(a),))


def test_sort_topk_errors():
    x = jn.ones(2, 3)
    with pytest.raises(RuntimeError, match="topk: selected index k=4 out of range"):
        x.topk(4)
    with pytest.raises(RuntimeError, match="topk: selected index k=-1 out of range"):
        x.topk(-1)
    with pytest.raises(TypeError, match="topk: k must be an int"):
        x.topk(1.5)
    with pytest.raises(IndexError, match="sort: Dimension out of range"):
        x.sort(2)
    with pytest.raises(IndexError, match="argsort: Dimension out of range"):
        x.argsort(-3)


# ------------------------------------------------------------------ gather / scatter


def test_gather_values_gradients_and_smaller_index(rng):
    a = rng.standard_normal((3, 4))
    idx = np.array([[0, 0, 3], [1, 2, 1], [3, 3, 3]])
    out = jn.gather(jn.tensor(a), 1, jn.tensor(idx))
    assert np.array_equal(out.numpy(), np.take_along_axis(a, idx, 1))
    small = jn.tensor([[2], [0]])  # smaller than input in dim 0 and along dim
    assert jn.tensor(a).gather(1, small).tolist() == [[a[0, 2]], [a[1, 0]]]
    idx0 = jn.tensor([[2, 0, 1, 1]])
    assert np.array_equal(jn.tensor(a).gather(0, idx0).numpy(), a[[2, 0, 1, 1], range(4)][None])
    assert gradcheck(lambda u: u.gather(1, jn.tensor(idx)), (t64(a),))  # repeats accumulate
    assert gradcheck(lambda u: u.gather(1, small), (t64(a),))


def test_scatter_and_scatter_add(rng):
    zeros = jn.zeros(3, 5)
    labels = jn.tensor([1, 4, 0])
    one_hot = zeros.scatter(1, labels.unsqueeze(1), 1.0)
    assert one_hot.tolist() == np.eye(5)[[1, 4, 0]].tolist() and zeros.sum().item() == 0
    src = jn.tensor(np.arange(6.0).reshape(2, 3), dtype=jn.float32)
    idx = jn.tensor([[0, 2, 1], [2, 0, 0]])
    out = jn.zeros(3, 3).scatter(0, idx, src)
    expect = np.zeros((3, 3))
    for r in range(2):
        for c in range(3):
            expect[idx.tolist()[r][c], c] = src.tolist()[r][c]
    assert out.tolist() == expect.tolist()
    add = jn.zeros(2, 4).scatter_add(1, jn.tensor([[0, 0, 3], [1, 1, 1]]),
                                     jn.ones(2, 3))
    assert add.tolist() == [[2, 0, 0, 1], [0, 3, 0, 0]]
    a, s = rng.standard_normal((3, 4)), rng.standard_normal((2, 3))
    sidx = jn.tensor([[0, 2, 3], [1, 0, 2]])  # unique per row: scatter is well defined
    assert gradcheck(lambda u, v: u.scatter(1, sidx, v), (t64(a), t64(s)))
    dup = jn.tensor([[0, 0, 3], [1, 1, 1]])
    assert gradcheck(lambda u, v: jn.scatter_add(u, 1, dup, v), (t64(a), t64(s)))
    assert gradcheck(lambda u, v: u.scatter_add(1, dup[:, :2], v), (t64(a), t64(s)))


def test_index_select_masked_fill_masked_select(rng):
    a = rng.standard_normal((4, 3))
    x = jn.tensor(a)
    idx = jn.tensor([3, 0, 3])
    assert np.array_equal(x.index_select(0, idx).numpy(), a[[3, 0, 3]])
    assert np.array_equal(jn.index_select(x, 1, jn.tensor([2])).numpy(), a[:, [2]])
    assert jn.index_select(x, 1, jn.tensor(1)).shape == (4, 1)
    assert gradcheck(lambda u: u.index_select(0, idx), (t64(a),))
    assert gradcheck(lambda u: u.index_select(1, jn.tensor([2, 2, 0])), (t64(a),))
    mask = jn.tensor(a > 0)
    filled = x.masked_fill(mask, -1.0)
    assert np.array_equal(filled.numpy(), np.where(a > 0, -1.0, a))
    assert np.array_equal(x.masked_fill(jn.tensor([True, False, True]), 0).numpy(),
                          np.where([True, False, True], 0, a))  # broadcast mask
    assert jn.tensor([1, 2, 3]).masked_fill(jn.tensor([True, False, False]), 2.7).tolist() == \
        [2, 2, 3]  # value cast to the tensor's dtype
    assert np.array_equal(x.masked_fill(mask, float("-inf")).numpy(), np.where(a > 0, -np.inf, a))
    assert gradcheck(lambda u: u.masked_fill(mask, 0.5), (t64(a),))
    v = t64(2.0)
    assert gradcheck(lambda u, w: jn.masked_fill(u, mask, w), (t64(a), v))
    assert np.array_equal(x.masked_select(mask).numpy(), a[a > 0])
    assert np.array_equal(jn.masked_select(x, jn.tensor([True, False, True])).numpy(),
                          a[:, [0, 2]].reshape(-1))


def test_index_op_errors():
    x = jn.ones(3, 4)
    with pytest.raises(IndexError, match="gather: index 4 is out of bounds for dimension 1 "
                                         "with size 4"):
        x.gather(1, jn.tensor([[4]]))
    with pytest.raises(IndexError, match="gather: index -1 is out of bounds"):
        x.gather(1, jn.tensor([[-1]]))
    with pytest.raises(RuntimeError, match="gather: expected dtype int64 for index, got float32"):
        x.gather(1, jn.tensor([[1.0]]))
    with pytest.raises(RuntimeError, match="gather: index tensor must have the same number"):
        x.gather(1, jn.tensor([1]))
    with pytest.raises(RuntimeError, match="gather: size does not match at dimension 0"):
        x.gather(1, jn.zeros(5, 1, dtype=jn.int64))
    with pytest.raises(TypeError, match="gather: index must be a Tensor"):
        x.gather(1, [[0]])
    with pytest.raises(IndexError, match="index_select: index 3 is out of bounds for "
                                         "dimension 0 with size 3"):
        x.index_select(0, jn.tensor([0, 3]))
    with pytest.raises(IndexError, match="index_select: index must be a vector"):
        x.index_select(0, jn.tensor([[0]]))
    with pytest.raises(RuntimeError, match="masked_fill: only supports boolean masks"):
        x.masked_fill(jn.ones(3, 4), 0.0)
    with pytest.raises(ValueError, match="masked_fill: shapes .* cannot be broadcast"):
        x.masked_fill(jn.tensor([True, False]), 0.0)
    with pytest.raises(RuntimeError, match="masked_fill: only supports a 0-dimensional value"):
        x.masked_fill(x > 0, jn.ones(2))
    with pytest.raises(RuntimeError, match="scatter: expected self.dtype to be equal to "
                                           "src.dtype"):
        x.scatter(0, jn.tensor([[0]]), jn.tensor([[1.0]], dtype=jn.float64))
    with pytest.raises(RuntimeError, match="scatter_add: expected index .* no larger than src"):
        x.scatter_add(1, jn.tensor([[0, 1]]), jn.ones(1, 1))
    with pytest.raises(NotImplementedError, match="scatter: reduce= is not supported"):
        x.scatter(1, jn.tensor([[0]]), 1.0, reduce="add")


# ------------------------------------------------------------------ split / repeat / flip


def test_split_chunk_unbind_narrow(rng):
    a = rng.standard_normal((5, 4))
    x = jn.tensor(a)
    parts = x.split(2)
    assert [p.shape[0] for p in parts] == [2, 2, 1]
    assert np.array_equal(parts[2].numpy(), a[4:])
    parts = jn.split(x, [1, 3], dim=1)
    assert [p.shape for p in parts] == [(5, 1), (5, 3)]
    assert [c.shape[0] for c in x.chunk(3)] == [2, 2, 1]
    assert [c.shape[0] for c in jn.chunk(jn.ones(6), 4)] == [2, 2, 2]  # fewer than asked
    assert [c.shape[1] for c in x.chunk(2, dim=1)] == [2, 2]
    rows = x.unbind()
    assert len(rows) == 5 and rows[3].shape == (4,) and np.array_equal(rows[3].numpy(), a[3])
    cols = jn.unbind(x, 1)
    assert len(cols) == 4 and np.array_equal(cols[1].numpy(), a[:, 1])
    assert np.array_equal(x.narrow(1, 1, 2).numpy(), a[:, 1:3])
    with jn.no_grad():  # pieces are views, as in PyTorch
        x.split(2)[0][0, 0] = 42.0
    assert x[0, 0].item() == 42.0
    assert gradcheck(lambda u: u.split(2)[1] * 3, (t64(a),))
    assert gradcheck(lambda u: jn.stack(u.chunk(2, 1), 0).sum(0), (t64(a),))
    assert gradcheck(lambda u: u.unbind(1)[2], (t64(a),))


def test_split_errors():
    x = jn.ones(4, 3)
    with pytest.raises(RuntimeError, match="split: split_with_sizes expects split_sizes to sum "
                                           "exactly to 4"):
        x.split([1, 2])
    with pytest.raises(RuntimeError, match="split: split_size must be a positive int"):
        x.split(0)
    with pytest.raises(TypeError, match="split: split_size_or_sections must be an int"):
        x.split(1.5)
    with pytest.raises(RuntimeError, match="chunk: chunks must be a positive int"):
        x.chunk(0)
    with pytest.raises(RuntimeError, match="unbind: expects at least a 1-dimensional tensor"):
        jn.tensor(1.0).unbind()
    with pytest.raises(IndexError, match="narrow: start \\(3\\) \\+ length \\(2\\) exceeds"):
        x.narrow(0, 3, 2)


def test_repeat_tile_repeat_interleave_flip(rng):
    a = rng.standard_normal((2, 3))
    x = jn.tensor(a)
    assert np.array_equal(x.repeat(2, 3).numpy(), np.tile(a, (2, 3)))
    assert np.array_equal(x.repeat(2, 1, 1).numpy(), np.tile(a, (2, 1, 1)))
    assert np.array_equal(x.tile((2,)).numpy(), np.tile(a, (1, 2)))
    assert np.array_equal(x.repeat_interleave(2, dim=0).numpy(), np.repeat(a, 2, axis=0))
    assert np.array_equal(jn.repeat_interleave(x, 2).numpy(), np.repeat(a, 2))
    counts = jn.tensor([1, 0, 2])
    assert np.array_equal(x.repeat_interleave(counts, dim=1).numpy(),
                          np.repeat(a, [1, 0, 2], axis=1))
    assert np.array_equal(x.flip(0).numpy(), a[::-1]) and np.array_equal(
        jn.flip(x, (0, 1)).numpy(), a[::-1, ::-1])
    assert np.array_equal(x.flip(-1, 0).numpy(), a[::-1, ::-1])
    assert gradcheck(lambda u: u.repeat(2, 2), (t64(a),))
    assert gradcheck(lambda u: u.repeat_interleave(3, dim=1), (t64(a),))
    assert gradcheck(lambda u: u.repeat_interleave(counts, dim=1), (t64(a),))
    assert gradcheck(lambda u: u.flip(1) * jn.tensor([1.0, 2.0, 3.0], dtype=jn.float64),
                     (t64(a),))
    with pytest.raises(RuntimeError, match="repeat: number of dimensions of repeat dims"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match="repeat_interleave: repeats must have the same size"):
        x.repeat_interleave(jn.tensor([1, 2]), dim=1)


# ------------------------------------------------------------------ logic


def test_logic_functions():
    x = jn.tensor([[0.0, 1.0, float("nan")], [float("inf"), -2.0, 3.0]])
    assert x.isnan().tolist() == [[False, False, True], [False, False, False]]
    assert jn.isinf(x).tolist() == [[False, False, False], [True, False, False]]
    assert jn.isfinite(x).tolist() == [[True, True, False], [False, True, True]]
    assert jn.isfinite(jn.tensor([1, 2])).all().item()
    assert not jn.isinf(jn.tensor([1, 2])).any().item()
    b = jn.tensor([[True, False], [True, True]])
    assert b.all().item() is False and b.any().item() is True
    assert b.all(dim=1).tolist() == [False, True] and jn.any(b, 0).tolist() == [True, True]
    assert b.all(1, keepdim=True).shape == (2, 1)
    assert jn.zeros(0).all().item() is True and jn.zeros(0).any().item() is False
    assert jn.tensor([1, 0, 2]).all().item() is False
    assert jn.logical_not(b).tolist() == [[False, True], [False, False]]
    assert jn.logical_and(b, jn.tensor([True, False])).tolist() == [[True, False], [True, False]]
    assert jn.logical_or(b, False).tolist() == b.tolist()
    assert jn.count_nonzero(jn.tensor([0, 3, 0, 1])).item() == 2
    y = jn.tensor([1, 2, 3])
    assert jn.eq(y, 2).tolist() == [False, True, False] and jn.ne(y, 2).sum().item() == 2
    assert jn.lt(y, 2).tolist() == [True, False, False] and jn.le(y, 2).sum().item() == 2
    assert jn.gt(y, jn.tensor([0, 5, 3])).tolist() == [True, False, False]
    assert jn.ge(y, 3).tolist() == [False, False, True]
    assert y.eq(jn.tensor([1, 0, 3])).sum().item() == 2  # MNIST's accuracy idiom
    with pytest.raises(TypeError, match="all: expected a Tensor"):
        jn.all([True])


# ------------------------------------------------------------------ in-place ops


def test_inplace_arithmetic_writes_into_storage():
    x = jn.tensor([1.0, 2.0, 3.0])
    alias = x.view(3)
    out = x.add_(1)
    assert out is x and alias.tolist() == [2.0, 3.0, 4.0]
    x.sub_(jn.tensor([1.0, 1.0, 1.0]), alpha=2).mul_(2).div_(jn.tensor(4.0))
    assert x.tolist() == [0.0, 0.5, 1.0]
    x += 1
    x -= jn.tensor([0.5])
    x *= 2
    x /= 4
    assert x.tolist() == [0.25, 0.5, 0.75] and alias.tolist() == x.tolist()
    m = jn.zeros(2, 3)
    m[0].add_(5)  # a basic-index result is a view, as in PyTorch
    assert m.tolist() == [[5, 5, 5], [0, 0, 0]]
    i = jn.tensor([1, 2])
    i.mul_(3)
    i += 1
    assert i.tolist() == [4, 7] and i.dtype is jn.int64
    x.addcmul_(jn.tensor([1.0, 2.0, 3.0]), jn.tensor([2.0, 2.0, 2.0]), value=0.5)
    assert x.tolist() == [1.25, 2.5, 3.75]
    x.addcdiv_(jn.tensor([1.0, 1.0, 1.0]), jn.tensor([4.0, 2.0, 1.0]), value=-1)
    assert x.tolist() == [1.0, 2.0, 2.75]


def test_inplace_fill_copy_clamp_and_friends():
    x = jn.zeros(2, 3)
    x.fill_(2.5)
    assert x.tolist() == [[2.5] * 3] * 2
    x.zero_()
    assert x.sum().item() == 0
    x.copy_(jn.tensor([1.0, -2.0, 3.0]))  # broadcast rows
    assert x.tolist() == [[1, -2, 3], [1, -2, 3]]
    x.copy_(jn.tensor([[7, 8, 9], [1, 2, 3]]))  # int source cast to float
    assert x.tolist() == [[7, 8, 9], [1, 2, 3]] and x.dtype is jn.float32
    x.clamp_(2, 8)
    assert x.tolist() == [[7, 8, 8], [2, 2, 3]]
    x.masked_fill_(x > 7, 0.0)
    assert x.tolist() == [[7, 0, 0], [2, 2, 3]]
    x.fill_(jn.tensor(4.0))
    assert x.sum().item() == 24
    z = jn.zeros(2, 4)
    z.scatter_(1, jn.tensor([[3], [1]]), 1.0)
    assert z.tolist() == [[0, 0, 0, 1], [0, 1, 0, 0]]
    z.scatter_add_(1, jn.tensor([[3, 3]]), jn.ones(1, 2))
    assert z[0].tolist() == [0, 0, 0, 3]
    y = jn.tensor([-1.0, 4.0])
    y.relu_().sqrt_()
    assert y.tolist() == [0.0, 2.0]
    y.neg_().abs_().pow_(2).exp_().log_()
    assert y.tolist() == [0.0, 4.0]
    y.sigmoid_()
    assert y[0].item() == 0.5
    y.tanh_()
    assert abs(y[0].item() - np.tanh(0.5)) < 1e-7
    i = jn.zeros(3, dtype=jn.int64)
    i.fill_(2.7)  # cast to the tensor's dtype, as PyTorch does
    assert i.tolist() == [2, 2, 2]


def test_random_fills_are_seeded_and_in_range():
    x = jn.empty(2000, dtype=jn.float64)
    jn.manual_seed(5)
    x.uniform_(-2, 3)
    first = x.clone()
    assert x.min().item() >= -2 and x.max().item() < 3 and abs(x.mean().item() - 0.5) < 0.15
    jn.manual_seed(5)
    x.uniform_(**{"from": -2, "to": 3})
    assert jn.equal(x, first)
    x.normal_(1.0, 0.5)
    assert abs(x.mean().item() - 1.0) < 0.05 and abs(x.std().item() - 0.5) < 0.05
    gen = jn.Generator().manual_seed(0)
    a = jn.zeros(4).normal_(generator=gen).clone()
    b = jn.zeros(4).normal_(generator=jn.Generator().manual_seed(0))
    assert jn.equal(a, b)
    f = jn.zeros(2, 2)
    f.uniform_()
    assert (f >= 0).all().item() and (f < 1).all().item() and f.dtype is jn.float32


def test_inplace_on_leaf_that_requires_grad():
    w = jn.ones(3, requires_grad=True)
    msg = "a leaf Variable that requires grad is being used in an in-place operation"
    for op in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(), lambda: w.fill_(1),
               lambda: w.copy_(jn.zeros(3)), lambda: w.clamp_(0, 1), lambda: w.uniform_(),
               lambda: w.normal_(), lambda: w.sub_(1), lambda: w.div_(2)):
        with pytest.raises(RuntimeError, match=msg):
            op()
    with pytest.raises(RuntimeError, match="add_: " + msg):
        w += 1
    assert w.tolist() == [1.0, 1.0, 1.0]
    with jn.no_grad():  # how optimizers and nn.init update parameters
        w.mul_(3).add_(jn.tensor([1.0, 2.0, 3.0]), alpha=-1)
        w.uniform_(0, 1)
        w.normal_(0, 0.01)
        w.zero_()
        w += 1
    assert w.tolist() == [1.0, 1.0, 1.0] and w.requires_grad and w.is_leaf
    w.grad = jn.ones(3)
    w.grad.zero_()  # .grad does not require grad
    assert w.grad.tolist() == [0.0, 0.0, 0.0]


def test_inplace_bad_inputs():
    i = jn.tensor([1, 2])
    with pytest.raises(RuntimeError, match="add_: result type float32 can't be cast to the "
                                           "desired output type int64"):
        i.add_(1.5)
    with pytest.raises(RuntimeError, match="div_: result type float32 can't be cast"):
        i.div_(2)
    with pytest.raises(RuntimeError, match="exp_: result type float32 can't be cast"):
        i.exp_()
    with pytest.raises(RuntimeError, match="add_: output with shape \\[2\\] doesn't match the "
                                           "broadcast shape \\[3, 2\\]"):
        jn.zeros(2).add_(jn.ones(3, 2))
    with pytest.raises(ValueError, match="mul_: shapes \\(2,\\) and \\(3,\\) cannot be broadcast"):
        jn.zeros(2).mul_(jn.ones(3))
    with pytest.raises(RuntimeError, match="copy_: output with shape"):
        jn.zeros(2).copy_(jn.ones(2, 2))
    with pytest.raises(TypeError, match="copy_: src must be a Tensor"):
        jn.zeros(2).copy_([1.0, 2.0])
    with pytest.raises(RuntimeError, match="fill_: only supports 0-dimension value tensor"):
        jn.zeros(2).fill_(jn.ones(2))
    with pytest.raises(RuntimeError, match="add_: unsupported operation: more than one element"):
        jn.zeros(1).expand(3).add_(1)
    base = jn.zeros(1)  # a fill of an expanded view is well defined: PyTorch allows it
    base.expand(3).fill_(1)
    assert base.tolist() == [1.0]
    with pytest.raises(RuntimeError, match="uniform_: expects to return a \\[from, to\\) range"):
        jn.zeros(2).uniform_(1, 0)
    with pytest.raises(RuntimeError, match="normal_: expects std >= 0.0"):
        jn.zeros(2).normal_(0, -1)
    with pytest.raises(TypeError, match="normal_: expected a floating point tensor"):
        jn.zeros(2, dtype=jn.int64).normal_()
    with pytest.raises(TypeError, match="add_: unsupported operand of type str"):
        jn.zeros(2).add_("1")
    with pytest.raises(RuntimeError, match="masked_fill_: only supports boolean masks"):
        jn.zeros(2).masked_fill_(jn.ones(2), 1.0)


def test_inplace_on_graph_tensors_is_recorded(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)

    def f(u, v):
        h = u * 2  # a non-leaf: in-place ops on it are recorded
        h.add_(v, alpha=0.5)
        h.mul_(v)
        h += u
        h.clamp_(-1.0, 1.0)
        h.masked_fill_(h > 0.9, 0.25)
        return h

    assert gradcheck(f, (t64(a), t64(b)))
    u = t64(a)
    h = u * 1.0
    before = h
    h.relu_()
    assert h is before and h.grad_fn is not None and h.requires_grad
    h.sum().backward()
    assert np.array_equal(u.grad.numpy(), (a > 0).astype(float))
    # a tensor that does not require grad joins the graph when an operand does
    acc = jn.zeros(3, dtype=jn.float64)
    v = t64(b)
    acc += v * v
    acc.add_(v)
    assert acc.requires_grad
    acc.sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), 2 * b + 1)
    # fill_/zero_ on a graph tensor: the old value gets a zero gradient, as in PyTorch
    u2 = t64(a)
    h2 = u2 * 3
    h2.zero_()
    (h2 + u2).sum().backward()
    assert np.array_equal(u2.grad.numpy(), np.ones_like(a))
    # copy_ from a tensor that requires grad
    dst, src = jn.zeros(2, 3, dtype=jn.float64), t64(b)
    dst.copy_(src)
    (dst * 2).sum().backward()
    np.testing.assert_allclose(src.grad.numpy(), np.full(3, 4.0))


# ------------------------------------------------------------------ against PyTorch


@requires_torch
def test_against_torch_index_and_scan(rng):
    torch = pytest.importorskip("torch")
    a = rng.permutation(24).reshape(4, 6).astype(np.float64) / 7
    idx = np.array([[0, 5, 5], [1, 1, 2], [3, 0, 4], [2, 2, 2]])
    assert_matches_torch(lambda u: u.gather(1, jn.tensor(idx)),
                         lambda u: u.gather(1, torch.tensor(idx)), a)
    sel = np.array([3, 1, 3])
    assert_matches_torch(lambda u: u.index_select(0, jn.tensor(sel)),
                         lambda u: u.index_select(0, torch.tensor(sel)), a)
    assert_matches_torch(lambda u: u.cumsum(1), lambda u: u.cumsum(1), a)
    assert_matches_torch(lambda u: u.cumsum(0), lambda u: torch.cumsum(u, 0), a)
    assert_matches_torch(lambda u: u.topk(3).values, lambda u: u.topk(3).values, a)
    assert_matches_torch(lambda u: u.topk(2, 0, largest=False).values,
                         lambda u: u.topk(2, 0, largest=False).values, a)
    assert_matches_torch(lambda u: u.sort(1, descending=True).values,
                         lambda u: u.sort(1, descending=True).values, a)
    mask = a > 1.5
    assert_matches_torch(lambda u: u.masked_fill(jn.tensor(mask), 0.0),
                         lambda u: u.masked_fill(torch.tensor(mask), 0.0), a)
    s = rng.standard_normal((2, 6))
    sidx = np.array([[0, 1, 2, 3, 0, 1], [3, 3, 0, 0, 1, 2]])
    assert_matches_torch(lambda u, v: u.scatter_add(0, jn.tensor(sidx), v),
                         lambda u, v: u.scatter_add(0, torch.tensor(sidx), v), a, s)
    uidx = np.array([[0, 1, 2, 3, 0, 1], [3, 2, 0, 1, 1, 2]])  # unique per column
    assert_matches_torch(lambda u, v: u.scatter(0, jn.tensor(uidx), v),
                         lambda u, v: u.scatter(0, torch.tensor(uidx), v), a, s)
    assert_matches_torch(lambda u: u.repeat(2, 1, 2), lambda u: u.repeat(2, 1, 2), a)
    assert_matches_torch(lambda u: u.repeat_interleave(2, dim=1),
                         lambda u: u.repeat_interleave(2, dim=1), a)
    assert_matches_torch(lambda u: u.flip(0), lambda u: u.flip(0), a)
    assert_matches_torch(lambda u: jn.cat(u.chunk(4, 1)[::-1], 1),
                         lambda u: torch.cat(u.chunk(4, 1)[::-1], 1), a)
    assert_matches_torch(lambda u: jn.stack(u.split([1, 3], 0)[1].unbind(1), 0),
                         lambda u: torch.stack(u.split([1, 3], 0)[1].unbind(1), 0), a)
    ta = torch.tensor(a)
    for jn_i, t_i in [(jn.tensor(a).argsort(1), ta.argsort(1)),
                      (jn.tensor(a).topk(2).indices, ta.topk(2).indices),
                      (jn.tensor(a).sort(0).indices, ta.sort(0).indices)]:
        assert jn_i.tolist() == t_i.tolist()
    ties = np.array([2.0, 1.0, 2.0, 1.0, 2.0])
    assert jn.tensor(ties).sort(descending=True, stable=True).indices.tolist() == \
        torch.tensor(ties).sort(descending=True, stable=True).indices.tolist()
    assert [c.shape[0] for c in jn.ones(10).chunk(4)] == \
        [c.shape[0] for c in torch.ones(10).chunk(4)]


@requires_torch
def test_against_torch_inplace_on_graph(rng):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((2, 3)), rng.standard_normal(3)

    def f(lib):
        def run(u, v):
            h = u * 2
            h.add_(v, alpha=0.5)
            h.mul_(v)
            h.sub_(u)
            h.div_(v * v + 1)
            return h
        return run

    assert_matches_torch(f(jn), f(torch), a, b)


# ------------------------------------------------------------------ matrix helpers, isclose


def test_dot_mv_outer_tril_triu(rng):
    v, w = rng.standard_normal(4), rng.standard_normal(4)
    m = rng.standard_normal((3, 4))
    assert abs(jn.dot(jn.tensor(v), jn.tensor(w)).item() - v @ w) < 1e-12
    np.testing.assert_allclose(jn.mv(jn.tensor(m), jn.tensor(v)).numpy(), m @ v)
    np.testing.assert_allclose(jn.tensor(v).outer(jn.tensor(w[:2])).numpy(), np.outer(v, w[:2]))
    b = rng.standard_normal((2, 3, 4))
    for d in (-1, 0, 2):
        assert np.array_equal(jn.tril(jn.tensor(b), d).numpy(), np.tril(b, d))
        assert np.array_equal(jn.tensor(b).triu(d).numpy(), np.triu(b, d))
    assert gradcheck(lambda x: x.tril(1), (t64(m),))
    assert gradcheck(lambda x, y: jn.outer(x, y), (t64(v), t64(w)))
    assert gradcheck(lambda x, y: x.mv(y), (t64(m), t64(v)))
    # a causal attention mask, the common use
    scores = jn.zeros(3, 3).masked_fill(jn.ones(3, 3).triu(1).bool(), float("-inf"))
    assert scores.softmax(-1)[0].tolist() == [1.0, 0.0, 0.0]
    with pytest.raises(RuntimeError, match="dot: inconsistent tensor size"):
        jn.dot(jn.ones(2), jn.ones(3))
    with pytest.raises(RuntimeError, match="mv: vec must be 1-D"):
        jn.mv(jn.ones(2, 2), jn.ones(2, 1))
    with pytest.raises(RuntimeError, match="tril: input tensor must have at least 2 dimensions"):
        jn.tril(jn.ones(3))


def test_isclose():
    x = jn.tensor([1.0, float("inf"), float("nan"), 2.0, -float("inf")])
    y = jn.tensor([1.0 + 1e-9, float("inf"), float("nan"), 2.1, float("inf")])
    assert jn.isclose(x, y).tolist() == [True, True, False, False, False]
    assert x.isclose(y, equal_nan=True).tolist() == [True, True, True, False, False]
    assert jn.isclose(x, 2.0, atol=0.2).tolist() == [False, False, False, True, False]
    assert jn.isclose(jn.tensor([1, 2]), jn.tensor([1, 3])).tolist() == [True, False]
