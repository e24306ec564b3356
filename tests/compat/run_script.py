"""Run an unmodified PyTorch script on jitnet, or on PyTorch itself.

    python tests/compat/run_script.py jitnet SCRIPT.py [script args ...]
    python tests/compat/run_script.py torch  SCRIPT.py [script args ...]

``jitnet``: before the script runs, ``torch``, ``torch.nn``, ... and
``torchvision``, ``torchvision.datasets``, ``torchvision.transforms`` are put in
``sys.modules`` as aliases of jitnet's own modules, so the script's imports
(``import torch``, ``from torch.utils.data import DataLoader`` ...) bind to
jitnet without a character of the script changing.

``torch``: the script runs on PyTorch.  torchvision is not installed here, so
when it is missing ``torchvision_standin/`` (a few lines of torchvision on
PyTorch) goes on ``sys.path`` first.
"""
from __future__ import annotations

import importlib
import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# PyTorch / torchvision module name -> the jitnet module that plays it
JITNET_ALIASES = {
    "torch": "jitnet",
    "torch.nn": "jitnet.nn",
    "torch.nn.functional": "jitnet.nn.functional",
    "torch.nn.init": "jitnet.nn.init",
    "torch.optim": "jitnet.optim",
    "torch.optim.lr_scheduler": "jitnet.optim.lr_scheduler",
    "torch.utils": "jitnet.utils",
    "torch.utils.data": "jitnet.utils.data",
    "torch.accelerator": "jitnet.accelerator",
    "torch.autograd": "jitnet.autograd",
    "torch.backends": "jitnet.backends",
    "torch.backends.cudnn": "jitnet.backends.cudnn",
    "torch.backends.mps": "jitnet.backends.mps",
    # torchvision's datasets and transforms live in jitnet.data
    "torchvision": "jitnet.data",
    "torchvision.datasets": "jitnet.data.datasets",
    "torchvision.transforms": "jitnet.data.transforms",
}


def alias_torch_to_jitnet() -> None:
    """Make ``import torch`` (and friends) import jitnet."""
    for alias, real in JITNET_ALIASES.items():
        sys.modules[alias] = importlib.import_module(real)


def use_torchvision_standin() -> None:
    if importlib.util.find_spec("torchvision") is None:
        sys.path.insert(0, os.path.join(HERE, "torchvision_standin"))


def main(argv: list[str]) -> None:
    backend, script, *args = argv
    if backend == "jitnet":
        alias_torch_to_jitnet()
    elif backend == "torch":
        use_torchvision_standin()
    else:
        raise SystemExit(f"backend must be 'jitnet' or 'torch', got {backend!r}")
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
