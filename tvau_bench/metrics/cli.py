"""``tvau-bench metrics region|frame|text``: the metrics on files in the reference formats."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .._io import canonical_json
from ..errors import TvauError


def register(subparsers: Any) -> None:
    """Add the ``metrics`` command group."""
    p = subparsers.add_parser("metrics", help="frame AUC, RBDC/TBDC, BLEU-4 and Yes/No accuracy on files")
    sub = p.add_subparsers(dest="metrics_command", required=True, metavar="METRIC")

    r = sub.add_parser("region", help="RBDC and TBDC from tracks/ and detections/ folders")
    r.add_argument(
        "--tracks", required=True, type=Path, help="folder of {video}.txt: track_id,frame_id,x0,y0,x1,y1"
    )
    r.add_argument(
        "--detections", required=True, type=Path, help="folder of {video}.txt: frame_id,x0,y0,x1,y1,score"
    )
    r.add_argument(
        "--num-frames", required=True, type=int, help="frames of all test videos, normal ones included"
    )
    r.add_argument("--iou", type=float, default=0.1, help="IoU threshold for a match (default 0.1)")
    r.add_argument("--track-fraction", type=float, default=0.1, help="share of a track's boxes to detect it")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.add_argument(
        "--strict",
        action="store_true",
        help="error (exit 2) when a tracks file has no detections file or a detections file no tracks file "
        "(give a normal video an empty tracks file); without it they are warnings",
    )
    r.set_defaults(func=_region)

    f = sub.add_parser("frame", help="micro and macro frame AUC from labels/ and scores/ folders")
    f.add_argument(
        "--labels", required=True, type=Path, help="folder of {video}.npy or {video}.txt (0/1 a frame)"
    )
    f.add_argument(
        "--scores", required=True, type=Path, help="folder of {video}.npy or {video}.txt (a score a frame)"
    )
    f.add_argument(
        "--convention",
        choices=("reference-padded", "unpadded"),
        default="reference-padded",
        help="macro AUC: reference padding [0]+x+[1] (default) or unpadded, single-class videos skipped",
    )
    f.add_argument(
        "--smooth-sigma", type=float, default=None, help="Gaussian temporal smoothing (off by default)"
    )
    f.add_argument("--json", action="store_true", help="print one JSON object")
    f.set_defaults(func=_frame)

    t = sub.add_parser("text", help="corpus BLEU-4 or Yes/No accuracy of predictions against references")
    t.add_argument(
        "--predictions", required=True, type=Path, help="one sample a line: text, or JSONL with 'text'"
    )
    t.add_argument(
        "--references", required=True, type=Path, help="one sample a line: text, or JSONL with 'text'"
    )
    t.add_argument("--kind", choices=("bleu4", "yes_no"), default="bleu4")
    t.add_argument("--ci", action="store_true", help="add a bootstrap 95%% interval (1000 resamples, seed 0)")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.set_defaults(func=_text)


def _print(obj: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(canonical_json(obj))
        return
    for k, v in obj.items():
        if isinstance(v, dict | list) and len(v) > 8:
            continue
        print(f"{k}: {v}")


def _region(args: argparse.Namespace) -> int:
    from .io import read_detections_dir, read_tracks_dir
    from .region import region_metrics

    tracks = read_tracks_dir(args.tracks)
    dets = read_detections_dir(args.detections)
    no_dets, no_tracks = sorted(set(tracks) - set(dets)), sorted(set(dets) - set(tracks))
    problems = []
    if no_dets:
        problems.append(
            f"{len(no_dets)} tracks file(s) of {args.tracks} have no detections file in {args.detections}, so "
            f"their regions count as missed: {_names(no_dets)}"
        )
    if no_tracks:
        problems.append(
            f"{len(no_tracks)} detections file(s) of {args.detections} match no tracks file in {args.tracks}, "
            f"so their detections can only be false positives (right for a normal video: give it an empty "
            f"tracks file to say so): {_names(no_tracks)}"
        )
    if problems and args.strict:
        raise TvauError(
            "; ".join(problems),
            fix="name each detections file after its video's tracks file, write an empty detections file for "
            "a video with no detections and an empty tracks file for a normal video",
        )
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    res = region_metrics(tracks, dets, args.num_frames, iou=args.iou, track_fraction=args.track_fraction)
    out = res.to_dict()
    out["videos_without_tracks"] = no_tracks
    out["videos_without_detections"] = no_dets
    _print(out, args.json)
    return 0


def _names(videos: list[str], shown: int = 10) -> str:
    more = f", ... ({len(videos) - shown} more)" if len(videos) > shown else ""
    return ", ".join(videos[:shown]) + more


def _frame(args: argparse.Namespace) -> int:
    from .frame import frame_auc
    from .io import pair_by_video, read_labels_dir, read_values_dir

    labels = read_labels_dir(args.labels)
    scores = read_values_dir(args.scores, "scores")
    pair_by_video(labels, scores, labels_where=str(args.labels), scores_where=str(args.scores))
    res = frame_auc(labels, scores, convention=args.convention, smoothing_sigma=args.smooth_sigma)
    out = res.to_dict()
    if not args.json:
        out.pop("per_video_auc")
    _print(out, args.json)
    return 0


def read_samples(path: Path) -> list[str]:
    """One sample a line: plain text (every line, empty ones included) or, for ``.jsonl``, a ``text`` field."""
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise TvauError("file not found", path=path) from None
    except UnicodeDecodeError:
        raise TvauError("not UTF-8 text", path=path) from None
    lines = raw.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last sample; it does not start another
    lines = [s[:-1] if s.endswith("\r") else s for s in lines]
    if path.suffix != ".jsonl":
        return lines
    out = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            raise TvauError("empty line in a JSONL file", path=path, line=i, fix="one JSON object a line")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TvauError(f"invalid JSON: {exc.msg}", path=path, line=i) from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            raise TvauError("expected an object with a string 'text' field", path=path, line=i)
        out.append(obj["text"])
    return out


def _text(args: argparse.Namespace) -> int:
    from . import text as tm
    from .bootstrap import accuracy_ci, bleu4_ci, bootstrap_description

    preds = read_samples(args.predictions)
    refs = read_samples(args.references)
    if len(preds) != len(refs):
        raise TvauError(
            f"{len(preds)} predictions but {len(refs)} references in {args.references}",
            path=args.predictions,
            fix="write one line per sample in both files",
        )
    if args.kind == "bleu4":
        res = tm.corpus_bleu4(preds, refs)
        out = res.to_dict()
        if args.ci:
            out["bleu4_ci95"] = list(bleu4_ci(preds, refs))
    else:
        for i, g in enumerate(refs, start=1):
            tm.parse_gold_yes_no(g, line=i, path=str(args.references))
        yn = tm.yes_no_accuracy(preds, refs)
        out = yn.to_dict()
        if args.ci:
            out["accuracy_ci95"] = list(accuracy_ci(yn.correct))
    if args.ci:
        out["bootstrap"] = {**bootstrap_description(), "confidence": 0.95}
    _print(out, args.json)
    sys.stdout.flush()
    return 0
