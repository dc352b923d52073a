"""RBDC and TBDC (Ramachandra & Jones, WACV 2020) with the reference semantics of ``METRICS.md``, vectorised.

Semantics (identical to the per-detection loop in :mod:`.region_reference`, the test oracle):

1. IoU counts pixels inclusively (width ``x_max - x_min + 1``), ground-truth box first, as the reference.
2. Detections of all videos are sorted by score, descending; ties keep a documented, deterministic order:
   video name (Python string order), then the detection's row in its file. No threshold grid.
3. A detection whose frame holds no region with IoU >= ``iou`` is a false positive; otherwise its true
   positives are the matched regions not found before (several possible); a detection that only re-finds
   regions is neither TP nor FP. A region counts once toward its track when first found.
4. Track detection rate after each detection: share of tracks whose found regions / boxes >= ``track_fraction``.
5. Curves start at (0, 0); FPR = cumulative FP / ``num_frames`` (all test frames, normal videos included).
6. Keep the points up to the last one with FPR <= 1; when that FPR is not exactly 1, append (1, its rates).
   The reference appends the *last* rates of the whole curve, which is the same point whenever the reference
   runs at all (with detections beyond FPR 1 it makes a non-monotone curve that ``sklearn.metrics.auc``
   rejects). Area by the trapezoid rule (``sklearn.metrics.auc``).

Input differences from the reference reader, on inputs where the reference does not crash the results are the
same: tracks are the distinct track ids of a file (the reference assumes ids ``0..K-1`` in order), a repeated
``(track, frame)`` keeps the last row (as the reference's dict does) with a warning.

How the vectorised pass works: detections are ranked once; per (video, frame), candidate (detection, region)
pairs are formed in bounded chunks and their IoUs computed with the same float operations as the reference;
a region's first hit is its smallest matching rank; TP per detection = regions first hit by it; FP = no hit; a
track is detected at the rank where its k-th region is first found, k the smallest count reaching the fraction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import auc

from ..errors import TvauError
from .io import warn

TIE_ORDER = "score descending, then video name, then row in the detections file"
PAIR_CHUNK = 1 << 16  # candidate (detection, region) pairs per block: bounds the transient memory


@dataclass(frozen=True)
class GroundTruth:
    """Ground-truth regions of all videos, one entry per (track, frame)."""

    videos: tuple[str, ...]  # sorted names; ``video`` indexes this
    video: np.ndarray  # (R,) int64
    frame: np.ndarray  # (R,) int64
    boxes: np.ndarray  # (R, 4) float64 x_min, y_min, x_max, y_max
    track: np.ndarray  # (R,) int64 global track index
    track_size: np.ndarray  # (T,) int64 boxes per track (frames actually present)
    track_keys: tuple[tuple[str, int], ...]  # (video, track_id) per global track


@dataclass(frozen=True)
class Detections:
    """Scored detections of all videos."""

    videos: tuple[str, ...]
    video: np.ndarray  # (D,) int64
    frame: np.ndarray  # (D,) int64
    boxes: np.ndarray  # (D, 4) float64
    score: np.ndarray  # (D,) float64
    row: np.ndarray  # (D,) int64 row index within its video's file (tie rule)


@dataclass(frozen=True)
class RegionResult:
    """RBDC/TBDC in [0, 1] with the counts and the (cut) curves they were computed from."""

    rbdc: float
    tbdc: float
    num_detections: int
    num_regions: int
    num_tracks: int
    num_frames: int
    num_videos: int
    iou_threshold: float
    track_fraction: float
    num_true_positives: int
    num_false_positives: int
    fpr: np.ndarray = field(repr=False)
    rbdr: np.ndarray = field(repr=False)
    tbdr: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the curves)."""
        return {
            "rbdc": self.rbdc,
            "tbdc": self.tbdc,
            "num_detections": self.num_detections,
            "num_regions": self.num_regions,
            "num_tracks": self.num_tracks,
            "num_frames": self.num_frames,
            "num_videos": self.num_videos,
            "iou_threshold": self.iou_threshold,
            "track_fraction": self.track_fraction,
            "num_true_positives": self.num_true_positives,
            "num_false_positives": self.num_false_positives,
            "curve_points": len(self.fpr),
            "tie_order": TIE_ORDER,
            "iou": "inclusive pixels (x_max - x_min + 1)",
        }


