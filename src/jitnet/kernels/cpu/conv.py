"""Convolution CPU kernels: the convolution itself (``conv2d_fwd``/``conv2d_bwd``, per chunk of
images), and its pieces: im2col / col2im and the two reorders around the GEMM.

A 2-D convolution is run as im2col + GEMM (BLAS) forward and GEMM + col2im
backward.  ``im2col``/``col2im``/``gemm_to_nchw``/``nchw_to_gemm`` do that for
the whole batch at once (``kernels/conv_gemm.py`` composes them; ``unfold``,
``fold`` and ``ConvTranspose2d`` use them too); ``conv2d_fwd``/``conv2d_bwd``
do the same arithmetic one chunk of images at a time (see "Chunks" below).

Layout of ``cols`` (the choice that shapes the family): a C-contiguous 2-D
matrix of shape (C*kh*kw, N*OH*OW), one row per (channel, kernel tap) in
channel-major order, one column per output pixel of the whole batch, images
side by side.  Why this one:

- forward is ONE GEMM ``W (O, C*kh*kw) @ cols``: the biggest shape BLAS can be
  given (a GEMM per image would leave cores idle between short calls, and
  ``bmm`` would need W copied once per image);
- the weight gradient is ONE GEMM ``cols @ G^T`` (then a tiny transpose):
  BLAS does the sum over the batch, where a per-image layout needs N products
  and a reduction; the input gradient ``W^T @ G`` is one GEMM too, and col2im
  reads it back;
- both operands are read in place (bmm's transpose flags), never copied;
- groups come free: channel-major rows put a group's C/g*kh*kw rows together,
  so ``cols`` viewed as (g, C/g*kh*kw, N*L) is the batch of a grouped bmm;
- one (channel, tap) row of one image is a shifted copy of one input plane:
  a contiguous copy that LLVM vectorises.  At a stride > 1 the plane is one of
  the input's phase planes (``phases``: pixels (i*sh + a, j*sw + b) for one
  (a, b)), split once per call (per chunk of images in ``conv2d_fwd``/``conv2d_bwd``,
  while the chunk is in cache), so the copies stay unit-stride there too.

Measured against the alternatives (2 cores, x 64x32x16x16, 64 3x3 filters, the
three GEMMs through ``k.bmm``): per-image (N, C*kh*kw, L) blocks need W copied
N times and lose ~1 ms; patch-major (N*L, C*kh*kw) rows make the GEMMs ~10%
faster but need true transposes instead of block copies around them and
kw-long runs in im2col/col2im (an estimate says that takes the gain back; not
built).

The price: the GEMM output is (O, N, L), not NCHW (N, O, L).  ``gemm_to_nchw``
moves it in L-long contiguous blocks and adds the bias in the same pass (the
bias costs no extra sweep over the output); ``nchw_to_gemm`` does the reverse
for the upstream gradient and sums it per channel on the way (the bias
gradient).  Both are memory-speed copies, ~5-10% of a conv's time.

The geometry arrives as one ``Window2d`` named tuple ``g`` (``ops/_nn_args.py``:
input n, c, h, w; kernel kh, kw; stride sh, sw; top/left padding ph, pw;
dilation dh, dw; output oh, ow), validated once in ``ops/``.  The bottom/right
padding is implicit in the output size, so asymmetric padding
(``padding='same'`` with an even kernel) needs nothing more.

Chunks (``conv2d_fwd``/``conv2d_bwd``).  The whole-batch ``cols`` is
C*kh*kw*N*L floats: 19 MB for x 64x32x16x16 and 151 MB for a 32-channel 3x3
layer on 128 32x32 images, written once and read back from DRAM, and kept
for the backward pass (training memory grew 2.7x PyTorch's).  So the batch is
cut into chunks of whole images whose ``cols`` fits in ``CHUNK_BYTES`` (an eighth
of a core's L2): each of ``tasks`` parallel tasks (one per thread) owns a
contiguous run of images and, chunk by chunk, builds the chunk's ``cols`` in
a buffer it reuses, multiplies it with single-threaded BLAS (``runtime``), and
scatters the result; no scratch array is bigger than a chunk, and the
backward pass rebuilds ``cols`` from x instead of keeping it.  The GEMMs keep
the whole-batch shapes, with N*L cut to m*L: forward ``W @ cols`` (O, m*L);
weight gradient ``G @ cols^T`` (O, taps) with the long m*L side as the inner
dimension BLAS blocks best, summed over the task's chunks and then over the
tasks; input gradient ``W^T @ G`` into the same buffer, then col2im.  A chunk
of one image needs no reorder at all: its (O, L) block of the NCHW output (or
of the upstream gradient) is the GEMM's operand.  Measured (alternating runs
under load, x 64x32x16x16, 64 3x3 filters, forward + backward): 1.7x faster
than the whole batch; 128 KiB to 1 MiB chunks are within noise of each other,
8 MiB is ~25% slower.  The chunks need whole images per thread, so a batch
smaller than twice the threads (unless it divides evenly) keeps the
whole-batch GEMMs, which split each product over the threads instead.
"""
from __future__ import annotations

import numpy as np

from ... import runtime
from .._jit import kernel
from ..opcodes import SUM
from .array import placeholder
from .blas import gemm
from .reduce import _row
from .tasks import num_threads, run_tasks, span, task, tasks_for


