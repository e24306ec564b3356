"""``RMSprop``: divide the gradient by a running root mean square of recent gradients."""
from __future__ import annotations

from collections.abc import Iterable

from ..kernels.scalar.optim import RMSpropArgs
from ._common import no_unsupported
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop, PyTorch's update rule exactly::

        g = -grad if maximize else grad;  g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        centered: gbar = gbar + (1 - alpha) * (g - gbar);  avg = sqrt(v - gbar^2) + eps
        else:     avg = sqrt(v) + eps
        momentum > 0: buf = momentum * buf + g / avg;  p = p - lr * buf
        else:         p = p - lr * g / avg
    """

    kernel = "rmsprop_step"

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        no_unsupported("RMSprop", capturable, differentiable)
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, capturable=False,
                        foreach=foreach, maximize=maximize, differentiable=False)
        super().__init__(params, defaults)

    def _validate(self, group) -> None:
        super()._validate(group)
        if not float(group["alpha"]) >= 0.0:
            raise ValueError(f"Invalid alpha value: {group['alpha']}")

    def _prepare(self, p, group, state):
        if not state:
            state["step"] = 0
            state["square_avg"] = self._zeros(p)
        momentum, centered = float(group["momentum"]), bool(group["centered"])
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = self._zeros(p)
        if centered and "grad_avg" not in state:
            state["grad_avg"] = self._zeros(p)
        state["step"] += 1
        h = RMSpropArgs(lr=float(group["lr"]), weight_decay=float(group["weight_decay"]),
                        alpha=float(group["alpha"]), eps=float(group["eps"]),
                        momentum=momentum, centered=centered,
                        maximize=bool(group["maximize"]))
        return (state["square_avg"], state["momentum_buffer"] if momentum > 0 else None,
                state["grad_avg"] if centered else None), h
