"""A run whose requests fail for good (a dead endpoint) exits 3 and names them; export refuses the partial
folder unless --allow-partial, which the card then records."""

from __future__ import annotations

import contextlib
import io
import json
import socket
from pathlib import Path

import pytest

from tvau_bench.cli import main
from tvau_bench.hub.card import read_card


def _closed_port() -> int:
    """A local port nothing listens on: connections to it are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dead_endpoint_recipe(tmp_path: Path) -> Path:
    cfg = {
        "name": "dead-endpoint",
        "backend": {
            "kind": "openai",
            "model": "nobody",
            "endpoints": [f"http://127.0.0.1:{_closed_port()}/v1"],
            "max_concurrency": 2,
            "timeout_s": 1.0,
            "max_retries": 0,
            "backoff_s": 0.001,
            "backoff_max_s": 0.001,
        },
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(json.dumps(cfg), encoding="utf-8")  # JSON is YAML
    return path


@pytest.fixture(scope="module")
def dead_run(synth_small, tmp_path_factory):
    from tvau_bench.sources import open_source

    root = synth_small / "ubnormal"
    src = open_source(root)
    ids = sorted(v.video_id for s in src.splits() for v in src.videos(s))
    # an abnormal video (its stage-2 requests fail) and a normal one (its No samples keep the export loadable)
    vids = [next(v for v in ids if v.startswith(kind)) for kind in ("abnormal", "normal")]
    base = tmp_path_factory.mktemp("dead")
    argv = ["annotate", str(_dead_endpoint_recipe(base)), "--source", str(root), "--out", str(base / "ann")]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv + [a for v in vids for a in ("--video", v)])
    return base / "ann", vids, code, err.getvalue()


def test_annotate_exits_3_and_names_the_failed_requests(dead_run):
    ann, vids, code, err = dead_run
    assert code == 3
    report = json.loads((ann / "report.json").read_text())
    failed = report["requests"]["failed"]
    assert len(failed) == sum(report["requests"]["failures"].values()) > 0
    assert {f["video_id"] for f in failed} == set(vids)
    assert {f["stage"] for f in failed} == {"stage1", "stage2"}
    assert all("connection error" in f["error"] for f in failed)
    assert "failed after all retries" in err and f"videos: {', '.join(vids)}" in err
    assert f"{failed[0]['stage']} {failed[0]['item']}: " in err


def test_export_refuses_a_partial_run_unless_allowed(dead_run, capsys, tmp_path):
    ann, vids, _, _ = dead_run
    hub = tmp_path / "hub"
    assert main(["export", str(ann), "--out", str(hub)]) == 2
    err = capsys.readouterr().err
    assert "report.json: requests.failures: the annotation run is partial" in err and vids[0] in err
    assert "--allow-partial" in err and not (hub / "README.md").exists()

    assert main(["export", str(ann), "--out", str(hub), "--allow-partial"]) == 0
    meta, body = read_card(hub / "README.md")
    n = sum(json.loads((ann / "report.json").read_text())["requests"]["failures"].values())
    assert meta["partial_annotation"] == {"failed_requests": n, "videos": vids}
    assert "**Partial annotation run.**" in body and all(f"`{v}`" in body for v in vids)
