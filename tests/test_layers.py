"""The package's structure: the layers of the README hold, imports sit at the top, one version.

The layers are an import-linter contract in pyproject.toml (`[tool.importlinter]`); `lint-imports`
checks it here, and once more on a copy with one upward import added, to show that it would fail.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import funnelsim
from funnelsim._version import __version__

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# Imports that may wait inside a function: the chart modules import matplotlib, which only drawing
# should pay for (test_charts checks that nothing else imports it).
DEFERRED = {"funnelsim.report.charts", "funnelsim.report.decision_charts", "funnelsim.report.calibration"}
# The CLI's commands import their machinery when run, to keep `funnelsim --help` quick.
CLI = ("cli",)


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, env={"PYTHONPATH": str(cwd)}
    )


def test_the_layer_contract_is_kept():
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "funnelsim's layers KEPT" in done.stdout


def test_the_layer_contract_catches_an_upward_import(tmp_path):
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(ROOT / "funnelsim", tmp_path / "funnelsim", ignore=shutil.ignore_patterns("scenarios"))
    runner = tmp_path / "funnelsim" / "experiment" / "runner.py"
    runner.write_text(runner.read_text() + "\nfrom funnelsim.report import notebook  # upward\n")
    done = _lint_imports(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "funnelsim's layers BROKEN" in done.stdout
    assert "funnelsim.experiment.runner -> funnelsim.report.notebook" in done.stdout


def _function_level_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module and inner.module.startswith("funnelsim"):
                    found += [(inner.lineno, f"{inner.module}.{a.name}") for a in inner.names]
                elif isinstance(inner, ast.Import):
                    found += [(inner.lineno, a.name) for a in inner.names if a.name.startswith("funnelsim")]
    return found


def _deferred(name: str) -> bool:
    return any(name == module or name.startswith(module + ".") for module in DEFERRED)


def test_no_import_waits_inside_a_function_except_for_matplotlib():
    package = ROOT / "funnelsim"
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted(package.rglob("*.py"))
        if path.relative_to(package).parts[0] not in CLI
        for line, name in _function_level_imports(path)
        if not _deferred(name)
    ]
    assert offenders == []


def test_every_deferred_module_really_imports_matplotlib():
    for module in sorted(DEFERRED):
        code = f"import sys, {module}; print('matplotlib' in sys.modules)"
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
        assert done.stdout.strip() == "True", (module, done.stderr)


def test_the_version_is_the_one_in_pyproject():
    written = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert funnelsim.__version__ == __version__ == written
