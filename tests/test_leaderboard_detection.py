"""Measured detection rows: detect outputs admitted, recomputed from per-video files with intervals, tampering refused.

The detect-output folders are built from small synthetic heatmaps through the real detection rule and metrics.io
writers, with ``summary.json`` scored by ``models.detect.score_folder`` (what ``tvau-bench detect`` writes); one
test runs ``tvau-bench detect --method classical`` on the session's small synthetic UBnormal set.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tvau_bench._io import read_json, sha256_file, write_json
from tvau_bench.cli import main
from tvau_bench.errors import TvauError
from tvau_bench.leaderboard.detection import (
    METRICS,
    _resample_metrics,
    add_detection,
    detection_figures,
    detection_metrics,
    read_detection_data,
)
from tvau_bench.leaderboard.render import render
from tvau_bench.metrics.detections import DetectionRule, export_heatmaps
from tvau_bench.metrics.frame import frame_auc
from tvau_bench.metrics.io import write_tracks_file, write_values_file
from tvau_bench.metrics.region import region_metrics
from tvau_bench.models.detect import score_folder

REPO = Path(__file__).resolve().parents[1]
DATASET = "toy-ubnormal"


def make_detect_output(out: Path, n_videos: int = 8, seed: int = 0) -> Path:
    """A detect-output folder: 12-frame 24x32 heatmaps, 3 of 4 videos with one abnormal moving box (frames 3-8),
    false blobs and some missed frames, so that no metric is perfect."""
    rng = np.random.default_rng(seed)
    rule = DetectionRule(thresholds=(0.5,), min_area=2)
    heat, labels, tracks = {}, {}, {}
    for i in range(n_videos):
        video = f"video_{i:02d}"
        hm = rng.random((12, 24, 32)) * 0.3
        lab = np.zeros(12)
        rows = []
        for t in range(12):
            if i % 4 != 0 and 3 <= t <= 8:
                x0, y0 = 2 + 2 * t, 4 + i % 5
                hm[t, y0 : y0 + 8, x0 : x0 + 6] = (0.45 if rng.random() < 0.3 else 0.6) + 0.3 * rng.random()
                lab[t] = 1
                rows.append((0, t, x0, y0, x0 + 6, y0 + 8))
            if rng.random() < 0.3:
                ya, xa = rng.integers(0, 20), rng.integers(0, 28)
                hm[t, ya : ya + 3, xa : xa + 3] = 0.5 + 0.45 * rng.random()
        heat[video], labels[video] = list(hm), lab
        if rows:
            tracks[video] = np.asarray(rows, dtype=float)
    counts = export_heatmaps(heat, out, rule)
    (out / "labels").mkdir()
    (out / "tracks").mkdir()
    for video, lab in labels.items():
        write_values_file(out / "labels" / f"{video}.txt", lab)
    for video, rows in tracks.items():
        write_tracks_file(out / "tracks" / f"{video}.txt", rows)
    total = counts["frames"]
    summary = {
        "split": "test",
        "videos": counts["videos"],
        "num_frames": total,
        "detections": counts["detections"],
        "rule": rule.to_dict(),
        "method": "toy-heatmaps",
        "metrics": score_folder(out, total),
    }
    write_json(out / "summary.json", summary)
    return out


@pytest.fixture(scope="module")
def detect_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Read-only: copy before editing."""
    return make_detect_output(tmp_path_factory.mktemp("det") / "out")


