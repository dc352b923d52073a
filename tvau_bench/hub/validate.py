"""Validate an exported Hub dataset folder: card, shard layout, Arrow types, every row, cross-references.

Checks: the card parses and names this package's schema version; every shard is listed by the card's
``configs`` and its row counts match ``dataset_info``; the JSON Schemas ship in ``schemas/`` unchanged; each
shard's Arrow schema is the one derived from the JSON Schemas; every row validates against its schema; ids are
unique; and across configs: each sample's and track's video exists (in the same split), frame ranges lie inside
the video, ``frame_indices`` inside the clip and in order, ``sample_id`` follows its format, target ids exist,
belong to their video and are abnormal for abnormal samples, every target has track rows, masks decode to the
video's size and their inclusive extent is the row's box, ``is_abnormal`` agrees with the target's intervals,
abnormal samples have the turns yes_no/target/trajectory and normal samples the yes_no turn, whose answer
agrees with the label. Problems are collected, never raised, so one run reports everything.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import TvauError
from ..progress import progress
from ..schemas import NAMES, SCHEMA_VERSION, schema_errors
from .card import read_card
from .fastcheck import checker_for
from .features import CONFIGS, DEFAULT_CONFIG, arrow_schema, from_arrow_row
from .shards import arrow_problems, data_folder_files, matching

TURN_KINDS = ("yes_no", "target", "trajectory")
KEEP_PER_CHECK = 1000


@dataclass(frozen=True)
class Problem:
    """One finding: which check, where (file and row, or card), and what is wrong."""

    check: str
    where: str
    message: str


@dataclass
class ValidationReport:
    """Problems found in a hub folder (the first :data:`KEEP_PER_CHECK` of each check kept, all counted),
    plus row counts per config and split."""

    root: Path
    problems: list[Problem] = field(default_factory=list)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.counts

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, check: str, where: str, message: str) -> None:
        self.counts[check] += 1
        if self.counts[check] <= KEEP_PER_CHECK:  # bounded memory on a badly broken folder
            self.problems.append(Problem(check, where, message))

    def checks(self) -> Counter[str]:
        """Problem counts per check name."""
        return Counter(self.counts)

    def format(self, max_per_check: int = 10) -> str:
        """A readable report: counts, then up to ``max_per_check`` problems of each check."""
        lines = [f"validate {self.root}"]
        for config, splits in self.rows.items():
            lines.append(f"  {config}: " + ", ".join(f"{s} {n} rows" for s, n in splits.items()))
        if self.ok:
            lines.append("OK: no problems found")
            return "\n".join(lines)
        lines.append(f"FAILED: {self.total} problem(s)")
        by_check: dict[str, list[Problem]] = defaultdict(list)
        for p in self.problems:
            by_check[p.check].append(p)
        for check in sorted(self.counts):
            n = self.counts[check]
            lines.append(f"[{check}] {n}")
            lines += [f"  {p.where}: {p.message}" for p in by_check[check][:max_per_check]]
            if n > max_per_check:
                lines.append(f"  ... and {n - max_per_check} more")
        return "\n".join(lines)


def validate_hub(root: str | Path) -> ValidationReport:
    """Run every check on the hub folder ``root`` and return the report (raises only if ``root`` is missing)."""
    root = Path(root)
    if not root.is_dir():
        raise TvauError("hub folder not found", path=root, fix="export one with `tvau-bench export`")
    rep = ValidationReport(root)
    try:
        meta, _ = read_card(root / "README.md")
    except TvauError as exc:
        rep.add("card", "README.md", exc.problem + (f" (fix: {exc.fix})" if exc.fix else ""))
        meta = {}
    files = _check_card(root, meta, rep)
    _check_schema_copies(root, rep)
    videos = _scan_videos(root, files.get("videos", {}), rep)
    _scan_samples(root, files.get("samples", {}), videos, rep)
    _scan_tracks(root, files.get("tracks", {}), videos, rep)
    _check_counts(meta, rep)
    return rep


# ---------------------------------------------------------------------------------------------- card and layout


def _check_card(root: Path, meta: dict[str, Any], rep: ValidationReport) -> dict[str, dict[str, list[Path]]]:
    """Check the card's metadata and resolve its ``configs`` to shard files: ``{config: {split: [paths]}}``."""
    if meta:
        version = meta.get("schema_version")
        if str(version) != SCHEMA_VERSION:
            rep.add(
                "card",
                "README.md",
                f"schema_version is {version!r}, this tvau-bench writes {SCHEMA_VERSION!r}",
            )
    configs = {c.get("config_name"): c for c in meta.get("configs") or [] if isinstance(c, dict)}
    if meta and configs.get(DEFAULT_CONFIG, {}).get("default") is not True:
        rep.add("card", "README.md", f"config {DEFAULT_CONFIG!r} is not marked default")
    files: dict[str, dict[str, list[Path]]] = {}
    listed: set[Path] = set()
    all_shards = data_folder_files(root)
    for config in CONFIGS:
        entry = configs.get(config)
        if entry is None:
            # Only `tracks` may be absent (a dataset without any target); its absence is then checked per target.
            if meta and (config != "tracks" or (root / "data" / config).is_dir()):
                rep.add("card", "README.md", f"config {config!r} missing from `configs`")
            # Fall back to the file layout so the rows still get checked.
            entry = {"data_files": _layout_data_files(root, config)}
        files[config] = {}
        data_files = entry.get("data_files") or []
        if not isinstance(data_files, list):
            rep.add("card", "README.md", f"config {config!r}: data_files is not a list of {{split, path}}")
            data_files = []
        for df in data_files:
            split, pattern = (df.get("split"), df.get("path")) if isinstance(df, dict) else (None, None)
            if not isinstance(pattern, str):
                rep.add("card", "README.md", f"config {config!r} split {split!r} has no path pattern")
                continue
            matched = matching(root, all_shards, pattern)
            if not matched:
                rep.add("layout", pattern, f"config {config!r} split {split!r} matches no file")
            files[config][split] = matched
            listed.update(matched)
    for p in all_shards:
        if p not in listed:
            rep.add("layout", p.relative_to(root).as_posix(), "file under data/ is not listed by any config")
    return files


