"""``NAdam``: Adam with Nesterov momentum and a decaying momentum schedule (Dozat, 2016)."""
from __future__ import annotations

from collections.abc import Iterable

from ..kernels.scalar.optim import NAdamArgs
from ._common import no_unsupported
from .optimizer import MomentOptimizer


class NAdam(MomentOptimizer):
    """NAdam, PyTorch's update rule exactly (t counts this parameter's steps)::

        g = -grad if maximize else grad
        g = g + weight_decay * p             (or p *= 1 - lr * wd with decoupled_weight_decay)
        mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay));  mu_product *= mu_t
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        d = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr * (1 - mu_t) / (1 - mu_product) * g / d
              - lr * mu_{t+1} / (1 - mu_product * mu_{t+1}) * m / d

    State per parameter: ``step``, ``mu_product`` (a float here, a 0-d tensor in
    PyTorch), ``exp_avg``, ``exp_avg_sq``.  PyTorch keeps ``mu_product`` in
    float32 unless the default dtype is float64; jitnet always in float64.
    """

    kernel = "nadam_step"
    _scalar_state = ("step", "mu_product")

    def __init__(self, params: Iterable, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        no_unsupported("NAdam", capturable, differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=False, differentiable=False)
        super().__init__(params, defaults)

    def _validate(self, group) -> None:
        super()._validate(group)
        if not float(group["momentum_decay"]) >= 0.0:
            raise ValueError(f"Invalid momentum_decay value: {group['momentum_decay']}")

    def _prepare(self, p, group, state):
        step, beta1, beta2 = self._moments(p, group, state)
        state.setdefault("mu_product", 1.0)
        decay = float(group["momentum_decay"])
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * decay)))
        state["mu_product"] = mu_product = float(state["mu_product"]) * mu
        h = NAdamArgs(lr=float(group["lr"]), beta1=beta1, beta2=beta2, eps=float(group["eps"]),
                      weight_decay=float(group["weight_decay"]), bc2=1 - beta2 ** step,
                      mu=mu, mu_next=mu_next, mu_product=mu_product,
                      mu_product_next=mu_product * mu_next,
                      maximize=bool(group["maximize"]),
                      decoupled=bool(group["decoupled_weight_decay"]))
        return (state["exp_avg"], state["exp_avg_sq"]), h
