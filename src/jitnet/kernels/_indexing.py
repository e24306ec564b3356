"""PyTorch's indexing rule where it differs from NumPy's, as a rewrite into NumPy indices.

Host-side logic shared by the CPU kernels (which index with NumPy) and the op
layer (which computes the shape an index selects before writing through it).
The CUDA table's ``_index.plan`` implements the same rule in its offsets.
"""
from __future__ import annotations

import numpy as np


def _is_array(it) -> bool:
    return isinstance(it, np.ndarray)  # the op layer has turned lists and tensors into these


def torch_split(index):
    """PyTorch's placement of advanced indices: (ints, rest), or None when NumPy agrees.

    PyTorch applies integer indices first (each removes its dim), then places
    the block of array-index dims where the arrays were if they are adjacent
    among the remaining items, else first.  NumPy instead counts an int beside
    an array as an array (``x[0, :, [0, 1]]`` of a (2, 3, 4) tensor: PyTorch
    (3, 2), NumPy (2, 3)).  So the ints go in a first, basic (view) step.
    """
    items = index if isinstance(index, tuple) else (index,)
    has_int = any(isinstance(it, (int, np.integer)) and not isinstance(it, (bool, np.bool_))
                  for it in items)
    if not has_int or not any(_is_array(it) for it in items):
        return None
    first, rest = [], []
    for it in items:
        if isinstance(it, (int, np.integer)) and not isinstance(it, (bool, np.bool_)):
            first.append(it)
        elif it is None:
            rest.append(it)
        elif it is Ellipsis:
            first.append(it)
            rest.append(it)
        else:
            n = it.ndim if isinstance(it, np.ndarray) and it.dtype == np.bool_ else 1
            first.extend([slice(None)] * n)
            rest.append(it)
    return tuple(first), tuple(rest)
