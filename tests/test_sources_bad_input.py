"""Bad inputs give a clear TvauError or TvauWarning naming the file, never a bare numpy/cv2 traceback."""

from __future__ import annotations

import pickle
import re
import shutil
import warnings

import cv2
import numpy as np
import pytest
from fixtures_sources import T_A, make_shanghaitech, make_ubnormal

from tvau_bench.errors import TvauError, TvauWarning
from tvau_bench.sources import open_source
from tvau_bench.sources.pickle_safe import load_restricted
from tvau_bench.sources.ubnormal import read_tracks_file

A = "abnormal_scene_1_scenario_1"


@pytest.fixture(scope="module")
def ub_template(tmp_path_factory):
    return make_ubnormal(tmp_path_factory.mktemp("ub_template"))


@pytest.fixture(scope="module")
def st_template(tmp_path_factory):
    return make_shanghaitech(tmp_path_factory.mktemp("st_template"))


@pytest.fixture
def ub(ub_template, tmp_path):
    return shutil.copytree(ub_template, tmp_path / "ub")


@pytest.fixture
def st(st_template, tmp_path):
    return shutil.copytree(st_template, tmp_path / "st")


def _report(src):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return src.report()


def test_root_missing_or_unrecognised(tmp_path):
    with pytest.raises(TvauError, match="dataset root not found"):
        open_source(tmp_path / "nope")
    with pytest.raises(TvauError, match="cannot tell the layout"):
        open_source(tmp_path)


def test_synth_style_parent_root_names_the_subfolders(tmp_path):
    (tmp_path / "ubnormal").mkdir()
    (tmp_path / "shanghaitech").mkdir()
    with pytest.raises(TvauError, match=r"fix: pass one of .*ubnormal"):
        open_source(tmp_path)


def test_ubnormal_scene_folder_missing(ub):
    shutil.rmtree(ub / "Scene2")
    src = open_source(ub)
    with pytest.warns(TvauWarning, match="1 of 2 listed train videos are not on disk"):
        vids = src.videos("train")
    assert [v.video_id for v in vids] == [A]
    rep = _report(src)
    assert rep.counts["train"]["missing_videos"] == 1
    assert any("not on disk" in p and "normal_scene_2_scenario_1" in p for p in rep.problems)
    with pytest.raises(TvauError, match="listed but not on disk"):
        src.video("normal_scene_2_scenario_1")


def test_ubnormal_annotation_folder_missing(ub):
    shutil.rmtree(ub / "Scene1" / f"{A}_annotations")
    src = open_source(ub)
    rep = _report(src)
    assert any("annotation folder missing" in p for p in rep.problems)
    assert any("without" in p and "_tracks.txt" in p for p in rep.problems)
    with pytest.raises(TvauError, match=r"_0003_gt\.png.*missing"):
        src.video(A).object_masks(3)


def test_ubnormal_map_count_differs(ub):
    (ub / "Scene1" / f"{A}_annotations" / f"{A}_{T_A - 1:04d}_gt.png").unlink()
    rep = _report(open_source(ub))
    assert any(f"{T_A - 1} id maps but the video has {T_A} frames" in p for p in rep.problems)


