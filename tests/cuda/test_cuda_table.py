"""The CUDA kernel table mirrors the CPU table: the same names with the same parameters."""
import inspect

import jitnet.kernels.cpu as cpu
import jitnet.kernels.cuda as cuda_table


def _kernels(module):
    return {n: f for n, f in vars(module).items()
            if not n.startswith("_") and inspect.isfunction(f)}


def test_every_cpu_kernel_has_a_cuda_twin_with_the_same_signature():
    cpu_k, cuda_k = _kernels(cpu), _kernels(cuda_table)
    missing = sorted(set(cpu_k) - set(cuda_k))
    assert not missing, f"CPU kernels without a CUDA twin: {missing}"
    for name, fn in cpu_k.items():
        a = list(inspect.signature(fn).parameters)
        b = list(inspect.signature(cuda_k[name]).parameters)
        assert a == b, f"{name}: cpu{a} != cuda{b}"
    assert cuda_table.name == "cuda"
