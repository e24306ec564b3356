"""``jn.backends.cudnn``: cuDNN's flags, settable and without effect in jitnet.

Scripts set ``torch.backends.cudnn.benchmark = True`` or ``deterministic =
True``; jitnet accepts both.  Its kernels are its own (no cuDNN), deterministic
for a given input and device, and never autotuned, so the flags only record
what the program asked for.
"""

enabled: bool = True
benchmark: bool = False
deterministic: bool = False
allow_tf32: bool = True


def is_available() -> bool:
    """False: jitnet does not use cuDNN."""
    return False


def version() -> None:
    """None, as PyTorch returns without cuDNN."""
    return None