def _rows(arr: np.ndarray, video: str, what: str) -> np.ndarray:
    a = np.asarray(arr, dtype=np.float64)
    if a.size == 0:
        return a.reshape(0, 6)
    if a.ndim != 2 or a.shape[1] != 6:
        raise TvauError(f"video {video!r}: {what} rows must have 6 columns, found shape {a.shape}")
    if not np.isfinite(a).all():
        raise TvauError(f"video {video!r}: {what} rows hold a non-finite value")
    return a


def _increasing(*cols: np.ndarray) -> bool:
    """Whether rows are in strictly increasing lexicographic order of ``cols`` (then no key repeats)."""
    n = len(cols[0])
    greater, equal = np.zeros(max(n - 1, 0), dtype=bool), np.ones(max(n - 1, 0), dtype=bool)
    for c in cols:
        d = c[1:] - c[:-1]
        greater |= equal & (d > 0)
        equal &= d == 0
    return bool(greater.all())


def _dedup_keep_last(video: np.ndarray, tid: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Indices of the rows to keep: a repeated (video, track, frame) keeps its last row, as the reference's dict."""
    n = len(video)
    if _increasing(video, tid, frame):  # the usual layout (sorted by track, then frame): nothing to drop
        return np.arange(n)
    order = np.lexsort((np.arange(n)[::-1], frame, tid, video))  # within a key, the last row comes first
    v, t, f = video[order], tid[order], frame[order]
    first = np.ones(n, dtype=bool)
    first[1:] = (v[1:] != v[:-1]) | (t[1:] != t[:-1]) | (f[1:] != f[:-1])
    return np.sort(order[first])


def ground_truth_from_rows(tracks: Mapping[str, np.ndarray]) -> GroundTruth:
    """Build :class:`GroundTruth` from ``{video: rows}`` with rows ``track_id,frame_id,x_min,y_min,x_max,y_max``."""
    videos = tuple(sorted(tracks))
    arrs = [_rows(tracks[v], v, "track") for v in videos]
    n = [len(a) for a in arrs]
    if not sum(n):
        z = np.zeros(0, dtype=np.int64)
        return GroundTruth(videos, z, z, np.zeros((0, 4)), z, z, ())
    a = np.concatenate(arrs)
    video = np.repeat(np.arange(len(videos), dtype=np.int64), n)
    tid = a[:, 0].astype(np.int64)
    frame = a[:, 1].astype(np.int64)
    keep = _dedup_keep_last(video, tid, frame)
    if len(keep) != len(a):
        dropped = np.setdiff1d(np.arange(len(a)), keep)
        names = sorted({videos[i] for i in video[dropped]})
        warn(f"tracks of {names}: {len(dropped)} repeated (track, frame) rows; the last row of each is kept")
        a, video, tid, frame = a[keep], video[keep], tid[keep], frame[keep]
    # Global track index in (video name, track id) order, from one int64 key (pairs only if it would overflow).
    span = int(tid.max()) + 1
    if len(videos) * span < 2**62:
        uk, track, size = np.unique(video * span + tid, return_inverse=True, return_counts=True)
        keys = tuple((videos[int(k // span)], int(k % span)) for k in uk)
    else:
        pairs, track, size = np.unique(
            np.stack([video, tid], 1), axis=0, return_inverse=True, return_counts=True
        )
        keys = tuple((videos[int(v)], int(t)) for v, t in pairs)
    boxes = np.asfortranarray(a[:, 2:6])  # contiguous columns: the IoU pass gathers column by column
    return GroundTruth(
        videos, video, frame, boxes, track.reshape(-1).astype(np.int64), size.astype(np.int64), keys
    )


def detections_from_rows(detections: Mapping[str, np.ndarray]) -> Detections:
    """Build :class:`Detections` from ``{video: rows}`` with rows ``frame_id,x_min,y_min,x_max,y_max,score``."""
    videos = tuple(sorted(detections))
    arrs = [_rows(detections[v], v, "detection") for v in videos]
    n = [len(a) for a in arrs]
    if sum(n):
        allr = np.concatenate(arrs)
        video = np.repeat(np.arange(len(videos), dtype=np.int64), n)
        row = np.concatenate([np.arange(k, dtype=np.int64) for k in n])
    else:
        allr = np.zeros((0, 6))
        video = row = np.zeros(0, dtype=np.int64)
    return Detections(
        videos, video, allr[:, 0].astype(np.int64), np.asfortranarray(allr[:, 1:5]), allr[:, 5].copy(), row
    )


def _iou_columns(gx0, gy0, gx1, gy1, dx0, dy0, dx1, dy1) -> np.ndarray:
    # Same float operations, in the same order, as the reference's bb_intersection_over_union(gt, detection).
    inter = np.maximum(0.0, np.minimum(gx1, dx1) - np.maximum(gx0, dx0) + 1) * np.maximum(
        0.0, np.minimum(gy1, dy1) - np.maximum(gy0, dy0) + 1
    )
    area_g = (gx1 - gx0 + 1) * (gy1 - gy0 + 1)
    area_d = (dx1 - dx0 + 1) * (dy1 - dy0 + 1)
    return inter / (area_g + area_d - inter)


def inclusive_iou(gt: np.ndarray, det: np.ndarray) -> np.ndarray:
    """Row-wise IoU of ``(n, 4)`` boxes with inclusive pixel counts, in the reference's float operation order."""
    gt, det = np.asarray(gt, dtype=np.float64), np.asarray(det, dtype=np.float64)
    return _iou_columns(*gt.T, *det.T)


def _frame_keys(
    gv: np.ndarray, gf: np.ndarray, dv: np.ndarray, df: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """One int64 key per (video, frame), equal across the two sets exactly when both parts are equal, and the
    size of the key space (dense when small)."""
    nf = int(max(gf.max(initial=-1), df.max(initial=-1))) + 1
    nv = int(max(gv.max(initial=-1), dv.max(initial=-1))) + 1
    if nv * max(nf, 1) < 2**62:
        return gv * nf + gf, dv * nf + df, nv * nf
    both = np.concatenate([np.stack([gv, gf], 1), np.stack([dv, df], 1)])
    _, inv = np.unique(both, axis=0, return_inverse=True)
    inv = inv.reshape(-1).astype(np.int64)
    return inv[: len(gv)], inv[len(gv) :], int(inv.max(initial=-1)) + 1


def _hits(
    gt_boxes: np.ndarray,
    gkey: np.ndarray,
    det_boxes: np.ndarray,
    dkey: np.ndarray,
    space: int,
    iou: float,
    chunk: int,
) -> tuple[np.ndarray, np.ndarray]:
    """All (detection, region) index pairs in the same frame with IoU >= ``iou``, in detection index order.

    Pairs are formed ``chunk`` at a time, so the transient memory is bounded whatever the frame crowding."""
    gorder = np.argsort(gkey, kind="stable")
    # Gathering from contiguous columns is cheaper than gathering rows.
    gcols = [np.ascontiguousarray(gt_boxes[:, k]) for k in range(4)]
    dcols = [np.ascontiguousarray(det_boxes[:, k]) for k in range(4)]
    if space <= max(4 * (len(gkey) + len(dkey)), 1 << 20):
        # Small key space: a dense table of each frame's first region and region count.
        counts = np.bincount(gkey, minlength=space)
        starts = np.cumsum(counts) - counts
        cnt, lo = counts[dkey], starts[dkey]
    else:
        gsorted = gkey[gorder]
        lo = np.searchsorted(gsorted, dkey, side="left")
        cnt = np.searchsorted(gsorted, dkey, side="right") - lo
    cand = np.flatnonzero(cnt)  # detections whose frame holds ground truth
    ccnt, clo = cnt[cand], lo[cand]
    cum = np.cumsum(ccnt)
    out_d: list[np.ndarray] = []
    out_g: list[np.ndarray] = []
    start = 0
    while start < len(cand):
        done = int(cum[start - 1]) if start else 0
        # Largest block whose pairs fit in ``chunk`` (at least one detection).
        end = max(int(np.searchsorted(cum, done + chunk, side="right")), start + 1)
        per_det = ccnt[start:end]
        n = int(cum[end - 1]) - done
        local = np.repeat(np.arange(end - start, dtype=np.int64), per_det)
        d = cand[start:end][local]
        offset = np.arange(n, dtype=np.int64) - (np.cumsum(per_det) - per_det)[local]
        g = gorder[clo[start:end][local] + offset]
        ok = _iou_columns(*(col[g] for col in gcols), *(col[d] for col in dcols)) >= iou
        out_d.append(d[ok])
        out_g.append(g[ok])
        start = end
    if not out_d:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_d), np.concatenate(out_g)


def _needed(sizes: np.ndarray, fraction: float) -> np.ndarray:
    """Smallest found count k per track with ``k / size >= fraction`` (float division as the reference); size+1 if none."""
    k = np.clip(np.ceil(fraction * sizes), 0, sizes).astype(np.int64)
    for _ in range(2):  # ceil of a rounded product can be one off either way: settle on the exact predicate
        down = (k > 0) & ((k - 1) / np.maximum(sizes, 1) >= fraction)
        k = k - down
    for _ in range(2):
        up = (k <= sizes) & (k / np.maximum(sizes, 1) < fraction)
        k = k + up
    return k


def rbdc_tbdc(
    gt: GroundTruth,
    det: Detections,
    num_frames: int,
    *,
    iou: float = 0.1,
    track_fraction: float = 0.1,
    chunk: int = PAIR_CHUNK,
) -> RegionResult:
    """RBDC and TBDC of ``det`` against ``gt`` over ``num_frames`` test frames (see the module docstring)."""
    if int(num_frames) != num_frames or num_frames <= 0:
        raise TvauError(f"num_frames must be a positive integer, not {num_frames}", field="num_frames")
    num_frames = int(num_frames)
    for name, value in (("iou", iou), ("track_fraction", track_fraction)):
        if not np.isfinite(value):
            raise TvauError(f"{name} must be a finite number, not {value}", field=name)
    videos = tuple(sorted(set(gt.videos) | set(det.videos)))
    index = {v: i for i, v in enumerate(videos)}
    gmap = np.asarray([index[v] for v in gt.videos], dtype=np.int64)
    dmap = np.asarray([index[v] for v in det.videos], dtype=np.int64)
    gv = gmap[gt.video] if len(gt.video) else gt.video
    dv = dmap[det.video] if len(det.video) else det.video

    # Rank detections: score descending, then video name, then row. Built by detections_from_rows, the arrays
    # are already in (video, row) order, so a stable sort on the score alone gives the rule.
    n_det, n_reg, n_trk = len(det.score), len(gt.frame), len(gt.track_size)
    tie = dv * (int(det.row.max(initial=0)) + 1) + det.row
    if n_det and np.all(tie[1:] > tie[:-1]):
        order = np.argsort(-det.score, kind="stable")
    else:
        order = np.lexsort((det.row, dv, -det.score))  # the last key is the primary one
    rank_of = np.empty(n_det, dtype=np.int64)
    rank_of[order] = np.arange(n_det, dtype=np.int64)

    gkey, dkey, space = _frame_keys(gv, gt.frame, dv, det.frame)
    hit_i, hit_g = _hits(gt.boxes, gkey, det.boxes, dkey, space, float(iou), chunk)
    hit_d = rank_of[hit_i]

    matched = np.zeros(n_det, dtype=bool)
    matched[hit_i] = True
    fp = (~matched[order]).astype(np.int64)
    # A region is found by its earliest matching detection.
    srt = np.lexsort((hit_d, hit_g))
    hg, hd = hit_g[srt], hit_d[srt]
    first = np.ones(len(hg), dtype=bool)
    first[1:] = hg[1:] != hg[:-1]
    found_g, found_rank = hg[first], hd[first]
    tp = np.bincount(found_rank, minlength=n_det)

    # Track detection: at the rank of its k-th first-found region.
    need = _needed(gt.track_size, float(track_fraction))
    detected_at = np.full(n_trk, n_det, dtype=np.int64)  # n_det: never
    detected_at[need == 0] = -1
    if len(found_g):
        ftrack = gt.track[found_g]
        srt = np.lexsort((found_rank, ftrack))
        ranks_by_track = found_rank[srt]
        nfound = np.bincount(ftrack, minlength=n_trk)
        starts = np.cumsum(nfound) - nfound
        ok = (need >= 1) & (need <= nfound)
        detected_at[ok] = ranks_by_track[starts[ok] + need[ok] - 1]
    trk_counts = np.bincount(detected_at[detected_at < n_det] + 1, minlength=n_det + 1)
    trk_cum = np.cumsum(trk_counts)[1:]  # tracks detected after rank r

    cum_fp = np.concatenate(([0.0], np.cumsum(fp, dtype=np.float64)))
    cum_tp = np.concatenate(([0.0], np.cumsum(tp, dtype=np.float64)))
    if n_reg == 0:
        warn("no ground-truth regions: RBDC and TBDC are reported as 0")
        rbdr = np.zeros(n_det + 1)
    else:
        rbdr = cum_tp / n_reg
    tbdr = np.zeros(n_det + 1) if n_trk == 0 else np.concatenate(([0.0], trk_cum / n_trk))
    fpr = cum_fp / num_frames
    return _finish(fpr, rbdr, tbdr, n_det, n_reg, n_trk, num_frames, len(videos), iou, track_fraction, tp, fp)


def cut_curves(
    fpr: np.ndarray, rbdr: np.ndarray, tbdr: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep points up to the last with FPR <= 1; append (1, last kept rates) when that FPR is not exactly 1."""
    last = int(np.flatnonzero(fpr <= 1)[-1])
    fpr, rbdr, tbdr = fpr[: last + 1], rbdr[: last + 1], tbdr[: last + 1]
    if fpr[-1] != 1:
        fpr = np.append(fpr, 1.0)
        rbdr = np.append(rbdr, rbdr[-1])
        tbdr = np.append(tbdr, tbdr[-1])
    return fpr, rbdr, tbdr


def _finish(fpr, rbdr, tbdr, n_det, n_reg, n_trk, num_frames, n_vid, iou, frac, tp, fp) -> RegionResult:
    fpr, rbdr, tbdr = cut_curves(fpr, rbdr, tbdr)
    return RegionResult(
        rbdc=float(auc(fpr, rbdr)),
        tbdc=float(auc(fpr, tbdr)),
        num_detections=int(n_det),
        num_regions=int(n_reg),
        num_tracks=int(n_trk),
        num_frames=int(num_frames),
        num_videos=int(n_vid),
        iou_threshold=float(iou),
        track_fraction=float(frac),
        num_true_positives=int(np.sum(tp)),
        num_false_positives=int(np.sum(fp)),
        fpr=fpr,
        rbdr=rbdr,
        tbdr=tbdr,
    )


def region_metrics(
    tracks: Mapping[str, np.ndarray],
    detections: Mapping[str, np.ndarray],
    num_frames: int,
    *,
    iou: float = 0.1,
    track_fraction: float = 0.1,
) -> RegionResult:
    """RBDC/TBDC from per-video row arrays (the reference text formats, e.g. from :mod:`.io` readers)."""
    return rbdc_tbdc(
        ground_truth_from_rows(tracks),
        detections_from_rows(detections),
        num_frames,
        iou=iou,
        track_fraction=track_fraction,
    )
