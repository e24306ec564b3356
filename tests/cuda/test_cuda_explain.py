"""jitnet.explain on a CUDA model: attributions come back on the model's device and match
the CPU's (the input may live on the CPU)."""
import numpy as np
from twins import rand

import jitnet as jn
from jitnet import explain


def test_attributions_on_cuda_match_cpu():
    jn.manual_seed(0)
    model = jn.nn.Sequential(jn.nn.Conv2d(1, 3, 3, padding=1), jn.nn.ReLU(), jn.nn.Flatten(),
                             jn.nn.Linear(3 * 4 * 4, 3)).eval()
    x = jn.tensor(rand(2, 1, 4, 4, seed=1))
    cpu = {"sal": explain.saliency(model, x, [0, 2]),
           "cam": explain.grad_cam(model, x, 1, model[0]),
           "ig": explain.integrated_gradients(model, x, 1, steps=4)}
    model.to("cuda")
    dev = {"sal": explain.saliency(model, x, [0, 2]),
           "cam": explain.grad_cam(model, x, 1, model[0]),
           "ig": explain.integrated_gradients(model, x, 1, steps=4)}
    for key, value in dev.items():
        assert value.device.type == "cuda", key
        np.testing.assert_allclose(value.cpu().numpy(), cpu[key].numpy(), rtol=1e-4,
                                   atol=1e-6)
