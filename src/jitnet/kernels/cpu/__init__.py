"""The CPU kernel table: NumPy arrays in, NumPy arrays out, compiled by Numba.

Every public name here has a twin of the same name and signature in
``jitnet.kernels.cuda``.
"""
from .array import (  # noqa: F401
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
from .attention import mha_bwd, mha_fwd  # noqa: F401
from .conv import (  # noqa: F401
    bias_add,
    col2im,
    conv2d_bwd,
    conv2d_fwd,
    gemm_to_nchw,
    im2col,
    nchw_to_gemm,
)
from .dropout import bernoulli_mask, mask_scale  # noqa: F401
from .elementwise import binary, unary, unary_bwd, where  # noqa: F401
from .interop import cuda_array_interface  # noqa: F401
from .loss import (  # noqa: F401
    class_loss_bwd,
    class_loss_fwd,
    pointwise_loss_bwd,
    pointwise_loss_fwd,
)
from .matmul import bmm  # noqa: F401
from .norm import (  # noqa: F401
    batch_norm_bwd,
    batch_norm_fwd,
    group_norm_bwd,
    group_norm_fwd,
)
from .optim import (  # noqa: F401
    adadelta_step,
    adagrad_step,
    adam_step,
    adamax_step,
    nadam_step,
    radam_step,
    rmsprop_step,
    sgd_step,
)
from .pool import avg_pool2d_bwd, avg_pool2d_fwd, max_pool2d_bwd, max_pool2d_fwd  # noqa: F401
from .quant import int8_linear, int8_matmul, quantize_rows  # noqa: F401
from .reduce import argreduce, reduce  # noqa: F401
from .rnn import (  # noqa: F401
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
from .scan import cumprod, cumprod_bwd, cumsum  # noqa: F401
from .softmax import (  # noqa: F401
    attn_softmax_bwd,
    attn_softmax_fwd,
    softmax_bwd,
    softmax_fwd,
)
from .upsample import resample_bwd, resample_fwd  # noqa: F401

name = "cpu"
