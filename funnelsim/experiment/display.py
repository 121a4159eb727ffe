"""How an experiment result is shown in a notebook: the report layer registers it here, per result class.

A result of experiment/ holds what a run produced; its charts, HTML tables and results folder are
report/'s, and report/ sits above experiment/. So `plot`, `save`, `_repr_html_` and `__repr__` of
RunResult, CompareResult and SweepResult call the `Display` that funnelsim/report/notebook.py
registers for their class; `import funnelsim` (any import of funnelsim, in fact) registers it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Display:
    """How one kind of result is shown: each function takes the result first."""

    text: Callable[[Any], str]  # the short repr
    html: Callable[[Any], str]  # a notebook's rich display
    plot: Callable[..., Any]  # (result, kind, ...) -> a matplotlib Figure
    save: Callable[..., Path]  # (result, folder, ...) -> the folder written


_DISPLAYS: dict[type, Display] = {}


def register_display(kind: type, display: Display) -> None:
    """Show results of class `kind` (and its subclasses) with `display`."""
    _DISPLAYS[kind] = display


def display_of(result: object) -> Display:
    for kind in type(result).__mro__:
        if kind in _DISPLAYS:
            return _DISPLAYS[kind]
    raise LookupError(f"no display is registered for {type(result).__name__}; funnelsim.report.notebook registers them")


def text_of(result: object) -> str:
    """The registered short repr, or the plain object repr if none is registered (a repr never fails)."""
    kind = type(result)
    if not any(k in _DISPLAYS for k in kind.__mro__):
        return f"<{kind.__name__} at {id(result):#x}>"
    return display_of(result).text(result)
