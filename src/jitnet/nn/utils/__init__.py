"""``jitnet.nn.utils``: gradient clipping (``clip_grad``), parameters as one vector
(``convert_parameters``) and pruning (``prune``), as ``torch.nn.utils``."""
from . import prune
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "prune",
           "vector_to_parameters"]
