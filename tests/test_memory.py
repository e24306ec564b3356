"""kernels/cpu/array.keep_freed_memory: glibc malloc tuning done once at import."""
import platform
import sys

import numpy as np
import pytest

from jitnet.kernels.cpu import array


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="glibc only")
def test_keep_freed_memory_applies_on_linux():
    assert array.keep_freed_memory() is True
    big = np.ones(1 << 20, np.float32)  # 4 MiB: allocated and freed as usual afterwards
    assert big.sum() == 1 << 20


def test_keep_freed_memory_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("JITNET_KEEP_FREED_MEMORY", "0")
    assert array.keep_freed_memory() is False
