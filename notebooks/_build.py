"""Build the teaching notebooks from their sources in ``notebooks/_src``.

Each notebook is written as a plain Python file in the "percent" format
(the one jupytext, VS Code and Spyder understand): a line ``# %%`` starts a
code cell, ``# %% [markdown]`` a markdown cell whose lines are comments.
Edit the ``.py`` file, then run::

    python notebooks/_build.py            # rewrite notebooks/*.ipynb, without outputs
    python notebooks/_build.py --execute  # the same, executed: outputs and pictures kept
    python notebooks/_build.py --check    # exit 1 if an .ipynb's cells differ from its source

The committed notebooks are the executed ones, so a reader on the repository
page sees the pictures; images are shrunk (at most 640 px wide, 8-bit
palette) to keep the files small.  Cell ids are deterministic, so a rebuild
of unchanged sources changes only outputs.  ``tests/test_notebooks.py``
checks that the .ipynb cells match their sources and executes every notebook.
"""
from __future__ import annotations

import base64
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "_src"

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def parse(text: str) -> list[tuple[str, str]]:
    """Split a percent-format source into (kind, source) cells, kind 'code' or 'markdown'."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %%"):
            kind = "markdown" if "[markdown]" in line else "code"
            cells.append((kind, []))
        elif cells:
            kind, body = cells[-1]
            if kind == "markdown":
                if line.strip() and not line.startswith("#"):
                    raise ValueError(f"markdown cell line does not start with '#': {line!r}")
                line = line[2:] if line.startswith("# ") else line[1:]
            body.append(line)
        elif line.strip() and not line.startswith(("#", '"""')):
            raise ValueError(f"code before the first '# %%' marker: {line!r}")
    return [(kind, "\n".join(body).strip("\n")) for kind, body in cells]


def build(source: Path) -> nbformat.NotebookNode:
    """The notebook for one percent-format source file."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC),
                   "language_info": {"name": "python"}}
    for i, (kind, text) in enumerate(parse(source.read_text(encoding="utf-8"))):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cell = make(text)
        cell.id = f"{source.stem[:48]}-{i:03d}"  # stable ids: rebuilds do not churn
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def cells_of(nb: nbformat.NotebookNode) -> list[tuple[str, str, str]]:
    """(id, kind, source) per cell: what must match the source file, outputs aside."""
    return [(c.get("id", ""), c.cell_type, c.source) for c in nb.cells]


MAX_IMAGE_WIDTH = 640


def shrink_png(data: str) -> str:
    """A base64 PNG made at most MAX_IMAGE_WIDTH wide and 8-bit palette (Pillow)."""
    from PIL import Image

    img = Image.open(io.BytesIO(base64.b64decode(data)))
    if img.width > MAX_IMAGE_WIDTH:
        height = round(img.height * MAX_IMAGE_WIDTH / img.width)
        img = img.resize((MAX_IMAGE_WIDTH, height), Image.LANCZOS)
    img = img.convert("RGB").quantize(colors=128)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run ``nb`` top to bottom in a fresh kernel of this interpreter; shrink its images."""
    import nbclient
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "python3"  # this interpreter, whatever kernels are installed
        spec.mkdir()
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3", "language": "python"}))
        env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # inline figures
        km = KernelManager(kernel_name="python3",
                           kernel_spec_manager=KernelSpecManager(kernel_dirs=[tmp]))
        client = nbclient.NotebookClient(nb, km=km, timeout=600, allow_errors=False,
                                         resources={"metadata": {"path": str(HERE)}})
        client.execute(env=env)
    root = str(HERE.parent) + os.sep  # the builder's checkout: printed paths become relative
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timestamps would churn every rebuild
        for output in cell.get("outputs", []):
            if "text" in output:
                output.text = output.text.replace(root, "")
            data = output.get("data", {})
            if "text/plain" in data:
                data["text/plain"] = data["text/plain"].replace(root, "")
            if "image/png" in data:
                data["image/png"] = shrink_png(data["image/png"])
    return nb


def targets() -> dict[Path, str]:
    """{notebook path: its text} for every source."""
    return {HERE / (src.stem + ".ipynb"): render(build(src))
            for src in sorted(SOURCES.glob("[0-9]*.py"))}


def main(argv: list[str]) -> int:
    stale = []
    for path, text in targets().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if "--check" in argv:
            if current is None or cells_of(nbformat.reads(current, as_version=4)) != \
                    cells_of(nbformat.reads(text, as_version=4)):
                stale.append(path.name)
            continue
        if "--execute" in argv:
            print(f"executing {path.name} ...", flush=True)
            text = render(execute(nbformat.reads(text, as_version=4)))
        if current != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent)} ({len(text) // 1024} KiB)")
    if stale:
        print("out of date (run python notebooks/_build.py --execute):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
