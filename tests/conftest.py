"""Shared fixtures; helper functions live in helpers.py (``from helpers import ...``)."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
