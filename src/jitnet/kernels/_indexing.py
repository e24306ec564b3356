"""PyTorch's indexing rule where it differs from NumPy's, as a rewrite into NumPy indices.

Host-side logic shared by the CPU kernels (which index with NumPy) and the op
layer (which computes the shape an index selects before writing through it).
The CUDA table's ``_index.plan`` implements the same rule in its offsets.
"""
from __future__ import annotations

import numpy as np


def _is_array(it) -> bool:
    return isinstance(it, np.ndarray)  # the op layer has turned lists and tensors into these


def _is_int(it) -> bool:
    return isinstance(it, (int, np.integer)) and not isinstance(it, (bool, np.bool_))


def torch_split(index, ndim: int):
    """PyTorch's placement of advanced indices as NumPy steps: (first, rest) with
    ``x[index]`` (PyTorch) equal to ``x[first][rest]`` (NumPy), or None when the index holds
    no array (NumPy and PyTorch agree).

    PyTorch applies integer indices first (each removes its dim), then places the
    block of array-index dims where the arrays were if they are adjacent among the
    remaining items, else first; an Ellipsis that covers no dim does not separate
    them.  NumPy instead counts an int beside an array as an array
    (``x[0, :, [0, 1]]`` of a (2, 3, 4) tensor: PyTorch (3, 2), NumPy (2, 3)), and a
    zero-width Ellipsis as a separator.  So the ints go in a first, basic (view)
    step, and the Ellipsis becomes explicit slices.
    """
    items = index if isinstance(index, tuple) else (index,)
    if not any(_is_array(it) for it in items):
        return None
    consumed = sum(it.ndim if isinstance(it, np.ndarray) and it.dtype == np.bool_ else 1
                   for it in items if it is not None and it is not Ellipsis)
    expanded = []
    for it in items:
        if it is Ellipsis:
            expanded.extend([slice(None)] * max(ndim - consumed, 0))
        else:
            expanded.append(it)
    first, rest = [], []
    for it in expanded:
        if _is_int(it):
            first.append(it)
        elif it is None:
            rest.append(it)
        else:
            n = it.ndim if isinstance(it, np.ndarray) and it.dtype == np.bool_ else 1
            first.extend([slice(None)] * n)
            rest.append(it)
    return tuple(first), tuple(rest)
