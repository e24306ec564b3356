"""Shared machinery of the differential fuzzer: strategies, the jitnet/PyTorch comparison,
case counting, and the one skip-list of known elementwise bugs.

Every fuzz test draws a case with Hypothesis (which shrinks a failure to a
minimal one), runs it on jitnet and on PyTorch, and checks that both raise or
neither does; when they compute, the values (NaN where NaN), the dtypes and the
shapes agree, and for float64 leaves that require grad, the gradients too.
"""
from __future__ import annotations

import math
import os
from collections import defaultdict

import numpy as np
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import jitnet as jn

PROFILE = "fast"
FAST_EXAMPLES = 400      # per test: 7 tests -> ~2,800 cases, about a minute on 2 cores
LONG_EXAMPLES = 30_000   # per test: 7 tests -> 210,000 cases


def set_profile(name: str) -> None:
    global PROFILE
    PROFILE = name


def fuzz_settings(fast: int = FAST_EXAMPLES, long: int = LONG_EXAMPLES):
    """Hypothesis settings of the active profile (read when the test module is imported);
    ``JITNET_FUZZ_EXAMPLES=n`` sets every test's count (and randomises the fast profile)."""
    n = long if PROFILE == "long" else fast
    n = int(os.environ.get("JITNET_FUZZ_EXAMPLES", n))
    return settings(max_examples=n, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much],
                    derandomize=PROFILE == "fast" and "JITNET_FUZZ_EXAMPLES" not in os.environ,
                    database=None)


# ---------------------------------------------------------------- counting

_COUNTS: dict = defaultdict(lambda: [0, 0])


def count(family: str, known: bool = False) -> None:
    _COUNTS[family][1 if known else 0] += 1


def profile_name() -> str:
    n = os.environ.get("JITNET_FUZZ_EXAMPLES")
    return f"{PROFILE}, JITNET_FUZZ_EXAMPLES={n}" if n else PROFILE


def summary() -> list[str]:
    lines, total = [], 0
    for family in sorted(_COUNTS):
        ran, known = _COUNTS[family]
        total += ran + known
        extra = f" ({known} skipped as KNOWN_ELEMENTWISE)" if known else ""
        lines.append(f"{family:<24} {ran + known:>9} cases{extra}")
    if lines:
        lines.append(f"{'total':<24} {total:>9} cases (shrinking steps included)")
    return lines


# ---------------------------------------------------------------- known differences
# Cases where jitnet knowingly differs from PyTorch would be listed here, each naming its
# row under "Where jitnet differs" in docs/pytorch-compat.md.  The issue-19 elementwise
# bugs that once filled it are fixed.

KNOWN_ELEMENTWISE: dict = {
    # PyTorch's pow backward computes ``b - 1`` with the exponent's own dtype and raises for
    # a bool exponent; jitnet differentiates the base (see "pow with a bool exponent")
    "pow with a bool exponent: PyTorch's backward raises, jitnet's differentiates the base":
        lambda c: c["op"] == "pow" and len(c["dtypes"]) > 1 and c["dtypes"][1] == "bool",
}


def known_elementwise(case: dict) -> str | None:
    """The KNOWN_ELEMENTWISE entry a case falls under, or None."""
    for name, matches in KNOWN_ELEMENTWISE.items():
        if matches(case):
            return name
    return None


# ---------------------------------------------------------------- strategies

DTYPES = {"bool": (jn.bool, torch.bool, np.bool_), "int32": (jn.int32, torch.int32, np.int32),
          "int64": (jn.int64, torch.int64, np.int64),
          "float32": (jn.float32, torch.float32, np.float32),
          "float64": (jn.float64, torch.float64, np.float64)}

EDGE = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-30, -1e30, math.inf, -math.inf, math.nan]


@st.composite
def shapes(draw, min_dims=0, max_dims=4, max_side=4, zero=True):
    """Shapes with size-1 dims often, and zero-size dims sometimes."""
    n = draw(st.integers(min_dims, max_dims))
    sides = st.sampled_from([1, 1, 2, 3, max_side] + ([0] if zero else []))
    return tuple(draw(sides) for _ in range(n))


@st.composite
def broadcastable(draw, shape):
    """A shape that broadcasts with ``shape``: some trailing dims, some set to 1."""
    n = draw(st.integers(0, len(shape)))
    tail = list(shape[len(shape) - n:])
    return tuple(1 if draw(st.booleans()) and draw(st.booleans()) else s for s in tail)


def has_zero(*arrays) -> bool:
    return any(a.size and not np.all(a != 0) for a in arrays)


