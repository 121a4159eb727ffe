"""The package version, read from its installed metadata (`version` in pyproject.toml, its one home).

A bottom-layer module, so any layer can name the version without importing the package root.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("funnelsim")
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"
