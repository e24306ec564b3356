"""``jn.backends``: the ``torch.backends`` flags programs query or set.

jitnet has neither Apple's MPS nor cuDNN: ``backends.mps.is_available()`` is
False and ``backends.cudnn``'s flags are plain settable attributes that change
nothing (jitnet's kernels are deterministic and never autotuned).
"""
from . import cudnn, mps

__all__ = ["cudnn", "mps"]
