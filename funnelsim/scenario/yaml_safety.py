"""Reading a scenario file's YAML without letting its text crash, hang or flood the loader.

Bounds the file size, requires UTF-8, refuses aliases that contain themselves or expand past a
size (alias bombs) and nesting past a depth, reads `1e300` as the number it looks like, and turns
a bad value under an explicit tag or an impossible date into a message with its line.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_FILE_BYTES = 2_000_000
MAX_VALUES = 200_000  # scalars, lists and mappings after every alias is expanded
MAX_DEPTH = 40


class YamlProblem(ValueError):
    """A problem in the YAML text itself; `line` is 1-based, or None."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class ScenarioYamlLoader(yaml.SafeLoader):
    """The safe loader, with exponent floats such as 1e300 read as floats (YAML 1.2 style)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except YamlProblem:
            raise
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, OverflowError, ArithmeticError) as error:
            tag = node.tag.rsplit(":", 1)[-1]
            text = node.value if isinstance(node, yaml.ScalarNode) else "..."
            text = text if len(text) <= 40 else text[:37] + "..."
            raise YamlProblem(f"{text!r} is not a valid {tag} ({_plain(error)})", node.start_mark.line + 1) from None


ScenarioYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _plain(error: BaseException) -> str:
    text = str(error)
    if "Exceeds the limit" in text:
        return "a number with thousands of digits"
    return text or type(error).__name__


def decode(raw: bytes) -> str:
    """The file's text; refuses files over MAX_FILE_BYTES and text that is not UTF-8."""
    if len(raw) > MAX_FILE_BYTES:
        raise YamlProblem(f"the file is {len(raw):,} bytes; a scenario file may have at most {MAX_FILE_BYTES:,}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise YamlProblem(
            f"the file is not UTF-8 text (byte 0x{raw[error.start]:02x}); save it as UTF-8", line
        ) from None


def load(text: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document into data and its node tree, within the bounds above."""
    loader = ScenarioYamlLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YamlProblem(f"the document is nested too deeply (at most {MAX_DEPTH} levels)") from None
        if node is None:
            return None, None
        check_shape(node)
        return loader.construct_document(node), node
    finally:
        loader.dispose()


def check_shape(root: yaml.Node) -> None:
    """Refuse self-containing aliases, nesting deeper than MAX_DEPTH and more than MAX_VALUES values."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int, open_nodes: set[int]) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise YamlProblem("an alias refers to a value that contains it", node.start_mark.line + 1)
        if depth > MAX_DEPTH:
            raise YamlProblem(
                f"the document is nested too deeply (at most {MAX_DEPTH} levels)", node.start_mark.line + 1
            )
        total = 1
        if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
            open_nodes.add(key)
            children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
            for child in children:
                total += size(child, depth + 1, open_nodes)
                if total > MAX_VALUES:
                    raise YamlProblem(
                        f"the document expands to more than {MAX_VALUES:,} values (aliases repeating aliases?)",
                        node.start_mark.line + 1,
                    )
            open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root, 0, set())


def collect_lines(root: yaml.Node | None) -> dict[tuple, int]:
    """The 1-based line of each field path (keys and list indices); aliases are not followed twice."""
    lines: dict[tuple, int] = {}
    seen: set[int] = set()

    def walk(node: yaml.Node, path: tuple) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                walk(value, path + (key.value,))
                lines[path + (key.value,)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, path + (index,))

    if root is not None:
        walk(root, ())
    return lines
