"""Reference text formats: tolerant of CRLF, one-row and empty files; strict about malformed rows."""

from __future__ import annotations

import numpy as np
import pytest

from tvau_bench.errors import TvauError
from tvau_bench.metrics.io import (
    read_detections_dir,
    read_detections_file,
    read_labels_dir,
    read_tracks_dir,
    read_tracks_file,
    read_values_dir,
    read_values_file,
    write_detections_file,
    write_values_file,
)


@pytest.mark.parametrize(
    "data",
    [
        b"0,3,1,2,5,6\r\n1,4,1,2,5,6\r\n",
        b"0,3,1,2,5,6\r1,4,1,2,5,6",
        b"\xef\xbb\xbf# comment\n0,3,1,2,5,6\n\n 1 , 4,1,2,5,6 \n",
    ],
)
def test_tracks_line_endings_comments_whitespace(tmp_path, data):
    (tmp_path / "v.txt").write_bytes(data)
    np.testing.assert_array_equal(
        read_tracks_file(tmp_path / "v.txt"), [[0, 3, 1, 2, 5, 6], [1, 4, 1, 2, 5, 6]]
    )


def test_one_row_and_empty_files(tmp_path):
    (tmp_path / "one.txt").write_text("0,1,2,3,4,5")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.txt").write_text("\n\r\n")
    (tmp_path / "notes.md").write_text("ignored")
    got = read_tracks_dir(tmp_path)
    assert list(got) == ["blank", "empty", "one"]
    assert got["one"].shape == (1, 6) and got["empty"].shape == (0, 6) and got["blank"].shape == (0, 6)
    assert read_detections_dir(tmp_path)["one"].tolist() == [[0, 1, 2, 3, 4, 5]]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("0,1,2,3,4", "expected 6 comma-separated values"),
        ("0,1,2,3,4,5,6", "found 7"),
        ("0,a,2,3,4,0.5", "x_min is not a number: 'a'"),
        ("0,5,2,3,4,0.5", "x_max < x_min"),
        ("0,1,5,3,4,0.5", "y_max < y_min"),
        ("0,1,2,3,4,nan", "score is nan"),
        ("0,1,2,3,inf,0.5", "y_max is inf"),
        ("-1,1,2,3,4,0.5", "frame_id must be a non-negative integer"),
        ("2.5,1,2,3,4,0.5", "frame_id must be a non-negative integer"),
    ],
)
def test_malformed_detection_rows_name_file_and_line(tmp_path, row, message):
    p = tmp_path / "v.txt"
    p.write_text(f"0,1,2,3,4,0.5\n{row}\n")
    with pytest.raises(TvauError, match=r"v\.txt:2") as exc:
        read_detections_file(p)
    assert message in str(exc.value)


def test_malformed_track_id(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("0,0,1,1,2,2\n\n0.5,1,1,1,2,2\n")
    with pytest.raises(TvauError, match=r"t.txt:3: track_id must be a non-negative integer"):
        read_tracks_file(p)


def test_not_utf8_and_missing(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"\xff\xfe0,1")
    with pytest.raises(TvauError, match="not UTF-8"):
        read_tracks_file(tmp_path / "x.txt")
    with pytest.raises(TvauError, match="file not found"):
        read_tracks_file(tmp_path / "nope.txt")
    with pytest.raises(TvauError, match="detections folder not found"):
        read_detections_dir(tmp_path / "nope")


def test_values_files(tmp_path):
    np.save(tmp_path / "a.npy", np.array([0.5, 1]))
    (tmp_path / "b.txt").write_text("1\r\n0\r\n")
    got = read_values_dir(tmp_path, "scores")
    assert got["a"].tolist() == [0.5, 1.0] and got["b"].tolist() == [1.0, 0.0]
    np.save(tmp_path / "b.npy", np.array([1.0]))
    with pytest.raises(TvauError, match=r"both a \.npy and a \.txt"):
        read_values_dir(tmp_path, "scores")
    np.save(tmp_path / "c.npy", np.zeros((2, 2)))
    with pytest.raises(TvauError, match="1-D"):
        read_values_file(tmp_path / "c.npy")
    np.save(tmp_path / "d.npy", np.array([0.1, np.nan]))
    with pytest.raises(TvauError, match="index 1 is not finite"):
        read_values_file(tmp_path / "d.npy")
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab/v.txt").write_text("0\n1\n0.5\n")
    with pytest.raises(TvauError, match=r"label 0\.5 at frame 2"):
        read_labels_dir(tmp_path / "lab")


def test_writers_round_trip_exactly(tmp_path):
    rows = np.array([[0, 1, 2, 30, 40, 0.1 + 0.2], [7, 5, 5, 5, 5, 1 / 3]])
    write_detections_file(tmp_path / "d.txt", rows)
    assert (tmp_path / "d.txt").read_text().splitlines()[0] == "0,1,2,30,40,0.30000000000000004"
    np.testing.assert_array_equal(read_detections_file(tmp_path / "d.txt"), rows)
    write_detections_file(tmp_path / "e.txt", np.zeros((0, 6)))
    assert read_detections_file(tmp_path / "e.txt").shape == (0, 6)
    s = np.random.default_rng(0).random(5)
    for name in ("s.txt", "s.npy"):
        write_values_file(tmp_path / name, s)
        np.testing.assert_array_equal(read_values_file(tmp_path / name), s)
