"""Shared fixtures for the reference tests."""

import os

import numpy as np
import pytest

from introdl.library import OWN_LIBRARY_VARIABLE

# The gradient helpers assert with messages; let pytest show the compared values too.
pytest.register_assert_rewrite("helpers")


@pytest.fixture
def rng():
    """A fresh, fixed-seed generator for each test: results never depend on test order."""
    return np.random.default_rng(20240601)


@pytest.fixture(autouse=True, scope="session")
def _empty_own_library(tmp_path_factory):
    """An empty own library for the whole run (kernels inherit it): a function someone kept on
    this machine (``introdl.library.keep``) must not change what the package's machinery runs."""
    previous = os.environ.get(OWN_LIBRARY_VARIABLE)
    os.environ[OWN_LIBRARY_VARIABLE] = str(tmp_path_factory.mktemp("own_library"))
    yield
    if previous is None:
        os.environ.pop(OWN_LIBRARY_VARIABLE, None)
    else:
        os.environ[OWN_LIBRARY_VARIABLE] = previous