def _layout_data_files(root: Path, config: str) -> list[dict[str, str]]:
    splits = sorted({p.name.split("-")[0] for p in (root / "data" / config).glob("*.parquet")})
    return [{"split": s, "path": f"data/{config}/{s}-*"} for s in splits]


def _check_schema_copies(root: Path, rep: ValidationReport) -> None:
    pkg = resources.files("tvau_bench.schemas")
    for name in NAMES:
        path = root / "schemas" / f"{name}.json"
        if not path.is_file():
            rep.add("schemas", f"schemas/{name}.json", "missing (the JSON Schemas ship beside the data)")
        elif path.read_bytes() != pkg.joinpath(f"{name}.json").read_bytes():
            rep.add("schemas", f"schemas/{name}.json", "differs from this tvau-bench's schema")


def _check_counts(meta: dict[str, Any], rep: ValidationReport) -> None:
    for info in meta.get("dataset_info") or []:
        if not isinstance(info, dict):
            continue
        config = info.get("config_name")
        for sp in info.get("splits") or []:
            if not isinstance(sp, dict):
                continue
            actual = rep.rows.get(config, {}).get(sp.get("name"))
            if actual is not None and sp.get("num_examples") != actual:
                rep.add(
                    "card",
                    "README.md",
                    f"dataset_info {config}/{sp.get('name')} says {sp.get('num_examples')} examples, shards hold {actual}",
                )


# ---------------------------------------------------------------------------------------------- rows


