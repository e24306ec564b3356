"""The one decorator every CPU kernel uses: ``@kernel`` (or ``@kernel(inline="always")`` for a
helper compiled into its callers).

There is no parallel variant: a kernel that runs on several threads is a *task kernel*
(``kernels/cpu/tasks.py``), one serial function that each thread runs on its share.

It is ``numba.njit(cache=True)``, except that when no cache directory can be
written (a read-only install with no writable home), Numba refuses to build the
dispatcher; we then fall back to compiling in memory instead of failing at
import.  Numba caches only top-level functions: a kernel built inside a factory
(a closure) or handed a jitted function as an argument is recompiled in every
process, so kernel families take an integer op code instead (see opcodes.py).

Cache invalidation covers ``kernels/scalar/``.  Numba stamps a cached kernel
with its own source file only, so a kernel that inlines a formula from
``kernels/scalar/*.py`` would keep loading the old machine code after the
formula is edited (the same holds for the op-code constants of ``opcodes.py``
and the compile options here), and a kernel that calls a kernel of another file
(``blas.gemm``, ``reduce._row``) or forks through ``tasks.py``'s intrinsic
holds that code too.  ``kernel`` therefore gives every kernel a cache whose
source stamp is the pair (Numba's own stamp, a hash of every file in
``kernels/scalar/`` and ``kernels/cpu/`` and of ``opcodes.py``, ``_jit.py``
and ``_partial.py``): editing any of them invalidates every cached CPU kernel.
"""
from __future__ import annotations

import functools
import hashlib
import os
import threading
import types
from pathlib import Path

import numba
from numba.core.caching import CompileResultCacheImpl, FunctionCache, IndexDataCacheFile

from . import ahead

SCALAR_DIR = Path(__file__).resolve().parent / "scalar"

PARALLEL_MIN = 1 << 15
"""Below this many elements a kernel runs as one task on the calling thread: waking
Numba's thread pool costs about 10 us, more than the work on small arrays."""


