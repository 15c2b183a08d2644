"""Shared fixtures for the reference tests."""

import numpy as np
import pytest

# The gradient helpers assert with messages; let pytest show the compared values too.
pytest.register_assert_rewrite("helpers")


@pytest.fixture
def rng():
    """A fresh, fixed-seed generator for each test: results never depend on test order."""
    return np.random.default_rng(20240601)
