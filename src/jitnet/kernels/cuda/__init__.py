"""The CUDA kernel table: Numba device arrays in, device arrays out, kernels by ``@cuda.jit``.

Every public name here has a twin of the same name and signature in
``jitnet.kernels.cpu``; a reader diffs ``cpu/<family>.py`` and
``cuda/<family>.py`` side by side.  Data stays on the GPU: only
``from_host`` / ``to_host`` (``.to()``, ``.numpy()``, ``.item()``, printing)
cross the bus.  A kernel the CPU table has and this one does not yet raises
a RuntimeError naming the op (never a silent round trip through the host).

Imported on first use of a CUDA device (``kernels.table``), so ``import
jitnet`` never imports ``numba.cuda``.
"""
from .array import (
    argsort,
    astype,
    binary_,
    broadcast_to,
    concat,
    contiguous,
    copy,
    empty,
    from_host,
    full,
    getitem,
    index_add,
    permute,
    put_along,
    put_along_add,
    reshape,
    setitem,
    stack,
    take_along,
    to_host,
    view,
)
from .attention import mha_bwd, mha_fwd
from .conv import (
    bias_add,
    col2im,
    conv2d_bwd,
    conv2d_fwd,
    gemm_to_nchw,
    im2col,
    nchw_to_gemm,
)
from .dropout import bernoulli_mask, mask_scale
from .elementwise import binary, unary, unary_bwd, where
from .interop import cuda_array_interface, from_cuda_array_interface
from .loss import class_loss_bwd, class_loss_fwd, pointwise_loss_bwd, pointwise_loss_fwd
from .matmul import bmm
from .norm import batch_norm_bwd, batch_norm_fwd, group_norm_bwd, group_norm_fwd
from .optim import (
    adadelta_step,
    adagrad_step,
    adam_step,
    adamax_step,
    nadam_step,
    radam_step,
    rmsprop_step,
    sgd_step,
)
from .pool import avg_pool2d_bwd, avg_pool2d_fwd, max_pool2d_bwd, max_pool2d_fwd
from .quant import int8_linear, int8_matmul, quantize_rows
from .reduce import argreduce, reduce
from .rnn import (
    gru_cell_bwd,
    gru_cell_fwd,
    gru_seq_bwd,
    gru_seq_fwd,
    lstm_cell_bwd,
    lstm_cell_fwd,
    lstm_seq_bwd,
    lstm_seq_fwd,
    rnn_cell_bwd,
    rnn_cell_fwd,
    rnn_seq_bwd,
    rnn_seq_fwd,
    step_matmul,
)
from .scan import cumprod, cumprod_bwd, cumsum
from .softmax import attn_softmax_bwd, attn_softmax_fwd, softmax_bwd, softmax_fwd
from .upsample import resample_bwd, resample_fwd

name = "cuda"


def __getattr__(attr: str):
    """A kernel only the CPU table has: a function that raises, naming the op."""
    from .. import cpu

    if not attr.startswith("_") and callable(getattr(cpu, attr, None)):
        def missing(*args, **kwargs):
            from ...device import Device
            from .. import missing as make_error

            raise make_error(attr, Device("cuda"))

        missing.__name__ = attr
        return missing
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
