"""Scenario names become folder names: the rule for one safe path component.

A name that is not one plain folder name (separators, '.', '..', control characters, too long)
is refused when the scenario is validated, so a finished run never fails to find a home.
"""

from __future__ import annotations

MAX_COMPONENT_BYTES = 200  # leaves room under the usual 255-byte limit for prefixes and suffixes


def component_problem(name: str) -> str | None:
    """Why `name` cannot be one folder name, or None if it can (used for scenario names)."""
    if not name.strip():
        return "expected a name with at least one visible character"
    if name in (".", "..") or set(name) <= {"."}:
        return f"{name!r} is not a folder name"
    if "/" in name or "\\" in name:
        return f"expected a name without '/' or '\\', got {name!r}"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "expected a name without control characters (such as NUL, tab or newline)"
    if name.startswith("."):
        return f"expected a name that does not start with '.', got {name!r}"
    if name != name.strip():
        return f"expected a name without leading or trailing spaces, got {name!r}"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_COMPONENT_BYTES:
        return f"expected a name of at most {MAX_COMPONENT_BYTES} bytes, got {len(name.encode('utf-8', 'replace'))}"
    return None
