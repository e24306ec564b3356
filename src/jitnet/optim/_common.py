"""Argument handling shared by the optimizers."""
from __future__ import annotations


def no_unsupported(name: str, capturable: bool = False, differentiable: bool = False) -> None:
    """PyTorch options jitnet does not implement raise NotImplementedError naming them.

    ``foreach`` and ``fused`` are accepted and change nothing: every jitnet
    update is already one fused kernel per parameter.
    """
    if capturable:
        raise NotImplementedError(f"{name}: capturable=True is not supported by jitnet")
    if differentiable:
        raise NotImplementedError(f"{name}: differentiable=True is not supported by jitnet")