@kernel(inline="always")
def _valid_range(off, step, size, n_out):
    """Output indices j in [lo, hi) with 0 <= j*step + off < size (the unpadded ones)."""
    lo = 0 if off >= 0 else (step - 1 - off) // step
    hi = (size - 1 - off) // step + 1  # floor division: negative when none is valid
    hi = max(0, min(hi, n_out))
    return min(lo, hi), hi


# Inner loops run over 1-D views indexed from 0 (``d[j] = s[j]``): with a computed
# offset (``cols[row, o + j]``) Numba must wrap negative indices on every access,
# which blocks vectorisation and made these copies ~7x slower than memcpy.
# ``_zero``/``_copy``/``_add`` are kernels of their own, not inlined: Numba inlines by
# deep-copying the callee's IR at every call site (a dozen here), ~1 s of a first run's
# compile; compiled once, LLVM still inlines them where it pays (no slower, measured).

@kernel
def _zero(a):
    for j in range(a.shape[0]):
        a[j] = 0


@kernel
def _copy(d, s):
    for j in range(d.shape[0]):
        d[j] = s[j]


@kernel(inline="always")
def _copy_bias(d, s, bias, o, has_bias):
    """d = s + bias[o] (channel o's bias) or d = s: one block of the GEMM output into NCHW.
    ``bias`` is read only with ``has_bias`` (without, it is a one-element stand-in)."""
    if has_bias:
        b = bias[o]
        for j in range(d.shape[0]):
            d[j] = s[j] + b
    else:
        _copy(d, s)


@kernel
def _add(d, s):
    for j in range(d.shape[0]):
        d[j] += s[j]


@kernel(inline="always")
def _tap(t, n_img, kh, kw):
    """Task t -> (row, image, channel, ki, kj); row-major, so consecutive tasks write
    consecutive segments of one cols row (sequential stores, few TLB misses)."""
    row = t // n_img
    n = t - row * n_img
    c = row // (kh * kw)
    r = row - c * (kh * kw)
    ki = r // kw
    return row, n, c, ki, r - ki * kw


@kernel(inline="always")
def _phase(k, d, p, s):
    """Where tap k of a window (dilation d, padding p, stride s) reads along one axis:
    input index = (output index + off) * s + phase, as (phase, off)."""
    r = k * d - p
    phase = r % s  # Python's modulo: 0 <= phase < s also for negative r
    return phase, (r - phase) // s


@kernel(inline="always")
def _zero_padding_columns(seg, i0, i1, lo, hi, ow):
    """Zero columns [0, lo) and [hi, ow) of rows i0 .. i1-1 of a segment of ow-long rows: the
    entries a tap's one-block copy (or add) would take from, or give to, a neighbour row."""
    if lo > 0 or hi < ow:
        for i in range(i0, i1):
            for j in range(lo):
                seg[i * ow + j] = 0
            for j in range(hi, ow):
                seg[i * ow + j] = 0


@kernel
def _tap_table(k, d, p, s, size, n_out):
    """Per tap i of a window along one axis: (phase, off, lo, hi) -- it reads plane index
    ``j + off`` of phase plane ``phase`` for outputs j in [lo, hi), the rest padding.  Built
    once per kernel call: the integer divisions behind it cost more than a small tap's copy
    when they ran per tap and per plane.  Compiled once, not inlined into im2col and col2im
    (a first run compiles both)."""
    table = np.empty((k, 4), np.int64)
    for i in range(k):
        phase, off = _phase(i, d, p, s)
        lo, hi = _valid_range(off, 1, size, n_out)
        table[i, 0], table[i, 1], table[i, 2], table[i, 3] = phase, off, lo, hi
    return table


@kernel(inline="always")
def _im2col_segment(x, hp, wp, cols, n0, n, row, c, ki, kj, rows_t, cols_t, g):
    """Write the oh*ow segment of image n (of the images n0, n0 + 1, ... that cols holds)
    in cols row (c, ki, kj).  ``x`` (N, P, hp*wp) holds flat (hp, wp) planes: the input's
    at stride 1, its phase planes (``phases``) at a larger stride; either way every tap
    row is a unit-stride shifted copy of one plane.  ``rows_t``/``cols_t``: the taps'
    ``_tap_table`` along H and W."""
    sh, sw, oh, ow = g.sh, g.sw, g.oh, g.ow
    a, hoff, i0, i1 = rows_t[ki, 0], rows_t[ki, 1], rows_t[ki, 2], rows_t[ki, 3]
    b, woff, lo, hi = cols_t[kj, 0], cols_t[kj, 1], cols_t[kj, 2], cols_t[kj, 3]
    seg = cols[row, n * oh * ow:(n + 1) * oh * ow]
    for q in range(i0 * ow):  # output rows whose tap falls in the top/bottom padding
        seg[q] = 0
    tail = seg[i1 * ow:]
    for q in range(tail.shape[0]):
        tail[q] = 0
    if i1 <= i0:
        return
    flat = x[n0 + n, (c * sh + a) * sw + b]
    if ow == wp and lo < hi:
        # the valid rows are one contiguous block in both arrays, so one long vectorised
        # copy, then zero the few padding columns it filled from neighbour rows
        s0 = (i0 + hoff) * wp + woff + lo
        d0 = i0 * ow + lo
        length = (i1 - i0 - 1) * ow + hi - lo
        dst, src = seg[d0:d0 + length], flat[s0:s0 + length]
        for q in range(length):
            dst[q] = src[q]
        _zero_padding_columns(seg, i0, i1, lo, hi, ow)
        return
    for i in range(i0, i1):
        dst = seg[i * ow:(i + 1) * ow]
        _zero(dst[:lo])
        s0 = (i + hoff) * wp
        _copy(dst[lo:hi], flat[s0 + lo + woff:s0 + hi + woff])
        _zero(dst[hi:])


