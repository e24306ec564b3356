"""jitnet.utils: ``jitnet.utils.data`` mirrors ``torch.utils.data`` (same objects as
``jitnet.data``)."""
from . import data

__all__ = ["data"]
