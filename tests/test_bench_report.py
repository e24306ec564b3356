"""bench/report.py: pytest-benchmark JSON -> ratio table and chart (no benchmark is run)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "bench" / "report.py"
_spec = importlib.util.spec_from_file_location("bench_report", _PATH)
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)


def _bench(name, group, lib, median, params=True, **extra):
    return {
        "name": name, "group": group, "params": {"lib": lib} if params else None,
        "extra_info": extra, "stats": {"median": median, "min": median, "mean": median},
    }


FAKE = {"benchmarks": [
    _bench("test_matmul[256-jitnet]", "matmul 256", "jitnet", 2e-4),
    _bench("test_matmul[256-numpy]", "matmul 256", "numpy", 1e-4),
    _bench("test_matmul[256-torch]", "matmul 256", "torch", 4e-4),
    # no params: the library is read from the test id
    _bench("test_step[lenet-jitnet]", "lenet step", None, 3e-3, params=False, target_torch=1.0),
    _bench("test_step[lenet-torch]", "lenet step", None, 2e-3, params=False, target_torch=1.0),
    _bench("test_cold[jitnet]", "cold start", "jitnet", 2.5, target_s=3.0),
    _bench("test_unrelated", "other", None, 1.0, params=False),
]}


def test_collect_groups_by_library():
    groups = report.collect(FAKE)
    assert list(groups) == ["matmul 256", "lenet step", "cold start"]
    assert groups["matmul 256"]["median"] == {"jitnet": 2e-4, "numpy": 1e-4, "torch": 4e-4}
    assert groups["lenet step"]["targets"] == {"torch": 1.0}


def test_ratios_are_jitnet_over_reference():
    groups = report.collect(FAKE)
    assert report.ratios(groups["matmul 256"]) == pytest.approx({"numpy": 2.0, "torch": 0.5})
    assert report.ratios(groups["lenet step"]) == pytest.approx({"torch": 1.5})
    assert report.ratios(groups["cold start"]) == {}


def test_markdown_table_rows():
    table = report.markdown(report.collect(FAKE)).splitlines()
    assert table[0] == ("| case | jitnet | NumPy | PyTorch | jitnet / NumPy | jitnet / PyTorch "
                        "| target |")
    assert table[2] == "| matmul 256 | 200 us | 100 us | 400 us | 2.00 | 0.50 |  |"
    assert table[3] == "| lenet step | 3 ms | - | 2 ms | - | 1.50 | MISSED (<= 1x PyTorch) |"
    assert table[4] == "| cold start | 2.5 s | - | - | - | - | met (<= 3 s) |"
    assert len(table) == 5


def test_table_without_targets_has_no_target_column():
    table = report.markdown(report.collect({"benchmarks": FAKE["benchmarks"][:3]}))
    assert "target" not in table
    assert table.splitlines()[1] == "|---|---:|---:|---:|---:|---:|"


@pytest.mark.parametrize("seconds, text", [(2.5, "2.5 s"), (0.0123, "12.3 ms"),
                                           (4.56e-6, "4.56 us"), (5e-8, "50 ns"), (None, "-")])
def test_fmt_time(seconds, text):
    assert report.fmt_time(seconds) == text


def test_case_of_strips_the_library():
    assert report.case_of("test_mm[256-torch]") == "test_mm[256]"
    assert report.case_of("test_relu[jitnet]") == "test_relu"
    assert report.case_of("test_plain") == "test_plain"


def test_main_writes_markdown_and_png(tmp_path):
    pytest.importorskip("matplotlib")
    src = tmp_path / "out.json"
    src.write_text(json.dumps(FAKE))
    md, png = tmp_path / "cpu.md", tmp_path / "cpu.png"
    assert report.main([str(src), "--md", str(md), "--png", str(png)]) == 0
    assert md.read_text() == report.machine_line(FAKE) + report.markdown(report.collect(FAKE))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_machine_line_names_the_cpu_threads_and_blas():
    info = {"cpu": {"brand_raw": "Some CPU"}, "jitnet_threads": 2, "jitnet_blas": "mkl 1.0"}
    assert report.machine_line({"machine_info": info}) == \
        "Measured on: Some CPU; 2 threads; jitnet's BLAS: mkl 1.0.\n\n"
    assert report.machine_line({}) == "Measured on: unknown CPU.\n\n"


def test_a_measured_value_replaces_the_time():
    data = {"benchmarks": [
        _bench("test_rss[jitnet]", "peak RSS", "jitnet", 9.0, value=300.0, unit="MB",
               target_torch=1.25),
        _bench("test_rss[torch]", "peak RSS", "torch", 1.0, value=200.0, unit="MB",
               target_torch=1.25),
    ]}
    groups = report.collect(data)
    assert report.ratios(groups["peak RSS"]) == pytest.approx({"torch": 1.5})
    row = report.markdown(groups).splitlines()[2]
    assert row == ("| peak RSS | 300 MB | - | 200 MB | - | 1.50 | MISSED (<= 1.25x PyTorch) |")