@pytest.fixture
def copy(detect_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "det"
    shutil.copytree(detect_dir, out)
    return out


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "lb"
    root.mkdir()
    shutil.copytree(REPO / "leaderboard" / "reported", root / "reported")
    return root


def _row(csv_text: str, method: str) -> dict[str, str]:
    rows = [r for r in csv.DictReader(csv_text.splitlines()) if r["method"] == method]
    assert len(rows) == 1, csv_text
    return rows[0]


def test_add_and_render_show_the_measured_row_with_intervals(detect_dir, tmp_path):
    root = _root(tmp_path)
    assert (
        main(
            [
                "leaderboard",
                "add",
                str(detect_dir),
                "--root",
                str(root),
                "--dataset",
                DATASET,
                "--name",
                "toy",
            ]
        )
        == 0
    )
    stored = root / "results" / DATASET / "detection" / "toy"
    ev = read_json(stored / "evidence.json")
    assert ev["kind"] == "detection" and ev["num_videos"] == 8 and ev["num_frames"] == 96
    assert "summary.json" in ev["files"] and "scores/video_01.txt" in ev["files"]
    assert "tracks/video_00.txt" not in ev["files"]  # normal video: no tracks file
    for rel, digest in ev["files"].items():
        assert sha256_file(stored / rel) == digest == sha256_file(detect_dir / rel)

    assert main(["leaderboard", "render", "--root", str(root)]) == 0
    readme = (root / "README.md").read_text(encoding="utf-8")
    table = (root / "detection.csv").read_text(encoding="utf-8")
    claimed = read_json(detect_dir / "summary.json")["metrics"]
    row = _row(table, "toy")
    assert row["status"] == "measured" and row["block"] == f"measured on {DATASET} (test)"
    for header, key, decimals in (
        ("Micro AUC ↑", "micro_auc", 1),
        ("Macro AUC ↑", "macro_auc", 1),
        ("RBDC ↑", "rbdc", 3),
        ("TBDC ↑", "tbdc", 3),
    ):
        assert row[header] == f"{100 * claimed[key]:.{decimals}f}"  # x100, printed like the paper
        lo, hi = float(row[f"{header} ci95_lo"]), float(row[f"{header} ci95_hi"])
        assert 0 <= lo <= hi <= 100 and lo < hi
    line = next(ln for ln in readme.splitlines() if ln.startswith("| toy |"))
    assert len(re.findall(r"\[\d+\.\d+, \d+\.\d+\]", line)) == 4, line
    assert "measured on toy-ubnormal (test; 8 videos, 96 frames)" in line
    assert "## Measured detection runs" in readme and "bootstrap over videos" in readme
    assert "No measured runs admitted yet." not in readme
    assert r"{\scriptsize[" in (root / "tables.tex").read_text(encoding="utf-8")
    # Reported rows are untouched and the dialogue table gets no detection row.
    assert _row(table, "AHD (FT)")["RBDC ↑"] == "67.800"
    assert "toy" not in (root / "dialogue.csv").read_text(encoding="utf-8")

    before = {n: (root / n).read_bytes() for n in ("README.md", "tables.tex", "detection.csv")}
    render(root)
    assert {n: (root / n).read_bytes() for n in before} == before  # deterministic


def test_resampled_metrics_equal_a_direct_recomputation(detect_dir):
    data = read_detection_data(detect_dir)
    videos = data.videos
    full = frame_auc(data.labels, data.scores).per_video
    per_video = np.asarray([full[v] for v in videos], dtype=float)
    ident = np.arange(len(videos))
    got = _resample_metrics(data, videos, per_video, ident)
    want = detection_metrics(data)
    assert all(abs(got[m] - want[m]) < 1e-12 for m in METRICS)

    idx = np.asarray([1, 1, 3, 0, 5, 5, 5, 7])  # duplicates are separate videos
    names = [f"{videos[i]}_copy{k}" for k, i in enumerate(idx)]
    labels = {n: data.labels[videos[i]] for n, i in zip(names, idx, strict=True)}
    scores = {n: data.scores[videos[i]] for n, i in zip(names, idx, strict=True)}
    tracks = {n: data.tracks[videos[i]] for n, i in zip(names, idx, strict=True) if videos[i] in data.tracks}
    dets = {n: data.detections[videos[i]] for n, i in zip(names, idx, strict=True)}
    auc = frame_auc(labels, scores)
    region = region_metrics(tracks, dets, sum(len(a) for a in labels.values()))
    got = _resample_metrics(data, videos, per_video, idx)
    assert got["micro_auc"] == pytest.approx(auc.micro_auc, abs=1e-12)
    assert got["macro_auc"] == pytest.approx(auc.macro_auc, abs=1e-12)
    assert got["rbdc"] == pytest.approx(region.rbdc, abs=1e-12)
    assert got["tbdc"] == pytest.approx(region.tbdc, abs=1e-12)


def test_figures_are_seeded_and_undefined_resamples_give_no_interval(detect_dir, tmp_path):
    data = read_detection_data(detect_dir)
    a = detection_figures(data, n_resamples=50, seed=3)
    assert a == detection_figures(data, n_resamples=50, seed=3)
    assert a.ci95 != detection_figures(data, n_resamples=50, seed=4).ci95
    # Two videos, one of them normal: a resample drawing the normal one twice has no abnormal frame.
    two = tmp_path / "two"
    shutil.copytree(detect_dir, two)
    for kind in ("labels", "scores", "detections", "tracks"):
        for p in (two / kind).glob("*.txt"):
            if p.stem not in ("video_00", "video_01"):
                p.unlink()
    fig = detection_figures(read_detection_data(two), n_resamples=40, seed=0)
    assert fig.ci95["micro_auc"] is None and 0 < fig.undefined["micro_auc"] < 40
    assert fig.ci95["rbdc"] is None and fig.undefined["rbdc"] == fig.undefined["micro_auc"]
    assert fig.ci95["macro_auc"] is not None and fig.undefined["macro_auc"] == 0


def _edit_line(path: Path, line_no: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line_no - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _abnormal_frame(folder: Path, video: str) -> int:
    lab = np.loadtxt(folder / "labels" / f"{video}.txt")
    return int(np.flatnonzero(lab)[0])


def test_an_edited_score_is_refused(copy, tmp_path):
    t = _abnormal_frame(copy, "video_01")
    _edit_line(copy / "scores" / "video_01.txt", t + 1, "0")
    with pytest.raises(TvauError, match=r"summary\.json: metrics\.micro_auc: .*per-video files give"):
        add_detection(copy, root=_root(tmp_path), dataset=DATASET)


def test_a_garbled_or_dropped_score_line_names_the_file(detect_dir, copy, tmp_path):
    root = _root(tmp_path)
    _edit_line(copy / "scores" / "video_02.txt", 4, "0.5x")
    with pytest.raises(TvauError, match=r"scores/video_02\.txt:4: value is not a number"):
        add_detection(copy, root=root, dataset=DATASET)
    path = copy / "scores" / "video_02.txt"
    lines = (detect_dir / "scores" / "video_02.txt").read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-2]), encoding="utf-8")
    with pytest.raises(TvauError, match=r"scores/video_02\.txt: 10 scores but 12 labels"):
        add_detection(copy, root=root, dataset=DATASET)
    assert not (root / "results").exists()


