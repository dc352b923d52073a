"""The dataset card (README.md): Hub YAML metadata (configs, dataset_info, ...) and the sections of the HF card guide.

Everything in the card is computed from the exported rows and the annotation report, so the card cannot drift
from the data; nothing time-dependent is written, so re-exports give the same card.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .._yaml import parse_yaml
from ..errors import TvauError
from ..schemas import SCHEMA_VERSION, load_schema
from ..sources.registry import in_words, names, spec
from .features import CONFIGS, DEFAULT_CONFIG, features_for, schema_name

if TYPE_CHECKING:
    from .export import SplitStats

DEFAULT_LICENSE = "cc-by-nc-sa-4.0"

PAPER_BIBTEX = """@inproceedings{gu2026tvau,
author = {Gu, Jihao and Li, Kun and Wang, He and Ak{\\c{s}}it, Kaan},
title = {Text-guided Fine-Grained Video Anomaly Understanding},
booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR) Workshops, 2nd Workshop on Subtle Visual Computing (SVC)},
year = {2026},
address = {Denver, CO, USA}
}"""

FIELD_DOCS: dict[str, dict[str, str]] = {
    "samples": {
        "sample_id": "`{video_id}:{start_frame}-{end_frame}`, plus `:{object_id}` for abnormal clips",
        "video_id": "the source video (row of the `videos` config)",
        "split": "`train`, `validation` or `test` (the source dataset's split)",
        "start_frame": "first frame of the clip (0-based)",
        "end_frame": "last frame of the clip (inclusive)",
        "frame_indices": "the frames every model is shown, in order",
        "label": "`Yes` when the clip contains the anomalous target, else `No`",
        "target_id": "`{video_id}:{object_id}` of the anomalous target; null for normal clips",
        "dialogue": "turns `{turn, kind, question, answer}`; kinds `yes_no`, `target` (appearance), "
        "`trajectory` (motion); abnormal clips have all three, normal clips the first",
    },
    "videos": {
        "video_id": "the source video's name",
        "source": in_words([f"`{n}`" for n in names()], "or"),
        "split": "the source dataset's split",
        "scene": "scene identifier",
        "video_path": "path of the video relative to the source dataset's root (not redistributed)",
        "num_frames": "frame count",
        "fps": "frames per second",
        "width": "frame width in pixels",
        "height": "frame height in pixels",
        "abnormal_intervals": "inclusive `[start, end]` frame intervals with an anomaly",
        "targets": "annotated targets: ids, category, abnormal intervals, appearance sentence, attributes "
        "(colours, upper/lower clothing, carried objects), action, trajectory sentence, waypoints "
        "(frame, normalised centre x, y), consistency score in [0, 1], verified flag",
        "provenance": "annotator, model id and revision, prompt hashes (`key`/`value` list), pipeline and "
        "vLLM versions",
    },
    "tracks": {
        "video_id": "the source video",
        "target_id": "`{video_id}:{object_id}`",
        "frame": "0-based frame index",
        "box": "`[x_min, y_min, x_max, y_max]`, inclusive pixels",
        "mask": "COCO RLE (`size` = [height, width], compressed `counts`); decode with "
        "`pycocotools.mask.decode({'size': size, 'counts': counts.encode()})`",
        "is_abnormal": "whether the target is abnormal in this frame",
    },
}


@dataclass
class CardInputs:
    """What the card is computed from."""

    repo_id: str
    stats: dict[str, dict[str, SplitStats]]
    videos: list[dict[str, Any]]
    samples: list[dict[str, Any]]
    report: dict[str, Any] | None = None
    quarantine_count: int = 0
    license: str | None = None
    extra_tags: list[str] = field(default_factory=list)
    partial: dict[str, Any] | None = None  # export.annotation_failures() of a run exported with allow_partial


def render_card(inp: CardInputs) -> str:
    """The full README.md text: ``---`` YAML front matter, then the Markdown body."""
    meta = card_metadata(inp)
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{front}---\n\n{card_body(inp)}"


def read_card(path: str | Path) -> tuple[dict[str, Any], str]:
    """``(YAML metadata, Markdown body)`` of a README.md dataset card."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TvauError(
            "dataset card missing", path=path, fix="export the folder with `tvau-bench export`"
        ) from None
    if not text.startswith("---\n"):
        raise TvauError("card has no YAML front matter", path=path, fix="re-export the folder")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise TvauError(
            "card's YAML front matter is not closed by ---", path=path, fix="re-export the folder"
        )
    meta = parse_yaml(text[4 : end + 1], path=path, first_line=2, fix="re-export the folder") or {}
    if not isinstance(meta, dict):
        raise TvauError("card YAML is not a mapping", path=path, fix="re-export the folder")
    return meta, text[end + 5 :]


