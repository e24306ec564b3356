"""``RAdam``: Adam with the variance of its adaptive step rectified (Liu et al., 2019)."""
from __future__ import annotations

from collections.abc import Iterable

from ..kernels.scalar.optim import RAdamArgs
from ._common import no_unsupported
from .optimizer import MomentOptimizer


class RAdam(MomentOptimizer):
    """RAdam, PyTorch's update rule exactly (t counts this parameter's steps)::

        g = -grad if maximize else grad
        g = g + weight_decay * p             (or p *= 1 - lr * wd with decoupled_weight_decay)
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        rho_t > 5:  p = p - m / (1 - beta1^t) * lr * sqrt(1 - beta2^t) / (sqrt(v) + eps) * r_t
        else:       p = p - m / (1 - beta1^t) * lr

    with r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)).
    State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    kernel = "radam_step"

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        no_unsupported("RAdam", capturable, differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=False, differentiable=False)
        super().__init__(params, defaults)

    def _prepare(self, p, group, state):
        step, beta1, beta2 = self._moments(p, group, state)
        bc1, bc2 = 1 - beta1 ** step, 1 - beta2 ** step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bc2
        rectify = rho_t > 5.0
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5 if rectify else 1.0
        h = RAdamArgs(lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                      weight_decay=float(group["weight_decay"]), bc1=bc1, bc2_sqrt=bc2 ** 0.5,
                      rect=rect, rectify=rectify, maximize=bool(group["maximize"]),
                      decoupled=bool(group["decoupled_weight_decay"]))
        return (state["exp_avg"], state["exp_avg_sq"]), h