@pytest.mark.parametrize(
    ("dropped", "message"),
    [
        ("scores/video_03.txt", r"scores/video_03\.txt: missing: video 'video_03' has labels but no scores"),
        ("detections/video_03.txt", r"detections/video_03\.txt: missing: .* no detections file"),
        ("labels/video_03.txt", r"scores/video_03\.txt: video 'video_03' has no label file"),
        ("tracks/video_03.txt", r"summary\.json: metrics\.rbdc: .*per-video files give"),
    ],
)
def test_a_dropped_video_file_is_refused(copy, tmp_path, dropped, message):
    (copy / dropped).unlink()
    with pytest.raises(TvauError, match=message):
        add_detection(copy, root=_root(tmp_path), dataset=DATASET)


@pytest.mark.parametrize(
    ("key", "change", "message"),
    [
        ("rbdc", 1e-6, r"summary\.json: metrics\.rbdc: summary\.json says"),
        ("macro_auc", -0.01, r"summary\.json: metrics\.macro_auc"),
        ("num_frames", 1, r"summary\.json: num_frames: 97 but the sum of the label files' lengths is 96"),
    ],
)
def test_an_edited_summary_is_refused(copy, tmp_path, key, change, message):
    summary = read_json(copy / "summary.json")
    if key in summary:
        summary[key] += change
    else:
        summary["metrics"][key] += change
    write_json(copy / "summary.json", summary)
    with pytest.raises(TvauError, match=message):
        add_detection(copy, root=_root(tmp_path), dataset=DATASET)


def test_a_detection_outside_its_video_names_the_line(copy, tmp_path):
    _edit_line(copy / "detections" / "video_01.txt", 1, "12,1,1,5,5,0.9")
    with pytest.raises(TvauError, match=r"detections/video_01\.txt:1: frame_id 12 is outside the video's 12"):
        add_detection(copy, root=_root(tmp_path), dataset=DATASET)


