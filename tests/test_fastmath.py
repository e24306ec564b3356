"""kernels/cpu/fastmath.py: the vectorisable float32 exp against NumPy's."""
import numba
import numpy as np
import pytest

from jitnet.kernels.cpu.fastmath import exp_


@numba.njit
def _exp_all(a, out, fast):
    for i in range(a.shape[0]):
        out[i] = exp_(a[i], fast)


@pytest.mark.parametrize("fast", [True, False])
def test_exp_matches_numpy_over_the_float32_range(fast):
    # float32 data, what the fast path is for (it rounds its argument to float32 first)
    x = np.concatenate([np.linspace(-110.0, 90.0, 40001), [-1e-30, 1e-30],
                        [-np.inf, np.inf, np.nan, 0.0, -0.0, 88.72, 88.73]]).astype(np.float32)
    out = np.empty_like(x)
    _exp_all(x, out, fast)
    with np.errstate(over="ignore"):  # exp(88.73) is inf in float32
        ref = np.exp(x.astype(np.float64)).astype(np.float32)
        got = out.astype(np.float32)
    # float32 results: equal to the float32 rounding of exp within an ulp (subnormals too)
    np.testing.assert_array_max_ulp(got, ref, maxulp=1)
    assert np.isnan(out[-5]) and out[-6] == np.inf and out[-7] == 0.0
