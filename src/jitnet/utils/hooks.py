"""``RemovableHandle``: what every ``register_*hook`` returns (``torch.utils.hooks``)."""
from __future__ import annotations

import itertools
import weakref

_ids = itertools.count()


class RemovableHandle:
    """Removes one hook from the dict it was registered in: ``handle.remove()``.

    Also a context manager (the hook is removed on exit).  The dict is held
    weakly, so a handle never keeps a module or a graph node alive.
    """

    def __init__(self, hooks_dict: dict) -> None:
        if not isinstance(hooks_dict, _HookDict):
            raise TypeError("RemovableHandle: expected a dict made by hook_dict()")
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = next(_ids)

    def remove(self) -> None:
        """Remove the hook; removing twice is harmless."""
        hooks = self.hooks_dict_ref()
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class _HookDict(dict):
    """A dict that can be weakly referenced (a plain dict cannot)."""

    __slots__ = ("__weakref__",)


def hook_dict() -> dict:
    """A new, weakly referenceable, insertion-ordered dict for hooks."""
    return _HookDict()


def add_hook(hooks: dict, fn, prepend: bool = False) -> RemovableHandle:
    """Register ``fn`` in ``hooks`` (first with ``prepend``) and return its handle."""
    if not callable(fn):
        raise TypeError(f"hook must be callable, got {type(fn).__name__}")
    handle = RemovableHandle(hooks)
    hooks[handle.id] = fn
    if prepend:
        items = list(hooks.items())
        hooks.clear()
        hooks[handle.id] = fn
        hooks.update(items[:-1])
    return handle