@kernel
def _im2col_task(x, cols, n0, n_img, t0, t1, g):
    """Segments t0 .. t1-1 of ``_im2col_segment``, row-major over (cols row, image): one call
    per run of segments (a call per segment, passing the arrays and the geometry each time,
    cost a third of a stride-2 unfold of small planes), the tap tables built once and the
    (row, image, channel, tap) counters stepped, not divided out, per segment.  The planes
    are flattened once here: a reshape per segment (Numba calls a helper for each) cost
    more than a small segment's copy (25 of 47 ns for an 8x8 plane)."""
    if t1 <= t0:
        return
    kh, kw = g.kh, g.kw
    hp, wp = x.shape[2], x.shape[3]
    rows_t = _tap_table(kh, g.dh, g.ph, g.sh, hp, g.oh)
    cols_t = _tap_table(kw, g.dw, g.pw, g.sw, wp, g.ow)
    flat = x.reshape((x.shape[0], x.shape[1], hp * wp))
    row, n, c, ki, kj = _tap(t0, n_img, kh, kw)
    for _ in range(t0, t1):
        _im2col_segment(flat, hp, wp, cols, n0, n, row, c, ki, kj, rows_t, cols_t, g)
        n += 1
        if n == n_img:  # the next cols row: (c, ki, kj) steps like a row-major index
            n = 0
            row += 1
            kj += 1
            if kj == kw:
                kj = 0
                ki += 1
                if ki == kh:
                    ki = 0
                    c += 1


@task
def _im2col_batch(x, cols, g, t, tasks):
    """Task t's share of the whole batch's im2col: a contiguous run of the (tap row, image)
    segments, in one ``_im2col_task`` call."""
    lo, hi = span(t, tasks, g.n * g.c * g.kh * g.kw)
    _im2col_task(x, cols, 0, g.n, lo, hi, g)


@kernel(inline="always")
def _phase_plane(plane, pp, a, b, sh, sw, split):
    """Phase plane (a, b) of one (H, W) plane: pp[i, j] = plane[i*sh + a, j*sw + b], 0 past
    the edge; or (``split`` False) the other way."""
    h, w = plane.shape
    inside = (w - b + sw - 1) // sw  # phase columns inside the plane
    for i in range(pp.shape[0]):
        prow = pp[i]
        if i * sh + a >= h:
            if split:
                _zero(prow)
            continue
        row = plane[i * sh + a]
        if split:
            for j in range(inside):
                prow[j] = row[j * sw + b]
            _zero(prow[inside:])
        else:
            for j in range(inside):
                row[j * sw + b] = prow[j]


@kernel(inline="always")
def _phase_image_plane(x, xs, n, j, c, sh, sw, split):
    """Plane x[n, c] split into its sh*sw phase planes in image j of xs, or (``split``
    False) written back from them."""
    for a in range(sh):
        for b in range(sw):
            _phase_plane(x[n, c], xs[j, (c * sh + a) * sw + b], a, b, sh, sw, split)


@task
def _phase_task(x, xs, sh, sw, split, t, tasks):
    """Task t's share of the (image, channel) planes: split plane x[n, c] into its sh*sw
    phase planes, xs[n, (c*sh + a)*sw + b, i, j] = x[n, c, i*sh + a, j*sw + b] (0 past the
    edge), or (``split`` False) write them back into x."""
    c_in = x.shape[1]
    lo, hi = span(t, tasks, x.shape[0] * c_in)
    for p in range(lo, hi):
        n = p // c_in
        _phase_image_plane(x, xs, n, n, p - n * c_in, sh, sw, split)


