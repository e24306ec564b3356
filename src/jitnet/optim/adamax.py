"""``Adamax``: Adam with the infinity norm of past gradients in place of their RMS."""
from __future__ import annotations

from collections.abc import Iterable

from ..kernels.scalar.optim import AdamaxArgs
from ._common import no_unsupported
from .optimizer import MomentOptimizer


class Adamax(MomentOptimizer):
    """Adamax, PyTorch's update rule exactly (t counts this parameter's steps)::

        g = -grad if maximize else grad;  g = g + weight_decay * p
        m = lerp(m, g, 1 - beta1)
        u = max(beta2 * u, |g| + eps)
        p = p - lr / (1 - beta1^t) * m / u

    State per parameter: ``step``, ``exp_avg``, ``exp_inf``.  Where PyTorch's
    ``torch.maximum`` propagates a NaN gradient into ``exp_inf``, jitnet's max
    may keep the old value.
    """

    kernel = "adamax_step"

    second_moment = "exp_inf"

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        no_unsupported("Adamax", capturable, differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=False,
                        capturable=False)
        super().__init__(params, defaults)

    def _prepare(self, p, group, state):
        step, beta1, beta2 = self._moments(p, group, state)
        h = AdamaxArgs(clr=float(group["lr"]) / (1 - beta1 ** step), beta1=beta1,
                       beta2=beta2, eps=float(group["eps"]),
                       weight_decay=float(group["weight_decay"]),
                       maximize=bool(group["maximize"]))
        return (state["exp_avg"], state["exp_inf"]), h
