"""int8 kernels on the CPU: per-row quantization and an int8 x int8 -> int32 matrix product.

``quantize_rows`` turns float rows into int8 rows with one scale per row (how
weights are quantized per output channel, once).  ``int8_linear(x, w, ws, bias)``
is the whole dynamic quantized Linear in one call: each row of x is quantized at
run time, multiplied by the int8 weight w (N, K, as stored) with exact int32
sums, and rescaled once, with the bias added in the same store.
``int8_matmul(a, sa, b, sb)`` is its GEMM alone for operands already quantized:
``out[m, n] = (sum_k a[m, k] * b[n, k]) * sa[m] * sb[n]``.

How the product is made fast (measured on this machine's AVX-512 VNNI CPU, Zen 4;
the instructions named were checked with ``inspect_asm``):

- Activations are stored as **uint8 with zero point 128** (``q + 128``, the same
  int8 level shifted), weights stay int8 as stored (N, K): u8 x s8 is what
  ``vpdpbusd`` multiplies (64 multiply-adds per instruction, ``dot4x4_vnni``
  below), and in the portable loop LLVM knows a zero-extended byte has 16 zero
  high bits and uses ``vpdpwssd``; with both operands signed it emitted ``vpmulld``
  and ran 2.5x slower.  The shift is undone exactly in the epilogue:
  ``sum (q + 128) * w = sum q * w + 128 * sum w``, with ``sum w`` over each
  weight row (``_colsums``, one cheap pass per call).  int32 arithmetic wraps,
  so the difference is exact whenever the true sum fits int32 (|q|, |w| <= 127
  and K < 2**17), even where the shifted sum overflows.
- **Register block 4 x 4**: one pass over K computes 16 dot products, four rows
  of a against four rows of w, in 16 vector accumulators; each loaded vector
  feeds four multiply-adds (a loop of one dot product at a time reached a
  quarter of the speed: loads bound it).  16 accumulators and 8 operands fit
  the 32 zmm registers.  K is walked in 64-byte chunks by ``dot4x4_vnni`` where
  the CPU has VNNI (the last partial chunk by masked loads), by the portable
  loop elsewhere.  Edge blocks clamp their row/column indices to the last one
  (duplicate work, not stored) instead of having remainder loops.
- **Cache tile ROWS x COLS** (64 x 64: 64 KiB of a and 64 KiB of w at K = 1024,
  both in L2).  Inside a tile a block of w (4 rows, in L1) meets every row block
  of a.  Parallel work (task kernels, ``tasks.run_tasks``): ``int8_linear`` gives
  each task a band of rows, which it quantizes and multiplies tile by tile: one
  parallel call per layer (on a loaded machine every call waits for all threads
  to be scheduled); with too few rows to share out, each task takes a
  contiguous run of the tiles instead.
- The epilogue is fused: ``(acc - 128 * colsum) * sa * sw + bias`` is written
  straight to out, no int32 matrix is materialised.
- Quantizing a row: its max |x| is an integer max over the float bit patterns
  (vectorised; a float max is not, without fast-math), then one vectorised pass
  of ``floor(x / scale + 0.5)``.

Single thread, 256 x 1024 @ 1024 x 1024, thread CPU time on this machine under
load: VNNI path ~1.9 ms, the portable loop alone ~6 ms, BLAS sgemm in float32
~6 ms; the 784-1024-1024-10 MLP at batch 256 (bench/bench_quant.py): int8
~4.4 ms, float32 ~11 ms.  Formulas: kernels/scalar/quant.py.
"""
from __future__ import annotations

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba.core import cgutils, config, types
from numba.extending import intrinsic

from .._jit import kernel, scalar
from ..scalar import quant as f
from .tasks import num_threads, run_tasks, span, task, tasks_for

_row_scale = scalar(f.row_scale)
_quantize = scalar(f.quantize)
_rescale = scalar(f.rescale)

ZERO_POINT = 128
"""Added to an int8 activation level to store it as uint8 (see the module docstring)."""

ROWS, COLS = 64, 64
"""The cache tile of out one parallel task computes (see the module docstring)."""

