"""``Adadelta``: step sizes from running averages of squared gradients and squared updates."""
from __future__ import annotations

from collections.abc import Iterable

from ..kernels.scalar.optim import AdadeltaArgs
from ._common import no_unsupported
from .optimizer import Optimizer


class Adadelta(Optimizer):
    """Adadelta, PyTorch's update rule exactly::

        g = -grad if maximize else grad;  g = g + weight_decay * p
        v = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta
    """

    kernel = "adadelta_step"

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        no_unsupported("Adadelta", capturable, differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        capturable=False, maximize=maximize, differentiable=False)
        super().__init__(params, defaults)

    def _validate(self, group) -> None:
        super()._validate(group)
        if not 0.0 <= float(group["rho"]) <= 1.0:
            raise ValueError(f"Invalid rho value: {group['rho']}")

    def _prepare(self, p, group, state):
        if not state:
            state["step"] = 0
            state["square_avg"] = self._zeros(p)
            state["acc_delta"] = self._zeros(p)
        state["step"] += 1
        h = AdadeltaArgs(lr=float(group["lr"]), weight_decay=float(group["weight_decay"]),
                         rho=float(group["rho"]), eps=float(group["eps"]),
                         maximize=bool(group["maximize"]))
        return (state["square_avg"], state["acc_delta"]), h