def _iter_rows(root: Path, config: str, split_files: dict[str, list[Path]], rep: ValidationReport):
    """Yield ``(split, where, record, row_ok)`` for each row; Arrow-type and schema problems are recorded."""
    import pyarrow.parquet as pq

    expected = arrow_schema(config)
    schema = CONFIGS[config]
    fast = checker_for(schema)  # pre-screen; jsonschema explains the rows it rejects
    opened: list[tuple[str, str, Any]] = []
    for split, paths in split_files.items():
        rep.rows.setdefault(config, {})[split] = 0
        for path in paths:
            rel = path.relative_to(root).as_posix()
            try:
                opened.append((split, rel, pq.ParquetFile(path)))
            except Exception as exc:  # any unreadable file is a finding, not a crash
                rep.add("parquet", rel, f"cannot be read as Parquet: {exc}")
    total = sum(pf.metadata.num_rows for _, _, pf in opened)
    with progress(desc=f"validate {config}", total=total, unit="row") as bar:
        for split, rel, pf in opened:
            _compare_arrow(pf.schema_arrow, expected, rel, rep)
            i = 0
            for batch in pf.iter_batches(batch_size=4096):
                for row in batch.to_pylist():
                    record = from_arrow_row(row, config)
                    errs = [] if fast is not None and fast(record) else schema_errors(record, schema)
                    for e in errs[:5]:
                        rep.add("schema", f"{rel} row {i}", e)
                    yield split, f"{rel} row {i}", record, not errs
                    i += 1
                bar.update(batch.num_rows)
            rep.rows[config][split] += i


def _compare_arrow(actual: Any, expected: Any, rel: str, rep: ValidationReport) -> None:
    for problem in arrow_problems(actual, expected):
        rep.add("arrow-type", rel, problem)


@dataclass
class _Video:
    split: str
    num_frames: int
    width: int
    height: int
    targets: dict[str, dict[str, Any]]


def _scan_videos(root: Path, split_files: dict[str, list[Path]], rep: ValidationReport) -> dict[str, _Video]:
    videos: dict[str, _Video] = {}
    for split, where, v, ok in _iter_rows(root, "videos", split_files, rep):
        if not ok:
            continue
        vid = v["video_id"]
        if vid in videos:
            rep.add("duplicate", where, f"video {vid!r} appears twice")
            continue
        if v["split"] != split:
            rep.add("split", where, f"row's split {v['split']!r} is in the {split!r} shards")
        for p in video_problems(v):
            rep.add("video", where, p)
        videos[vid] = _Video(
            split, v["num_frames"], v["width"], v["height"], {t["target_id"]: t for t in v["targets"]}
        )
    return videos


def _scan_samples(
    root: Path, split_files: dict[str, list[Path]], videos: dict[str, _Video], rep: ValidationReport
) -> None:
    seen: set[str] = set()
    for split, where, s, ok in _iter_rows(root, "samples", split_files, rep):
        if not ok:
            continue
        if s["sample_id"] in seen:
            rep.add("duplicate", where, f"sample {s['sample_id']!r} appears twice")
        seen.add(s["sample_id"])
        if s["split"] != split:
            rep.add("split", where, f"row's split {s['split']!r} is in the {split!r} shards")
        for check, msg in dialogue_problems(s):
            rep.add(check, where, msg)
        video = _video_of(s, "sample {sample_id!r}", videos, where, rep)
        if video is None:
            continue
        if video.split != s["split"]:
            rep.add("split", where, f"sample is in {s['split']!r} but its video is in {video.split!r}")
        for check, msg in sample_range_problems(s, video.num_frames):
            rep.add(check, where, msg)
        tid = s["target_id"]
        if tid is not None:
            target = video.targets.get(tid)
            if target is None:
                rep.add("missing-target", where, f"target {tid!r} is not a target of video {s['video_id']!r}")
            elif not target["is_abnormal"]:
                rep.add("missing-target", where, f"target {tid!r} of an abnormal sample is not abnormal")


def _video_of(
    row: dict[str, Any], who: str, videos: dict[str, _Video], where: str, rep: ValidationReport
) -> _Video | None:
    """The video a sample or track row points at; when absent, a ``missing-video`` problem naming the row by
    ``who`` (a ``str.format`` template over the row's fields, filled only then)."""
    video = videos.get(row["video_id"])
    if video is None:
        rep.add(
            "missing-video", where, f"{who.format_map(row)}: video {row['video_id']!r} is not in `videos`"
        )
    return video


