"""Pruning, as ``torch.nn.utils.prune``: zero out weights by a mask that a forward pre-hook applies.

Pruning parameter ``name`` of a module moves the Parameter to ``<name>_orig``,
adds a ``<name>_mask`` buffer (1 keeps an entry, 0 prunes it) and registers a
forward pre-hook (the pruning method object itself) that recomputes
``module.<name> = <name>_mask * <name>_orig`` before every forward, so
gradients reach ``<name>_orig`` through the mask.  Pruning the same parameter
again composes: a ``PruningContainer`` runs the new method on the entries (or
channels) still unpruned and multiplies the masks.  ``remove`` makes the
pruning permanent (``<name>`` becomes a plain Parameter again, with zeros).

Masks are computed once per pruning call on the host (NumPy), then stored on
the parameter's device.  Which entries are pruned matches PyTorch on the same
weights, except among entries of equal importance (ties), which each library
orders its own way, and except ``random_*``, which draw from jitnet's generator.
"""
from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

import numpy as np

from ...autograd import no_grad
from ...tensor import Tensor
from ...tensor import tensor as _tensor

__all__ = [
    "BasePruningMethod", "CustomFromMask", "Identity", "L1Unstructured", "LnStructured",
    "PruningContainer", "RandomStructured", "RandomUnstructured", "custom_from_mask",
    "global_unstructured", "identity", "is_pruned", "l1_unstructured", "ln_structured",
    "random_structured", "random_unstructured", "remove",
]


# ---------------------------------------------------------------------- validation

def _validate_amount_init(amount) -> None:
    if not isinstance(amount, numbers.Real) or isinstance(amount, bool):
        raise TypeError(f"Invalid type for amount: {amount!r}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def _n_to_prune(amount, size: int) -> int:
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters "
                             f"to prune={size}")
        return int(amount)
    return round(float(amount) * size)  # Python's round, as PyTorch


def _check_dim(t: np.ndarray, dim: int, op: str) -> int:
    if t.ndim <= 1:
        raise ValueError(f"{op}: structured pruning can only be applied to multidimensional "
                         f"tensors. Found tensor of shape {tuple(t.shape)} with {t.ndim} dims")
    if not -t.ndim <= dim < t.ndim:
        raise IndexError(f"{op}: invalid index {dim} for tensor of size {tuple(t.shape)}")
    return dim % t.ndim


def _host(t) -> np.ndarray:
    if isinstance(t, Tensor):
        return np.asarray(t.detach().cpu().numpy())
    return np.asarray(t)


# ---------------------------------------------------------------------- methods

