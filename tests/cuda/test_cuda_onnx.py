"""jitnet.onnx.export of a model that lives on the CUDA device (simulator or GPU)."""
from __future__ import annotations

import numpy as np
import pytest

import jitnet as jn
from jitnet import nn

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def test_cuda_model_exports_and_matches():
    import jitnet.onnx

    jn.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3),
                      nn.Softmax(dim=1)).to("cuda")
    proto = jitnet.onnx.export(m, jn.randn(2, 1, 8, 8).to("cuda"), None,
                               dynamic_axes={"input": [0], "output": [0]})
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = jn.randn(3, 1, 8, 8)
    got = sess.run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, m(x.to("cuda")).detach().cpu().numpy(), rtol=1e-3,
                               atol=1e-4)
