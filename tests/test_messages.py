"""A user's first hour: the messages of common mistakes say what to do, in the command line's words."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest
from harness_fixtures import build_bench, write_model

from tvau_bench.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return build_bench(tmp_path_factory.mktemp("bench"))


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line
    return err


def test_a_missing_adapter_argument_names_the_flag_not_a_signature(bench, tmp_path, capsys):
    data, _ = bench
    assert main(["run", "--model", "ahd-template", "--dataset", str(data), "--out", str(tmp_path / "r")]) == 2
    err = _error(capsys)
    assert "adapter 'ahd-template' needs ckpt" in err and "--adapter-arg ckpt=" in err
    assert "__init__" not in err and "positional argument" not in err


def test_a_frame_reading_adapter_without_video_root_is_told_so(bench, tmp_path, capsys):
    data, _ = bench
    argv = ["run", "--model", "ahd-template", "--adapter-arg", f"ckpt={tmp_path / 'ckpt'}"]
    assert main([*argv, "--dataset", str(data), "--out", str(tmp_path / "r")]) == 2
    err = _error(capsys)
    assert "adapter 'ahd-template' looks at the frames" in err and "pass --video-root" in err
    assert "oracle" not in err


def test_a_second_model_in_the_same_out_shows_what_differs(bench, tmp_path, capsys):
    data, _ = bench
    out = tmp_path / "run"
    for name in ("a", "b"):  # same protocol, so same fingerprint: only the model config differs
        model = write_model(tmp_path / f"{name}.yaml", name, "majority")
        code = main(["run", "--model", str(model), "--dataset", str(data), "--out", str(out)])
    assert code == 2
    err = _error(capsys)
    m = re.search(r"model 'a', (\w+) (\w+); this run: 'b', (\w+)\)", err)
    assert m and m.group(1) == "model_hash" and m.group(2) != m.group(3), err


@pytest.mark.parametrize(
    ("typed", "meant"), [("majorty", "majority"), ("qwen2.5-vl-7b", "qwen2.5-vl-7b-one-shot")]
)
def test_a_misspelt_model_name_gets_suggestions(bench, tmp_path, capsys, typed, meant):
    data, _ = bench
    assert main(["run", "--model", typed, "--dataset", str(data), "--out", str(tmp_path / "r")]) == 2
    assert f"did you mean {meant}" in _error(capsys)


def test_an_unknown_model_name_lists_the_baselines(bench, tmp_path, capsys):
    data, _ = bench
    assert main(["run", "--model", "zzzz", "--dataset", str(data), "--out", str(tmp_path / "r")]) == 2
    err = _error(capsys)
    assert "did you mean" not in err and "majority, " in err


def _options(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("tvau-bench",)):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, (*path, name))
        elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            yield " ".join(path), action


def test_every_argument_has_help_text():
    bare = [f"{cmd} {a.option_strings or a.dest}" for cmd, a in _options(build_parser()) if not a.help]
    assert not bare, bare


def test_train_ahd_help_states_the_real_defaults():
    from tvau_bench.models.train_ahd import AHDConfig

    cfg = AHDConfig()
    helps = {a.dest: a.help for cmd, a in _options(build_parser()) if cmd == "tvau-bench train ahd"}
    assert helps["train_splits"].endswith(f"default: {','.join(cfg.train_splits)}")
    for dest in ("epochs", "steps_per_epoch", "batch", "lr", "seed"):
        stated = re.search(r"default ([\d.]+)", helps[dest]).group(1)
        assert float(stated) == getattr(cfg, dest), dest


def test_num_frames_help_says_where_the_number_comes_from():
    helps = {a.dest: a.help for cmd, a in _options(build_parser()) if cmd == "tvau-bench metrics region"}
    assert "`sources tracks`" in helps["num_frames"] and "`detect`" in helps["num_frames"]


@pytest.mark.parametrize(
    "argv",
    [
        ["baselines", "list", "--dir", str(REPO / "baselines")],
        ["baselines", "serve-cmd", "qwen2.5-vl-7b-one-shot", "--dir", str(REPO / "baselines")],
    ],
)
def test_output_piped_to_head_stops_quietly(argv):
    # the reader is gone before the child's first write (as after `| head -1` has read and exited)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tvau_bench.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141 and err == ""
    cmd = " ".join(f"'{a}'" for a in [sys.executable, "-m", "tvau_bench.cli", *argv])
    head = subprocess.run(
        f"{cmd} | head -1", shell=True, capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert head.stderr == "" and head.stdout.count("\n") == 1