def values(rng: np.random.Generator, shape, dtype: str, edge: bool) -> np.ndarray:
    """Values for a case: small ints, normals, and (``edge``) zeros/infinities/NaN."""
    if dtype == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.startswith("int"):
        return np.asarray(rng.integers(-5, 6, shape)).astype(DTYPES[dtype][2])
    a = np.asarray(rng.standard_normal(shape) * 3)
    if edge and a.size:
        mask = np.asarray(rng.random(shape) < 0.25)
        a[mask] = rng.choice(EDGE, size=int(mask.sum()))
    return a.astype(DTYPES[dtype][2])


# ---------------------------------------------------------------- running and comparing

class Raised:
    """The outcome of a call that raised."""

    def __init__(self, exc: BaseException):
        self.exc = exc

    def __repr__(self) -> str:
        return f"raised {type(self.exc).__name__}: {self.exc}"


def run(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - any exception is an outcome to compare
        return Raised(exc)


def leaves(arrays, dtypes, grad: bool):
    """jitnet and torch leaves of the same host arrays (float64 ones require grad if grad)."""
    jt, tt = [], []
    for a, d in zip(arrays, dtypes):
        g = grad and d == "float64"
        jt.append(jn.tensor(a, dtype=DTYPES[d][0], requires_grad=g))
        tt.append(torch.tensor(a, dtype=DTYPES[d][1], requires_grad=g))
    return jt, tt


def _host(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy()


def _tol(dtype_name: str):
    return (1e-9, 1e-9) if dtype_name == "float64" else (2e-5, 2e-5)


def assert_same(out_j, out_t, what: str) -> None:
    """Both raised, or both computed the same shape, dtype and values."""
    if isinstance(out_t, Raised) or isinstance(out_j, Raised):
        assert isinstance(out_t, Raised) and isinstance(out_j, Raised), (
            f"{what}: jitnet {out_j!r} but PyTorch {out_t!r}")
        return
    if isinstance(out_t, (tuple, list)):
        assert len(out_j) == len(out_t), f"{what}: {len(out_j)} outputs vs {len(out_t)}"
        for i, (a, b) in enumerate(zip(out_j, out_t)):
            assert_same(a, b, f"{what}[{i}]")
        return
    if not isinstance(out_t, torch.Tensor):
        assert out_j == out_t, f"{what}: jitnet {out_j!r}, PyTorch {out_t!r}"
        return
    dj, dt_ = out_j.dtype.name, str(out_t.dtype).replace("torch.", "")
    assert dj == dt_, f"{what}: dtype jitnet {dj}, PyTorch {dt_}"
    a, b = _host(out_j), _host(out_t)
    assert a.shape == b.shape, f"{what}: shape jitnet {a.shape}, PyTorch {b.shape}"
    if a.dtype.kind == "f":
        rtol, atol = _tol(dj)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=f"{what}: values")
    else:
        np.testing.assert_array_equal(a, b, err_msg=f"{what}: values")


def assert_same_grads(out_j, out_t, jt, tt, what: str, seed: int = 0) -> None:
    """Backpropagate the same random weights through both outputs; compare leaf gradients."""
    if isinstance(out_t, (tuple, list)):
        out_j, out_t = out_j[0], out_t[0]
    if isinstance(out_t, Raised) or not out_t.requires_grad or not out_t.dtype.is_floating_point:
        return
    w = np.random.default_rng(seed).standard_normal(tuple(out_t.shape))
    rj = run(lambda: (out_j * jn.tensor(w, dtype=out_j.dtype)).sum().backward())
    rt = run(lambda: (out_t * torch.tensor(w, dtype=out_t.dtype)).sum().backward())
    assert_same(None if not isinstance(rj, Raised) else rj,
                None if not isinstance(rt, Raised) else rt, f"{what}: backward")
    for i, (a, b) in enumerate(zip(jt, tt)):
        if not b.requires_grad:
            continue
        gb = np.zeros(tuple(b.shape)) if b.grad is None else b.grad.numpy()
        ga = np.zeros(tuple(a.shape)) if a.grad is None else a.grad.numpy()
        # PyTorch runs a float32 output's backward in float32, even into a float64 leaf
        # (``float64 0-d ** float32 vector``); jitnet's is float64 there, so compare at
        # float32's precision whenever the output is float32
        rtol, atol = (1e-7, 1e-9) if out_t.dtype == torch.float64 else _tol("float32")
        np.testing.assert_allclose(ga, gb, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=f"{what}: gradient of input {i}")
