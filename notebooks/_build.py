"""Build the teaching notebooks from their sources in ``notebooks/_src``.

Each notebook is written as a plain Python file in the "percent" format
(the one jupytext, VS Code and Spyder understand): a line ``# %%`` starts a
code cell, ``# %% [markdown]`` a markdown cell whose lines are comments.
Edit the ``.py`` file, then run::

    python notebooks/_build.py          # rewrite notebooks/*.ipynb
    python notebooks/_build.py --check  # exit 1 if an .ipynb is out of date

The notebooks are written without outputs and with deterministic cell ids,
so a rebuild of unchanged sources changes no byte and diffs stay readable.
``tests/test_notebooks.py`` checks that the .ipynb files match their sources
and executes every notebook.
"""
from __future__ import annotations

import sys
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


def targets() -> dict[Path, str]:
    """{notebook path: its text} for every source."""
    return {HERE / (src.stem + ".ipynb"): render(build(src))
            for src in sorted(SOURCES.glob("[0-9]*.py"))}


def main(argv: list[str]) -> int:
    stale = []
    for path, text in targets().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if "--check" in argv:
            stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(HERE.parent)}")
    if stale:
        print("out of date (run python notebooks/_build.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
