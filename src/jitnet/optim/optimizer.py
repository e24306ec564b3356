"""``Optimizer``: parameter groups, per-parameter state, ``step``, ``zero_grad``, state dicts.

Subclasses name their fused kernel (``kernel = "adam_step"``, a name in the
kernel table) and, per parameter, say which state arrays it updates and the
record of named hyper-parameters it gets (``_prepare``; the records are in
``kernels/scalar/optim.py``).  ``step`` then calls
``kernels.table(p.device).<kernel>`` once per parameter: the whole update of a
parameter is one kernel that modifies ``p._data`` and the state in place, never
a chain of Tensor ops.  Only the kernel of the optimizer in use compiles.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .. import kernels
from ..autograd import enable_grad
from ..tensor import Tensor


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, Tensor) and value.numel() == 1:
            return float(value.item())
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    return float(value)


class Optimizer:
    """Base class: ``Optimizer(params, defaults)``.

    ``params`` is an iterable of Tensors, or of dicts (parameter groups) each
    with a ``"params"`` list and any hyper-parameters overriding ``defaults``.
    ``param_groups[i]["lr"]`` (and every other hyper-parameter) can be edited
    between steps; the next ``step`` uses the new value.
    """

    kernel: str = ""
    """The kernel-table name of the fused update (``"sgd_step"``, ...)."""
    _scalar_state: tuple[str, ...] = ("step",)
    """Per-parameter state entries that are numbers, not arrays (PyTorch saves them as
    0-d tensors; ``load_state_dict`` turns those back into numbers)."""

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (defaults fill the rest)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        elif params is None:
            raise ValueError("param_group must have a 'params' entry")
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
            if not p.dtype.is_floating_point:
                raise TypeError(f"optimizer can only optimize floating point Tensors, got "
                                f"{p.dtype}")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        self._validate(group)
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in taken for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _validate(self, group: dict[str, Any]) -> None:
        """Raise ValueError for invalid hyper-parameters (each subclass checks its own)."""
        lr = _number(group["lr"], "lr")
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {group['lr']}")
        if "weight_decay" in group and not _number(group["weight_decay"],
                                                   "weight_decay") >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {group['weight_decay']}")
        if "eps" in group and not _number(group["eps"], "eps") >= 0.0:
            raise ValueError(f"Invalid epsilon value: {group['eps']}")
        if "momentum" in group and not _number(group["momentum"], "momentum") >= 0.0:
            raise ValueError(f"Invalid momentum value: {group['momentum']}")

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter: to None (default, as PyTorch) or zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad._k().setitem(p.grad._data, Ellipsis, 0)

    def _zeros(self, p: Tensor, value: float = 0.0) -> Tensor:
        return Tensor(p._k().full(tuple(p.shape), value, p._data.dtype), p.device)

    def _prepare(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]):
        """(states, h) for this parameter's kernel call: the state Tensors in the kernel's
        order (None for one an option switches off) and the hyper-parameter record.
        Creates the state on first use and advances its step."""
        raise NotImplementedError

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient, in place; returns ``closure()``'s value
        (the closure re-evaluates the loss with grad enabled) or None."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._validate(group)
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if grad._data.shape != p._data.shape or (grad.device is not p.device
                                                         and grad.device != p.device):
                    raise RuntimeError(f"{type(self).__name__}.step: gradient of shape "
                                       f"{tuple(grad.shape)} on {grad.device} does not match "
                                       f"parameter of shape {tuple(p.shape)} on {p.device}")
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {}
                step_kernel = getattr(kernels.table(p.device), self.kernel, None)
                if step_kernel is None:
                    raise kernels.missing(f"{type(self).__name__}.step ({self.kernel})",
                                          p.device)
                states, h = self._prepare(p, group, state)
                g = grad._data
                if g.dtype != p._data.dtype:
                    g = p._k().astype(g, p._data.dtype)
                step_kernel(p._data, g, *[None if s is None else s._data for s in states], h)
        return loss

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}`` with
        parameters numbered in group order, as PyTorch.  State tensors are shared, not copied
        (save them with ``jn.save``, or clone before further steps if you need a snapshot)."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and per-parameter state saved by ``state_dict``.

        The groups must match this optimizer's in number and sizes (ValueError
        otherwise); state tensors are copied to each parameter's device and
        dtype, and must match its shape.
        """
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict \
                or "state" not in state_dict:
            raise ValueError("load_state_dict: expected a dict with 'state' and 'param_groups' "
                             "(as returned by Optimizer.state_dict())")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than the optimizer "
                             f"({len(self.param_groups)})")
        for mine, saved in zip(self.param_groups, saved_groups):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group ({len(saved['params'])} "
                                 f"vs {len(mine['params'])} parameters)")
        id_map = {}
        for mine, saved in zip(self.param_groups, saved_groups):
            for idx, p in zip(saved["params"], mine["params"]):
                id_map[idx] = p
        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, pstate in state_dict["state"].items():
            idx = int(key)
            if idx not in id_map:
                raise ValueError(f"load_state_dict: state for parameter {idx} has no matching "
                                 "parameter in the optimizer's groups")
            p = id_map[idx]
            restored = {}
            for name, value in pstate.items():
                if isinstance(value, Tensor) and name not in self._scalar_state:
                    if tuple(value.shape) != tuple(p.shape):
                        raise ValueError(f"load_state_dict: state '{name}' of parameter {idx} "
                                         f"has shape {tuple(value.shape)}, but the parameter "
                                         f"has shape {tuple(p.shape)}")
                    t = value.detach().to(p.device)
                    t = t.to(p.dtype) if t.dtype is not p.dtype else t
                    value = Tensor(t._k().copy(t._data), p.device)
                elif isinstance(value, Tensor):  # a number saved as a tensor (PyTorch style)
                    value = int(value.item()) if name == "step" else float(value.item())
                restored[name] = value
            new_state[p] = restored
        self.state = new_state
        for mine, saved in zip(self.param_groups, saved_groups):
            for name, value in saved.items():
                if name != "params":
                    mine[name] = value

    # ------------------------------------------------------------------ printing
    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


class MomentOptimizer(Optimizer):
    """Base of the Adam family (Adam, AdamW, NAdam, RAdam, Adamax): ``betas`` checked, and a
    parameter's step count and its two moment buffers made on its first step."""

    second_moment = "exp_avg_sq"
    """The state name of the second buffer (Adamax keeps ``exp_inf``)."""

    def _validate(self, group) -> None:
        super()._validate(group)
        check_betas(group["betas"])

    def _moments(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]):
        """Advance the parameter's step; returns (step, beta1, beta2)."""
        if not state:
            state["step"] = 0
            state["exp_avg"] = self._zeros(p)
            state[self.second_moment] = self._zeros(p)
        state["step"] += 1
        beta1, beta2 = (float(b) for b in group["betas"])
        return state["step"], beta1, beta2


def check_betas(betas) -> None:
    """ValueError unless ``betas`` is a pair of numbers in [0, 1), as PyTorch's messages."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair of floats, got {betas!r}")
    check_beta(betas[0], 0)
    check_beta(betas[1], 1)


def check_beta(value, index: int) -> None:
    if not 0.0 <= _number(value, "beta") < 1.0:
        raise ValueError(f"Invalid beta parameter at index {index}: {value}")


def bias_corrections(beta1: float, beta2: float, step: int) -> tuple[float, float]:
    """(1 - beta1^t, sqrt(1 - beta2^t)) computed as PyTorch does (``** 0.5``)."""
    return 1 - beta1 ** step, (1 - beta2 ** step) ** 0.5

