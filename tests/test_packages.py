"""Every layer under `bot/` is a regular package whose docstring says what the layer is."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bot

ROOT = Path(bot.__file__).parent
# Alembic loads these by path; they are scripts, not a layer anyone imports.
NOT_PACKAGES = {ROOT / "store" / "migrations", ROOT / "store" / "migrations" / "versions"}
LAYERS = sorted(
    folder
    for folder in {path.parent for path in ROOT.rglob("*.py")}
    if folder != ROOT and folder not in NOT_PACKAGES
)


def test_the_layers_are_found() -> None:
    assert {"acs", "service", "slack"} <= {folder.name for folder in LAYERS}


@pytest.mark.parametrize("folder", LAYERS, ids=lambda folder: str(folder.relative_to(ROOT)))
def test_each_layer_is_a_package_that_says_what_it_is(folder: Path) -> None:
    init = folder / "__init__.py"
    assert init.is_file(), f"{folder.relative_to(ROOT)} has no __init__.py"
    if folder.parent == ROOT:  # the layers themselves; their sub-packages may stay terse
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert docstring, f"{init.relative_to(ROOT)} has no docstring saying what it is"