def test_render_refuses_files_changed_or_added_after_admission(detect_dir, tmp_path, capsys):
    root = _root(tmp_path)
    dest = add_detection(detect_dir, root=root, dataset=DATASET)
    assert dest == root / "results" / DATASET / "detection" / "toy-heatmaps"  # named by the summary's method
    _edit_line(dest / "scores" / "video_05.txt", 2, "0.123")
    assert main(["leaderboard", "render", "--root", str(root)]) == 2
    assert "scores/video_05.txt: scores/video_05.txt changed since it was admitted" in capsys.readouterr().err
    shutil.copyfile(detect_dir / "scores" / "video_05.txt", dest / "scores" / "video_05.txt")
    render(root)  # restored: renders again
    shutil.copyfile(dest / "scores" / "video_05.txt", dest / "scores" / "video_99.txt")
    with pytest.raises(TvauError, match=r"scores/video_99\.txt: file added after admission"):
        render(root)


def test_add_twice_needs_replace_and_name_is_for_detect_outputs(detect_dir, copy, tmp_path, capsys):
    root = _root(tmp_path)
    add_detection(detect_dir, root=root, dataset=DATASET)
    add_detection(detect_dir, root=root, dataset=DATASET)  # the same files again: fine
    (copy / "overlays").mkdir()  # not per-video evidence: ignored, not stored
    _edit_line(copy / "scores" / "video_00.txt", 1, "0.2999")  # a normal video's frame: metrics unchanged
    summary = read_json(copy / "summary.json")
    summary["metrics"] = detection_metrics(read_detection_data(copy))
    write_json(copy / "summary.json", summary)
    with pytest.raises(TvauError, match="already holds another detection run"):
        add_detection(copy, root=root, dataset=DATASET)
    dest = add_detection(copy, root=root, dataset=DATASET, replace=True)
    assert not (dest / "overlays").exists()
    with pytest.raises(TvauError, match="pass --dataset"):
        add_detection(copy, root=root)
    run_like = tmp_path / "not_detect"
    run_like.mkdir()
    assert main(["leaderboard", "add", str(run_like), "--root", str(root), "--name", "x"]) == 2
    assert "--name applies to detect outputs only" in capsys.readouterr().err


def test_classical_detect_output_is_admitted_and_rendered(synth_small, tmp_path):
    out = tmp_path / "classical"
    assert (
        main(
            ["detect", "--method", "classical", "--source", str(synth_small / "ubnormal"), "--out", str(out)]
        )
        == 0
    )
    root = _root(tmp_path)
    assert main(["leaderboard", "add", str(out), "--root", str(root), "--dataset", "synthetic-ubnormal"]) == 0
    assert not (root / "results" / "synthetic-ubnormal" / "detection" / "classical" / "overlays").exists()
    render(root)
    row = _row((root / "detection.csv").read_text(encoding="utf-8"), "Classical motion baseline (offline)")
    metrics = read_json(out / "summary.json")["metrics"]
    assert row["Micro AUC ↑"] == f"{100 * metrics['micro_auc']:.1f}"
    assert row["TBDC ↑"] == f"{100 * metrics['tbdc']:.3f}"


def test_a_few_undefined_resamples_are_left_out_of_the_interval(detect_dir, tmp_path):
    # Three videos, one normal: about 1 resample in 27 draws only the normal one (no abnormal frame).
    three = tmp_path / "three"
    shutil.copytree(detect_dir, three)
    for kind in ("labels", "scores", "detections", "tracks"):
        for p in (three / kind).glob("*.txt"):
            if p.stem not in ("video_00", "video_01", "video_02"):
                p.unlink()
    fig = detection_figures(read_detection_data(three), n_resamples=200, seed=0)
    assert 0 < fig.undefined["micro_auc"] <= 20
    lo, hi = fig.ci95["micro_auc"]
    assert 0 <= lo < hi <= 100
    assert fig.ci95["rbdc"] is not None and fig.undefined["rbdc"] == fig.undefined["micro_auc"]
