"""The terminal UI ships as `kerasmnist_tui` (from tui/), with its stylesheet and its command."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_package_directory_is_listed_under_its_import_name(pyproject):
    setuptools = pyproject["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"kerasmnist_tui": "tui"}
    found = set()
    for directory, name in (("kerasmnist", "kerasmnist"), ("tui", "kerasmnist_tui")):
        for init in (ROOT / directory).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / directory).parts
            found.add(".".join((name, *parts)))
    assert set(setuptools["packages"]) == found


def test_the_stylesheet_ships_and_the_command_points_at_main(pyproject):
    assert "*.tcss" in pyproject["tool"]["setuptools"]["package-data"]["kerasmnist_tui"]
    assert (ROOT / "tui" / "app.tcss").is_file()
    target = pyproject["project"]["scripts"]["kerasmnist-tui"]
    module, _, function = target.partition(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_the_command_parses_its_options(capsys):
    from kerasmnist_tui.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "--runs-dir" in capsys.readouterr().out
