"""funnelsim uses SimPy through its public API only: no underscore attribute of any object but its own."""

from __future__ import annotations

import ast
from pathlib import Path

import funnelsim

PACKAGE = Path(funnelsim.__file__).parent


def private_accesses(source: str) -> list[tuple[int, str]]:
    """`x._name` where x is not self or cls, and imports of underscore names from simpy."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append((node.lineno, f".{node.attr}"))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("simpy"):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("_")]
    return sorted(found)


def test_no_module_of_funnelsim_reaches_into_another_objects_private_attributes():
    offenders = {
        str(path.relative_to(PACKAGE)): hits
        for path in sorted(PACKAGE.rglob("*.py"))
        if (hits := private_accesses(path.read_text()))
    }
    assert offenders == {}


def test_the_check_finds_private_simpy_access():
    assert private_accesses("env._queue.clear()\nevent._ok = True\nself._mine = 1\n") == [(1, "._queue"), (2, "._ok")]
    assert private_accesses("from simpy.core import _private\n") == [(1, "_private")]
