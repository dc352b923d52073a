"""Frame AUC: the reference script's micro/macro computation, the unpadded variant, smoothing and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter1d
from sklearn.metrics import roc_auc_score

from tvau_bench.cli import main
from tvau_bench.errors import TvauError, TvauWarning
from tvau_bench.metrics.frame import frame_auc


def _reference(labels, scores, sigma=None):
    """The UBnormal script's loop, as METRICS.md states it (videos in sorted order)."""
    all_s, all_y, per = [], [], []
    for v in sorted(labels):
        s = np.asarray(scores[v], dtype=float)
        if sigma is not None:
            s = gaussian_filter1d(s, sigma, mode="constant")
        all_s = np.append(all_s, s)
        all_y = np.append(all_y, labels[v])
        per.append(roc_auc_score(np.concatenate(([0], labels[v], [1])), np.concatenate(([0], s, [1]))))
    return roc_auc_score(all_y, all_s), np.array(per).mean()


@st.composite
def videos(draw):
    n = draw(st.integers(1, 5))
    labels, scores = {}, {}
    for i in range(n):
        t = draw(st.integers(1, 30))
        labels[f"v{i}"] = np.asarray(draw(st.lists(st.integers(0, 1), min_size=t, max_size=t)))
        scores[f"v{i}"] = np.asarray(
            draw(st.lists(st.sampled_from([0.0, 0.1, 0.5, 0.5, 0.9, 0.99]), min_size=t, max_size=t))
        )
    # Both classes overall, or the micro AUC is undefined.
    labels["z"], scores["z"] = np.array([0, 1]), np.array([0.3, 0.6])
    return labels, scores


@settings(max_examples=80, deadline=None)
@given(videos(), st.sampled_from([None, 1.0, 3.5]))
def test_equals_reference_loop(data, sigma):
    labels, scores = data
    res = frame_auc(labels, scores, smoothing_sigma=sigma)
    micro, macro = _reference(labels, scores, sigma)
    assert abs(res.micro_auc - micro) <= 1e-12 and abs(res.macro_auc - macro) <= 1e-12
    assert res.convention == "reference-padded"
    assert res.smoothing == (
        "none" if sigma is None else f"gaussian_filter1d(sigma={sigma:g}, mode=constant)"
    )


def test_unpadded_skips_single_class_videos():
    labels = {"a": np.array([0, 0, 1, 1]), "b": np.array([0, 0, 0]), "c": np.array([1, 0, 1])}
    scores = {
        "a": np.array([0.1, 0.4, 0.35, 0.8]),
        "b": np.array([0.2, 0.2, 0.9]),
        "c": np.array([0.5, 0.6, 0.7]),
    }
    res = frame_auc(labels, scores, convention="unpadded")
    assert res.skipped_videos == ("b",)
    expect = np.mean([roc_auc_score(labels["a"], scores["a"]), roc_auc_score(labels["c"], scores["c"])])
    assert res.macro_auc == pytest.approx(expect, abs=1e-12)
    padded = frame_auc(labels, scores)
    assert padded.skipped_videos == () and set(padded.per_video) == {"a", "b", "c"}
    assert padded.macro_auc != res.macro_auc


def test_padding_depends_on_scale_and_warns():
    labels = {"a": np.array([0, 1, 0, 1])}
    scores = {"a": np.array([0.2, 3.0, 1.5, 2.0])}
    with pytest.warns(TvauWarning, match="outside"):
        frame_auc(labels, scores)


def test_errors():
    with pytest.raises(TvauError, match="'b' has no scores"):
        frame_auc({"a": np.array([0, 1]), "b": np.array([0])}, {"a": np.array([0.1, 0.2])})
    with pytest.raises(TvauError, match="'a': 2 labels but 3 scores"):
        frame_auc({"a": np.array([0, 1])}, {"a": np.array([0.1, 0.2, 0.3])})
    with pytest.raises(TvauError, match="micro AUC is undefined"):
        frame_auc({"a": np.array([0, 0])}, {"a": np.array([0.1, 0.2])})
    with pytest.raises(TvauError, match="convention"):
        frame_auc({"a": np.array([0, 1])}, {"a": np.array([0.1, 0.2])}, convention="x")


def test_cli_frame_npy_and_txt(tmp_path, capsys):
    (tmp_path / "labels").mkdir()
    (tmp_path / "scores").mkdir()
    np.save(tmp_path / "labels/a.npy", np.array([0, 0, 1, 1], dtype=np.uint8))
    (tmp_path / "labels/b.txt").write_bytes(b"0\r\n1\r\n0\r\n")
    (tmp_path / "scores/a.txt").write_text("0.1\n0.6\n0.4\n0.8\n")
    np.save(tmp_path / "scores/b.npy", np.array([0.2, 0.3, 0.1], dtype=np.float32))
    (tmp_path / "scores/detection_rule.json").write_text("{}")  # other files are ignored
    rc = main(
        [
            "metrics",
            "frame",
            "--labels",
            str(tmp_path / "labels"),
            "--scores",
            str(tmp_path / "scores"),
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    labels = {"a": np.array([0, 0, 1, 1]), "b": np.array([0, 1, 0])}
    scores = {
        "a": np.array([0.1, 0.6, 0.4, 0.8]),
        "b": np.array([0.2, 0.3, 0.1], dtype=np.float32).astype(float),
    }
    micro, macro = _reference(labels, scores)
    assert out["micro_auc"] == pytest.approx(micro, abs=1e-12) and out["macro_auc"] == pytest.approx(
        macro, abs=1e-12
    )
    assert out["convention"] == "reference-padded" and out["smoothing"] == "none"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: (d / "scores/b.txt").unlink(), "video 'b' has labels but no scores"),
        (lambda d: (d / "scores/b.txt").write_text("0.1\n"), "video 'b': 3 labels but 1 scores"),
        (lambda d: (d / "scores/c.txt").write_text("0.5\n"), "video 'c' has scores but no labels"),
        (lambda d: (d / "labels/b.txt").write_text("0\n2\n0\n"), "label 2 at frame 1"),
        (lambda d: (d / "scores/b.txt").write_text("0.1\nnan\n0.3\n"), "b.txt:2: value is nan"),
    ],
)
def test_cli_frame_errors_name_the_video(tmp_path, capsys, setup, message):
    for side in ("labels", "scores"):
        (tmp_path / side).mkdir()
    for v in ("a", "b"):
        (tmp_path / f"labels/{v}.txt").write_text("0\n1\n0\n")
        (tmp_path / f"scores/{v}.txt").write_text("0.1\n0.9\n0.2\n")
    setup(tmp_path)
    rc = main(
        ["metrics", "frame", "--labels", str(tmp_path / "labels"), "--scores", str(tmp_path / "scores")]
    )
    assert rc == 2
    assert message in capsys.readouterr().err
