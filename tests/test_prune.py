"""jitnet.nn.utils.prune against torch.nn.utils.prune on equal weights: masks, gradients,
composition, remove, errors."""
import numpy as np
import pytest
from helpers import requires_torch

import jitnet as jn
from jitnet.nn.utils import prune

pytestmark = requires_torch


def _pair(shape_in=6, shape_out=5, conv=False, seed=0):
    import torch

    rng = np.random.default_rng(seed)
    if conv:
        jm, tm = jn.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(3, 4, 3)
    else:
        jm, tm = jn.nn.Linear(shape_in, shape_out), torch.nn.Linear(shape_in, shape_out)
    for pj, pt in zip(jm.parameters(), tm.parameters()):
        a = rng.standard_normal(tuple(pt.shape)).astype(np.float32)  # no ties
        with torch.no_grad():
            pt.copy_(torch.tensor(a))
        with jn.no_grad():
            pj.copy_(jn.tensor(a))
    return jm, tm


def _check_same(jm, tm, names=("weight",)):
    import torch

    for name in names:
        np.testing.assert_array_equal(getattr(jm, name + "_mask").numpy(),
                                      getattr(tm, name + "_mask").numpy())
        np.testing.assert_allclose(getattr(jm, name).detach().numpy(),
                                   getattr(tm, name).detach().numpy())
    assert list(dict(jm.named_parameters())) == [n for n, _ in tm.named_parameters()]
    assert list(jm.state_dict()) == list(tm.state_dict())
    # gradients reach _orig through the mask; compared in float64 (the modules are left
    # so), where the sums' rounding is far below the bound (float32 gradients of ~140
    # differ by ~2e-5 with the order of the sums, which differs from CPU to CPU)
    jm.double(), tm.double()
    shape = (2, 3, 6, 6) if isinstance(jm, jn.nn.Conv2d) else (2, jm.in_features)
    x = np.random.default_rng(5).standard_normal(shape)
    (jm(jn.tensor(x)) ** 2).sum().backward()
    (tm(torch.tensor(x)) ** 2).sum().backward()
    for (nj, pj), (nt, pt) in zip(jm.named_parameters(), tm.named_parameters()):
        assert nj == nt
        assert pj.grad.dtype == jn.float64
        np.testing.assert_allclose(pj.grad.numpy(), pt.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("amount", [0.3, 7, 0.0, 1.0])
def test_l1_unstructured_matches_torch(amount):
    import torch.nn.utils.prune as tp

    jm, tm = _pair()
    prune.l1_unstructured(jm, "weight", amount)
    tp.l1_unstructured(tm, "weight", amount)
    _check_same(jm, tm)
    assert prune.is_pruned(jm) and int((jm.weight_mask.numpy() == 0).sum()) == round(
        amount * 30 if isinstance(amount, float) else amount)


@pytest.mark.parametrize("n,dim", [(1, 0), (2, 1), (float("inf"), 0)])
def test_ln_structured_matches_torch(n, dim):
    import torch.nn.utils.prune as tp

    jm, tm = _pair(conv=True)
    prune.ln_structured(jm, "weight", 0.5, n=n, dim=dim)
    tp.ln_structured(tm, "weight", 0.5, n=n, dim=dim)
    _check_same(jm, tm)


def test_repeated_pruning_composes_like_torch():
    import torch.nn.utils.prune as tp

    jm, tm = _pair(conv=True, seed=3)
    for lib, m in ((prune, jm), (tp, tm)):
        lib.l1_unstructured(m, "weight", 0.3)
        lib.ln_structured(m, "weight", 1, n=2, dim=0)
        lib.l1_unstructured(m, "weight", 10)
        lib.l1_unstructured(m, "bias", 1)
    _check_same(jm, tm, ("weight", "bias"))
    hook = [h for h in jm._forward_pre_hooks.values() if h._tensor_name == "weight"][0]
    assert isinstance(hook, prune.PruningContainer) and len(hook) == 3


def test_global_unstructured_matches_torch():
    import torch
    import torch.nn.utils.prune as tp

    jm1, tm1 = _pair(6, 5, seed=1)
    jm2, tm2 = _pair(5, 4, seed=2)
    prune.l1_unstructured(jm1, "weight", 4)  # an earlier mask is respected
    tp.l1_unstructured(tm1, "weight", 4)
    prune.global_unstructured([(jm1, "weight"), (jm2, "weight")],
                              pruning_method=prune.L1Unstructured, amount=0.4)
    tp.global_unstructured([(tm1, "weight"), (tm2, "weight")],
                           pruning_method=tp.L1Unstructured, amount=0.4)
    _check_same(jm1, tm1)
    _check_same(jm2, tm2)
    assert torch  # imported for the comparison above


def test_remove_makes_pruning_permanent_like_torch():
    import torch.nn.utils.prune as tp

    jm, tm = _pair()
    prune.l1_unstructured(jm, "weight", 0.5)
    tp.l1_unstructured(tm, "weight", 0.5)
    orig = jm.weight_orig
    prune.remove(jm, "weight")
    tp.remove(tm, "weight")
    assert jm.weight is orig and isinstance(jm.weight, jn.nn.Parameter)
    np.testing.assert_allclose(jm.weight.detach().numpy(), tm.weight.detach().numpy())
    assert list(jm.state_dict()) == list(tm.state_dict())
    assert not prune.is_pruned(jm) and not jm._forward_pre_hooks


def test_random_unstructured_prunes_the_count_and_composes():
    jm, _ = _pair()
    jn.manual_seed(0)
    prune.random_unstructured(jm, "weight", 0.5)
    first = jm.weight_mask.numpy().copy()
    assert (first == 0).sum() == 15
    prune.random_unstructured(jm, "weight", 5)
    second = jm.weight_mask.numpy()
    assert (second == 0).sum() == 20 and np.all(second[first == 0] == 0)
    prune.random_structured(jm, "weight", 2, dim=0)
    rows = jm.weight_mask.numpy().sum(axis=1)
    assert (rows == 0).sum() >= 2


def test_pruning_errors():
    jm, _ = _pair()
    with pytest.raises(ValueError, match=r"amount=1.5 should either be a float in the range"):
        prune.l1_unstructured(jm, "weight", 1.5)
    with pytest.raises(ValueError, match=r"amount=-1 should either"):
        prune.l1_unstructured(jm, "weight", -1)
    with pytest.raises(ValueError, match=r"amount=31 should be smaller than the number of "
                                         r"parameters to prune=30"):
        prune.l1_unstructured(jm, "weight", 31)
    assert not prune.is_pruned(jm) and "weight" in jm._parameters  # unchanged
    with pytest.raises(ValueError, match=r"Linear has no parameter named 'wieght' to prune "
                                         r"\(its parameters: weight, bias\)"):
        prune.l1_unstructured(jm, "wieght", 0.1)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        prune.remove(jm, "weight")
    with pytest.raises(ValueError, match="structured pruning can only be applied to "
                                         "multidimensional"):
        prune.ln_structured(jm, "bias", 0.5, n=1, dim=0)
    with pytest.raises(IndexError, match="invalid index 2"):
        prune.ln_structured(jm, "weight", 0.5, n=1, dim=2)
    with pytest.raises(TypeError, match='Only "unstructured"'):
        prune.global_unstructured([(jm, "weight")], pruning_method=prune.LnStructured,
                                  amount=0.1, n=1, dim=0)
    with pytest.raises(TypeError, match="not an Iterable"):
        prune.global_unstructured(jm.weight, amount=0.1)


def test_nn_utils_package_keeps_its_names():
    assert jn.nn.utils.clip_grad_norm_ is not None and jn.nn.utils.clip_grad_value_
    v = jn.nn.utils.parameters_to_vector(jn.nn.Linear(2, 3).parameters())
    assert tuple(v.shape) == (9,)
    m = jn.nn.Linear(2, 3)
    jn.nn.utils.vector_to_parameters(jn.arange(9.0), m.parameters())
    assert m.bias.tolist() == [6.0, 7.0, 8.0]


def test_custom_mask_identity_and_importance_scores_match_torch():
    import torch
    import torch.nn.utils.prune as tp

    jm, tm = _pair(conv=True, seed=4)
    mask = (np.arange(4 * 3 * 3 * 3).reshape(4, 3, 3, 3) % 3 != 0).astype(np.float32)
    scores = np.random.default_rng(9).random((4, 3, 3, 3)).astype(np.float32)
    prune.custom_from_mask(jm, "weight", jn.tensor(mask))
    tp.custom_from_mask(tm, "weight", torch.tensor(mask))
    prune.identity(jm, "bias")
    tp.identity(tm, "bias")
    prune.ln_structured(jm, "weight", 1, n=1, dim=1, importance_scores=jn.tensor(scores))
    tp.ln_structured(tm, "weight", 1, n=1, dim=1, importance_scores=torch.tensor(scores))
    _check_same(jm, tm, ("weight", "bias"))
    with pytest.raises(ValueError, match="importance_scores should have the same shape"):
        prune.l1_unstructured(jm, "weight", 1, importance_scores=jn.zeros(3))
