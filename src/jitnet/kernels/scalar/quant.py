"""Symmetric int8 quantization formulas, shared by ``kernels/cpu/quant.py`` and
``kernels/cuda/quant.py``.

A value x of a row (or output channel) whose largest magnitude is ``amax`` is
stored as ``q = clamp(floor(x / scale + 0.5), -127, 127)`` with
``scale = amax / 127``: the symmetric int8 range, without -128, so that
negation is exact.  An int32 sum of int8 products ``acc`` of a row of scale
``sa`` and a column of scale ``sb`` is ``acc * sa * sb`` in float.  PyTorch
rounds halves to even (``nearbyint``); halves here round up.
"""
import math

QMAX = 127.0


def row_scale(amax):
    """The scale of a row whose largest |value| is ``amax`` (1 for an all-zero row)."""
    return amax / QMAX if amax > 0.0 else 1.0


def quantize(x, inv_scale):
    """``x`` as an int8 level (returned as a float in [-127, 127]) given ``1 / scale``."""
    q = math.floor(x * inv_scale + 0.5)
    return min(QMAX, max(-QMAX, q))


def rescale(acc, sa, sb):
    """An int32 accumulator back to float: ``acc * sa * sb``."""
    return acc * sa * sb