def _scan_tracks(
    root: Path, split_files: dict[str, list[Path]], videos: dict[str, _Video], rep: ValidationReport
) -> None:
    seen: set[tuple[str, int]] = set()
    tracked: set[str] = set()
    for split, where, t, ok in _iter_rows(root, "tracks", split_files, rep):
        tracked.add(str(t.get("target_id")))
        if not ok:
            continue
        key = (t["target_id"], t["frame"])
        if key in seen:
            rep.add("duplicate", where, f"target {key[0]!r} frame {key[1]} appears twice")
        seen.add(key)
        video = _video_of(t, "track of {target_id!r}", videos, where, rep)
        if video is None:
            continue
        if video.split != split:
            rep.add("split", where, f"track is in the {split!r} shards but its video is in {video.split!r}")
        target = video.targets.get(t["target_id"])
        if target is None:
            rep.add(
                "missing-target",
                where,
                f"target {t['target_id']!r} is not a target of video {t['video_id']!r}",
            )
        elif t["is_abnormal"] != any(a <= t["frame"] <= b for a, b in target["abnormal_intervals"]):
            rep.add(
                "track",
                where,
                f"is_abnormal={t['is_abnormal']} disagrees with the target's abnormal intervals",
            )
        if not 0 <= t["frame"] < video.num_frames:
            rep.add("frame-range", where, f"frame {t['frame']} outside the video's {video.num_frames} frames")
        for check, msg in mask_problems(t["mask"], t["box"], video.width, video.height):
            rep.add(check, where, msg)
    for vid, video in videos.items():
        for tid in video.targets:
            if tid not in tracked:
                rep.add("missing-track", f"video {vid}", f"target {tid!r} has no row in `tracks`")


# ---------------------------------------------------------------------------------------------- pure checks


def video_problems(v: dict[str, Any]) -> list[str]:
    """Internal consistency of one (schema-valid) video record."""
    out, n = [], v["num_frames"]
    for a, b in v["abnormal_intervals"]:
        if not a <= b < n:
            out.append(f"abnormal interval [{a}, {b}] outside 0..{n - 1}")
    seen = set()
    for t in v["targets"]:
        tid = t["target_id"]
        if tid in seen:
            out.append(f"target {tid!r} listed twice")
        seen.add(tid)
        if tid != f"{v['video_id']}:{t['object_id']}":
            out.append(f"target_id {tid!r} is not {v['video_id']}:{t['object_id']}")
        if not t["first_frame"] <= t["last_frame"] < n:
            out.append(f"target {tid!r} frames {t['first_frame']}..{t['last_frame']} outside 0..{n - 1}")
        for a, b in t["abnormal_intervals"]:
            if not a <= b < n:
                out.append(f"target {tid!r} abnormal interval [{a}, {b}] outside 0..{n - 1}")
        if t["is_abnormal"] != bool(t["abnormal_intervals"]):
            out.append(
                f"target {tid!r} is_abnormal={t['is_abnormal']} but has {len(t['abnormal_intervals'])} intervals"
            )
        for w in t["waypoints"]:
            if not 0 <= w["frame"] < n:
                out.append(f"target {tid!r} waypoint frame {w['frame']} outside 0..{n - 1}")
    return out


def sample_range_problems(s: dict[str, Any], num_frames: int) -> list[tuple[str, str]]:
    """Frame range inside the video, frame indices inside the range and in order."""
    out = []
    start, end = s["start_frame"], s["end_frame"]
    if start > end:
        out.append(("frame-range", f"start_frame {start} > end_frame {end}"))
    if end >= num_frames:
        out.append(("frame-range", f"frames {start}..{end} run past the video's last frame {num_frames - 1}"))
    bad = [f for f in s["frame_indices"] if not start <= f <= end]
    if bad:
        out.append(("frame-indices", f"frame_indices {bad[:5]} outside the clip {start}..{end}"))
    if any(a > b for a, b in zip(s["frame_indices"], s["frame_indices"][1:], strict=False)):
        out.append(("frame-indices", "frame_indices are not in increasing order"))
    expected = f"{s['video_id']}:{start}-{end}"
    if s["target_id"] is not None:
        prefix = f"{s['video_id']}:"
        if not s["target_id"].startswith(prefix):
            out.append(
                ("missing-target", f"target_id {s['target_id']!r} does not belong to video {s['video_id']!r}")
            )
        expected += ":" + s["target_id"][len(prefix) :]
    if s["sample_id"] != expected:
        out.append(("sample-id", f"sample_id {s['sample_id']!r} should be {expected!r}"))
    return out


