"""jitnet.profiler on the CUDA table: rows name the cuda kernels and their device."""
from __future__ import annotations

import jitnet as jn


def test_profile_names_cuda_kernels_and_their_device():
    x = jn.ones(4, 3, device="cuda", requires_grad=True)
    (x * 2).relu().sum().backward()  # load the kernels first
    with jn.profiler.profile() as prof:
        (x * 2).relu().sum().backward()
    rows = {r.key: r for r in prof.key_averages()}
    assert rows["Relu"].device == "cuda" and rows["ReluBackward"].device == "cuda"
    unary = rows["cuda::elementwise.unary"]
    assert unary.device == "cuda" and unary.count == 1
    assert unary.source.startswith("jitnet/kernels/cuda/elementwise.py:")
    relu = next(e for e in prof.events() if e.name == "Relu")
    assert [c.name for c in relu.cpu_children] == ["cuda::elementwise.unary"]
    assert jn.kernels.table(x.device).__class__.__name__ != "_TableView"
