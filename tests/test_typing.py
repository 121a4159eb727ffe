"""Type checking is part of the test run: `mypy` (with the pydantic plugin) is clean on funnelsim/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_reports_nothing():
    # the configuration ([tool.mypy] in pyproject.toml) names the files and the pydantic plugin
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", "/dev/null"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