class BasePruningMethod(ABC):
    """A way of computing a mask; also the forward pre-hook that applies it."""

    PRUNING_TYPE: str = "unstructured"
    _tensor_name: str | None = None

    def __call__(self, module, inputs) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def _mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        """The new mask (same shape as ``t``) on host arrays: ``default_mask`` with more zeros."""

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The mask for importance scores ``t`` that keeps ``default_mask``'s zeros."""
        ref = t if isinstance(t, Tensor) else default_mask
        mask = self._mask(_host(t), _host(default_mask).copy())
        return _tensor(mask, dtype=ref.dtype, device=ref.device)

    def apply_mask(self, module) -> Tensor:
        """``<name>_mask * <name>_orig`` of ``module`` (differentiable in ``_orig``)."""
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(orig.dtype) * orig

    @classmethod
    def apply(cls, module, name: str, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with a new ``cls(*args, **kwargs)``; returns the method
        (a ``PruningContainer`` when the parameter was pruned before)."""
        return _apply(cls(*args, **kwargs), module, name, importance_scores, cls.__name__)

    def prune(self, t: Tensor, default_mask: Tensor | None = None,
              importance_scores: Tensor | None = None) -> Tensor:
        """``t`` times the mask computed from ``importance_scores`` (default ``t``)."""
        scores = t if importance_scores is None else importance_scores
        if default_mask is None:
            default_mask = _tensor(np.ones(tuple(t.shape)), dtype=t.dtype, device=t.device)
        return t * self.compute_mask(scores, default_mask)

    def remove(self, module) -> None:
        """Make the pruning of ``module`` permanent: ``<name>`` becomes ``_orig * _mask``."""
        name = self._tensor_name
        with no_grad():
            weight = self.apply_mask(module)
        if name in module.__dict__:
            delattr(module, name)
        orig = module._parameters[name + "_orig"]
        orig.data = weight.data
        del module._parameters[name + "_orig"]
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


class PruningContainer(BasePruningMethod):
    """The sequence of methods applied to one parameter; the last one refines the mask."""

    def __init__(self, *args) -> None:
        self._pruning_methods: tuple = ()
        if len(args) == 1 and not isinstance(args[0], BasePruningMethod):
            args = tuple(args[0])
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method).__name__} is not a BasePruningMethod subclass")
        if method is None:
            return
        if self._tensor_name is None:
            self._tensor_name = method._tensor_name
        elif method._tensor_name != self._tensor_name:
            raise ValueError(f"Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer. Found "
                             f"'{method._tensor_name}'")
        self._pruning_methods = self._pruning_methods + (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def _mask(self, t, default_mask):
        # the newest method sees only what is still unpruned: the kept entries
        # (unstructured), the kept channels (structured) or everything (global)
        method = self._pruning_methods[-1]
        new_mask = default_mask.astype(t.dtype)
        if method.PRUNING_TYPE == "unstructured":
            slc = default_mask == 1
        elif method.PRUNING_TYPE == "structured":
            dim = _check_dim(t, method.dim, type(method).__name__)
            others = tuple(d for d in range(t.ndim) if d != dim)
            keep = default_mask.sum(axis=others) != 0
            slc = (slice(None),) * dim + (keep,)
        else:
            slc = (slice(None),) * t.ndim
        new_mask[slc] = method._mask(t[slc], default_mask[slc].copy())
        return new_mask


class Identity(BasePruningMethod):
    """Prunes nothing: a mask of ones."""

    PRUNING_TYPE = "unstructured"

    def _mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    """Prunes ``amount`` entries chosen at random (jitnet's generator)."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount) -> None:
        _validate_amount_init(amount)
        self.amount = amount

    def _mask(self, t, default_mask):
        k = _n_to_prune(self.amount, t.size)
        if k:
            from ...random import generator

            prob = generator(None).random(t.size)
            default_mask.reshape(-1)[np.argsort(-prob, kind="stable")[:k]] = 0
        return default_mask

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries of smallest absolute value."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount) -> None:
        _validate_amount_init(amount)
        self.amount = amount

    def _mask(self, t, default_mask):
        k = _n_to_prune(self.amount, t.size)
        if k:
            default_mask.reshape(-1)[np.argsort(np.abs(t).reshape(-1), kind="stable")[:k]] = 0
        return default_mask

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` whole channels along ``dim``, chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim: int = -1) -> None:
        _validate_amount_init(amount)
        self.amount, self.dim = amount, dim

    def _mask(self, t, default_mask):
        dim = _check_dim(t, self.dim, "RandomStructured")
        k = _n_to_prune(self.amount, t.shape[dim])
        if not k:
            return default_mask
        from ...random import generator

        prob = generator(None).random(t.shape[dim])
        keep = np.ones(t.shape[dim], bool)
        keep[np.argsort(prob, kind="stable")[:k]] = False
        return _channel_mask(t, dim, keep) * default_mask

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of smallest L``n`` norm (``n``: a number,
    ``inf``, ``-inf`` or ``"fro"``), the norm taken over all other dimensions."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim: int = -1) -> None:
        _validate_amount_init(amount)
        if not (n == "fro" or (isinstance(n, numbers.Real) and not isinstance(n, bool))):
            raise ValueError(f"LnStructured: n must be a number, inf, -inf or 'fro', got {n!r}")
        self.amount, self.n, self.dim = amount, n, dim

    def _mask(self, t, default_mask):
        dim = _check_dim(t, self.dim, "LnStructured")
        size = t.shape[dim]
        k = _n_to_prune(self.amount, size)
        if not k:
            return default_mask
        norm = _channel_norm(t, self.n, dim)
        keep = np.zeros(size, bool)
        keep[np.argsort(-norm, kind="stable")[:size - k]] = True
        return _channel_mask(t, dim, keep) * default_mask

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where a given ``mask`` is 0."""

    PRUNING_TYPE = "global"

    def __init__(self, mask) -> None:
        self.mask = mask

    def _mask(self, t, default_mask):
        mask = _host(self.mask)
        if mask.shape != default_mask.shape:
            raise ValueError(f"custom_from_mask: mask has shape {mask.shape}, expected "
                             f"{default_mask.shape}")
        return default_mask * mask.astype(default_mask.dtype)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


def _channel_norm(t: np.ndarray, n, dim: int) -> np.ndarray:
    axes = tuple(d for d in range(t.ndim) if d != dim)
    a = np.abs(t.astype(np.float64))
    if n == "fro":
        n = 2
    if n == math.inf:
        return a.max(axis=axes)
    if n == -math.inf:
        return a.min(axis=axes)
    if n == 0:
        return (a != 0).sum(axis=axes).astype(np.float64)
    return (a ** n).sum(axis=axes) ** (1.0 / n)


def _channel_mask(t: np.ndarray, dim: int, keep: np.ndarray) -> np.ndarray:
    shape = [1] * t.ndim
    shape[dim] = t.shape[dim]
    return np.broadcast_to(keep.reshape(shape), t.shape).astype(t.dtype)


# ---------------------------------------------------------------------- applying

def _pruning_hooks(module, name: str) -> list:
    return [(k, h) for k, h in module._forward_pre_hooks.items()
            if isinstance(h, BasePruningMethod) and h._tensor_name == name]


def _apply(method: BasePruningMethod, module, name: str, importance_scores, op: str):
    from ..module import Module

    if not isinstance(module, Module):
        raise TypeError(f"{op}: expected an nn.Module, got {type(module).__name__}")
    params = module._parameters
    pruned = params.get(name + "_orig") is not None and name + "_mask" in module._buffers
    if not pruned and params.get(name) is None:
        have = [n for n, p in params.items() if p is not None]
        raise ValueError(f"{op}: {type(module).__name__} has no parameter named {name!r} to "
                         f"prune (its parameters: {', '.join(have) or 'none'})")
    method._tensor_name = name
    old = _pruning_hooks(module, name)
    combined = method
    if old:
        key, old_method = old[0]
        combined = PruningContainer(*(old_method if isinstance(old_method, PruningContainer)
                                      else (old_method,)), method)
    orig = getattr(module, name)
    scores = orig if importance_scores is None else importance_scores
    if tuple(scores.shape) != tuple(orig.shape):
        raise ValueError(f"{op}: importance_scores should have the same shape as parameter "
                         f"{name!r}: got {tuple(scores.shape)}, expected {tuple(orig.shape)}")
    if pruned:
        default_mask = _host(module._buffers[name + "_mask"]).copy()
    else:
        default_mask = np.ones(tuple(orig.shape), dtype=_host(orig).dtype)
    # the mask first: a bad amount raises before the module changes
    mask = combined._mask(_host(scores), default_mask)
    if old:
        del module._forward_pre_hooks[key]
    if not pruned:
        del params[name]
        module.register_parameter(name + "_orig", orig)
    module.register_buffer(name + "_mask", _tensor(mask, dtype=orig.dtype, device=orig.device))
    setattr(module, name, combined.apply_mask(module))
    module.register_forward_pre_hook(combined)
    return combined


def identity(module, name: str):
    """Apply pruning that keeps everything (adds ``_orig``, ``_mask`` and the hook)."""
    return Identity.apply(module, name)


def random_unstructured(module, name: str, amount):
    """Prune ``amount`` (a fraction in [0, 1] or a count) random entries of ``module.<name>``."""
    return RandomUnstructured.apply(module, name, amount)


def l1_unstructured(module, name: str, amount, importance_scores=None):
    """Prune the ``amount`` entries (fraction or count) of smallest absolute value (or of
    smallest ``importance_scores``)."""
    return L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)


def random_structured(module, name: str, amount, dim: int):
    """Prune ``amount`` random channels along ``dim``."""
    return RandomStructured.apply(module, name, amount, dim)


def ln_structured(module, name: str, amount, n, dim: int, importance_scores=None):
    """Prune the ``amount`` channels along ``dim`` with the smallest L``n`` norm."""
    return LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)


def custom_from_mask(module, name: str, mask):
    """Prune where ``mask`` (same shape as ``module.<name>``) is 0."""
    return CustomFromMask.apply(module, name, mask)


def global_unstructured(parameters: Iterable, pruning_method=L1Unstructured,
                        importance_scores: dict | None = None, **kwargs) -> None:
    """Prune the (module, name) ``parameters`` together: ``pruning_method(**kwargs)`` (e.g.
    ``amount=0.2``) ranks all their entries at once, so layers lose different fractions."""
    if not isinstance(parameters, Iterable) or isinstance(parameters, (str, Tensor)):
        raise TypeError("global_unstructured(): parameters is not an Iterable of "
                        "(module, name) pairs")
    parameters = list(parameters)
    importance_scores = importance_scores or {}
    if not isinstance(pruning_method, type) or not issubclass(pruning_method,
                                                              BasePruningMethod):
        raise TypeError(f"global_unstructured: pruning_method must be a BasePruningMethod "
                        f"subclass, got {pruning_method!r}")
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f"Found method {pruning_method.__name__} of type "
                        f"{method.PRUNING_TYPE}")
    scores, masks = [], []
    for module, name in parameters:
        if module._parameters.get(name) is None and module._parameters.get(
                name + "_orig") is None:
            raise ValueError(f"global_unstructured: {type(module).__name__} has no parameter "
                             f"named {name!r}")
        value = getattr(module, name)
        scores.append(_host(importance_scores.get((module, name), value)).reshape(-1))
        mask = module._buffers.get(name + "_mask")
        masks.append(np.ones(value.numel()) if mask is None else _host(mask).reshape(-1))
    container = PruningContainer()
    container._tensor_name = method._tensor_name = "temp"
    container.add_pruning_method(method)
    scores_v = np.concatenate(scores).astype(np.float64)
    final = container._mask(scores_v, np.concatenate(masks).astype(np.float64))
    pointer = 0
    for module, name in parameters:
        shape = tuple(getattr(module, name).shape)
        n = math.prod(shape)
        custom_from_mask(module, name, final[pointer:pointer + n].reshape(shape))
        pointer += n


def remove(module, name: str):
    """Make the pruning of ``module.<name>`` permanent and drop ``_orig``, ``_mask`` and the
    hook; ``<name>`` is a Parameter again.  Returns the module."""
    for key, hook in _pruning_hooks(module, name):
        hook.remove(module)
        del module._forward_pre_hooks[key]
        return module
    raise ValueError(f"Parameter '{name}' of module {type(module).__name__} has to be pruned "
                     "before pruning can be removed")


def is_pruned(module) -> bool:
    """True when ``module`` or any sub-module has a pruned parameter."""
    return any(isinstance(h, BasePruningMethod) for m in module.modules()
               for h in m._forward_pre_hooks.values())