# ---------------------------------------------------------------------------------------------- pure helpers


def default_repo_id(videos: list[dict[str, Any]]) -> str:
    """``tvau/{source}-fg`` (the project's Hub naming) for the rows' source dataset(s)."""
    return "tvau/" + "-".join(source_keys(videos)) + "-fg"


def source_keys(videos: list[dict[str, Any]]) -> list[str]:
    """The source datasets of the rows (registry names), in a stable order."""
    return sorted({v["source"] for v in videos})


def size_category(n: int) -> str:
    """The Hub's size category for ``n`` examples."""
    for limit, name in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < limit:
            return name
    return "1M<n<10M" if n < 10_000_000 else "10M<n<100M"


def pretty_name(videos: list[dict[str, Any]]) -> str:
    return (
        " + ".join(f"{spec(s).title}-FG" for s in source_keys(videos))
        + " (T-VAU fine-grained anomaly dialogues)"
    )


def card_metadata(inp: CardInputs) -> dict[str, Any]:
    """The YAML front matter: Hub metadata, ``configs`` (data_files per split) and ``dataset_info``."""
    configs, infos = [], []
    for config in CONFIGS:
        splits = inp.stats.get(config, {})
        if not splits:  # a config without rows (no targets at all) cannot be loaded, so it is not listed
            continue
        entry: dict[str, Any] = {"config_name": config}
        if config == DEFAULT_CONFIG:
            entry["default"] = True
        entry["data_files"] = [{"split": s, "path": f"data/{config}/{s}-*"} for s in splits]
        configs.append(entry)
        infos.append(
            {
                "config_name": config,
                "features": features_for(config)._to_yaml_list(),
                "splits": [
                    {"name": s, "num_bytes": st.num_bytes, "num_examples": st.num_examples}
                    for s, st in splits.items()
                ],
                "download_size": sum(st.file_bytes for st in splits.values()),
                "dataset_size": sum(st.num_bytes for st in splits.values()),
            }
        )
    n_samples = sum(st.num_examples for st in inp.stats.get(DEFAULT_CONFIG, {}).values())
    return {
        "pretty_name": pretty_name(inp.videos),
        "license": inp.license or DEFAULT_LICENSE,
        "language": ["en"],
        "task_categories": ["video-text-to-text", "visual-question-answering", "video-classification"],
        "tags": [
            "video-anomaly-detection",
            "video-anomaly-understanding",
            "multi-turn-dialogue",
            "tvau-bench",
            *inp.extra_tags,
        ],
        "size_categories": [size_category(n_samples)],
        "annotations_creators": ["machine-generated"],
        "source_datasets": [f"extended|{s}" for s in source_keys(inp.videos)],
        "schema_version": SCHEMA_VERSION,
        **({"partial_annotation": inp.partial} if inp.partial is not None else {}),
        "configs": configs,
        "dataset_info": infos,
    }


def _partial_note(partial: dict[str, Any] | None) -> list[str]:
    """The card's warning for a partial annotation run (nothing for a complete one)."""
    if partial is None:
        return []
    videos = ", ".join(f"`{v}`" for v in partial["videos"]) or "not listed in the report"
    return [
        f"> **Partial annotation run.** {partial['failed_requests']} annotator request(s) failed after all "
        f"retries and the data was exported with `--allow-partial`: targets and samples of the affected videos "
        f"({videos}) are missing or quarantined (see `annotation/quarantine.jsonl`).\n"
    ]


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub Markdown table (no final newline); ``|`` in a cell is escaped, the header is written as is."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Scalar leaves of a JSON object as ``(dotted.key, value)``."""
    if isinstance(obj, dict):
        return [kv for k in sorted(obj) for kv in _flatten(obj[k], f"{prefix}{k}.")]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return [(prefix[:-1], obj)]
    return []


def _pct(num: int, den: int) -> str:
    return f"{100 * num / den:.1f}% ({num}/{den})" if den else "n/a"


