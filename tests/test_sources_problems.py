"""ShanghaiTech roots broken in ways the reader used to pass over: labels without frames (or frames without
labels), frame masks of fractions or NaN, and a truncated JPEG frame. Each is a problem of
``sources info --deep`` (exit 1 under --strict) and names the file."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
from fixtures_sources import make_shanghaitech

from tvau_bench import cli
from tvau_bench.errors import TvauError
from tvau_bench.sources import open_source


@pytest.fixture(autouse=True)
def only_sources_area(monkeypatch):
    monkeypatch.setattr(cli, "AREAS", ("sources",))


@pytest.fixture(scope="module")
def st_template(tmp_path_factory):
    return make_shanghaitech(tmp_path_factory.mktemp("st_problems"))


@pytest.fixture
def st(st_template, tmp_path):
    return shutil.copytree(st_template, tmp_path / "st")


def _info(root, capsys, *extra: str) -> tuple[int, list[str]]:
    code = cli.main(["sources", "info", str(root), "--json", *extra])
    return code, json.loads(capsys.readouterr().out)["problems"]


def test_clean_root_has_no_problems_even_deep(st, capsys):
    assert _info(st, capsys, "--deep", "--strict") == (0, [])


def test_labels_without_frames_and_frames_without_labels(st, capsys):
    shutil.rmtree(st / "testing" / "frames" / "04_0011")  # its labels stay behind
    (st / "testing" / "test_frame_mask" / "01_0001.npy").unlink()  # its frames stay behind
    code, problems = _info(st, capsys, "--strict", "--deep")
    assert code == 1
    for kind in ("test_frame_mask", "test_pixel_mask"):
        assert any(
            f"{kind}/04_0011.npy: labels of test video 04_0011, which has no frames folder" in p
            and "left out of the test split" in p
            for p in problems
        )
    assert any("test_frame_mask/01_0001.npy: file not found" in p for p in problems)
    assert len(problems) == 3


def test_fraction_and_nan_frame_masks_are_problems(st, capsys):
    labels = np.zeros(12)
    labels[2:10] = 0.5
    np.save(st / "testing" / "test_frame_mask" / "01_0001.npy", labels)
    nan = np.ones(5, np.float32)
    nan[3] = np.nan
    np.save(st / "testing" / "test_frame_mask" / "04_0011.npy", nan)
    src = open_source(st)
    with pytest.raises(TvauError, match=r"01_0001\.npy: frame mask holds 0\.5 at frame 2 \(8 such value"):
        src.video("01_0001").frame_labels()
    with pytest.raises(TvauError, match=r"04_0011\.npy: frame mask holds nan at frame 3"):
        src.video("04_0011").abnormal_intervals()
    code, problems = _info(st, capsys, "--strict")
    assert code == 1 and len(problems) == 2
    # whole floats are 0/1 labels stored wide: still read
    np.save(st / "testing" / "test_frame_mask" / "04_0011.npy", np.ones(5, np.float64))
    np.save(st / "testing" / "test_frame_mask" / "01_0001.npy", (labels > 0).astype(np.float32))
    assert _info(st, capsys, "--strict") == (0, [])


def test_nan_pixel_mask_is_a_problem(st, capsys):
    pm = np.load(st / "testing" / "test_pixel_mask" / "04_0011.npy").astype(np.float32)
    pm[1, 0, 0] = np.nan
    np.save(st / "testing" / "test_pixel_mask" / "04_0011.npy", pm)
    with pytest.raises(TvauError, match=r"04_0011\.npy: pixel mask of frame 1 holds nan"):
        open_source(st).video("04_0011").objects()
    code, problems = _info(st, capsys, "--strict")
    assert code == 1 and problems == [p for p in problems if "04_0011.npy: pixel mask of frame 1" in p]


def test_deep_finds_a_truncated_jpeg(st, capsys):
    path = st / "testing" / "frames" / "01_0001" / "003.jpg"
    noisy = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    data = cv2.imencode(".jpg", noisy)[1].tobytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    # OpenCV decodes it without an error (the lost rows come out grey): only the end marker tells
    assert cv2.imread(str(path)).shape == (48, 64, 3)
    assert _info(st, capsys, "--strict") == (0, [])  # a shallow look reads no frame past the first
    code, problems = _info(st, capsys, "--strict", "--deep")
    assert code == 1 and len(problems) == 1
    assert "01_0001/003.jpg: JPEG is truncated" in problems[0]
    # a frame that is not an image at all
    path.write_bytes(b"junk" * 100)
    code, problems = _info(st, capsys, "--strict", "--deep")
    assert code == 1 and len(problems) == 1 and "003.jpg: OpenCV cannot decode this image" in problems[0]
