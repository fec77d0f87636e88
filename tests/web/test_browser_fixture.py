"""tests/browser.py: without the browser, a skip that says how to get it; under CI, a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import chromium_or_skip


def test_a_missing_browser_skips_saying_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"missing; `make chromium` installs it"):
        chromium_or_skip(tmp_path / "chromium")


def test_a_missing_browser_fails_under_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI=true but the browser tests cannot run"):
        chromium_or_skip(tmp_path / "chromium")


def test_a_present_browser_is_returned(tmp_path: Path) -> None:
    binary = tmp_path / "chromium"
    binary.write_text("#!/bin/sh\n")
    assert chromium_or_skip(binary) == binary