def _build_section(inp: CardInputs) -> str:
    targets = [t for v in inp.videos for t in v["targets"]]
    abnormal = [t for t in targets if t["is_abnormal"]]
    prov = Counter(
        (
            p["annotator"],
            p["model_id"] or "—",
            p["model_revision"] or "—",
            p["pipeline_version"],
            p["vllm_version"] or "—",
        )
        for p in (v["provenance"] for v in inp.videos)
    )
    hashes = sorted({(k, h) for v in inp.videos for k, h in v["provenance"]["prompt_hashes"].items()})
    mean_cons = sum(t["consistency"] for t in targets) / len(targets) if targets else 0.0
    parts = [
        "## How it was built\n",
        "The annotations follow the three-stage construction of the T-VAU paper, run by `tvau-bench annotate`:\n",
        "1. **Frame-level structured prompting**: for sampled frames the annotator returns, per visible target, its "
        "category, appearance attributes, position and action; answers are joined into per-target timelines on the "
        "mask/track identity.",
        "2. **Anomaly-focused refinement**: with the source anomaly masks, the background is suppressed around the "
        "abnormal target and a target-focused prompt refines its appearance and action.",
        "3. **Cross-modal consistency verification**: appearance must agree across frames and the claimed motion must "
        "agree with the mask geometry (direction, speed, entry/exit sides); disagreements are re-queried, then "
        "flagged (`verified = false`) or quarantined. Trajectory sentences are generated from the mask geometry "
        "(waypoints) and checked against the model's words.\n",
        "### Annotators and models\n",
        markdown_table(
            ["annotator", "model id", "model revision", "pipeline version", "vLLM version", "videos"],
            [[*k, n] for k, n in sorted(prov.items())],
        ),
        (
            "\nThe geometric annotator uses no model: colours come from masked pixels, categories from source "
            "metadata, motion from geometry.\n"
            if any(k[0].startswith("geometric") for k in prov)
            else ""
        ),
        "### Prompt hashes\n",
        markdown_table(["prompt", "hash"], [[f"`{k}`", f"`{h}`"] for k, h in hashes])
        if hashes
        else "No prompts were used.",
        "\n### Verification\n",
        markdown_table(
            ["measure", "value"],
            [
                ["targets verified", _pct(sum(t["verified"] for t in targets), len(targets))],
                ["abnormal targets verified", _pct(sum(t["verified"] for t in abnormal), len(abnormal))],
                ["mean consistency score", f"{mean_cons:.3f}"],
                ["records quarantined (see `annotation/quarantine.jsonl`)", inp.quarantine_count],
            ],
        ),
    ]
    leaves = _flatten(inp.report or {})
    if leaves:
        shown = leaves[:80]
        parts += [
            "\nFrom the annotation run's report (`annotation/report.json`):\n",
            markdown_table(["key", "value"], [[f"`{k}`", "—" if v is None else v] for k, v in shown]),
        ]
        if len(leaves) > len(shown):
            parts.append(f"\n({len(leaves) - len(shown)} more entries in the file.)")
    return "\n".join(parts) + "\n"


def _fields_section() -> str:
    parts = ["## Dataset structure\n"]
    for config in CONFIGS:
        feats = features_for(config)
        schema = load_schema(schema_name(config))
        default = " (default)" if config == DEFAULT_CONFIG else ""
        parts.append(f"### `{config}`{default}\n")
        parts.append(schema.get("title", "") + "\n")
        rows = [[f"`{k}`", f"`{_type_text(v)}`", FIELD_DOCS[config].get(k, "")] for k, v in feats.items()]
        parts.append(markdown_table(["field", "type", "meaning"], rows) + "\n")
    return "\n".join(parts)


def _type_text(feat: Any) -> str:
    """A short type string of a ``datasets`` feature (``list<struct<...>>``, ``int64``...)."""
    from datasets import List, Value

    if isinstance(feat, Value):
        return feat.dtype
    if isinstance(feat, List):
        inner = _type_text(feat.feature)
        return f"list<{inner}>[{feat.length}]" if feat.length not in (None, -1) else f"list<{inner}>"
    if isinstance(feat, dict):
        return "struct<" + ", ".join(f"{k}: {_type_text(v)}" for k, v in feat.items()) + ">"
    return type(feat).__name__


