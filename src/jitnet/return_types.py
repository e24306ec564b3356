"""``jn.return_types``: the named tuples ``sort``, ``topk``, ``max(dim)``, ``min(dim)`` return.

As PyTorch's ``torch.return_types``: each is a tuple with the fields
``values`` and ``indices`` (so ``v, i = x.sort()`` and ``x.sort().indices``
both work), and prints as ``jitnet.return_types.sort(values=..., indices=...)``
with one field per line, like PyTorch's.
"""
from __future__ import annotations

from collections import namedtuple

__all__ = ["max", "min", "sort", "topk"]


def _values_indices(name: str) -> type:
    base = namedtuple(name, ["values", "indices"])

    def __repr__(self) -> str:
        body = ",\n".join(f"{field}={value!r}" for field, value in zip(self._fields, self))
        return f"jitnet.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                               "__module__": __name__, "__qualname__": name})
    return cls


sort = _values_indices("sort")
topk = _values_indices("topk")
max = _values_indices("max")  # noqa: A001 PyTorch's names
min = _values_indices("min")  # noqa: A001
