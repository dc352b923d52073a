"""Every ``tvau-bench`` command in README.md's ```bash blocks names real subcommands and real flags.

The README is read at test time and each invocation is walked through the real parser
(:func:`tvau_bench.cli.build_parser`) without running it: every subcommand must exist, every ``--flag`` must be
one of that subcommand's options, and every required option must be given.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from tvau_bench.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"
_SEPARATORS = {";", "&&", "||", "|", "&"}


def bash_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, body)`` of each fenced ```bash block."""
    blocks, start, body = [], None, []
    for no, line in enumerate(text.splitlines(), start=1):
        if start is None:
            if re.fullmatch(r"\s*```bash\s*", line):
                start, body = no + 1, []
        elif re.fullmatch(r"\s*```\s*", line):
            blocks.append((start, "\n".join(body)))
            start = None
        else:
            body.append(line)
    return blocks


def invocations(text: str) -> list[tuple[int, list[str]]]:
    """``(README line, argv after "tvau-bench")`` of every invocation in the bash blocks of ``text``.

    Continuation lines (``\\`` at the end) are joined, comments dropped, and a line is split at ``;``, ``&&``,
    ``||`` and ``|`` so that each command is seen on its own."""
    found = []
    for start, body in bash_blocks(text):
        lines = body.split("\n")
        i = 0
        while i < len(lines):
            no, logical = start + i, lines[i]
            while logical.endswith("\\") and i + 1 < len(lines):
                i += 1
                logical = logical[:-1] + " " + lines[i]
            i += 1
            lexer = shlex.shlex(logical, posix=True, punctuation_chars=";&|")
            lexer.whitespace_split = True
            lexer.commenters = "#"
            command: list[str] = []
            for tok in [*lexer, ";"]:
                if tok not in _SEPARATORS:
                    command.append(tok)
                    continue
                while command and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", command[0]):
                    command.pop(0)  # VAR=value before the command
                if command and command[0] == "tvau-bench":
                    found.append((no, command[1:]))
                command = []
    return found


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def command_problems(argv: list[str]) -> list[str]:
    """What in ``argv`` the parser does not know: subcommands, flags, and required options left out."""
    parser, path, given = build_parser(), ["tvau-bench"], set()
    problems: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        i += 1
        if tok.startswith("-") and tok != "-":
            flag = tok.split("=", 1)[0]
            action = parser._option_string_actions.get(flag)
            if action is None:
                problems.append(f"`{' '.join(path)}` has no option {flag}")
                continue
            given.add(action.dest)
            if "=" not in tok and action.nargs != 0:
                i += 1  # its value
            continue
        sub = _subparsers(parser)
        if sub is not None:
            if tok not in sub.choices:
                problems.append(f"`{' '.join(path)}` has no subcommand {tok!r}")
                return problems
            parser = sub.choices[tok]
            path.append(tok)
    sub = _subparsers(parser)
    if sub is not None and sub.required:
        problems.append(f"`{' '.join(path)}` needs a subcommand")
    for action in parser._actions:
        if action.required and action.option_strings and action.dest not in given:
            problems.append(f"`{' '.join(path)}` requires {action.option_strings[0]}")
    return problems


def test_every_readme_command_exists_with_its_flags():
    cmds = invocations(README.read_text(encoding="utf-8"))
    assert len(cmds) >= 10, "README.md should show the tvau-bench commands in ```bash blocks"
    bad = [f"README.md:{no}: {p}" for no, argv in cmds for p in command_problems(argv)]
    assert not bad, "\n".join(bad)


def test_parsing_of_blocks_continuations_and_comments():
    text = "\n".join(
        [
            "intro `tvau-bench nope` outside a block is not read",
            "```bash",
            "# tvau-bench commented --out x",
            "HF_TOKEN=x tvau-bench run --model m \\",
            "    --dataset d --out o   # trailing --nope comment",
            "cd x && tvau-bench score runs/a | head -1",
            "```",
            "```python",
            "tvau-bench ignored",
            "```",
        ]
    )
    assert invocations(text) == [
        (4, ["run", "--model", "m", "--dataset", "d", "--out", "o"]),
        (6, ["score", "runs/a"]),
    ]


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["leaderboard", "ad", "x"], "`tvau-bench leaderboard` has no subcommand 'ad'"),
        (["score", "x", "--wrte"], "`tvau-bench score` has no option --wrte"),
        (["run", "--model", "m", "--out", "o"], "`tvau-bench run` requires --dataset"),
        (["leaderboard"], "`tvau-bench leaderboard` needs a subcommand"),
    ],
)
def test_mismatches_are_found(argv, problem):
    assert problem in command_problems(argv)


def test_flag_values_are_not_taken_for_subcommands():
    assert command_problems(["leaderboard", "add", "--root", "lb", "runs/x", "--dataset=hub/x"]) == []
