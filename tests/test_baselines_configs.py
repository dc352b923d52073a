"""Baseline configs: one per paper dialogue row plus the offline ones, and valid `vllm serve` lines."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tvau_bench.cli import main
from tvau_bench.errors import TvauError
from tvau_bench.harness.model_config import load_model_config
from tvau_bench.leaderboard.baselines import list_baselines, serve_command
from tvau_bench.leaderboard.reported import load_reported
from tvau_bench.leaderboard.vllm_flags import FLAGS, VLLM_VERSION, check_serve_command, flag_value

REPO = Path(__file__).resolve().parents[1]
BASELINES = REPO / "baselines"
OFFLINE = {"majority", "geometry-oracle", "ahd-template"}
# One-shot prompts carry the exemplar's frames and the query's: 2 x 8 frames at the protocol's default.
IMAGES_PER_PROMPT = 16


def served() -> list[str]:
    return [b.name for b in list_baselines(BASELINES) if b.vllm_version]


def test_every_paper_baseline_row_has_a_config():
    paper_rows = {r.method for r in load_reported(REPO / "leaderboard", "dialogue")} - {"RAE (Ours)"}
    configs = {b.display_name: b for b in list_baselines(BASELINES)}
    assert paper_rows <= set(configs), paper_rows - set(configs)
    for row in paper_rows:
        cfg = configs[row]
        assert cfg.hf_id and cfg.revision, row
        assert cfg.shots == (0 if "zero-shot" in row else 1)
    size = {r.method: r.cells["Size ↓"] for r in load_reported(REPO / "leaderboard", "dialogue")}
    for row in paper_rows:
        assert f"{configs[row].size_b:g}B" == size[row]


def test_offline_baselines_need_no_weights():
    by_name = {b.name: b for b in list_baselines(BASELINES)}
    assert set(by_name) >= OFFLINE
    for name in OFFLINE:
        assert (
            by_name[name].adapter == name
            and by_name[name].hf_id is None
            and by_name[name].vllm_version is None
        )


def test_generation_is_greedy_and_identical_for_every_model():
    gens = {p.stem: load_model_config(p).generation for p in BASELINES.glob("*.yaml")}
    assert len({json.dumps(g, sort_keys=True) for g in gens.values()}) == 1
    gen = next(iter(gens.values()))
    assert gen["temperature"] == 0.0 and gen["top_p"] == 1.0 and gen["max_new_tokens"] == 128


def test_idefics2_runs_with_transformers_not_vllm():
    cfg = load_model_config(BASELINES / "idefics2-8b-one-shot.yaml")
    assert cfg.adapter == "transformers" and cfg.serve is None and cfg.hf_id == "HuggingFaceM4/idefics2-8b"
    with pytest.raises(TvauError, match="not served with vLLM"):
        serve_command("idefics2-8b-one-shot", BASELINES)


@pytest.mark.parametrize(
    "name",
    [
        "qwen2.5-vl-7b-zero-shot",
        "qwen2.5-vl-7b-one-shot",
        "llava-1.6-7b-one-shot",
        "minicpm-v-2.6-one-shot",
        "internvl-8b-one-shot",
    ],
)
def test_serve_command_is_valid_for_pinned_vllm(name):
    assert name in served()
    cfg = load_model_config(BASELINES / f"{name}.yaml")
    argv = serve_command(name, BASELINES)
    assert cfg.serve["vllm_version"] == VLLM_VERSION
    assert check_serve_command(argv) == []
    assert argv[2] == cfg.hf_id == cfg.adapter_args["model"]
    assert flag_value(argv, "--revision") == cfg.revision
    assert json.loads(flag_value(argv, "--limit-mm-per-prompt"))["image"] >= IMAGES_PER_PROMPT
    assert int(flag_value(argv, "--max-model-len")) >= 16384
    assert flag_value(argv, "--generation-config") == "vllm"  # the model's sampling defaults must not leak in
    remote_code = cfg.hf_id.startswith(("openbmb/", "OpenGVLab/"))
    assert ("--trust-remote-code" in argv) == remote_code


def test_serve_cmd_cli_prints_the_config_command(capsys):
    assert main(["baselines", "serve-cmd", "internvl-8b-one-shot", "--dir", str(BASELINES)]) == 0
    printed = shlex.split(capsys.readouterr().out)
    assert printed == [
        str(a) for a in load_model_config(BASELINES / "internvl-8b-one-shot.yaml").serve["command"]
    ]
    assert main(["baselines", "serve-cmd", "idefics2-8b-one-shot", "--dir", str(BASELINES)]) == 2
    assert main(["baselines", "serve-cmd", "nope", "--dir", str(BASELINES)]) == 2


def test_list_cli_names_every_config(capsys):
    assert main(["baselines", "list", "--dir", str(BASELINES)]) == 0
    out = capsys.readouterr().out
    for path in BASELINES.glob("*.yaml"):
        assert path.stem in out


BASE = ["vllm", "serve", "m/x"]


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["python", "-m", "vllm"], "must start with 'vllm serve'"),
        (["vllm", "serve", "--dtype", "half"], "model"),
        ([*BASE, "--limit-mm-per-prompt", "image=16"], "the key=value form was dropped"),
        ([*BASE, "--limit-mm-per-prompt", '{"image": -1}'], "non-negative"),
        ([*BASE, "--limit-mm-per-prompt", '{"images": 4}'], "unknown modalities"),
        ([*BASE, "--dtype", "int8"], "not one of"),
        ([*BASE, "--max-model-len", "big"], "not an integer"),
        ([*BASE, "--max-model-len"], "needs a value"),
        ([*BASE, "--max-model-len", "--seed", "0"], "missing value"),
        ([*BASE, "--made-up-flag", "1"], "not a documented"),
        ([*BASE, "--seed", "0", "--seed", "1"], "given twice"),
        ([*BASE, "--trust-remote-code=yes"], "takes no value"),
    ],
)
def test_checker_rejects_invalid_command_lines(argv, problem):
    problems = check_serve_command(argv)
    assert any(problem in p for p in problems), problems


def test_checker_accepts_equals_form_and_every_flag_names_its_source():
    assert check_serve_command([*BASE, "--max-model-len=8192", '--limit-mm-per-prompt={"image":2}']) == []
    for flag in FLAGS.values():
        assert "docs.vllm.ai" in flag.source, flag.name


def test_serve_command_refuses_a_config_that_drifts(tmp_path):
    cfg = (BASELINES / "qwen2.5-vl-7b-one-shot.yaml").read_text(encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(
        cfg.replace("name: qwen2.5-vl-7b-one-shot", "name: bad").replace(
            "--revision, main", "--revision, v2"
        ),
        encoding="utf-8",
    )
    with pytest.raises(TvauError, match="--revision must equal"):
        serve_command("bad", tmp_path)