MR = NR = 4
"""The register block: rows of a x rows of b per pass over K (written out in ``_tile``)."""

PARALLEL_MACS = 1 << 21
"""Products below this many multiply-adds run on one thread (waking the pool costs ~10 us)."""


# ---------------------------------------------------------------- the VNNI inner loop
# ``dot4x4_vnni``: the int8 product's inner loop as AVX-512 VNNI ``vpdpbusd`` (where present).
#
# LLVM's loop vectoriser does not produce ``vpdpbusd`` (u8 x s8, four products
# summed into each int32 lane: 64 multiply-adds per instruction) from any loop we
# could write: the best it made of the 4 x 4 block in ``_tile`` was ``vpdpwssd``
# on zero-extended bytes, 16 multiply-adds per instruction, no faster than BLAS
# sgemm here.  So this one loop is written in LLVM IR (a Numba intrinsic) with the
# instruction's LLVM intrinsic, ``llvm.x86.avx512.vpdpbusd.512``: 4x the
# throughput of the vectorised loop, measured on this machine (Zen 4).
#
# ``HAVE_VNNI`` says whether the host CPU has AVX512-VNNI (and Numba compiles for
# the host, not a ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` target).  Where it is
# false the intrinsic compiles to "store 16 zeros" and callers pass ``k=0``, so the
# portable loop does all the work.  Numba's on-disk cache is keyed by the CPU, so a
# kernel cached on a VNNI machine is never loaded on another.
# (It lives in this file so that Numba's cache, stamped per source file, notices an edit.)

CHUNK = 64
"""Bytes of K one ``vpdpbusd`` consumes per row (a zmm register)."""


def _host_has_vnni() -> bool:
    if config.CPU_NAME is not None or config.CPU_FEATURES is not None:  # not for this CPU
        return False
    features = llvm.get_host_cpu_features()
    return bool(features.get("avx512vnni") and features.get("avx512bw"))


HAVE_VNNI = _host_has_vnni()

_I8, _I32, _I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
_V16 = ir.VectorType(_I32, 16)
_V64, _M64 = ir.VectorType(_I8, 64), ir.VectorType(ir.IntType(1), 64)


