"""Execute every teaching notebook in notebooks/, top to bottom, so they never rot.

One test per notebook, each in a fresh kernel with a per-cell timeout.  The
kernel is started from a kernelspec this module writes to a temporary folder,
pointing at ``sys.executable``: it does not depend on a ``python3`` kernelspec
being installed (a fresh CI machine may have none) nor on which interpreter an
installed one points to (a stale user kernelspec could name another venv).
The kernel's environment sets ``MPLBACKEND=Agg`` (no display) and keeps
Jupyter's and IPython's state in temporary folders.

Another test checks that the committed notebooks' cells match their sources in
``notebooks/_src`` and that they are committed executed (``python
notebooks/_build.py --execute`` regenerates them), within a size budget.
"""
from __future__ import annotations

import json
import runpy
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9]*.ipynb"))
CELL_TIMEOUT_S = 300  # generous: a cold Numba cache compiles kernels on first use

_runtimes: dict[str, float] = {}


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> Path:
    """A folder holding one kernelspec, ``python3``, that runs ipykernel in this interpreter."""
    kernels = tmp_path_factory.mktemp("kernels")
    spec = kernels / "python3"
    spec.mkdir()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (jitnet tests)",
        "language": "python",
    }))
    return kernels


@pytest.fixture(scope="module", autouse=True)
def report_runtimes(request):
    """Print each notebook's wall time at the end of the module (also with -q)."""
    yield
    if not _runtimes:
        return
    lines = [f"  {name:22s} {secs:6.1f} s" for name, secs in _runtimes.items()]
    lines.append(f"  {'total':22s} {sum(_runtimes.values()):6.1f} s")
    text = "\nnotebook runtimes:\n" + "\n".join(lines)
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():  # teardown output is captured otherwise
        reporter.write_line(text)


def test_notebooks_exist():
    names = [p.stem for p in NOTEBOOKS]
    assert names == ["01_tensors", "02_autograd", "03_kernels", "04_train_mlp",
                     "05_train_cnn", "06_benchmark", "07_sequences", "08_autoencoder",
                     "09_explain_and_compress"]


MAX_NOTEBOOK_BYTES = 400_000  # pictures included; _build.py --execute shrinks them
MAX_IMAGE_BYTES = 80_000


def test_notebooks_match_sources_and_are_committed_executed():
    build = runpy.run_path(str(NOTEBOOK_DIR / "_build.py"))
    targets, cells_of = build["targets"](), build["cells_of"]
    assert sorted(targets) == NOTEBOOKS
    for path, text in targets.items():
        committed = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        assert cells_of(committed) == cells_of(nbformat.reads(text, as_version=4)), (
            f"{path.name} is out of date: run python notebooks/_build.py --execute")
        assert path.stat().st_size < MAX_NOTEBOOK_BYTES, (path.name, path.stat().st_size)
        code = [c for c in committed.cells if c.cell_type == "code"]
        counts = [c.execution_count for c in code]
        assert counts == list(range(1, len(code) + 1)), (
            f"{path.name} is not committed executed top to bottom: run "
            "python notebooks/_build.py --execute")
        for cell in code:
            for output in cell.outputs:
                assert output.output_type != "error", (path.name, cell.id)
                png = output.get("data", {}).get("image/png", "")
                assert len(png) * 3 // 4 < MAX_IMAGE_BYTES, (path.name, cell.id, len(png))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    nb = nbformat.read(path, as_version=4)
    km = KernelManager(kernel_name="python3",
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    client = nbclient.NotebookClient(
        nb, km=km, timeout=CELL_TIMEOUT_S, allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:
        pytest.fail(f"{path.name}: a cell raised\n{err}", pytrace=False)
    finally:
        _runtimes[path.stem] = time.perf_counter() - start
