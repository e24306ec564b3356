"""Zero-copy exchange with other libraries: the CUDA array interface has no CPU meaning.

CPU tensors cross by DLPack (NumPy's ``__dlpack__``, see ``Tensor.__dlpack__``);
this twin of the CUDA table's function only says so.
"""
from __future__ import annotations


def cuda_array_interface(x) -> dict:
    """CPU arrays have no ``__cuda_array_interface__``: AttributeError (so ``hasattr`` is
    False, as for PyTorch's CPU tensors)."""
    raise AttributeError("a CPU tensor has no __cuda_array_interface__ (use __dlpack__, "
                         "np.from_dlpack or .numpy())")

