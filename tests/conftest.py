"""Fixtures shared by every test package: where the test data lives.

Every file a test reads is kept inside the repository (``tests/data``), copied from the reference
material beside the project, so that a lone ``git clone`` passes ``make test``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# The headless-browser fixtures (browser, browser_page) for the join page's tests.
pytest_plugins = ["tests.browser"]

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(name="data", scope="session")
def _data() -> Path:
    return DATA
