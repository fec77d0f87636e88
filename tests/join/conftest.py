"""Join fixtures: the reliability fixtures (SQLite and PostgreSQL URLs), shared here.

The browser comes from `tests/browser.py` (`browser_page`), shared with the bundle's tests.
"""

from __future__ import annotations

from tests.reliability.conftest import _postgres_url, _sqlite_url

__all__ = ["_postgres_url", "_sqlite_url"]
