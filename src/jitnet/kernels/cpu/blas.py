"""One GEMM for every CPU kernel: ``gemm(a, b, c, trans_a, trans_b, beta)``, a direct BLAS call.

``c = op(a) @ op(b) + beta * c`` on 2-D float32/float64 views whose last axis
is contiguous (unit stride) and whose rows may be any stride apart: a block of
rows or of columns of a bigger matrix is used in place, with the row stride as
BLAS's leading dimension, so no kernel packs a strided block into a copy
before multiplying it.  ``op(x)`` is ``x.T`` when the flag is set, a BLAS
transpose flag, never a copy.

Why not ``np.dot`` inside the kernels: every ``np.dot`` call site in a Numba
kernel expands into Numba's layout dispatch (C/F/any, copies for the rest,
shape checks with formatted messages) and compiles a helper per type
combination.  That was the largest single item of a first run's compile time
(``bench/compile_profile.py``: ~2.3 s of helpers for LeNet-5 alone, and the
kernels calling them several seconds more).  This module calls the BLAS
function directly (``jitnet_sgemm``/``jitnet_dgemm``, bound by ``blas_library``
to SciPy's OpenBLAS or to Intel MKL), so the call site is a few integer
operations.

Row-major to column-major: BLAS is Fortran-ordered.  A row-major (r, s) matrix
with row stride ``ld`` *is* the column-major (s, r) matrix with leading
dimension ``ld``, its transpose.  So ``C = op(A) @ op(B)`` is computed as
``C^T = op(B)^T @ op(A)^T``: BLAS gets B first, then A, with the caller's flags.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic

from .._jit import kernel
from . import blas_library

_CHAR = ir.IntType(8)
_VOIDP = ir.IntType(8).as_pointer()


@intrinsic
def _xxgemm(typingctx, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """jitnet_sgemm / jitnet_dgemm (Fortran BLAS ``?gemm``: every argument by pointer,
    32-bit integers) on the data pointers of arrays a, b, c of one float dtype."""
    if not (isinstance(a, types.Array) and a.dtype in (types.float32, types.float64)
            and b == a.copy(layout=b.layout) and c == a.copy(layout=c.layout)):
        return None
    sig = types.void(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    symbol = "jitnet_sgemm" if a.dtype == types.float32 else "jitnet_dgemm"

    def codegen(context, builder, signature, args):
        (ta, tb, vm, vn, vk, valpha, va, vlda, vb, vldb, vbeta, vc, vldc) = args
        fnty = ir.FunctionType(ir.VoidType(), [_VOIDP] * 13)
        fn = cgutils.get_or_insert_function(builder.module, fnty, symbol)
        dtype = context.get_value_type(a.dtype)

        def slot(value, ty, to, llty):
            ptr = cgutils.alloca_once(builder, llty)
            builder.store(context.cast(builder, value, ty, to), ptr)
            return builder.bitcast(ptr, _VOIDP)

        def data(value, ty):
            return builder.bitcast(context.make_array(ty)(context, builder, value).data, _VOIDP)

        def char(value, ty):
            ptr = cgutils.alloca_once(builder, _CHAR)
            builder.store(builder.trunc(context.cast(builder, value, ty, types.int64), _CHAR),
                          ptr)
            return ptr

        def int32(value, ty):
            return slot(value, ty, types.int32, ir.IntType(32))

        builder.call(fn, [char(ta, transa), char(tb, transb), int32(vm, m), int32(vn, n),
                          int32(vk, k), slot(valpha, alpha, a.dtype, dtype), data(va, a),
                          int32(vlda, lda), data(vb, b), int32(vldb, ldb),
                          slot(vbeta, beta, a.dtype, dtype), data(vc, c), int32(vldc, ldc)])
        return context.get_dummy_value()

    return sig, codegen


@kernel(inline="always")
def _lead(x):
    """BLAS's leading dimension of the row-major 2-D view ``x`` (its row stride in
    elements, at least its row length), or -1 when its last axis is strided."""
    rows, cols = x.shape
    item = x.itemsize
    if cols > 1 and x.strides[1] != item:
        return -1
    ld = x.strides[0] // item if rows > 1 else cols
    return max(ld, cols, 1)


_N, _T = 78, 84  # ord("N"), ord("T")
_INT32_MAX = 2**31 - 1  # the LP64 BLAS interface's integers


@intrinsic
def _any_layout(typingctx, x):
    """``x`` retyped as an array of any layout ('A'): the same struct, so one compiled
    ``_gemm`` serves C-contiguous matrices, their blocks and their transposes alike."""
    if not isinstance(x, types.Array):
        return None

    def codegen(context, builder, signature, args):
        # the data model of every layout is the same struct; a returned array is a new
        # reference, so count it (else it is freed once too often)
        return impl_ret_borrowed(context, builder, signature.return_type, args[0])

    return x.copy(layout="A")(x), codegen


@kernel(inline="always")
def gemm(a, b, c, trans_a, trans_b, beta):
    """``c[:] = op(a) @ op(b) + beta * c`` (``op(x)`` = ``x.T`` when its flag is set).

    a: (m, k), or (k, m) with ``trans_a``; b: (k, n), or (n, k) with ``trans_b``;
    c: (m, n).  All three 2-D views of one float dtype whose last axis has unit
    stride.  ``beta`` 0 overwrites c (its old contents, even NaN, are not read),
    1 accumulates into it.  Returns 0, or a nonzero status when the shapes do not
    match (1), a last axis is strided (2) or a size does not fit BLAS's 32-bit integers
    (3): nothing is
    raised, so it may run inside a parallel task.
    """
    # int64 flags: a constant True/False would be typed as a literal, one compile each
    return _gemm(_any_layout(a), _any_layout(b), _any_layout(c), np.int64(trans_a),
                 np.int64(trans_b), float(beta))


@kernel
def _gemm(a, b, c, trans_a, trans_b, beta):
    m, k = (a.shape[1], a.shape[0]) if trans_a else (a.shape[0], a.shape[1])
    kb, n = (b.shape[1], b.shape[0]) if trans_b else (b.shape[0], b.shape[1])
    if kb != k or c.shape[0] != m or c.shape[1] != n:
        return 1
    lda, ldb, ldc = _lead(a), _lead(b), _lead(c)
    if lda < 0 or ldb < 0 or ldc < 0:
        return 2
    if max(m, n, k, lda, ldb, ldc) > _INT32_MAX:
        return 3
    if m == 0 or n == 0:
        return 0
    if k == 0:  # BLAS would scale c by beta; beta 0 must also clear NaN
        for r in range(m):
            for j in range(n):
                c[r, j] = c[r, j] * beta if beta != 0 else 0
        return 0
    _xxgemm(_T if trans_b else _N, _T if trans_a else _N, n, m, k, 1.0, b, ldb, a, lda,
            beta, c, ldc)
    return 0


if not config.DISABLE_JIT:
    blas_library.bind()  # before any kernel that calls it is linked
else:  # plain Python (warm-up discovery, debugging): intrinsics cannot run
    def gemm(a, b, c, trans_a, trans_b, beta):  # noqa: F811
        """``gemm`` through NumPy, for NUMBA_DISABLE_JIT=1 runs only."""
        op_a, op_b = (a.T if trans_a else a), (b.T if trans_b else b)
        if op_a.shape[1] != op_b.shape[0] or c.shape != (op_a.shape[0], op_b.shape[1]):
            return 1
        c[...] = op_a @ op_b + (beta * c if beta else 0)
        return 0
