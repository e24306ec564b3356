"""The fuzz profiles: fast by default (in every pytest run), ``--long`` for the long one.

``python -m pytest tests/fuzz --long`` (or ``JITNET_FUZZ_LONG=1``) raises every
fuzz test's ``max_examples`` (fuzz_common.LONG_EXAMPLES); at the end of the
session a summary reports how many cases each op family ran (and how many it
skipped as known elementwise bugs, see fuzz_common.KNOWN_ELEMENTWISE).
The fuzzer compares against PyTorch: without it the directory is skipped.
"""
from __future__ import annotations

import importlib.util
import os

HAS_TORCH = importlib.util.find_spec("torch") is not None
collect_ignore_glob = [] if HAS_TORCH else ["test_*.py"]


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true", default=False,
                     help="run the long fuzz profile (tests/fuzz)")


def pytest_configure(config):
    try:
        long = config.getoption("--long")
    except ValueError:  # this conftest was not an initial one: the option is unknown
        long = False
    if HAS_TORCH and (long or os.environ.get("JITNET_FUZZ_LONG") == "1"):
        import fuzz_common

        fuzz_common.set_profile("long")


def pytest_terminal_summary(terminalreporter):
    if not HAS_TORCH:
        return
    import fuzz_common

    lines = fuzz_common.summary()
    if lines:
        terminalreporter.section(
            f"jitnet fuzz ({fuzz_common.profile_name()} profile): cases per family")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_runtest_teardown(item):
    """With ``JITNET_FUZZ_REPORT=path``, rewrite the case counts there after every test, so a
    long run cut short still says how far it got."""
    path = os.environ.get("JITNET_FUZZ_REPORT")
    if HAS_TORCH and path:
        import fuzz_common

        with open(path, "w") as f:
            f.write("\n".join(fuzz_common.summary()) + "\n")
