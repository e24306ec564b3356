"""``SGD``: stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from collections.abc import Iterable

from ..kernels.scalar.optim import SGDArgs
from ._common import no_unsupported
from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's update rule exactly::

        g = -grad if maximize else grad
        g = g + weight_decay * p                       (if weight_decay != 0)
        buf = g on the first step, else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf    (if momentum != 0)
        p = p - lr * g

    The whole update is one fused kernel per parameter (``sgd_step``).
    """

    kernel = "sgd_step"

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        no_unsupported("SGD", differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=False, fused=fused)
        super().__init__(params, defaults)

    def _validate(self, group) -> None:
        super()._validate(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _prepare(self, p, group, state):
        momentum = float(group["momentum"])
        first = False
        buf = None
        if momentum != 0.0:
            buf = state.get("momentum_buffer")
            if buf is None:  # the kernel sets buf = g on this step
                buf = state["momentum_buffer"] = self._zeros(p)
                first = True
        h = SGDArgs(lr=float(group["lr"]), weight_decay=float(group["weight_decay"]),
                    momentum=momentum, dampening=float(group["dampening"]),
                    nesterov=bool(group["nesterov"]), maximize=bool(group["maximize"]),
                    first=first)
        return (buf,), h
