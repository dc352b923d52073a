"""The one YAML reader: recipes, model configs, dataset cards and ``--adapter-arg`` values all go through it.

PyYAML's safe loader still expands anchors and aliases, so a few hundred bytes (a "billion laughs" file) build
a structure of billions of nodes that hangs every later copy, hash or print. Configs never need them, so this
loader refuses them outright, as it refuses non-UTF-8 bytes, input over :data:`MAX_BYTES`, nesting deeper than
:data:`MAX_DEPTH` and a key given twice in one mapping (PyYAML keeps the last one silently).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import TvauError

MAX_BYTES = 1 << 20  # the largest shipped config is ~3 KB, a dataset card's front matter ~20 KB
MAX_DEPTH = 64


class _Refused(yaml.YAMLError):
    def __init__(self, problem: str, mark: yaml.Mark | None, fix: str) -> None:
        super().__init__(problem)
        self.problem, self.problem_mark, self.fix = problem, mark, fix


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without anchors, aliases, duplicate keys or unbounded nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(
                "anchors and aliases (&name, *name) are not allowed",
                event.start_mark,
                "write the repeated values out in full",
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(
                    f"nested deeper than {MAX_DEPTH} levels", event.start_mark, "flatten the structure"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node)
                if key in seen:
                    raise _Refused(f"key {key!r} given twice", key_node.start_mark, "keep one of them")
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(
    data: str | bytes, *, path: str | Path | None = None, first_line: int = 1, fix: str | None = None
) -> Any:
    """Parse one YAML document; every problem is a :class:`TvauError` naming ``path`` and the line.

    ``first_line`` is the line of ``path`` that ``data`` starts on (front matter after a ``---`` line);
    ``fix`` is the advice for a syntax error.
    """
    _check_size(len(data), path)
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TvauError(
                f"not UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start})",
                path=path,
                line=first_line + data.count(b"\n", 0, exc.start),
                fix="save the file as UTF-8",
            ) from None
    try:
        return yaml.load(data, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise TvauError(
            problem if isinstance(exc, _Refused) else f"invalid YAML: {problem}",
            path=path,
            line=None if mark is None else first_line + mark.line,
            fix=getattr(exc, "fix", fix),
        ) from None


def read_yaml(path: str | Path) -> Any:
    """Read and parse the YAML file ``path`` (size checked before reading)."""
    path = Path(path)
    try:
        _check_size(path.stat().st_size, path)
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise TvauError("file not found", path=path) from None
    return parse_yaml(data, path=path)


def _check_size(n: int, path: str | Path | None) -> None:
    if n > MAX_BYTES:
        raise TvauError(
            f"YAML is {n} bytes, over the {MAX_BYTES}-byte limit",
            path=path,
            fix="configs are a few KB; check that this is the right file",
        )
