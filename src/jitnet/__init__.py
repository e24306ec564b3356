"""jitnet: a deep-learning tensor engine whose kernels Numba compiles for CPU and CUDA.

>>> import jitnet as jn
>>> x = jn.tensor([[1., 2.], [3., 4.]], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
tensor([[2., 4.],
        [6., 8.]])
"""
from . import (
    accelerator,
    autograd,
    backends,
    data,
    distributed,
    metrics,
    nn,
    optim,
    return_types,
    training,
    utils,
    viz,
)
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .device import Device, cuda
from .device import Device as device
from .dtypes import DType, float32, float64, int32, int64, uint8
from .dtypes import bool_ as bool  # noqa: A001
from .dtypes import float32 as float  # noqa: A001
from .dtypes import float64 as double
from .dtypes import int32 as int  # noqa: A001
from .dtypes import int64 as long
from .io import load, save
from .legacy import (  # torch.FloatTensor & co.
    BoolTensor,
    ByteTensor,
    DoubleTensor,
    FloatTensor,
    IntTensor,
    LongTensor,
)
from .ops.einsum import einsum
from .ops.elementwise import (
    abs,
    add,
    clamp,
    cos,
    div,
    exp,
    log,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    reciprocal,
    relu,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sqrt,
    square,
    sub,
    tanh,
    where,
)
from .ops.elementwise import clamp as clip
from .ops.index import (
    argsort,
    gather,
    index_select,
    masked_fill,
    masked_select,
    scatter,
    scatter_add,
    sort,
    topk,
)
from .ops.logic import (
    all,
    any,
    count_nonzero,
    eq,
    ge,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
)
from .ops.matmul import bmm, dot, matmul, mm, mv, outer
from .ops.reduce import (
    amax,
    argmax,
    argmin,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    std,
    sum,
    var,
)
from .ops.repeat import flip, repeat_interleave, tile
from .ops.scan import cumsum
from .ops.shape import (
    cat,
    clone,
    concatenate,
    expand,
    flatten,
    permute,
    reshape,
    squeeze,
    stack,
    t,
    transpose,
    unsqueeze,
)
from .ops.softmax import log_softmax, softmax
from .ops.split import chunk, narrow, split, unbind
from .ops.triangle import tril, triu
from .random import Generator, get_rng_state, manual_seed, seed, set_rng_state
from .runtime import get_num_threads, set_num_threads
from .tensor import (
    Size,
    Tensor,
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_dlpack,  # zero-copy interop (with as_tensor): DLPack, CUDA array interface
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .training import evaluate, fit, predict

# issue 19 / 17 names (h-fix)
# isort: split
from .ops.distance import cdist
from .ops.index import index_add, take_along_dim
from .ops.reduce import amin
from .ops.scan import cumprod
from .ops.shape import moveaxis, movedim, select, swapaxes, swapdims

__version__ = "0.1.0"

# issue 16: compression (quantization; pruning is nn.utils.prune) and interpretability
from . import explain, quantization  # noqa: E402
from .dtypes import int8  # noqa: E402
from .dtypes import int8 as qint8  # noqa: E402


def numel(input: Tensor) -> int:
    """Number of elements of a tensor."""
    return input.numel()


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True when every element satisfies |input - other| <= atol + rtol * |other|."""
    import builtins as _builtins  # ``bool`` here is jitnet.bool, the dtype

    import numpy as _np

    return _builtins.bool(_np.allclose(input.detach().cpu().numpy(), other.detach().cpu().numpy(),
                             rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and elements."""
    import builtins as _builtins

    import numpy as _np

    return _builtins.bool(_np.array_equal(input.detach().cpu().numpy(),
                                          other.detach().cpu().numpy()))


# elementwise math, bitwise ops, rounding division (issues 17, 19): one block, kept apart to
# keep merges local
from .ops.activation import selu  # noqa: E402
from .ops.composite import addcdiv, addcmul, addmm, lerp  # noqa: E402
from .ops.elementwise import (  # noqa: E402
    atan2,
    ceil,
    erf,
    erfinv,
    exp2,
    expm1,
    floor,
    floor_divide,
    fmod,
    frac,
    hypot,
    log1p,
    log2,
    log10,
    remainder,
    round,
    true_divide,
    trunc,
)
from .ops.elementwise import atan2 as arctan2  # noqa: E402
from .ops.logic import bitwise_and, bitwise_not, bitwise_or, bitwise_xor  # noqa: E402

# issue 18: jitnet.profiler (torch.profiler's API; JITNET_LOG=kernels)
# isort: split
from . import profiler  # noqa: E402