@pytest.mark.parametrize("cut", ["garbage", "truncated", "empty"])
def test_corrupt_or_truncated_mp4(ub, cut):
    path = ub / "Scene1" / f"{A}.mp4"
    data = path.read_bytes()
    path.write_bytes(
        {"garbage": b"not a video" * 100, "truncated": data[: len(data) // 2], "empty": b""}[cut]
    )
    src = open_source(ub)
    with pytest.raises(TvauError, match=r"Scene1/abnormal_scene_1_scenario_1\.mp4") as err:
        _ = src.video(A).num_frames
    assert "re-download" in str(err.value)
    rep = _report(src)
    assert any(f"{A}.mp4" in p for p in rep.problems)
    assert rep.counts["train"]["videos"] == 1  # the other train video is still counted


def test_map_size_differs_from_video(ub):
    path = ub / "Scene1" / f"{A}_annotations" / f"{A}_0000_gt.png"
    cv2.imwrite(str(path), np.zeros((24, 32), np.uint8))
    src = open_source(ub)
    with pytest.raises(TvauError, match=r"_0000_gt\.png: id map is 32x24 but the video is 64x48"):
        src.video(A).object_masks(0)
    assert any("id map is 32x24" in p for p in _report(src).problems)


def test_tracks_row_past_the_end(ub):
    path = ub / "Scene1" / f"{A}_annotations" / f"{A}_tracks.txt"
    path.write_bytes(b"2,2,5\r\n3,15,40\r\n2,30,35")
    v = open_source(ub).video(A)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = v.track_rows
    messages = [str(w.message) for w in caught if issubclass(w.category, TvauWarning)]
    assert len(messages) == 2
    assert re.search(r"_tracks\.txt: line 2: row 3,15,40 goes past the video's last frame 19", messages[0])
    assert "line 3: row 2,30,35" in messages[1] and "(dropped)" in messages[1]
    assert rows == [(2, 2, 5), (3, 15, T_A - 1)]  # clipped; the row starting past the end dropped
    rep = _report(open_source(ub))
    assert sum("goes past" in p for p in rep.problems) == 2


def test_tracks_unparsable_row_names_the_line(tmp_path):
    path = tmp_path / "x_tracks.txt"
    path.write_bytes(b"1,2,3\r\n4,5\r\n")
    with pytest.raises(TvauError, match=r"x_tracks\.txt:2: expected 'object_id,start_frame,end_frame'"):
        read_tracks_file(path)
    path.write_bytes(b"1,9,3")
    with pytest.raises(TvauError, match=r":1: invalid row"):
        read_tracks_file(path)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps({"v": {1: _Evil()}}),
        pickle.dumps({"v": {1, 2}}),
        pickle.dumps({"v": {1: 2.5}}),
        pickle.dumps([1, 2]),
        pickle.dumps({"v": {1: np.float64(2.0)}}),
        b"garbage",
    ],
)
def test_pickle_with_disallowed_type(tmp_path, payload, capsys):
    path = tmp_path / "object_names_per_video.pkl"
    path.write_bytes(payload)
    with pytest.raises(TvauError, match=r"object_names_per_video\.pkl") as err:
        load_restricted(path)
    assert "pwned" not in capsys.readouterr().out
    assert "refused" in str(err.value) or "expected a dict" in str(err.value)


def test_disallowed_pickle_in_a_root(ub):
    (ub / "scripts" / "object_names_per_video.pkl").write_bytes(pickle.dumps({"v": {1: {3}}}))
    src = open_source(ub)
    with pytest.raises(TvauError, match="refused to unpickle"):
        _ = src.classes
    assert any("refused to unpickle" in p for p in _report(src).problems)


def test_shanghaitech_missing_folders(st):
    shutil.rmtree(st / "testing" / "test_pixel_mask")
    shutil.rmtree(st / "training")
    src = open_source(st)
    rep = _report(src)
    assert any("test_pixel_mask: folder missing" in p for p in rep.problems)
    assert any("training/videos: folder missing" in p for p in rep.problems)
    assert any("01_0001.npy: file not found" in p for p in rep.problems)
    assert rep.counts["test"]["frames"] == 12 + 5  # frames and labels are still counted
    assert rep.counts["test"]["abnormal_frames"] == 8 + 5


def test_shanghaitech_frame_mask_length_and_pixel_shape(st):
    np.save(st / "testing" / "test_frame_mask" / "01_0001.npy", np.zeros(5, np.uint8))
    np.save(st / "testing" / "test_pixel_mask" / "04_0011.npy", np.zeros((5, 10, 10), np.uint8))
    src = open_source(st)
    with pytest.raises(
        TvauError, match=r"01_0001\.npy: frame mask has shape \(5,\) but the video has 12 frames"
    ):
        src.video("01_0001").frame_labels()
    with pytest.raises(TvauError, match=r"04_0011\.npy: pixel mask has shape \(5, 10, 10\)"):
        src.video("04_0011").objects()
    assert len(_report(src).problems) == 2


def test_shanghaitech_corrupt_npy_and_frame(st):
    (st / "testing" / "test_frame_mask" / "01_0001.npy").write_bytes(b"junk")
    (st / "testing" / "frames" / "04_0011" / "002.jpg").write_bytes(b"junk")
    src = open_source(st)
    with pytest.raises(TvauError, match=r"01_0001\.npy: cannot read this \.npy file"):
        src.video("01_0001").frame_labels()
    with pytest.raises(TvauError, match=r"002\.jpg: OpenCV cannot read this image"):
        list(src.video("04_0011").frames())


def test_shanghaitech_truncated_training_video(st):
    path = st / "training" / "videos" / "01_001.avi"
    path.write_bytes(path.read_bytes()[:200])
    rep = _report(open_source(st))
    assert any("01_001.avi" in p for p in rep.problems)
