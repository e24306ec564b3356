"""Op codes shared by the CPU and CUDA kernel families.

A family (unary maps, their gradients, row reductions) is one kernel whose
per-element expression is selected by one of these integers.  Numba treats
module-level ints as compile-time constants, and the op code is loop-invariant,
so the branch costs close to nothing; in exchange every family is compiled once
and cached on disk (closures made by a kernel factory cannot be cached).
"""

# unary maps: y = f(x; p0, p1), with gradient dx = g * f'(x)
NEG, ABS, EXP, LOG, SQRT, SIN, COS, TANH, SIGMOID, RELU = range(10)
LEAKY_RELU, GELU, POW, CLAMP, SIGN, SQUARE, RECIPROCAL = range(10, 17)
LOG1P, EXPM1, LOG2, LOG10, EXP2, RSQRT, FLOOR, CEIL, ROUND, TRUNC = range(17, 27)
FRAC, ERF, ERFINV, SOFTPLUS, MISH, SILU, HARDTANH, ELU = range(27, 35)

UNARY_NAMES = {
    "neg": NEG, "abs": ABS, "exp": EXP, "log": LOG, "sqrt": SQRT, "sin": SIN,
    "cos": COS, "tanh": TANH, "sigmoid": SIGMOID, "relu": RELU,
    "leaky_relu": LEAKY_RELU, "gelu": GELU, "pow": POW, "clamp": CLAMP,
    "sign": SIGN, "square": SQUARE, "reciprocal": RECIPROCAL,
    "log1p": LOG1P, "expm1": EXPM1, "log2": LOG2, "log10": LOG10, "exp2": EXP2,
    "rsqrt": RSQRT, "floor": FLOOR, "ceil": CEIL, "round": ROUND, "trunc": TRUNC,
    "frac": FRAC, "erf": ERF, "erfinv": ERFINV, "softplus": SOFTPLUS, "mish": MISH,
    "silu": SILU, "hardtanh": HARDTANH, "elu": ELU,
}
# ops whose result is floating point even for integer input
FLOAT_ONLY = {EXP, LOG, SQRT, SIN, COS, TANH, SIGMOID, GELU, RECIPROCAL, LOG1P, EXPM1, LOG2,
              LOG10, EXP2, RSQRT, ERF, ERFINV}

# row reductions
SUM, PROD, MAX, MIN, MEAN = range(5)
ARGMAX, ARGMIN = range(2)

# nn kernels (softmax.py, loss.py): row softmax family, class losses, pointwise losses
SOFTMAX, LOG_SOFTMAX = range(2)
NLL, CROSS_ENTROPY = range(2)
MSE, L1, SMOOTH_L1, HUBER, BCE, BCE_LOGITS = range(6)
REDUCE_NONE, REDUCE_MEAN, REDUCE_SUM = range(3)

# binary ops (the CUDA ``binary`` kernel; the CPU table maps the same names to NumPy ufuncs)
B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAXIMUM, B_MINIMUM, B_FLOOR_DIVIDE, B_REMAINDER = range(9)
B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE, B_AND, B_OR, B_XOR = range(9, 18)
B_FMOD, B_ATAN2, B_HYPOT, B_BITAND, B_BITOR, B_BITXOR = range(18, 24)

BINARY_NAMES = {
    "add": B_ADD, "sub": B_SUB, "mul": B_MUL, "div": B_DIV, "pow": B_POW,
    "maximum": B_MAXIMUM, "minimum": B_MINIMUM, "floor_divide": B_FLOOR_DIVIDE,
    "remainder": B_REMAINDER, "eq": B_EQ, "ne": B_NE, "lt": B_LT, "le": B_LE, "gt": B_GT,
    "ge": B_GE, "logical_and": B_AND, "logical_or": B_OR, "logical_xor": B_XOR,
    "fmod": B_FMOD, "atan2": B_ATAN2, "hypot": B_HYPOT, "bitwise_and": B_BITAND,
    "bitwise_or": B_BITOR, "bitwise_xor": B_BITXOR,
}
# binary ops whose result is bool
BOOL_RESULT = {B_EQ, B_NE, B_LT, B_LE, B_GT, B_GE, B_AND, B_OR, B_XOR}
