"""``Adam`` and ``AdamW`` (Adam with decoupled weight decay), with optional AMSGrad."""
from __future__ import annotations

from collections.abc import Iterable

from ..kernels.scalar.optim import AdamArgs
from ._common import no_unsupported
from .optimizer import MomentOptimizer, bias_corrections


class Adam(MomentOptimizer):
    """Adam, PyTorch's update rule exactly (t counts this parameter's steps)::

        g = -grad if maximize else grad
        g = g + weight_decay * p                (Adam; AdamW instead p *= 1 - lr * wd)
        m = m + (1 - beta1) * (g - m)           (exp_avg.lerp_(g, 1 - beta1))
        v = beta2 * v + (1 - beta2) * g * g
        v_hat = max(v_hat, v) if amsgrad else v
        p = p - lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)

    One fused kernel per parameter updates p, m, v (and v_hat) in place.
    """

    kernel = "adam_step"
    decoupled = False

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        no_unsupported(type(self).__name__, capturable, differentiable)
        if decoupled_weight_decay:
            self.decoupled = True
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=False, differentiable=False, fused=fused,
                        decoupled_weight_decay=self.decoupled)
        super().__init__(params, defaults)

    def _prepare(self, p, group, state):
        step, beta1, beta2 = self._moments(p, group, state)
        amsgrad = bool(group["amsgrad"])
        if amsgrad and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = self._zeros(p)
        lr = float(group["lr"])
        bc1, bc2_sqrt = bias_corrections(beta1, beta2, step)
        h = AdamArgs(lr=lr, beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                     weight_decay=float(group["weight_decay"]), step_size=lr / bc1,
                     bc2_sqrt=bc2_sqrt, amsgrad=amsgrad, maximize=bool(group["maximize"]),
                     decoupled=self.decoupled)
        return (state["exp_avg"], state["exp_avg_sq"],
                state["max_exp_avg_sq"] if amsgrad else None), h


class AdamW(Adam):
    """Adam with decoupled weight decay (p *= 1 - lr * weight_decay before the Adam step);
    ``weight_decay`` defaults to 0.01, as PyTorch."""

    decoupled = True

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused)
