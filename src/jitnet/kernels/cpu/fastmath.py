"""CPU-only helpers that let LLVM vectorise float32 math: a compile-time dtype test and an
``exp`` made of arithmetic.

A libm call (``math.exp``, ``math.tanh``) per element cannot be vectorised
without a vector math library, and costs ~10-15 ns: in attention's row
softmax, 64x64 scores per head, it was most of the kernel's time.  ``exp_``
with ``fast`` is Cephes' ``expf`` (range reduction by ln 2 in two parts, a
degree-5 polynomial, the power of two put in the exponent bits), evaluated in
float32, sixteen lanes at a time: within an ulp of ``math.exp`` rounded to
float32 over the whole float32 range, subnormal results included
(``tests/test_fastmath.py``).  float64 data keeps ``math.exp``
(``is_single`` decides at compile time, so the other branch is not compiled
into the loop).  The CUDA kernels use the device's own ``exp``.
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import config, types
from numba.extending import intrinsic

from .._jit import kernel

EXP_HI = 88.72283935546875
"""Above this float32's exp overflows to inf."""
EXP_LO = -104.0
"""Below this float32's exp is 0 (under half the smallest subnormal)."""


@intrinsic
def is_single(typingctx, x):
    """True for a float32 array, as a constant of the compiled code: formulas then take
    their float32 path (``fast``) and LLVM drops the other branch before it vectorises.  A
    run-time flag left both branches in the loop, which then did not vectorise (an LSTM
    step of 64x128 units: 0.65 ms against 0.24 ms with a flag and no views)."""
    if not isinstance(x, types.Array):
        return None

    def codegen(context, builder, signature, args):
        return context.get_constant(types.boolean, x.dtype == types.float32)

    return types.boolean(x), codegen


@intrinsic
def _pow2(typingctx, n):
    """float32 2.0 ** n for an integer n in [-126, 127], by writing n into a float32's
    exponent bits (what ``ldexpf`` does, without a library call)."""
    if not isinstance(n, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        v = context.cast(builder, args[0], n, types.int32)
        bits = builder.shl(builder.add(v, ir.Constant(i32, 127)), ir.Constant(i32, 23))
        return builder.bitcast(bits, ir.FloatType())

    return types.float32(n), codegen


if config.DISABLE_JIT:  # plain Python (warm-up discovery, debugging): intrinsics cannot run
    def is_single(x):  # noqa: F811
        """``is_single`` for NUMBA_DISABLE_JIT=1 runs only."""
        return x.dtype == np.float32

    def _pow2(n):  # noqa: F811
        """``_pow2`` for NUMBA_DISABLE_JIT=1 runs only."""
        return np.float32(2.0) ** np.float32(n)


_LOG2E = np.float32(1.44269504088896341)
_LN2_HI = np.float32(0.693359375)  # ln 2 in two parts (Cody-Waite): hi has 9 bits
_LN2_LO = np.float32(-2.12194440e-4)
_P = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                   4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
_HALF, _ONE = np.float32(0.5), np.float32(1.0)
_LO32, _HI32 = np.float32(EXP_LO), np.float32(EXP_HI)


@kernel(inline="always")
def exp_(x, fast):
    """exp(x): ``math.exp``, or with ``fast`` the vectorisable float32 version: x rounded to
    float32, the result a float32 (inf above ``EXP_HI``, 0 below ``EXP_LO``, NaN stays
    NaN)."""
    if not fast:
        return math.exp(x)
    v = np.float32(x)
    # conditional expressions, not min/max (which branch on NaN): the loop stays a vector loop
    c = _LO32 if v < _LO32 else (_HI32 if v > _HI32 else v)
    n = math.floor(c * _LOG2E + _HALF)
    nf = np.float32(n)
    r = (c - nf * _LN2_HI) - nf * _LN2_LO
    p = r * _P[0] + _P[1]
    p = p * r + _P[2]
    p = p * r + _P[3]
    p = p * r + _P[4]
    p = p * r + _P[5]
    y = p * r * r + r + _ONE
    # 2^n in two halves, each a normal float32: n = 128 (just below overflow) and the
    # subnormal results (n down to -150) scale correctly
    half = n >> 1
    y = (y * _pow2(half)) * _pow2(n - half)
    y = np.float32(0.0) if v < _LO32 else y
    return np.float32(math.inf) if v > _HI32 else (v if v != v else y)
