"""The program ``bench_coldstart.py`` times: import a library, build LeNet-5, one Adam step.

    python bench/coldstart_child.py jitnet|torch

It imports only numpy, ``models`` and the library under test (not pytest, not
``conftest``, which imports PyTorch), prints ``END <time.time()>`` once the step
is done, and exits without interpreter teardown.
"""
from __future__ import annotations

import os
import sys
import time


def load(lib: str):
    """Import the library under test (with its nn and optim) and return its module."""
    if lib == "torch":
        import torch as mod
        import torch.nn
        import torch.optim  # noqa: F401
    else:
        import jitnet as mod
        import jitnet.nn
        import jitnet.optim  # noqa: F401
    return mod


def first_step(mod, mark=lambda phase: None) -> None:
    """Build LeNet-5 and run one Adam step on a 64-image batch, calling ``mark("forward")``
    and ``mark("backward")`` after those phases (``compile_profile.py`` times them)."""
    import numpy as np
    from models import lenet5

    rng = np.random.default_rng(0)
    x = mod.tensor(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
    y = mod.tensor(rng.integers(0, 10, 64))
    model = lenet5(mod.nn)
    opt = mod.optim.Adam(model.parameters(), lr=1e-3)
    loss = mod.nn.functional.cross_entropy(model(x), y)
    mark("forward")
    loss.backward()
    mark("backward")
    opt.step()
    opt.zero_grad()
    loss.item()


def main(lib: str) -> None:
    """The timed program: import, build LeNet-5, one training step, print the end time."""
    first_step(load(lib))
    print(f"END {time.time():.6f}", flush=True)
    os._exit(0)  # the step is done: skip interpreter teardown, which the parent would time


if __name__ == "__main__":
    main(sys.argv[1])
