"""Every name that docs/pytorch-compat.md lists as supported exists in jitnet.

The "Supported" table's rows are ``| `module` | topic | `name` `name` ... |``;
each module path is mapped to the jitnet object that plays it.  Where PyTorch
is installed, each name is also checked to exist in PyTorch (the table lists
PyTorch's API, not jitnet extras).
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "pytorch-compat.md"

JITNET = {
    "torch": "jitnet",
    "torch.cuda": "jitnet:cuda",
    "torch.accelerator": "jitnet.accelerator",
    "torch.backends.mps": "jitnet.backends.mps",
    "torch.backends.cudnn": "jitnet.backends.cudnn",
    "torch.autograd": "jitnet.autograd",
    "torch.return_types": "jitnet.return_types",
    "torch.Tensor": "jitnet:Tensor",
    "torch.nn": "jitnet.nn",
    "torch.nn.Module": "jitnet.nn:Module",
    "torch.nn.functional": "jitnet.nn.functional",
    "torch.nn.init": "jitnet.nn.init",
    "torch.nn.utils": "jitnet.nn.utils",
    "torch.nn.utils.prune": "jitnet.nn.utils.prune",
    "torch.ao.quantization": "jitnet.quantization",
    "torch.optim": "jitnet.optim",
    "torch.optim.Optimizer": "jitnet.optim:Optimizer",
    "torch.optim.lr_scheduler": "jitnet.optim.lr_scheduler",
    "torch.utils.data": "jitnet.utils.data",
    "torchvision.datasets": "jitnet.data.datasets",
    "torchvision.transforms": "jitnet.data.transforms",
    "torch.distributed": "jitnet.distributed",
    "torch.nn.parallel": "jitnet.nn.parallel",
    "torch.profiler": "jitnet.profiler",
}


def _resolve(spec: str):
    module, _, attr = spec.partition(":")
    obj = importlib.import_module(module)
    return getattr(obj, attr) if attr else obj


def supported_rows() -> list[tuple[str, list[str]]]:
    text = DOC.read_text()
    section = text.split("## Supported", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows.append((cells[0].strip("`"), re.findall(r"`([^`]+)`", cells[2])))
    return rows


ROWS = supported_rows()


def test_the_table_was_found():
    assert len(ROWS) >= 20 and all(module in JITNET for module, _ in ROWS)


@pytest.mark.parametrize("module,names", ROWS, ids=[f"{m}-{i}" for i, (m, _) in enumerate(ROWS)])
def test_supported_names_exist_in_jitnet(module, names):
    obj = _resolve(JITNET[module])
    missing = [n for n in names if not hasattr(obj, n)]
    assert not missing, f"docs/pytorch-compat.md lists {missing} under {module}"


def test_supported_names_are_pytorch_names():
    pytest.importorskip("torch")
    skip_vision = importlib.util.find_spec("torchvision") is None
    wrong = []
    for module, names in ROWS:
        if module.startswith("torchvision") and skip_vision:
            continue
        try:
            obj = importlib.import_module(module)
        except ImportError:  # torch.Tensor, torch.nn.Module, ...: a class in a module
            parent, _, attr = module.rpartition(".")
            obj = getattr(importlib.import_module(parent), attr)
        wrong += [f"{module}.{n}" for n in names if not hasattr(obj, n)]
    assert not wrong, f"not PyTorch names: {wrong}"
