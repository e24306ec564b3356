"""Differential fuzzing of elementwise ops against PyTorch: unary and binary ops on
broadcast shapes (size-1 and zero-size dims, 0-d operands), mixed dtypes, edge values
(0, +-inf, NaN), and the gradients of float64 leaves."""
from __future__ import annotations

import numpy as np
import torch
from fuzz_common import (
    DTYPES,
    assert_same,
    assert_same_grads,
    broadcastable,
    count,
    fuzz_settings,
    has_zero,
    known_elementwise,
    leaves,
    run,
    shapes,
    values,
)
from hypothesis import given
from hypothesis import strategies as st

import jitnet as jn

UNARY = ["neg", "abs", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu",
         "square", "sign", "reciprocal", "rsqrt"]
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "pow", "eq", "ne", "lt", "ge"]
DTYPE_NAMES = list(DTYPES)


def _unary(lib, op):
    if op == "relu" and lib is torch:
        return torch.relu
    return getattr(lib, op)


@fuzz_settings()
@given(op=st.sampled_from(UNARY), shape=shapes(), dtype=st.sampled_from(DTYPE_NAMES),
       edge=st.booleans(), grad=st.booleans(), seed=st.integers(0, 2**16))
def test_fuzz_unary(op, shape, dtype, edge, grad, seed):
    a = values(np.random.default_rng(seed), shape, dtype, edge)
    case = {"kind": "unary", "op": op, "dtypes": [dtype], "shapes": [shape],
            "has_nan": bool(dtype.startswith("float") and np.isnan(a).any()),
            "has_zero": has_zero(a)}
    if known_elementwise(case):
        count("elementwise unary", known=True)
        return
    count("elementwise unary")
    grad = grad and not edge  # gradients at infinities/NaN: values only
    (xj,), (xt,) = leaves([a], [dtype], grad)
    oj = run(_unary(jn, op), xj)
    ot = run(_unary(torch, op), xt)
    assert_same(oj, ot, f"{op}({dtype}{list(shape)})")
    assert_same_grads(oj, ot, [xj], [xt], f"{op}({dtype}{list(shape)})")


@fuzz_settings()
@given(op=st.sampled_from(BINARY), data=st.data(), da=st.sampled_from(DTYPE_NAMES),
       db=st.sampled_from(DTYPE_NAMES), edge=st.booleans(), grad=st.booleans(),
       scalar=st.sampled_from([None, None, None, 2, -1.5, True]), seed=st.integers(0, 2**16))
def test_fuzz_binary(op, data, da, db, edge, grad, scalar, seed):
    sa = data.draw(shapes(), "shape a")
    sb = data.draw(broadcastable(sa), "shape b")
    if data.draw(st.booleans(), "swap"):
        sa, sb = sb, sa
    rng = np.random.default_rng(seed)
    a = values(rng, sa, da, edge)
    b = values(rng, sb, db, edge)
    has_nan = any(x.dtype.kind == "f" and np.isnan(x).any() for x in (a, b))
    case = {"kind": "binary", "op": op, "dtypes": [da] if scalar is not None else [da, db],
            "shapes": [sa] if scalar is not None else [sa, sb], "has_nan": has_nan,
            "has_zero": has_zero(a, b) or scalar == 0}
    if scalar is not None:
        case["kind"] = "scalar"
        if isinstance(scalar, bool) or da == "bool":
            case["dtypes"] = case["dtypes"] + ["bool"]
        if op in ("maximum", "minimum"):  # the number becomes a 0-d tensor
            sdt = "bool" if isinstance(scalar, bool) else "int64" if isinstance(
                scalar, int) else "float32"
            case.update(kind="binary", dtypes=[da, sdt], shapes=[sa, ()])
    if known_elementwise(case):
        count("elementwise binary", known=True)
        return
    count("elementwise binary")
    grad = grad and not edge
    if scalar is not None:
        (xj,), (xt,) = leaves([a], [da], grad)
        oj = run(getattr(jn, op), xj, scalar)
        ot = run(getattr(torch, op), xt, scalar) if op not in ("maximum", "minimum") else \
            run(getattr(torch, op), xt, torch.tensor(scalar))
        if op in ("maximum", "minimum"):  # jitnet takes a number; PyTorch a tensor
            oj = run(getattr(jn, op), xj, jn.tensor(scalar))
        what = f"{op}({da}{list(sa)}, {scalar!r})"
        assert_same(oj, ot, what)
        assert_same_grads(oj, ot, [xj], [xt], what)
        return
    jt, tt = leaves([a, b], [da, db], grad)
    oj = run(getattr(jn, op), *jt)
    ot = run(getattr(torch, op), *tt)
    what = f"{op}({da}{list(sa)}, {db}{list(sb)})"
    assert_same(oj, ot, what)
    assert_same_grads(oj, ot, jt, tt, what)
