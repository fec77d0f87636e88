"""Fixtures shared by every test package: where the shared specs live."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(name="shared", scope="session")
def _shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"the shared folder is missing at {SHARED} (it sits beside the checkout)")
    return SHARED