@intrinsic
def dot4x4_vnni(typingctx, a, b, rows, cols, k, acc):
    """``acc[r, j] = sum(a[rows[r], i] * b[cols[j], i] for i < k)`` in int32.

    a: uint8 (M, K) C-contiguous; b: int8 (N, K) C-contiguous, k <= K; rows, cols:
    4-tuples of row indices (in bounds, the caller's duty); acc: int32 (4, 4)
    C-contiguous, overwritten.  16 zmm accumulators, 8 operand loads and 16
    ``vpdpbusd`` per 64 bytes of K, the last partial 64 bytes through masked loads
    (which read nothing past k); the horizontal sums of the 16 accumulators at the end.
    """
    sig = types.void(a, b, rows, cols, k, acc)

    def codegen(context, builder, signature, args):
        a_val, b_val, rows_val, cols_val, k_val, acc_val = args
        a_ty, b_ty, _, _, _, acc_ty = signature.args
        arr_a = context.make_array(a_ty)(context, builder, a_val)
        arr_b = context.make_array(b_ty)(context, builder, b_val)
        arr_acc = context.make_array(acc_ty)(context, builder, acc_val)
        acc_ptr = builder.bitcast(arr_acc.data, _I32.as_pointer())
        zero = ir.Constant(_V16, None)
        if not HAVE_VNNI:
            for idx in range(16):
                builder.store(ir.Constant(_I32, 0), builder.gep(acc_ptr, [ir.Constant(_I64, idx)]))
            return context.get_dummy_value()

        def row_ptrs(arr, index_tuple):
            stride = cgutils.unpack_tuple(builder, arr.strides, 2)[0]
            base = builder.bitcast(arr.data, _I8.as_pointer())
            return [builder.gep(base, [builder.mul(builder.extract_value(index_tuple, i),
                                                   stride)]) for i in range(4)]

        a_rows, b_rows = row_ptrs(arr_a, rows_val), row_ptrs(arr_b, cols_val)
        dpbusd = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_V16, [_V16, _V16, _V16]),
            "llvm.x86.avx512.vpdpbusd.512")
        masked_load = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_V64, [_I8.as_pointer(), _I32, _M64, _V64]),
            "llvm.masked.load.v64i8.p0")
        n = builder.sdiv(k_val, ir.Constant(k_val.type, CHUNK))
        rem = builder.srem(k_val, ir.Constant(k_val.type, CHUNK))
        entry = builder.basic_block
        loop = builder.append_basic_block("vnni.loop")
        done = builder.append_basic_block("vnni.done")
        builder.cbranch(builder.icmp_signed(">", n, ir.Constant(n.type, 0)), loop, done)

        builder.position_at_end(loop)
        c = builder.phi(n.type)
        accs = [builder.phi(_V16) for _ in range(16)]
        offset = builder.mul(c, ir.Constant(n.type, CHUNK))

        def load(row):
            return builder.load(builder.bitcast(builder.gep(row, [offset]), _V16.as_pointer()),
                                align=1)

        va, vb = [load(p) for p in a_rows], [load(p) for p in b_rows]
        # vpdpbusd(acc, u8 x 64, s8 x 64): each int32 lane += four u8 * s8 products
        new = [builder.call(dpbusd, [accs[4 * r + j], va[r], vb[j]])
               for r in range(4) for j in range(4)]
        c_next = builder.add(c, ir.Constant(n.type, 1))
        builder.cbranch(builder.icmp_signed("<", c_next, n), loop, done)
        c.add_incoming(ir.Constant(n.type, 0), entry)
        c.add_incoming(c_next, loop)
        for phi, value in zip(accs, new):
            phi.add_incoming(zero, entry)
            phi.add_incoming(value, loop)

        builder.position_at_end(done)
        finals = []
        for value in new:
            phi = builder.phi(_V16)
            phi.add_incoming(zero, entry)
            phi.add_incoming(value, loop)
            finals.append(phi)
        # the last k % 64 bytes, when there are any: lanes at or past k are masked off
        # (read as 0, not read)
        before_tail = builder.basic_block
        tail = builder.append_basic_block("vnni.tail")
        end = builder.append_basic_block("vnni.end")
        builder.cbranch(builder.icmp_signed(">", rem, ir.Constant(rem.type, 0)), tail, end)
        builder.position_at_end(tail)
        limit = builder.insert_element(ir.Constant(_V64, None), builder.trunc(rem, _I8),
                                       ir.Constant(_I32, 0))
        limit = builder.shuffle_vector(limit, limit, ir.Constant(ir.VectorType(_I32, CHUNK),
                                                                 [0] * CHUNK))
        mask = builder.icmp_unsigned("<", ir.Constant(_V64, list(range(CHUNK))), limit)
        tail_at = builder.mul(n, ir.Constant(n.type, CHUNK))

        def load_tail(row):
            v = builder.call(masked_load, [builder.gep(row, [tail_at]), ir.Constant(_I32, 1),
                                           mask, ir.Constant(_V64, None)])
            return builder.bitcast(v, _V16)

        va, vb = [load_tail(p) for p in a_rows], [load_tail(p) for p in b_rows]
        tailed = [builder.call(dpbusd, [finals[4 * r + j], va[r], vb[j]])
                  for r in range(4) for j in range(4)]
        builder.branch(end)
        builder.position_at_end(end)
        merged = []
        for without, with_tail in zip(finals, tailed):
            phi = builder.phi(_V16)
            phi.add_incoming(without, before_tail)
            phi.add_incoming(with_tail, tail)
            merged.append(phi)
        finals = merged
        # 16 horizontal sums as one transposing tree: each level adds the low and high
        # halves of every group of lanes of a pair of vectors (15 adds, 30 shuffles in all,
        # against ~8 instructions per sum one by one), ending in acc's order
        width = 16
        while len(finals) > 1:
            half = width // 2
            groups = range(0, 16, width)
            lo = [g + i for g in groups for i in range(half)]
            hi = [g + half + i for g in groups for i in range(half)]
            finals = [builder.add(
                builder.shuffle_vector(x, y, ir.Constant(ir.VectorType(_I32, 16),
                                                         lo + [16 + i for i in lo])),
                builder.shuffle_vector(x, y, ir.Constant(ir.VectorType(_I32, 16),
                                                         hi + [16 + i for i in hi])))
                for x, y in zip(finals[0::2], finals[1::2])]
            width = half
        builder.store(finals[0], builder.bitcast(acc_ptr, _V16.as_pointer()), align=4)
        return context.get_dummy_value()

    return sig, codegen


