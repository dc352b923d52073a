"""The CLI turns OS errors (read-only or full disk, permission denied, a file where a folder should be) into one
line naming the path, with exit code 2; a closed stdout pipe ends the command quietly."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest

from tvau_bench.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def blocked(tmp_path) -> Path:
    """A regular file: any path below it fails with NotADirectoryError, even for root."""
    path = tmp_path / "afile"
    path.write_text("")
    return path


def _one_line_error(capsys, command: str, path: Path) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith(f"tvau-bench {command}: error: {path}") and "Not a directory (fix: " in err, err
    return err


@pytest.mark.parametrize("command", ["run", "annotate", "export"])
def test_os_errors_of_writing_commands_are_one_line(tiny_bench, blocked, capsys, command):
    argv = {
        "run": [
            "run",
            "--model",
            "majority",
            "--dataset",
            str(tiny_bench / "hub"),
            "--out",
            str(blocked / "r"),
        ],
        "annotate": [
            "annotate",
            "synthetic",
            "--source",
            str(tiny_bench / "ubnormal"),
            "--out",
            str(blocked / "a"),
        ],
        "export": ["export", str(tiny_bench / "ann"), "--out", str(blocked / "h")],
    }[command]
    assert main(argv) == 2
    _one_line_error(capsys, command, blocked)


def test_leaderboard_add_os_error_and_full_disk(tiny_bench, tmp_path, blocked, capsys, monkeypatch):
    run = tmp_path / "run"
    assert main(["run", "--model", "majority", "--dataset", str(tiny_bench / "hub"), "--out", str(run)]) == 0
    capsys.readouterr()
    argv = ["leaderboard", "add", str(run), "--dataset", str(tiny_bench / "hub")]
    assert main([*argv, "--root", str(blocked / "lb")]) == 2
    _one_line_error(capsys, "leaderboard", blocked)

    def full(path, data, **_):
        raise OSError(errno.ENOSPC, "No space left on device")  # as a failed write() reports it: no path

    monkeypatch.setattr("tvau_bench._io.atomic_write_bytes", full)
    assert main([*argv, "--root", str(tmp_path / "lb")]) == 2
    err = capsys.readouterr().err
    assert err == (
        "tvau-bench leaderboard: error: No space left on device "
        "(fix: free disk space or write to another disk, then rerun the same command to resume)\n"
    )


def test_os_error_names_both_paths_of_a_rename():
    from tvau_bench.cli import os_error

    exc = OSError(errno.EACCES, "Permission denied", "/a/x.tmp", None, "/a/x")
    assert str(os_error(exc)) == (
        "/a/x.tmp -> /a/x: Permission denied (fix: check the permissions of the path or write somewhere you own)"
    )


def test_closed_stdout_pipe_exits_quietly():
    proc = subprocess.Popen(
        [sys.executable, "-m", "tvau_bench.cli", "baselines", "list", "--dir", str(REPO / "baselines")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    proc.stdout.close()  # before the child writes: its output hits a pipe without a reader
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141 and err == ""