def card_body(inp: CardInputs) -> str:
    """The Markdown body of the card."""
    srcs = [spec(s) for s in source_keys(inp.videos)]
    src_names = in_words([s.full_title for s in srcs], "and")
    split_notes = [s.split_note for s in srcs if s.split_note]
    licence = inp.license or DEFAULT_LICENSE
    labels = Counter((s["split"], s["label"]) for s in inp.samples)
    split_names = list(inp.stats.get(DEFAULT_CONFIG, {}))
    n_videos = Counter(v["split"] for v in inp.videos)
    n_targets = Counter(v["split"] for v in inp.videos for t in v["targets"] if t["is_abnormal"])
    split_rows = [
        [
            s,
            n_videos[s],
            n_targets[s],
            labels[(s, "Yes")],
            labels[(s, "No")],
            *(inp.stats[c][s].num_examples if s in inp.stats.get(c, {}) else 0 for c in ("tracks",)),
        ]
        for s in split_names
    ]
    sections = [
        f"# {pretty_name(inp.videos)}\n",
        "## Dataset description\n",
        f"Target-level, fine-grained video anomaly understanding annotations for {src_names}, built for the T-VAU "
        "benchmark (*Text-guided Fine-Grained Video Anomaly Understanding*, CVPR 2026 SVC workshop). Each "
        "benchmark sample is a clip with a multi-turn dialogue: a Yes/No anomaly question, then (for abnormal "
        "clips) the anomalous target's appearance and its motion trajectory. Per-video records describe every "
        "annotated target; per-frame tracks give its box and pixel mask.\n",
        *_partial_note(inp.partial),
        f"- **Hub repository:** `{inp.repo_id}`",
        f"- **Annotation licence:** `{licence}` (the annotations only; see *Source videos*)",
        f"- **Schema version:** `{SCHEMA_VERSION}` (JSON Schemas in `schemas/`)",
        "- **Language:** English\n",
        "```python",
        "from datasets import load_dataset",
        f'samples = load_dataset("{inp.repo_id}")             # default config "samples"',
        f'videos = load_dataset("{inp.repo_id}", "videos")',
        f'tracks = load_dataset("{inp.repo_id}", "tracks")',
        "# or, checking the schema version: tvau_bench.hub.load(repo_id, config='samples')",
        "```\n",
        _fields_section(),
        "## Splits\n",
        "Splits are the source dataset's own splits"
        + (f" ({'; '.join(split_notes)})" if split_notes else "")
        + ".\n",
        markdown_table(
            ["split", "videos", "abnormal targets", "abnormal samples", "normal samples", "track rows"],
            split_rows,
        ),
        "\n" + _build_section(inp),
        "## Source videos\n",
        "The source videos are **referenced, not redistributed**. Obtain them from their authors and keep their "
        "layout; `video_path` in the `videos` config is relative to the source dataset's root, and frame indices "
        "are 0-based frames of that video.\n",
        *[f"- **{s.full_title}:** {s.url}. {s.video_path_note} {s.licence}" for s in srcs],
        f"\nThe annotations in this repository are released under `{licence}`. That licence covers the annotations "
        "only; using the videos is governed by the source datasets' own terms.\n",
        "## Uses\n",
        "- **Intended:** evaluating and training video anomaly *understanding* models: the Yes/No, target and "
        "trajectory turns of the T-VAU protocol (`tvau-bench run` reproduces it: fixed `frame_indices`, one-shot "
        "exemplar, BLEU-4 and Yes/No accuracy), and pixel-level localisation from the `tracks` masks.",
        "- **Out of scope:** identifying, tracking or profiling real people; the appearance sentences describe "
        "clothing colours and carried objects only, and are not evidence about any individual.\n",
        "## Personal and sensitive information\n",
        "The annotations hold no names or identities. They describe the visible appearance (clothing colours, "
        "carried objects) and motion of people in the source videos, which are not redistributed here.\n",
        "## Limitations\n",
        "- Descriptions are machine-generated (vision-language models and/or geometry) and verified automatically; "
        "records that failed verification are quarantined or flagged (`verified = false`), not hand-checked.",
        "- Trajectory sentences are derived from mask geometry, so they describe image-plane motion, not 3-D motion.",
        "- Appearance vocabulary (colours, clothing) is limited to what the prompts and the geometric fallback name.",
        *[f"- {s.limitation}" for s in srcs],
        "- BLEU-based scoring compares against one reference per sample.\n",
        "## Citation\n",
        "If you use this dataset, cite the T-VAU paper and the source dataset(s):\n",
        "```bibtex",
        PAPER_BIBTEX,
        *[s.citation for s in srcs],
        "```",
    ]
    return "\n".join(sections) + "\n"