# ---------------------------------------------------------------- quantization and product

@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose bit pattern is the int32 ``bits``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@kernel(inline="always")
def _quantize_row(x, q, scale, m, zero_point):
    """Row m of float32 x as int8 levels plus ``zero_point`` into q (int8 or uint8); its
    scale."""
    # max |x| as the largest bit pattern with the sign bit cleared: for floats >= 0 the
    # order of the bits as int32 is the order of the values, and an integer max
    # vectorises where a float one does not (LLVM will not reorder a float max without
    # fast-math); a NaN has the largest pattern of all, and its row gets scale 1
    bits = x[m].view(np.int32)
    top = np.int32(0)
    for k in range(bits.shape[0]):
        top = max(top, np.int32(bits[k] & 0x7FFFFFFF))
    amax = np.float64(_float32_from_bits(top))
    s = _row_scale(amax)
    scale[m] = s
    inv = 1.0 / s
    for k in range(x.shape[1]):
        q[m, k] = _quantize(x[m, k], inv) + zero_point


@task
def _quantize_task(x, q, scale, zero_point, t, tasks):
    lo, hi = span(t, tasks, x.shape[0])
    for m in range(lo, hi):
        _quantize_row(x, q, scale, m, zero_point)


def _quantize_to(x: np.ndarray, dtype, zero_point: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.ascontiguousarray(x, np.float32)
    q = np.empty(x.shape, dtype)
    scale = np.empty(x.shape[0], np.float32)
    run_tasks(_quantize_task, (x, q, scale, zero_point), tasks_for(x.size))
    return q, scale


def quantize_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantization of each row of a 2-D float array (taken as float32).

    Returns (q, scale): q int8 (M, K) and scale float32 (M,), x ~= q * scale[:, None].
    """
    return _quantize_to(x, np.int8, 0)


@kernel
def _colsums(b, out):
    """out[n] = sum_k b[n, k] in int32: what the activations' zero point adds to column n.

    A kernel of its own: computed inside the tile loop, it made LLVM compile the
    product's inner loop 1.7x slower."""
    for n in range(b.shape[0]):
        s = np.int32(0)
        for k in range(b.shape[1]):
            s = np.int32(s + np.int32(b[n, k]))
        out[n] = s


@kernel(inline="always")
def _tile_bounds(t, m, n):
    """Rows and columns (m0, m1, n0, n1) of cache tile t of an (m, n) out, row tiles
    fastest: ROWS x COLS, fewer at the edges."""
    row_tiles = (m + ROWS - 1) // ROWS
    m0, n0 = (t % row_tiles) * ROWS, (t // row_tiles) * COLS
    return m0, min(m, m0 + ROWS), n0, min(n, n0 + COLS)


@kernel(inline="always")
def _tile(a, b, colsum, out, sa, sb, bias, vnni_k, m0, m1, n0, n1):
    """out[m0:m1, n0:n1] (m0 and m1 - m0 multiples of MR, or m1 = M), one 4 x 4 register
    block at a time.  a: u8 (M, K), zero point 128; b: s8 (N, K);
    colsum: int32 (N,), the sums of b's rows; vnni_k: how much of K ``dot4x4_vnni``
    takes (K, or 0 without VNNI).

    Everything is written out in this one function: each call to a helper that takes
    an array costs Numba two atomic reference-count updates, and helpers per block
    (or per stored element) made the whole product two to three times slower.
    """
    last_m, last_n = a.shape[0] - 1, b.shape[0] - 1
    acc = np.empty((MR, NR), np.int32)
    for n in range(n0, n1, NR):
        # an edge block repeats its last row / column (the duplicates are not stored)
        j0, j1, j2, j3 = n, min(n + 1, last_n), min(n + 2, last_n), min(n + 3, last_n)
        for m in range(m0, m1, MR):
            i0, i1, i2, i3 = m, min(m + 1, last_m), min(m + 2, last_m), min(m + 3, last_m)
            # K with vpdpbusd where the CPU has it (zeros otherwise) ...
            dot4x4_vnni(a, b, (i0, i1, i2, i3), (j0, j1, j2, j3), vnni_k, acc)
            # ... and the rest of K (all of it without VNNI) in the portable loop
            c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = np.int32(0)
            c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = np.int32(0)
            for k in range(vnni_k, a.shape[1]):
                # the explicit int32 keeps each sum 32-bit (Numba would widen
                # int32 * int32 to int64), which is what lets LLVM use vpdpwssd
                a0, a1 = np.int32(a[i0, k]), np.int32(a[i1, k])
                a2, a3 = np.int32(a[i2, k]), np.int32(a[i3, k])
                b0, b1 = np.int32(b[j0, k]), np.int32(b[j1, k])
                b2, b3 = np.int32(b[j2, k]), np.int32(b[j3, k])
                c00 = np.int32(c00 + a0 * b0)
                c01 = np.int32(c01 + a0 * b1)
                c02 = np.int32(c02 + a0 * b2)
                c03 = np.int32(c03 + a0 * b3)
                c10 = np.int32(c10 + a1 * b0)
                c11 = np.int32(c11 + a1 * b1)
                c12 = np.int32(c12 + a1 * b2)
                c13 = np.int32(c13 + a1 * b3)
                c20 = np.int32(c20 + a2 * b0)
                c21 = np.int32(c21 + a2 * b1)
                c22 = np.int32(c22 + a2 * b2)
                c23 = np.int32(c23 + a2 * b3)
                c30 = np.int32(c30 + a3 * b0)
                c31 = np.int32(c31 + a3 * b1)
                c32 = np.int32(c32 + a3 * b2)
                c33 = np.int32(c33 + a3 * b3)
            # through the small buffer, so that the epilogue can loop (a tuple indexed at
            # run time compiles to a bounds-checked switch per element)
            acc[0, 0] += c00
            acc[0, 1] += c01
            acc[0, 2] += c02
            acc[0, 3] += c03
            acc[1, 0] += c10
            acc[1, 1] += c11
            acc[1, 2] += c12
            acc[1, 3] += c13
            acc[2, 0] += c20
            acc[2, 1] += c21
            acc[2, 2] += c22
            acc[2, 3] += c23
            acc[3, 0] += c30
            acc[3, 1] += c31
            acc[3, 2] += c32
            acc[3, 3] += c33
            # the fused epilogue: sum (q + 128) * w - 128 * sum w = sum q * w exactly
            # (int32 wraps), one rescale, the bias.  Constant trip counts with a test
            # inside, so that LLVM unrolls it: with run-time counts it vectorised the
            # 16 stores as gathers and scatters, a third of the whole product's time
            rows, cols = m1 - m, n1 - n
            for r in range(MR):
                if r < rows:
                    for j in range(NR):
                        if j < cols:
                            exact = np.int32(acc[r, j] - ZERO_POINT * colsum[n + j])
                            out[m + r, n + j] = (_rescale(np.float32(exact), sa[m + r],
                                                          sb[n + j]) + bias[n + j])


@task
def _gemm_task(a, b, colsum, out, sa, sb, bias, vnni_k, t, tasks):
    """Task t's share of the cache tiles of out."""
    tiles = ((a.shape[0] + ROWS - 1) // ROWS) * ((b.shape[0] + COLS - 1) // COLS)
    lo, hi = span(t, tasks, tiles)
    for i in range(lo, hi):
        m0, m1, n0, n1 = _tile_bounds(i, a.shape[0], b.shape[0])
        _tile(a, b, colsum, out, sa, sb, bias, vnni_k, m0, m1, n0, n1)


@task
def _linear_task(x, xq, xs, b, colsum, out, sb, bias, vnni_k, t, tasks):
    """The whole quantized Linear for task t's band of rows (whole MR-row blocks, the last
    band what is left): it quantizes them (u8, zero point 128) and computes their outputs
    tile by tile.  One parallel call instead of two (quantize, then multiply): on a loaded
    machine each waits for every thread to be scheduled."""
    m, n = x.shape[0], b.shape[0]
    lo, hi = span(t, tasks, (m + MR - 1) // MR)
    r0, r1 = lo * MR, min(m, hi * MR)
    for r in range(r0, r1):
        _quantize_row(x, xq, xs, r, ZERO_POINT)
    if r1 > r0:
        for n0 in range(0, n, COLS):
            _tile(xq, b, colsum, out, xs, sb, bias, vnni_k, r0, r1, n0, min(n, n0 + COLS))


def _prepare(b: np.ndarray, bias: np.ndarray | None, m: int):
    """(b contiguous, its row sums, bias or zeros, an empty (m, N) out)."""
    n = b.shape[0]
    bias = np.zeros(n, np.float32) if bias is None else np.ascontiguousarray(bias, np.float32)
    b = np.ascontiguousarray(b)
    colsum = np.empty(n, np.int32)
    _colsums(b, colsum)
    return b, colsum, bias, np.empty((m, n), np.float32)


def _vnni_k(k: int, vnni: bool) -> int:
    """How much of K ``dot4x4_vnni`` takes: all of it, or none without VNNI."""
    return k if vnni and HAVE_VNNI else 0


def _gemm(au8: np.ndarray, sa: np.ndarray, b: np.ndarray, sb: np.ndarray,
          bias: np.ndarray | None, vnni: bool = HAVE_VNNI) -> np.ndarray:
    """The tiled product of u8 (zero point 128) rows ``au8`` (M, K) and int8 ``b`` (N, K);
    ``vnni=False`` runs the portable loop alone (what a CPU without VNNI gets)."""
    m, k = au8.shape
    b, colsum, bias, out = _prepare(b, bias, m)
    if m == 0 or b.shape[0] == 0:
        return out
    run_tasks(_gemm_task, (au8, b, colsum, out, sa, sb, bias, _vnni_k(k, vnni)),
              tasks_for(m * b.shape[0] * k, PARALLEL_MACS))
    return out


def int8_linear(x: np.ndarray, weight: np.ndarray, w_scale: np.ndarray,
                bias: np.ndarray | None) -> np.ndarray:
    """The dynamic quantized Linear: ``dequant(quant(x) @ weight.T) + bias``.

    x: float (M, K), quantized per row at run time (symmetric int8, as
    ``quantize_rows``); weight: int8 (N, K); w_scale: float32 (N,); bias: float (N,)
    or None.  The int32 sums are exact; returns a new float32 (M, N) array.
    """
    m, k = x.shape
    n = weight.shape[0]
    threads = num_threads()
    if m * n * k < PARALLEL_MACS or threads == 1 or m < 2 * MR * threads:
        # small products, or too few rows to share out (the tiles split columns too)
        xq, x_scale = _quantize_to(x, np.uint8, ZERO_POINT)
        return _gemm(xq, x_scale, weight, w_scale, bias)
    b, colsum, bias, out = _prepare(weight, bias, m)
    xq = np.empty((m, k), np.uint8)
    x_scale = np.empty(m, np.float32)
    # two bands per thread: a slow thread holds up less
    run_tasks(_linear_task, (np.ascontiguousarray(x, np.float32), xq, x_scale, b, colsum, out,
                             w_scale, bias, _vnni_k(k, True)), 2 * threads)
    return out


def int8_matmul(a: np.ndarray, a_scale: np.ndarray, b: np.ndarray,
                b_scale: np.ndarray) -> np.ndarray:
    """``(a @ b.T) * a_scale[:, None] * b_scale[None, :]`` with exact int32 sums.

    a: int8 (M, K); a_scale: float32 (M,); b: int8 (N, K); b_scale: float32 (N,).
    Returns a new float32 (M, N) array.
    """
    # a + 128 as uint8 is a's bit pattern with the sign bit flipped
    au8 = np.ascontiguousarray(a).view(np.uint8) ^ np.uint8(ZERO_POINT)
    return _gemm(au8, a_scale, b, b_scale, None)
