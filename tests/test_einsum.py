"""jn.einsum (ops/einsum.py, composed from permute/reshape/index_select/sum/matmul): values
and gradients against PyTorch in float64, gradcheck, malformed equations."""
import numpy as np
import pytest
from helpers import requires_torch, t64

import jitnet as jn
from jitnet.autograd import gradcheck
from jitnet.ops.einsum import EinsumError

CASES = [  # (equation, operand shapes)
    ("ij,jk->ik", [(2, 3), (3, 4)]),            # matmul
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),  # batch dims
    ("ij,jk", [(2, 3), (3, 4)]),               # implicit output
    ("ba", [(3, 2)]),                           # implicit output sorts: a transpose
    ("ii", [(3, 3)]),                           # trace (implicit: nothing left)
    ("ii->i", [(3, 3)]),                        # diagonal
    ("iji->j", [(2, 3, 2)]),                    # a diagonal summed
    ("i,j->ij", [(2,), (3,)]),                  # outer product
    ("i,i->", [(4,), (4,)]),                    # dot
    ("ij->", [(2, 3)]),                         # total sum
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 4)]),  # ellipsis, broadcast
    ("b...i,bi->b...", [(2, 3, 4), (2, 4)]),   # ellipsis in the middle
    ("...ii->...i", [(2, 3, 3)]),              # ellipsis + diagonal
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),  # three operands
    ("abc,cd,bd->a", [(2, 3, 4), (4, 5), (3, 5)]),  # contraction over two labels
    ("ij,ij->ij", [(2, 3), (1, 3)]),            # hadamard with a size-1 broadcast
    ("Ab,bA", [(2, 3), (3, 2)]),                # uppercase labels
    (" i j , j k -> i k ", [(2, 3), (3, 2)]),   # spaces
]


@requires_torch
@pytest.mark.parametrize("equation, shapes", CASES)
def test_einsum_matches_torch(rng, equation, shapes):
    import torch

    arrays = [rng.standard_normal(s) for s in shapes]
    jt = [t64(a) for a in arrays]
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    yj, yt = jn.einsum(equation, *jt), torch.einsum(equation, *tt)
    assert tuple(yj.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yj.detach().numpy(), yt.detach().numpy(), atol=1e-12)
    w = rng.standard_normal(tuple(yt.shape))
    (yj * jn.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    for a, b in zip(jt, tt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12)


def test_einsum_against_numpy_and_gradcheck(rng):
    a, b = rng.standard_normal((2, 3, 3)), rng.standard_normal((3, 4))
    y = jn.einsum("bii,ik->bk", [t64(a, False), t64(b, False)])  # operands as one list
    np.testing.assert_allclose(y.numpy(), np.einsum("bii,ik->bk", a, b), atol=1e-12)
    assert gradcheck(lambda x, z: jn.einsum("bii,ik->kb", x, z), (t64(a), t64(b)))
    assert gradcheck(lambda x: jn.einsum("...ij->...ji", x), (t64(a),))


@pytest.mark.parametrize("equation, shapes, message", [
    ("ij,jk->ik", [(2, 3)], r"fewer operands were provided \(1\) than specified"),
    ("ij->ij", [(2, 3), (3, 3)], r"more operands were provided \(2\)"),
    ("ij->i", [(2,)], r"number of subscripts \(2\) does not match the number of dimensions "
                      r"\(1\) for operand 0"),
    ("i1->i", [(2, 2)], r"invalid subscript '1' at index 1"),
    ("i->ii", [(2,)], "output subscript i appears more than once"),
    ("i->k", [(2,)], "output subscript k does not appear"),
    ("ij,jk->ik", [(2, 3), (4, 5)], r"subscript j has size 4 for operand 1 which does not "
                                    r"broadcast with previously seen size 3"),
    ("..i...->i", [(2,)], "invalid '.' at index 0"),
    ("...i...->i", [(2, 2)], "more than one ellipsis"),
    ("i->i->i", [(2,)], "at most one '->'"),
    ("i->...", [(2,)], "the output has an ellipsis but no operand has one"),
    ("ii->i", [(2, 3)], r"subscript i has size 3 for operand 0"),
])
def test_einsum_malformed(equation, shapes, message):
    ops = [jn.zeros(*s) for s in shapes]
    with pytest.raises(EinsumError, match=message) as info:
        jn.einsum(equation, *ops)
    assert repr(equation) in str(info.value)  # names the equation
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)


def test_einsum_operand_type_errors():
    with pytest.raises(TypeError, match="einsum\\(\\): operand 1 must be a Tensor"):
        jn.einsum("i,i->", jn.zeros(2), [1.0, 2.0])
    with pytest.raises(ValueError, match="operand 1 is jitnet.float64 but operand 0 is"):
        jn.einsum("i,i->", jn.zeros(2), jn.zeros(2, dtype=jn.float64))