def scalar_stamp(directory: Path = SCALAR_DIR) -> str:
    """SHA-256 over the names and contents of the ``*.py`` files in ``directory`` and of the
    files every kernel also depends on: the CPU kernels (which call each other), ``opcodes.py``
    (its constants are folded into the kernels), this one (the compile options) and
    ``_partial.py`` (which rewrites formulas)."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    shared = sorted((here / "cpu").glob("*.py")) + [here / "_jit.py", here / "opcodes.py",
                                                    here / "_partial.py"]
    for path in sorted(Path(directory).glob("*.py")) + shared:
        h.update(path.name.encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


_scalar_stamp = functools.lru_cache(maxsize=1)(scalar_stamp)


def _salted(locator_cls):
    """``locator_cls`` whose source stamp also covers the ``kernels/scalar`` sources."""

    def get_source_stamp(self):
        return (locator_cls.get_source_stamp(self), _scalar_stamp())

    return type(f"Scalar{locator_cls.__name__}", (locator_cls,),
                {"get_source_stamp": get_source_stamp})


class _ScalarAwareImpl(CompileResultCacheImpl):
    _locator_classes = [_salted(c) for c in CompileResultCacheImpl._locator_classes]


class _TolerantIndexFile(IndexDataCacheFile):
    def _load_index(self):
        try:
            return super()._load_index()
        except Exception:  # noqa: BLE001  (any unreadable index means "not cached")
            return {}


class ScalarAwareCache(FunctionCache):
    """Numba's function cache, invalidated also when a ``kernels/scalar`` file changes.

    A stale index that cannot be unpickled is a cache miss, not an error: Numba unpickles
    an index before it compares source stamps, so an index written by an older jitnet
    whose signatures name a class that has since moved (``Window2d``'s module, say) raised
    ModuleNotFoundError on the first call after an upgrade.  The next save overwrites it.
    """

    _impl_class = _ScalarAwareImpl

    def __init__(self, py_func):
        super().__init__(py_func)
        self._cache_file.__class__ = _TolerantIndexFile  # Numba builds it in __init__


KERNELS: dict[str, object] = {}
"""Every cached CPU kernel made so far, by ``"module:qualname"`` (``jitnet.warmup``'s
workers look kernels up here to compile a recorded signature)."""

_recorded: dict = {}
_call_depth = threading.local()


def _note(key: str, recipe, args: tuple) -> None:
    """Record the Numba signature of a call of kernel ``key`` with ``args``."""
    from numba.core.typing.typeof import Purpose, typeof

    _recorded.setdefault((key, recipe, tuple(typeof(a, Purpose.argument) for a in args)), None)


def _recording(f, key: str, recipe):
    """``f`` (run as Python under NUMBA_DISABLE_JIT) noting the Numba signature of every
    call made from Python, i.e. every signature a jitted run would compile for ``f``."""

    @functools.wraps(f)
    def call(*args, **kwargs):
        depth = getattr(_call_depth, "n", 0)
        if depth == 0 and not kwargs:
            _note(key, recipe, args)
        _call_depth.n = depth + 1
        try:
            return f(*args, **kwargs)
        finally:
            _call_depth.n = depth

    return call


def recorded() -> list:
    """The (kernel key, recipe, signature) triples ``_recording`` noted, in call order."""
    return list(_recorded)


def kernel(fn=None, *, inline: str = "never",
           error_model: str = "numpy", recipe: tuple | None = None):
    """Compile ``fn`` with Numba in nopython mode, cached on disk where possible.

    ``error_model="numpy"`` (the default): ``/`` by zero gives IEEE inf/nan instead of
    raising ZeroDivisionError, and the per-division test that stops LLVM vectorising goes.
    ``recipe``: for a kernel made at run time (``_partial.instantiate``), the
    ``("module:factory", *args)`` call that makes it again in another process.
    """

    def wrap(f):
        # error_model="numpy": x / 0 is inf or NaN (IEEE, as PyTorch and the CUDA kernels),
        # never a ZeroDivisionError out of a gradient formula
        # no_cfunc_wrapper: a kernel is called from Python (the CPython wrapper) or from
        # another kernel (Numba's own calling convention), never as a C function pointer,
        # so the C wrapper Numba would generate, optimise and cache for each is dead code
        opts = dict(fastmath=False, inline=inline, nogil=True,
                    error_model=error_model, no_cfunc_wrapper=True)
        disp = numba.njit(cache=False, **opts)(f)
        key = f"{f.__module__}:{f.__qualname__}"
        if not hasattr(disp, "py_func"):  # NUMBA_DISABLE_JIT=1: njit returns f itself
            if inline == "never" and os.environ.get("JITNET_RECORD_KERNELS"):
                return _recording(disp, key, recipe)
            return disp
        try:
            # what njit(cache=True) does (Dispatcher.enable_caching), with our cache class
            disp._cache = ScalarAwareCache(disp.py_func)
        except RuntimeError:  # "cannot cache function ...: no locator available": in memory
            pass
        if inline == "never":
            KERNELS[key] = disp
            if isinstance(disp._cache, ScalarAwareCache):
                disp.compile = ahead.compiling(disp, key)  # first runs: ahead.py
        return disp

    return wrap(fn) if fn is not None else wrap


def with_globals(fn, names: dict, qualname: str | None = None):
    """A new function over ``fn``'s code whose global names in ``names`` resolve to the
    given objects (the rest as in ``fn``'s module), optionally under a new ``qualname``.

    How a formula calls a helper compiled for the same backend (``with_helpers``) and how
    a kernel template becomes one cached kernel per formula (``_partial.instantiate``):
    Numba keys its cache on the qualified name, so a new name means its own cache files.
    """
    glb = dict(fn.__globals__)
    glb.update(names)
    name = qualname or fn.__name__
    f = types.FunctionType(fn.__code__, glb, name, fn.__defaults__, fn.__closure__)
    f.__qualname__ = qualname or fn.__qualname__
    f.__module__, f.__doc__ = fn.__module__, fn.__doc__
    return f


def with_helpers(fn, compiled: dict):
    """A copy of the formula ``fn`` whose global names in ``compiled`` ({name: compiled
    helper}) resolve to those objects: how a formula calls a helper formula compiled for the
    same backend (``fn``'s module keeps the plain Python helper, for the CUDA simulator)."""
    return with_globals(fn, compiled)


def scalar(fn, *helpers):
    """Compile a leaf formula from ``kernels/scalar/`` for the CPU: inlined into its caller.

    ``helpers``: formulas of the same module that ``fn`` calls by name, compiled the same way.
    """
    if helpers:
        fn = with_helpers(fn, {h.__name__: scalar(h) for h in helpers})
    return kernel(fn, inline="always")
