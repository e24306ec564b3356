"""``kernels._partial``: a formula's op-code switch folded to one op, and kernel instances."""
import math

import numpy as np
import pytest

from jitnet.kernels import opcodes as oc
from jitnet.kernels._partial import fix_args, instantiate
from jitnet.kernels.scalar import elementwise as S

K = 7


def _switch(op, x, p0):
    if op == 1 and p0 > 0:
        return x * p0
    if op == 1 or op == 2:
        y = x + 1.0 if op == 2 else x - 1.0
        if not op == 2:
            return -y
        return y
    if op != 3:
        return 0.0
    for _ in range(2):
        if op == 3:
            x = x * 2.0
    return x if op == K else x + 0.5


@pytest.mark.parametrize("op", [1, 2, 3, 4, K])
@pytest.mark.parametrize("x,p0", [(1.5, 2.0), (-3.0, -1.0)])
def test_folding_keeps_the_meaning(op, x, p0):
    assert fix_args(_switch, op=op)(x, p0) == _switch(op, x, p0)


def test_folding_removes_the_decided_branches():
    src = fix_args(_switch, op=2).folded_source
    assert "op" not in src.split(":", 1)[1]  # no test on op is left
    assert "p0 > 0" not in src  # `op == 1 and p0 > 0` is decided False for op 2
    assert "x * p0" not in src
    assert "p0 > 0" in fix_args(_switch, op=1).folded_source  # ... but not for op 1


def test_a_fixed_formula_keeps_its_file_and_lines():
    f = fix_args(S.unary_fwd, op=oc.RELU)
    assert f.__code__.co_filename == S.unary_fwd.__code__.co_filename
    assert f.__code__.co_firstlineno == S.unary_fwd.__code__.co_firstlineno
    assert f.__qualname__ == f"unary_fwd[op={oc.RELU}]"


@pytest.mark.parametrize("name", sorted(oc.UNARY_NAMES))
def test_every_unary_op_folds_to_the_same_values(name):
    op = oc.UNARY_NAMES[name]
    fwd, grad = fix_args(S.unary_fwd, op=op), fix_args(S.unary_grad, op=op)
    for x in (-2.5, -0.5, 0.0, 0.25, 0.75, 3.0):
        p0, p1 = (2.0, 3.0) if op != oc.CLAMP and op != oc.HARDTANH else (-1.0, 1.0)
        try:
            want = S.unary_fwd(op, x, p0, p1)
        except (ValueError, OverflowError, ZeroDivisionError):
            continue
        got = fwd(x, p0, p1)
        assert got == want or (math.isnan(got) and math.isnan(want))
        try:
            gw = S.unary_grad(op, x, want, 1.5, p0, p1)
        except (ValueError, OverflowError, ZeroDivisionError):
            continue  # plain Python raises where the compiled kernels give inf / nan
        gg = grad(x, want, 1.5, p0, p1)
        assert gg == gw or (math.isnan(gg) and math.isnan(gw))


def _scale_loop(x, out):
    for i in range(x.size):
        out[i] = x[i] * FACTOR  # noqa: F821  (bound per instance)


def test_instances_of_one_template_are_separate_kernels():
    twice = instantiate(_scale_loop, "_scale_twice", FACTOR=2.0)
    thrice = instantiate(_scale_loop, "_scale_thrice", FACTOR=3.0)
    x = np.arange(4.0)
    out = np.empty(4)
    twice(x, out)
    assert out.tolist() == [0.0, 2.0, 4.0, 6.0]
    thrice(x, out)
    assert out.tolist() == [0.0, 3.0, 6.0, 9.0]
    assert twice.py_func.__qualname__ == "_scale_twice"
