"""Summarise a pytest-benchmark JSON as ratio tables (markdown) and a bar chart (PNG).

    python bench/report.py bench/results/cpu.json --md bench/results/cpu.md \\
        --png bench/results/cpu.png

Each benchmark group holds one case run by several libraries (the ``lib``
parameter: jitnet, numpy, torch).  For every group the table shows each
library's median time and the ratios jitnet / NumPy and jitnet / PyTorch
(lower is better: 0.5 means jitnet takes half the time).  A benchmark may
declare a target in ``benchmark.extra_info``: ``target_torch`` / ``target_numpy``
(the highest acceptable ratio) or ``target_s`` (seconds, for absolute targets
like cold start); the table then says whether it is met.  A benchmark that
measures something other than time (peak memory) puts it in
``extra_info["value"]`` with ``extra_info["unit"]`` ("MB"); the table shows and
compares that value instead of the median time.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

LIBS = ("jitnet", "numpy", "torch")
REFS = (("numpy", "NumPy"), ("torch", "PyTorch"))
_LIB_IN_NAME = re.compile(r"[\[-](jitnet|numpy|torch)[\]-]")


def lib_of(bench: dict) -> str | None:
    """The library a benchmark ran: its ``lib`` parameter, else the id in its name."""
    lib = (bench.get("params") or {}).get("lib")
    if lib in LIBS:
        return lib
    m = _LIB_IN_NAME.search(bench.get("name", ""))
    return m.group(1) if m else None


def case_of(name: str) -> str:
    """A benchmark's name without its library: ``test_mm[256-torch]`` -> ``test_mm[256]``."""
    base, _, params = name.partition("[")
    rest = [p for p in params.rstrip("]").split("-") if p and p not in LIBS]
    return f"{base}[{'-'.join(rest)}]" if rest else base


def collect(data: dict) -> dict[str, dict]:
    """{group: {"median": {lib: seconds}, "targets": {...}}} in the order groups first appear."""
    groups: dict[str, dict] = {}
    for bench in data.get("benchmarks", []):
        lib = lib_of(bench)
        if lib is None:
            continue
        group = bench.get("group") or case_of(bench["name"])
        entry = groups.setdefault(group, {"median": {}, "targets": {}})
        extra = bench.get("extra_info") or {}
        if "value" in extra:  # a measured quantity (memory), not a time
            entry["median"][lib] = extra["value"]
            entry["unit"] = extra.get("unit", "")
        else:
            entry["median"][lib] = bench["stats"]["median"]
        for key, value in extra.items():
            if key.startswith("target_"):
                entry["targets"][key[len("target_"):]] = value
    return groups


def ratios(entry: dict) -> dict[str, float]:
    """jitnet's median divided by each reference library's median present in the group."""
    med = entry["median"]
    if "jitnet" not in med:
        return {}
    return {ref: med["jitnet"] / med[ref] for ref, _ in REFS if med.get(ref)}


def fmt_time(seconds: float | None) -> str:
    """A duration with a readable unit: ``12.3 us``, ``4.56 ms``, ``1.23 s``."""
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_value(value: float | None, unit: str) -> str:
    """A measured value with its unit: ``526 MB``."""
    return "-" if value is None else f"{value:.3g} {unit}".rstrip()


def _verdict(entry: dict, rat: dict[str, float]) -> str:
    """'met' / 'MISSED' against the declared targets, with the target itself."""
    parts = []
    for key, target in entry["targets"].items():
        if key == "s":
            value, label = entry["median"].get("jitnet"), f"<= {target:g} s"
        else:
            value, label = rat.get(key), f"<= {target:g}x {dict(REFS).get(key, key)}"
        if value is not None:
            parts.append(f"{'met' if value <= target else 'MISSED'} ({label})")
    return "; ".join(parts)


def markdown(groups: dict[str, dict]) -> str:
    """The ratio table as GitHub markdown, one row per group."""
    has_targets = any(e["targets"] for e in groups.values())
    head = ["case", "jitnet", "NumPy", "PyTorch", "jitnet / NumPy", "jitnet / PyTorch"]
    if has_targets:
        head.append("target")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * 5
                                                           + (["---"] if has_targets else []))
             + "|"]
    for group, entry in groups.items():
        rat = ratios(entry)
        unit = entry.get("unit")
        row = [group] + [fmt_time(entry["median"].get(lib)) if unit is None
                         else fmt_value(entry["median"].get(lib), unit) for lib in LIBS]
        row += [f"{rat[ref]:.2f}" if ref in rat else "-" for ref, _ in REFS]
        if has_targets:
            row.append(_verdict(entry, rat))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def machine_line(data: dict) -> str:
    """One markdown line naming what the numbers were measured on (pytest-benchmark's
    machine_info, plus the threads and BLAS library jitnet's conftest records)."""
    info = data.get("machine_info", {})
    cpu = info.get("cpu", {})
    parts = [cpu.get("brand_raw") or info.get("processor") or "unknown CPU"]
    if "jitnet_threads" in info:
        parts.append(f"{info['jitnet_threads']} threads")
    if "jitnet_blas" in info:
        parts.append(f"jitnet's BLAS: {info['jitnet_blas']}")
    return "Measured on: " + "; ".join(parts) + ".\n\n"


def bar_chart(groups: dict[str, dict], path: str | Path) -> None:
    """Horizontal bars of jitnet / NumPy and jitnet / PyTorch per group (log scale, 1 = parity)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [g for g, e in groups.items() if ratios(e)]
    height = 0.4
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(names) + 1.5))
    for i, (ref, label) in enumerate(REFS):
        ys = [n + (i - 0.5) * height for n in range(len(names))]
        vals = [ratios(groups[g]).get(ref, float("nan")) for g in names]
        ax.barh(ys, vals, height=height, label=f"jitnet / {label}")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("time ratio (median), lower is better; < 1: jitnet faster")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="output of pytest --benchmark-json")
    parser.add_argument("--md", help="write the markdown table here (default: print it)")
    parser.add_argument("--png", help="write the bar chart here")
    args = parser.parse_args(argv)
    data = json.loads(Path(args.json).read_text())
    groups = collect(data)
    table = machine_line(data) + markdown(groups)
    if args.md:
        Path(args.md).write_text(table)
    else:
        print(table, end="")
    if args.png:
        bar_chart(groups, args.png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
