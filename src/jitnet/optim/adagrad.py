"""``Adagrad``: per-element learning rates scaled by the sum of all past squared gradients."""
from __future__ import annotations

from collections.abc import Iterable

from ..kernels.scalar.optim import AdagradArgs
from ._common import no_unsupported
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad, PyTorch's update rule exactly (t counts this parameter's steps)::

        g = -grad if maximize else grad;  g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                     (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)
    """

    kernel = "adagrad_step"

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        no_unsupported("Adagrad", differentiable=differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        foreach=foreach, maximize=maximize, differentiable=False, fused=fused)
        super().__init__(params, defaults)

    def _validate(self, group) -> None:
        super()._validate(group)
        if not float(group["lr_decay"]) >= 0.0:
            raise ValueError(f"Invalid lr_decay value: {group['lr_decay']}")
        if not float(group["initial_accumulator_value"]) >= 0.0:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{group['initial_accumulator_value']}")

    def _prepare(self, p, group, state):
        if not state:
            state["step"] = 0
            state["sum"] = self._zeros(p, float(group["initial_accumulator_value"]))
        state["step"] += 1
        clr = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        h = AdagradArgs(clr=clr, weight_decay=float(group["weight_decay"]),
                        eps=float(group["eps"]), maximize=bool(group["maximize"]))
        return (state["sum"],), h
