"""The built wheel ships what an installed funnelsim reads: every bundled scenario and the page."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_every_bundled_scenario_and_the_what_if_page(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("funnelsim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.removeprefix("funnelsim/scenarios/") for n in names if n.startswith("funnelsim/scenarios/")}
    in_checkout = {str(p.relative_to(ROOT / "scenarios")) for p in (ROOT / "scenarios").rglob("*.yaml")}
    assert in_checkout, "the checkout's scenarios/ folder is empty"
    assert shipped == in_checkout
    assert "funnelsim/app/page.html" in names
    assert "funnelsim/py.typed" in names
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "funnelsim").rglob("*.py")}
    assert modules - names == set()  # every package found, the ones added since this test was written included
