"""`tvau-bench synth`: writes the requested layouts at the requested sizes, reruns replace the output, bad
sizes are one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tvau_bench._io import iter_jsonl, sha256_file
from tvau_bench.cli import main
from tvau_bench.sources import open_source
from tvau_bench.sources.video import probe

TINY = ["--width", "160", "--height", "120", "--frames", "24", "--scenes", "1", "--anomalies-per-video", "2"]


def test_cli_ubnormal_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    argv = ["synth", "--format", "ubnormal", "--out", str(out), "--seed", "3", *TINY]
    argv += ["--ub-train", "2", "--ub-val", "2", "--ub-test", "3"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"{out / 'ubnormal'}: 7 videos," in printed
    assert sorted(p.name for p in out.iterdir()) == ["ubnormal"]
    src = open_source(out / "ubnormal")
    assert [len(src.videos(s)) for s in ("train", "validation", "test")] == [2, 2, 3]
    v = src.videos("test")[0]
    assert probe(out / "ubnormal" / v.video_path)[0] == 24 and (v.width, v.height) == (160, 120)
    rows = [r for _, r in iter_jsonl(out / "ubnormal" / "truth.jsonl")]
    assert {r["video_id"] for r in rows} == {v.video_id for s in src.splits() for v in src.videos(s)}
    assert f"{len(rows)} objects" in printed

    # a rerun (e.g. after a kill) replaces the root: stray files go, bytes are identical
    before = {p: sha256_file(p) for p in out.rglob("*") if p.is_file()}
    (out / "ubnormal" / "Scene1" / "stray.mp4").write_bytes(b"junk")
    assert main(argv) == 0
    after = {p: sha256_file(p) for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_cli_shanghaitech_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    assert (
        main(
            [
                "synth",
                "--format",
                "shanghaitech",
                "--out",
                str(out),
                *TINY,
                "--st-train",
                "1",
                "--st-test",
                "2",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == ["shanghaitech"]
    assert sorted(p.name for p in (out / "shanghaitech" / "testing" / "frames").iterdir()) == [
        "01_0001",
        "01_0002",
    ]
    assert [p.name for p in (out / "shanghaitech" / "training" / "videos").iterdir()] == ["01_001.avi"]
    assert len(list((out / "shanghaitech" / "testing" / "frames" / "01_0001").glob("*.jpg"))) == 24
    assert f"{out / 'shanghaitech'}: 3 videos," in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--frames", "10"], "frames"),
        (["--ub-train", "1"], "ub_train"),
        (["--width", "20"], "width"),
        (["--seed", "-1"], "seed"),
    ],
)
def test_cli_bad_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    assert main(["synth", "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tvau-bench synth: error:") and needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_cli_never_replaces_foreign_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "o" / "ubnormal"
    real.mkdir(parents=True)
    (real / "Scene1").mkdir()
    assert main(["synth", "--out", str(tmp_path / "o"), *TINY]) == 2
    err = capsys.readouterr().err
    assert "not written by `tvau-bench synth`" in err and str(real) in err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["ubnormal"]
    assert [p.name for p in real.iterdir()] == ["Scene1"]
