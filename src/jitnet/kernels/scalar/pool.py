"""Pooling window arithmetic, written once for the CPU and CUDA pooling kernels.

Integer formulas of one output index on one axis: which kernel taps land
inside the input (max pooling, with dilation), and the clipped input range
and divisor of an average-pooling window (``avg_pool2d`` in PyTorch's
formulas, or ``adaptive_avg_pool2d``'s split).
"""
from __future__ import annotations


def taps(start, dil, size, k):
    """Kernel taps t in [lo, hi) with 0 <= start + t*dil < size (lo >= hi: none)."""
    lo = 0 if start >= 0 else (dil - 1 - start) // dil
    hi = (size - 1 - start) // dil + 1
    hi = max(0, min(hi, k))
    return min(lo, hi), hi


def window(i, size, n_out, k, s, p, adaptive):
    """Clipped input range [lo, hi) of output index i on one axis, and its padded extent.

    Adaptive: [floor(i*size/n_out), ceil((i+1)*size/n_out)).  Otherwise
    PyTorch's avg_pool: the window [i*s - p, i*s - p + k) cut at size + p
    (the extent, counting padding), then clipped to the input.
    """
    if adaptive:
        lo = (i * size) // n_out
        hi = ((i + 1) * size + n_out - 1) // n_out
        return lo, hi, hi - lo
    lo = i * s - p
    hi = min(lo + k, size + p)
    extent = hi - lo
    return max(lo, 0), min(hi, size), extent


def divisor(h0, h1, eh, w0, w1, ew, count_include_pad, divisor_override):
    """The divisor of an average-pooling window: the override, the padded extent
    (``count_include_pad``) or the number of input pixels."""
    if divisor_override > 0:
        return divisor_override
    if count_include_pad:
        return eh * ew
    return (h1 - h0) * (w1 - w0)
