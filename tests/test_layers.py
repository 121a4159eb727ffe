"""The package's structure: one version, read from the package metadata."""

from __future__ import annotations

import tomllib
from pathlib import Path

import funnelsim
from funnelsim._version import __version__

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_the_one_in_pyproject():
    written = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert funnelsim.__version__ == __version__ == written


def test_every_package_on_disk_is_listed_for_setuptools():
    # the list is written by hand because funnelsim.bundled is mapped from scenarios/; a package
    # missing from it would be left out of a wheel and only fail after a non-editable install
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    on_disk = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "funnelsim").rglob("__init__.py")}
    assert on_disk <= set(listed), sorted(on_disk - set(listed))
