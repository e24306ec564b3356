"""Device-array helpers shared by the CUDA kernel wrappers: allocation, flat views, geometry.

Invariant of the CUDA table: every array it returns is a C-contiguous Numba
device array.  Views that would need other strides (a transpose, a
broadcast, a slice) are materialised by the strided-copy kernel in
array.py, so every kernel can address its operands as flat 1-D arrays and
``reshape`` is always free.

Under the simulator the device arrays are ``FakeCUDAArray`` objects, which
differ from a real ``DeviceNDArray`` on the host; ``jitnet.testing`` (used by
the test suite, never by jitnet itself) replaces them with a faithful one
through the ``_wrap`` hook below.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda

MAXDIM = 8
"""Most dims the strided kernels address (shapes and strides travel as 8-tuples)."""

def _wrap(a):
    """Every device array the table creates passes through here: the identity, unless
    ``jitnet.testing.use_cuda_simulator()`` installs the simulator's stricter array."""
    return a


def empty(shape, dtype):
    """A new uninitialised C-contiguous device array (no host transfer)."""
    return _wrap(cuda.device_array(tuple(shape), dtype=np.dtype(dtype)))


def to_device(a: np.ndarray):
    """Copy a host array to a new device array (the only host -> device path)."""
    if not a.flags.c_contiguous:
        a = a.copy(order="C")  # not ascontiguousarray: it makes 0-d arrays 1-d
    return _wrap(cuda.to_device(a))


def reshape(x, shape):
    """A view of C-contiguous ``x`` with a new shape (one -1 allowed)."""
    shape = tuple(int(s) for s in shape)
    if -1 in shape:
        known = math.prod(s for s in shape if s != -1)
        shape = tuple(x.size // known if s == -1 else s for s in shape) if known else shape
    if shape == tuple(x.shape):
        return x
    return _wrap(x.reshape(shape))


def flat(x):
    """x as a 1-D view (x is C-contiguous by the table's invariant)."""
    return x if x.ndim == 1 else reshape(x, (x.size,))


def is_contiguous(x) -> bool:
    return x.is_c_contiguous()


_dummies: dict = {}


def dummy(dtype):
    """A 1-element device array standing in for an absent optional array (one per dtype).

    Kernels take a flag beside it and never read it; a real array keeps the
    kernel's signature, and so its compiled code, the same.
    """
    dtype = np.dtype(dtype)
    d = _dummies.get(dtype)
    if d is None:
        d = _dummies[dtype] = empty((1,), dtype)
    return d


def opt(a, dtype):
    """(array, present?) for an optional array argument."""
    return (dummy(dtype), False) if a is None else (a, True)


def c_strides(shape) -> tuple[int, ...]:
    """Element strides of a C-contiguous array of ``shape``."""
    out, s = [], 1
    for d in reversed(shape):
        out.append(s)
        s *= d
    return tuple(reversed(out))


def pad(t, fill: int = 0) -> tuple[int, ...]:
    """A shape or stride tuple padded to MAXDIM entries (one compiled signature for all ranks)."""
    t = tuple(int(v) for v in t)
    if len(t) > MAXDIM:
        raise RuntimeError(f"CUDA kernels address at most {MAXDIM} dims, got {len(t)}")
    return t + (fill,) * (MAXDIM - len(t))


def broadcast_strides(shape, out_shape) -> tuple[int, ...]:
    """Element strides that read a C-contiguous ``shape`` array broadcast to ``out_shape``."""
    lead = len(out_shape) - len(shape)
    st = c_strides(shape)
    return (0,) * lead + tuple(0 if s == 1 else st[i] for i, s in enumerate(shape))


def collapse(shape, *strides):
    """Merge neighbouring dims that every stride pattern walks as one: fewer index steps.

    Returns (shape, strides...) with size-1 dims dropped; two equal C-contiguous
    operands collapse to one dim.
    """
    dims = [(s, [st[i] for st in strides]) for i, s in enumerate(shape) if s != 1]
    if not dims:
        return (), *[() for _ in strides]
    out = [dims[0]]
    for s, st in dims[1:]:
        ps, pst = out[-1]
        if all(pst[k] == st[k] * s for k in range(len(st))):
            out[-1] = (ps * s, st)
        else:
            out.append((s, st))
    shp = tuple(s for s, _ in out)
    return (shp, *[tuple(st[k] for _, st in out) for k in range(len(strides))])


def typed_scalar(value, dtype):
    """A Python number as a NumPy scalar of ``dtype`` (the kernel then computes in that type)."""
    return np.dtype(dtype).type(value)


def numeric(x):
    """A bool array viewed as uint8 (same bytes, no copy): kernels then never see bool
    operands, for which Numba types some arithmetic (``**``, ``//``) not at all."""
    return _wrap(x.view(np.uint8)) if x.dtype == np.bool_ else x


def is_device_array(x) -> bool:
    return hasattr(x, "copy_to_host")
