"""The one error type users see: it names the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path

EXCERPT_CHARS = 200  # the most of a user's input an error message repeats


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out (a bad input line can be 64 KB)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"


class TvauError(Exception):
    """A problem with the user's input or environment, reported without a traceback by the CLI.

    The message reads ``{path}: {field}: {problem} (fix: {fix})`` with the parts that are known.
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path | None = None,
        field: str | None = None,
        line: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = None if path is None else str(path)
        self.field = field
        self.line = line
        self.fix = fix
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.path is not None:
            where.append(self.path if self.line is None else f"{self.path}:{self.line}")
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(self.field)
        text = ": ".join([*where, self.problem])
        if self.fix:
            text += f" (fix: {self.fix})"
        return text


class TvauWarning(UserWarning):
    """A problem that was skipped so the rest could go on; the message names the file."""
