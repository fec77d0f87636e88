"""Calls fixtures: the reliability fixtures (SQLite and PostgreSQL URLs), shared here."""

from __future__ import annotations

from tests.reliability.conftest import _postgres_url, _sqlite_url

__all__ = ["_postgres_url", "_sqlite_url"]
