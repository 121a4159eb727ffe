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