@kernel
def _phase_shape(g, images):
    """The shape of ``images`` images' phase planes (``phases``) for geometry g: (images,
    C*sh*sw, ceil(H/sh), ceil(W/sw)).  A kernel: the chunked tasks size their scratch
    with it too."""
    return (images, g.c * g.sh * g.sw, (g.h + g.sh - 1) // g.sh, (g.w + g.sw - 1) // g.sw)


@kernel(inline="always")
def _phase_chunk(x, xs, n0, m, sh, sw, split):
    """Images n0 .. n0+m-1 of x (N, C, H, W) split into their phase planes xs[0:m] (a
    chunk's scratch, ``_phase_task``'s layout), or (``split`` False) written back."""
    for j in range(m):
        for c in range(x.shape[1]):
            _phase_image_plane(x, xs, n0 + j, j, c, sh, sw, split)


@kernel(inline="always")
def _chunk_planes(x, pbuf, n0, m, g):
    """What im2col reads for images n0 .. n0+m-1 of the NCHW x: ``(x, n0)`` itself at
    stride 1; at a larger stride their phase planes, split into the chunk's scratch
    ``pbuf`` while the chunk is in cache, and ``(pbuf, 0)`` (a separate pass over the
    whole batch cost 40-45 us a thread of a 0.7 ms ConvTranspose2d step)."""
    if g.sh == 1 and g.sw == 1:
        return x, n0
    _phase_chunk(x, pbuf, n0, m, g.sh, g.sw, True)
    return pbuf, 0


@kernel(inline="always")
def _phase_buffer(g, images, like, need):
    """A chunk's phase-plane scratch (``_chunk_planes``), of ``like``'s dtype: ``images``
    images' phase planes at a stride > 1, else (or without ``need``) one element."""
    if need and (g.sh > 1 or g.sw > 1):
        return np.empty(_phase_shape(g, images), like.dtype)
    return np.empty((1, 1, 1, 1), like.dtype)


def phases(x: np.ndarray, g) -> np.ndarray:
    """``x`` (N, C, H, W) at stride 1; at stride (sh, sw) > 1 its phase planes, a new
    (N, C*sh*sw, ceil(H/sh), ceil(W/sw)) array, (c, a, b) -> the pixels (i*sh + a, j*sw + b)
    of plane c.  What im2col reads (and col2im writes, ``unphase``): a strided window's taps
    become unit-stride shifted copies of one phase plane each, the loops of stride 1, where
    a strided gather or scatter per tap row cost ~2x more (measured on a (64, 16, 16, 16)
    stride-2 unfold)."""
    if g.sh == 1 and g.sw == 1:
        return x
    xs = np.empty(_phase_shape(g, g.n), dtype=x.dtype)
    run_tasks(_phase_task, (x, xs, g.sh, g.sw, True), tasks_for(x.size))
    return xs


def unphase(xs: np.ndarray, g) -> np.ndarray:
    """The inverse of ``phases``: a new (N, C, H, W) array from its phase planes."""
    if g.sh == 1 and g.sw == 1:
        return xs
    x = np.empty((g.n, g.c, g.h, g.w), dtype=xs.dtype)
    run_tasks(_phase_task, (x, xs, g.sh, g.sw, False), tasks_for(x.size))
    return x




def _check(op: str, a: np.ndarray, shape: tuple) -> None:
    """The array a kernel reads matches the geometry (else it would read out of bounds)."""
    if a.shape != shape:
        raise ValueError(f"{op}: array of shape {a.shape} does not match the geometry, which "
                         f"expects {shape}")


def im2col(x: np.ndarray, g) -> np.ndarray:
    """Unfold NCHW ``x`` into ``cols`` (C*kh*kw, N*oh*ow) (layout: see the module docstring).

    cols[(c*kh + ki)*kw + kj, (n*oh + i)*ow + j] = x[n, c, i*sh - ph + ki*dh, j*sw - pw + kj*dw],
    0 where that falls in the padding.  Parallel strategy: a task kernel
    (``tasks.run_tasks``), each task a contiguous run of the (tap row, image)
    segments, row-major; a segment is one contiguous oh*ow run of cols.
    """
    _check("im2col", x, (g.n, g.c, g.h, g.w))
    x = phases(np.ascontiguousarray(x), g)
    cols = np.empty((g.c * g.kh * g.kw, g.n * g.oh * g.ow), dtype=x.dtype)
    run_tasks(_im2col_batch, (x, cols, g), tasks_for(cols.size))
    return cols


@kernel
def _col2im_task(cols, dx, n0, t0, t1, g, init):
    """For planes t = t0 .. t1-1: sum every tap's column values back into plane
    (n0 + n, c), (n, c) = divmod(t, C), of dx, starting from init[c], where cols holds
    images n0, n0 + 1, ...  ``dx`` holds the planes themselves at stride 1 and their phase
    planes (``phases``; ``unphase`` interleaves them) at a larger stride, so every tap adds
    a unit-stride block.  The tap tables are built once per call (``_tap_table``)."""
    c_in, kh, kw, sh, sw, oh, ow = g.c, g.kh, g.kw, g.sh, g.sw, g.oh, g.ow
    hp, wp = dx.shape[2], dx.shape[3]
    rows_t = _tap_table(kh, g.dh, g.ph, sh, hp, oh)
    cols_t = _tap_table(kw, g.dw, g.pw, sw, wp, ow)
    plane_size = hp * wp
    images = dx.reshape((dx.shape[0], dx.shape[1] * plane_size))  # once: not per plane
    for t in range(t0, t1):
        n = t // c_in
        c = t - n * c_in
        img = images[n0 + n]  # the image's planes, flat
        base = c * sh * sw * plane_size
        start = init[c]
        for e in range(base, base + sh * sw * plane_size):
            img[e] = start
        for ki in range(kh):
            a, hoff, i0, i1 = rows_t[ki, 0], rows_t[ki, 1], rows_t[ki, 2], rows_t[ki, 3]
            if i1 <= i0:
                continue
            for kj in range(kw):
                b, woff, lo, hi = cols_t[kj, 0], cols_t[kj, 1], cols_t[kj, 2], cols_t[kj, 3]
                if hi <= lo:
                    continue
                seg = cols[(c * kh + ki) * kw + kj, n * oh * ow:(n + 1) * oh * ow]
                plane = base + (a * sw + b) * plane_size
                if ow == wp:
                    # source and destination of the valid rows are one block each, at a
                    # constant offset.  Zero the few entries that map into the padding
                    # (cols is scratch), then add the block in one long vectorised loop.
                    _zero_padding_columns(seg, i0, i1, lo, hi, ow)
                    q0, q1 = i0 * ow + lo, (i1 - 1) * ow + hi
                    d0 = plane + (i0 + hoff) * wp + lo + woff
                    _add(img[d0:d0 + q1 - q0], seg[q0:q1])
                    continue
                for i in range(i0, i1):
                    d0 = plane + (i + hoff) * wp + lo + woff
                    _add(img[d0:d0 + hi - lo], seg[i * ow + lo:i * ow + hi])


@task
def _col2im_batch(cols, dx, g, init, t, tasks):
    """Task t's share of the whole batch's col2im: a contiguous run of the N*C planes of
    dx, in one ``_col2im_task`` call."""
    lo, hi = span(t, tasks, g.n * g.c)
    _col2im_task(cols, dx, 0, lo, hi, g, init)


def _start_values(init, c: int, dtype) -> np.ndarray:
    """The (C,) values col2im's planes start from: ``init`` or zeros."""
    if init is None:
        return np.zeros(c, dtype=dtype)
    return np.ascontiguousarray(init, dtype=dtype).reshape(c)


def col2im(cols: np.ndarray, g, init: np.ndarray | None = None) -> np.ndarray:
    """Fold ``cols`` (C*kh*kw, N*oh*ow) back into a new (N, C, H, W) array, summing overlaps,
    each plane of channel c starting from ``init[c]`` (``init`` (C,), default 0).

    The adjoint of ``im2col`` (the input gradient of a convolution).  ``cols``
    is scratch: entries that fall in the padding may be overwritten with 0
    (they do not contribute).  Parallel strategy: a task kernel, each task a
    contiguous run of the N*C input planes; a task owns its planes and adds in
    all kh*kw taps, so overlapping windows never race.
    """
    _check("col2im", cols, (g.c * g.kh * g.kw, g.n * g.oh * g.ow))
    cols = np.ascontiguousarray(cols)
    dx = np.empty(_phase_shape(g, g.n), dtype=cols.dtype)
    run_tasks(_col2im_batch, (cols, dx, g, _start_values(init, g.c, cols.dtype)),
              tasks_for(cols.size))
    return unphase(dx, g)


@kernel(inline="always")
def _to_nchw_block(y, out, bias, has_bias, t):
    n_img, o_ch, length = out.shape
    n = t // o_ch
    o = t - n * o_ch
    _copy_bias(out[n, o], y[o, n * length:(n + 1) * length], bias, o, has_bias)


@task
def _to_nchw_task(y, out, bias, has_bias, t, tasks):
    lo, hi = span(t, tasks, out.shape[0] * out.shape[1])
    for i in range(lo, hi):
        _to_nchw_block(y, out, bias, has_bias, i)


def gemm_to_nchw(y: np.ndarray, n: int, bias: np.ndarray | None) -> np.ndarray:
    """(O, N*L) GEMM output -> new (N, O, L) array, adding ``bias[o]`` (if given) on the way.

    Parallel strategy: a task kernel, each task a contiguous run of the (image,
    channel) pairs, each pair one contiguous L-long block.
    """
    y = np.ascontiguousarray(y)
    o = y.shape[0]
    out = np.empty((n, o, y.shape[1] // n), dtype=y.dtype)
    has_bias = bias is not None
    b = np.ascontiguousarray(bias, dtype=y.dtype) if has_bias else placeholder(y.dtype)
    run_tasks(_to_nchw_task, (y, out, b, has_bias), tasks_for(out.size))
    return out


@kernel(inline="always")
def _to_gemm_channel(g, out, gb, o):
    n_img, _, length = g.shape
    for n in range(n_img):
        _copy(out[o, n * length:(n + 1) * length], g[n, o])
    gb[o] = _row(SUM, out[o])  # four-lane float64 sum


@task
def _to_gemm_task(g, out, gb, t, tasks):
    lo, hi = span(t, tasks, g.shape[1])
    for o in range(lo, hi):
        _to_gemm_channel(g, out, gb, o)


def nchw_to_gemm(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, O, L) gradient -> ((O, N*L) copy for the GEMMs, per-channel sums (O,) = bias grad).

    Sums accumulate in float64.  Parallel strategy: a task kernel, each task a
    contiguous run of channels, gathering each channel's N blocks and summing them.
    """
    g = np.ascontiguousarray(g)
    n, o, length = g.shape
    out = np.empty((o, n * length), dtype=g.dtype)
    gb = np.empty(o, dtype=g.dtype)
    run_tasks(_to_gemm_task, (g, out, gb), tasks_for(g.size))
    return out, gb


@task
def _bias_add_task(y, bias, t, tasks):
    lo, hi = span(t, tasks, y.shape[0])
    for r in range(lo, hi):
        row = y[r]  # indexed from 0: the loop vectorises
        for j in range(row.shape[0]):
            row[j] += bias[j]


def bias_add(y: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Add ``bias`` (F,) to every row of the C-contiguous (R, F) array ``y`` IN PLACE; returns y.

    For outputs a kernel just allocated (``linear``'s GEMM result), so no one
    else holds them.  Parallel strategy: a task kernel, each task a contiguous run of rows.
    """
    b = np.ascontiguousarray(bias, dtype=y.dtype)
    run_tasks(_bias_add_task, (y, b), tasks_for(y.size))
    return y


# ---------------------------------------------------------------------------------------
# The convolution itself, one chunk of images at a time (see "Chunks" in the module
# docstring).  Each parallel task owns a contiguous range of images and walks it in
# chunks of ``nb`` images; per chunk it builds that chunk's cols, multiplies, and
# scatters, so cols, the GEMM output and the reordered gradient are cache-sized
# buffers the task allocates once and reuses for every chunk.

# The tasks are kernels of their own (``tasks.run_tasks``): one compile serves the serial
# call and every thread of the parallel one.

@kernel(inline="always")
def _gather_chunk(src, n0, m, length, buf):
    """Images n0 .. n0+m-1 of src (N, O, L) as one (O, m*L) matrix in ``buf``: one image's
    (O, L) block already is one (returned as is)."""
    if m == 1:
        return src[n0]
    rows = src.shape[1]
    gm = buf[:rows * m * length].reshape((rows, m * length))
    for o in range(rows):
        for j in range(m):
            _copy(gm[o, j * length:(j + 1) * length], src[n0 + j, o])
    return gm


@kernel(inline="always")
def _fwd_chunk(x, pbuf, wm, bias, has_bias, out, g, n0, m, cbuf, ybuf):
    """The forward pass of images n0 .. n0+m-1 of the NCHW x: their cols (in ``cbuf``,
    through the phase planes in ``pbuf`` at a stride > 1), the GEMM, the
    output written (reordered from ``ybuf`` for several images, bias added).  Returns
    ``(cols, status)``: cols is still in cache for a caller that reads it again."""
    groups, og, tg = wm.shape
    taps, length = g.c * g.kh * g.kw, g.oh * g.ow
    width = m * length
    cols = cbuf[:taps * width].reshape((taps, width))
    # one image: its (O, L) block of out is the GEMM's output, no reorder needed
    y = out[n0] if m == 1 else ybuf[:groups * og * width].reshape((groups * og, width))
    planes, p0 = _chunk_planes(x, pbuf, n0, m, g)
    _im2col_task(planes, cols, p0, m, 0, taps * m, g)
    bad = 0
    for gi in range(groups):
        bad |= gemm(wm[gi], cols[gi * tg:(gi + 1) * tg], y[gi * og:(gi + 1) * og], False,
                    False, 0.0)
    if m == 1:
        if has_bias:
            for o in range(groups * og):
                b = bias[o]
                row = y[o]
                for q in range(length):
                    row[q] += b
    else:
        # (O, m*L) -> out[n0:n0+m] (m, O, L), the bias added on the way; y is in cache
        for j in range(m):
            for o in range(groups * og):
                _copy_bias(out[n0 + j, o], y[o, j * length:(j + 1) * length], bias, o,
                           has_bias)
    return cols, bad


@task
def _conv_fwd_task(x, wm, bias, has_bias, out, g, nb, task, tasks):
    # flat buffers, viewed (rows, m*L) per chunk: a reshaped prefix stays C-contiguous
    # when the last chunk is shorter
    lo, hi = span(task, tasks, g.n)
    cbuf = np.empty(g.c * g.kh * g.kw * nb * g.oh * g.ow, dtype=x.dtype)
    ybuf = np.empty(wm.shape[0] * wm.shape[1] * nb * g.oh * g.ow, dtype=x.dtype)
    pbuf = _phase_buffer(g, nb, x, True)
    bad = 0
    for n0 in range(lo, hi, nb):
        bad |= _fwd_chunk(x, pbuf, wm, bias, has_bias, out, g, n0, min(nb, hi - n0), cbuf,
                          ybuf)[1]
    if bad:
        raise RuntimeError("conv2d: BLAS refused an operand (shape or stride)")


@task
def _conv_fwd_wgrad_task(x, wm, bias, has_bias, out, g, nb, gsrc, dw_parts, sum_parts, task,
                         tasks):
    """The forward pass of the task's images, and from the same cols its partial sums of
    the weight gradient for the upstream ``gsrc`` (N, O, L), transposed (dw_parts[task],
    (groups, taps/groups, O/groups)), and of x per channel (sum_parts[task], (C,),
    float64): the transposed convolution's backward.  A kernel of its own, so a plain
    forward does not compile it."""
    groups, og, tg = wm.shape
    length = g.oh * g.ow
    lo, hi = span(task, tasks, g.n)
    cbuf = np.empty(g.c * g.kh * g.kw * nb * length, dtype=x.dtype)
    ybuf = np.empty(groups * og * nb * length, dtype=x.dtype)
    pbuf = _phase_buffer(g, nb, x, True)
    gbuf = np.empty(groups * og * nb * length, dtype=x.dtype)
    planes = x.shape[2] * x.shape[3]
    for c in range(g.c):
        sum_parts[task, c] = 0.0
    bad = 0
    for n0 in range(lo, hi, nb):
        m = min(nb, hi - n0)
        cols, b = _fwd_chunk(x, pbuf, wm, bias, has_bias, out, g, n0, m, cbuf, ybuf)
        bad |= b
        # dW^T (taps, O) += cols @ G^T (m*L inner), while cols is in cache; the transposed
        # product is the faster one of this shape: 32 x 144 x 64m at m = 3, 3.9 against
        # 5.3 us an image for G @ cols^T (one Zen 5 core, OpenBLAS), the transpose at the
        # end is (taps, O) once per call
        gm = _gather_chunk(gsrc, n0, m, length, gbuf)
        for gi in range(groups):
            bad |= gemm(cols[gi * tg:(gi + 1) * tg], gm[gi * og:(gi + 1) * og],
                        dw_parts[task, gi], False, True, 0.0 if n0 == lo else 1.0)
        # x's channel sums from its phase planes (every pixel once, zeros past the edge)
        for j in range(n0, n0 + m):
            flat = x[j].reshape(x.shape[1] * planes)
            for c in range(g.c):
                sum_parts[task, c] += _row(SUM, flat[c * planes:(c + 1) * planes])
    if bad:
        raise RuntimeError("conv2d: BLAS refused an operand (shape or stride)")


@task
def _conv_bwd_task(grad, x, wm, g, nb, need_x, need_w, need_b, dx, dx_init, dw_parts, db_parts,
                   task, tasks):
    """One task's share of the backward pass: dx of its images, and its partial sums of dW
    (dw_parts[task], (O, taps/groups)) and, with ``need_b``, of the bias gradient
    (db_parts[task], (O,), float64)."""
    groups, og, tg = wm.shape
    o_ch, taps, length = groups * og, g.c * g.kh * g.kw, g.oh * g.ow
    lo, hi = span(task, tasks, g.n)
    dw_part, db_part = dw_parts[task], db_parts[task]
    bad = 0
    gbuf = np.empty(o_ch * nb * length, dtype=x.dtype)
    cbuf = np.empty(taps * nb * length, dtype=x.dtype)
    pbuf = _phase_buffer(g, nb, x, need_w)  # x's phase planes, for dW
    dbuf = _phase_buffer(g, nb, x, need_x)  # dx's, written back per chunk
    for o in range(o_ch if need_b else 0):
        db_part[o] = 0.0
    for n0 in range(lo, hi, nb):
        m = min(nb, hi - n0)
        width = m * length
        # the upstream gradient of the chunk as one (O, m*L) matrix, the GEMM's layout:
        # one image's (O, L) block of grad already is, several are gathered
        gm = _gather_chunk(grad, n0, m, length, gbuf)
        for o in range(o_ch if need_b else 0):
            db_part[o] += _row(SUM, gm[o])
        cols = cbuf[:taps * width].reshape((taps, width))
        if need_w:
            planes, p0 = _chunk_planes(x, pbuf, n0, m, g)
            _im2col_task(planes, cols, p0, m, 0, taps * m, g)
            # dW (O, taps) += G (O, m*L) @ cols^T: K = m*L, the long side, is the inner
            # dimension BLAS likes; cols^T is a transpose flag, not a copy
            for gi in range(groups):
                bad |= gemm(gm[gi * og:(gi + 1) * og], cols[gi * tg:(gi + 1) * tg],
                            dw_part[gi * og:(gi + 1) * og], False, True,
                            0.0 if n0 == lo else 1.0)
        if need_x:
            # dcols = W^T @ G into the same buffer (cols is no longer needed), then fold
            for gi in range(groups):
                bad |= gemm(wm[gi], gm[gi * og:(gi + 1) * og], cols[gi * tg:(gi + 1) * tg],
                            True, False, 0.0)
            if g.sh == 1 and g.sw == 1:
                _col2im_task(cols, dx, n0, 0, m * g.c, g, dx_init)
            else:  # into the chunk's phase planes, then interleaved into dx while in cache
                _col2im_task(cols, dbuf, 0, 0, m * g.c, g, dx_init)
                _phase_chunk(dx, dbuf, n0, m, g.sh, g.sw, False)
    if bad:
        raise RuntimeError("conv2d: BLAS refused an operand (shape or stride)")


CHUNK_BYTES = 128 << 10
"""Size of one chunk's ``cols`` (whole images, at least one).  Each core has 1 MiB of L2
here (AMD EPYC Zen 4 and Zen 5): a chunk of cols well inside it leaves room for the GEMM
output, the reordered gradient and the panels BLAS packs, so im2col writes and the GEMM
reads stay in L2 instead of streaming C*kh*kw*N*L floats through DRAM twice.  128 KiB
against 512 KiB (Zen 5, OpenBLAS, alternating A/B runs): the ConvTranspose2d step of
issue 13 0.78-0.83 against 0.86-0.89 ms (its backward alone 478-507 against 535-593
us: 3 images a chunk against 11, the small-M GEMMs of this shape run faster short);
conv3x3, the small VGG and LeNet-5 at 64 within noise (1.37/1.24/1.05 against
1.53/1.33/1.03 of PyTorch's time in one pair of runs)."""

PARALLEL_FLOPS = 1 << 21
"""A convolution below this many multiply-adds runs on one thread (waking the pool
costs ~10 us); the same bar as ``matmul.PARALLEL_FLOPS``."""


def _plan(g, o: int, itemsize: int) -> tuple[int, int]:
    """(tasks, images per chunk) for the chunked path; tasks == 0: use the whole batch."""
    threads = num_threads()
    taps, length = g.c // g.groups * g.kh * g.kw, g.oh * g.ow
    if g.n * length * o * taps < PARALLEL_FLOPS or threads == 1:
        tasks = 1
    elif g.n >= 2 * threads or g.n % threads == 0:
        tasks = threads  # one contiguous range of images per thread, within one image
    else:
        return 0, 0  # too few images to share out: the whole-batch GEMMs split instead
    per_image = g.c * g.kh * g.kw * length * itemsize
    share = -(-g.n // tasks)  # a task's images
    chunks = -(-share // max(1, min(share, CHUNK_BYTES // per_image)))
    # chunks of equal size: 32 images at 14 a chunk ran as 14 + 14 + 4, and the last
    # chunk's short GEMMs ran at a fraction of the others' speed; 11 + 11 + 10 do not
    return tasks, -(-share // chunks)


def conv2d_fwd(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, g, wgrad_of=None):
    """2-D convolution: NCHW ``x`` (N, C, H, W), ``w`` (O, C/groups, kh, kw), optional bias
    ``b`` (O,), geometry ``g`` (``Window2d``, N >= 1) -> new (N, O, OH, OW) array.  With
    ``wgrad_of`` (N, O, OH, OW), an upstream gradient of the output: ``(out, dw, xsum)``,
    dw its weight gradient, computed per chunk from the same cols, and xsum (C,) x summed
    over (N, H, W): the transposed convolution's backward (its dx is this conv of g, its
    dW this dw for its input x, its bias gradient the sums of g).

    im2col + GEMM per chunk of images (module docstring, "Chunks"), the bias added
    while the GEMM output is reordered to NCHW; a batch too small to give every
    thread whole images runs the whole-batch im2col + GEMM (``kernels/conv_gemm.py``).
    """
    _check("conv2d_fwd", x, (g.n, g.c, g.h, g.w))
    o = w.shape[0]
    need_w = wgrad_of is not None
    if need_w:
        _check("conv2d_fwd", wgrad_of, (g.n, o, g.oh, g.ow))
    if not runtime._state["applied"]:
        runtime.apply_cpu_settings()  # BLAS to one thread: it runs inside our parallel tasks
    tasks, nb = _plan(g, o, x.dtype.itemsize)
    if tasks == 0:
        from .. import conv_gemm, cpu

        return conv_gemm.forward(cpu, x, w, b, g, wgrad_of)
    x = np.ascontiguousarray(x)  # phase planes (stride > 1) are split per chunk, in the tasks
    wm = np.ascontiguousarray(w).reshape((g.groups, o // g.groups, -1))
    out = np.empty((g.n, o, g.oh * g.ow), dtype=x.dtype)
    has_bias = b is not None
    bias = np.ascontiguousarray(b, dtype=x.dtype) if has_bias else placeholder(x.dtype)
    if not need_w:
        run_tasks(_conv_fwd_task, (x, wm, bias, has_bias, out, g, nb), tasks)
        return out.reshape((g.n, o, g.oh, g.ow))
    gsrc = np.ascontiguousarray(wgrad_of, x.dtype).reshape((g.n, o, g.oh * g.ow))
    dw_parts = np.empty((tasks, g.groups, wm.shape[2], wm.shape[1]), dtype=x.dtype)
    sum_parts = np.empty((tasks, g.c), dtype=np.float64)
    run_tasks(_conv_fwd_wgrad_task, (x, wm, bias, has_bias, out, g, nb, gsrc, dw_parts,
                                     sum_parts), tasks)
    gw_t = dw_parts[0] if tasks == 1 else dw_parts.sum(axis=0)  # (groups, taps/g, O/g)
    gw = np.ascontiguousarray(gw_t.transpose(0, 2, 1)).reshape(w.shape)
    return (out.reshape((g.n, o, g.oh, g.ow)), gw,
            sum_parts.sum(axis=0).astype(x.dtype))


def conv2d_bwd(grad: np.ndarray, x: np.ndarray | None, w: np.ndarray, g, need_x: bool,
               need_w: bool, dx_init: np.ndarray | None = None, need_b: bool = True) -> tuple:
    """Gradients of ``conv2d_fwd`` for the upstream ``grad`` (N, O, OH, OW): (dx or None,
    dw or None, db or None), db the bias gradient (grad summed over N, OH, OW, in float64;
    None without ``need_b``).
    ``x`` is read only for dw: it may be None when ``need_w`` is False (the transposed
    convolution's forward pass is this dx alone, plus its bias: ``dx_init`` (C,), added to
    every pixel of channel c as col2im's start value, so it costs no pass of its own).

    Per chunk: the chunk's gradient reordered to (O, m*L) (its bias sums on the
    way), cols rebuilt from x (not kept from the forward pass: memory), dW
    accumulated per task, then dcols = W^T @ G into the same buffer and folded
    into dx.  The tasks' partial dW and db are summed at the end.
    """
    if x is None:
        if need_w:
            raise ValueError("conv2d_bwd: the weight gradient needs the input x, got None")
    else:
        _check("conv2d_bwd", x, (g.n, g.c, g.h, g.w))
    dtype = grad.dtype
    if not runtime._state["applied"]:
        runtime.apply_cpu_settings()  # BLAS to one thread: it runs inside our parallel tasks
    tasks, nb = _plan(g, w.shape[0], dtype.itemsize)
    if tasks == 0:
        from .. import conv_gemm, cpu

        return conv_gemm.backward(cpu, grad, x, w, g, need_x, need_w, dx_init, need_b)
    x = placeholder(dtype, (1, 1, 1, 1)) if x is None else np.ascontiguousarray(x, dtype)
    grad = np.ascontiguousarray(grad).reshape((g.n, -1, g.oh * g.ow))
    o = w.shape[0]
    wm = np.ascontiguousarray(w).reshape((g.groups, o // g.groups, -1))
    dx = np.empty((g.n, g.c, g.h, g.w) if need_x else (1, 1, 1, 1), dtype=dtype)
    dw_parts = np.empty((tasks, o, wm.shape[2]), dtype=dtype)
    db_parts = np.empty((tasks, o), dtype=np.float64)
    run_tasks(_conv_bwd_task, (grad, x, wm, g, nb, need_x, need_w, bool(need_b), dx,
                               _start_values(dx_init, g.c, dtype), dw_parts, db_parts), tasks)
    gw = (dw_parts[0] if tasks == 1 else dw_parts.sum(axis=0)).reshape(w.shape) \
        if need_w else None
    gb = db_parts.sum(axis=0).astype(dtype) if need_b else None
    return (dx if need_x else None), gw, gb