def dialogue_problems(s: dict[str, Any]) -> list[tuple[str, str]]:
    """Abnormal samples have turns yes_no, target, trajectory (1..3); normal samples the yes_no turn only."""
    turns = s["dialogue"]
    abnormal = s["label"] == "Yes"
    out = []
    want = TURN_KINDS if abnormal else TURN_KINDS[:1]
    got = [(t["turn"], t["kind"]) for t in turns]
    if got != [(i + 1, k) for i, k in enumerate(want)]:
        what = "abnormal" if abnormal else "normal"
        out.append(
            (
                "dialogue",
                f"{what} sample has turns {got}, expected {[(i + 1, k) for i, k in enumerate(want)]}",
            )
        )
    if abnormal and s["target_id"] is None:
        out.append(("dialogue", "abnormal sample without a target_id"))
    if not abnormal and s["target_id"] is not None:
        out.append(("dialogue", f"normal sample has target_id {s['target_id']!r}"))
    first = next((t for t in turns if t["kind"] == "yes_no"), None)
    if first is not None:
        word = (
            first["answer"].strip().split(maxsplit=1)[0].strip(".,!").capitalize()
            if first["answer"].strip()
            else ""
        )
        if word != s["label"]:
            out.append(("dialogue", f"yes_no answer {first['answer']!r} disagrees with label {s['label']!r}"))
    return out


def rle_counts(counts: str) -> list[int] | None:
    """Run lengths of a COCO compressed RLE string (pycocotools' encoding), or None if it is malformed."""
    runs: list[int] = []
    p, n = 0, len(counts)
    while p < n:
        x, k, more = 0, 0, True
        while more:
            if p >= n or k > 12:
                return None
            c = ord(counts[p]) - 48
            if not 0 <= c < 64:
                return None
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        if x < 0:
            return None
        runs.append(x)
    return runs


def rle_bbox(runs: list[int], height: int) -> tuple[int, int, int, int] | None:
    """Inclusive ``(x_min, y_min, x_max, y_max)`` of the foreground of column-major runs, None if empty."""
    x0 = y0 = 1 << 62
    x1 = y1 = -1
    pos = 0
    for i, r in enumerate(runs):
        if i % 2 and r:
            a, b = pos, pos + r - 1
            ca, cb = a // height, b // height
            x0, x1 = min(x0, ca), max(x1, cb)
            if ca == cb:
                y0, y1 = min(y0, a % height), max(y1, b % height)
            else:  # the run wraps a column end, so it covers the bottom and top rows
                y0, y1 = 0, height - 1
        pos += r
    return None if x1 < 0 else (x0, y0, x1, y1)


def mask_problems(mask: dict[str, Any], box: list[int], width: int, height: int) -> list[tuple[str, str]]:
    """The RLE has the video's size, decodes to exactly ``height * width`` pixels, is non-empty, matches the box."""
    h, w = mask["size"]
    if (h, w) != (height, width):
        return [("mask-size", f"mask size {h}x{w} (h x w) is not the video's {height}x{width}")]
    runs = rle_counts(mask["counts"])
    if runs is None:
        return [("mask-size", "mask counts are not a valid COCO RLE string")]
    if sum(runs) != h * w:
        return [("mask-size", f"mask RLE covers {sum(runs)} pixels, a {h}x{w} frame has {h * w}")]
    bbox = rle_bbox(runs, h)
    if bbox is None:
        return [("mask-empty", "mask has no foreground pixel")]
    if tuple(box) != bbox:
        return [("box", f"box {list(box)} is not the mask's inclusive extent {list(bbox)}")]
    return []
