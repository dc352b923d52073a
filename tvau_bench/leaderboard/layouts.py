"""The paper's three tables: their columns, in the paper's order and wording, and how measured runs fill them."""

from __future__ import annotations

from dataclasses import dataclass

from ..metrics import suite
from ..sources.registry import by_family, in_words

PAPER_FILE = "000_eb84455d3ec55073.txt"


@dataclass(frozen=True)
class Column:
    """One column of a paper table.

    ``header`` is the paper's header text exactly; ``kind`` says how its cells are printed and parsed
    (``number``, ``percent`` like ``61.03%``, ``size`` like ``7B``, ``params`` like ``8299M``); ``better`` is the
    direction that wins the bold (``None``: not ranked). ``metric``/``family`` say which results field of which
    dataset family (a source's ``family`` code in :mod:`tvau_bench.sources.registry`, e.g. ``ST`` ShanghaiTech)
    fills the column for measured rows (None: not measured);
    detection columns name a :data:`tvau_bench.leaderboard.detection.METRICS` key and no family. ``in_paper`` is
    false for the columns the paper does not print (a source family or a metric added since): its reported rows
    print ``--`` there.
    """

    header: str
    kind: str = "number"
    better: str | None = "higher"
    decimals: int = 2
    metric: str | None = None
    family: str | None = None
    in_paper: bool = True


@dataclass(frozen=True)
class Layout:
    """A paper table: key (file stem), the paper's title sentence (its caption's first words), columns.

    ``measured_by`` names the kind of stored run that adds measured rows to it: ``dialogue`` (per-sample logs,
    columns filled by ``metric``/``family``), ``detection`` (per-video detection files, columns filled by
    ``metric``), ``ablation`` (per-sample logs of the :data:`ABLATION_MODELS`, one row per dataset family,
    columns filled by ``metric``) or ``None`` (reported rows only). ``legend`` explains the table's
    abbreviations and units, as the paper's captions do, and what may not be compared.
    """

    key: str
    title: str
    caption: str
    first_header: str
    columns: tuple[Column, ...]
    measured_by: str | None = None
    legend: str = ""

    @property
    def headers(self) -> list[str]:
        """All headers, the method column first."""
        return [self.first_header, *(c.header for c in self.columns)]

    def column(self, header: str) -> Column:
        """The column with this paper header."""
        for c in self.columns:
            if c.header == header:
                return c
        raise KeyError(header)


DETECTION = Layout(
    key="detection",
    title="Anomaly Detection Results",
    caption="Experimental results on UBnormal: micro-/macro-averaged frame-level AUC, RBDC and TBDC (%).",
    first_header="Method",
    columns=(
        Column("Micro AUC ↑", decimals=1, metric="micro_auc"),
        Column("Macro AUC ↑", decimals=1, metric="macro_auc"),
        Column("RBDC ↑", decimals=3, metric="rbdc"),
        Column("TBDC ↑", decimals=3, metric="tbdc"),
    ),
    measured_by="detection",
    legend="PT, FT and 1S: pre-trained, fine-tuned and one-shot; SR: frame sampling rate (as in the paper).",
)

# The paper prints BLEU-4 without its convention (tokeniser, smoothing, corpus or sentence level); ours is corpus
# sacrebleu with its signature recorded, so the two must never read as one scale.
BLEU_CAVEAT = (
    "Reported BLEU-4 is as printed in the paper, whose BLEU convention is unstated; measured BLEU-4 is corpus "
    "sacrebleu (signature under Measured runs): the two are not directly comparable."
)

# The source families the paper's dialogue table reports.
PAPER_FAMILIES = ("ST", "UB")


def dialogue_layout() -> Layout:
    """The dialogue table: the model's size, then per source family one column per metric of
    :data:`tvau_bench.metrics.suite.DIALOGUE`, the paper's first in the paper's order."""
    return Layout(
        key="dialogue",
        title="Multi-turn Dialogue Results",
        caption=(
            "One-shot multi-turn dialogue: BLEU-4 for Target and Trajectory, accuracy for Yes/No, on "
            + in_words([f"{s.title} ({s.family})" for s in by_family()], "and")
            + "."
        ),
        first_header="Method",
        columns=(
            Column("Size ↓", kind="size", better="lower", decimals=0),
            *(
                Column(
                    m.header(s.family),
                    kind=m.scale,
                    better=m.better,
                    metric=m.key,
                    family=s.family,
                    in_paper=s.family in PAPER_FAMILIES and m.paper is not None,
                )
                for s in by_family()
                for m in suite.paper_order()
            ),
        ),
        measured_by="dialogue",
        legend="Size: parameters in billions (B). " + BLEU_CAVEAT,
    )


DIALOGUE = dialogue_layout()

# The baseline configs of T-VAU and its ablations (``baselines/tvau*.yaml``): their measured runs also fill the
# ablation table.
ABLATION_MODELS = ("tvau-wo-ahd", "tvau-wo-rae", "tvau-wo-ahd-rae", "tvau")

ABLATION = Layout(
    key="ablation",
    title="Ablation Studies",
    caption="T-VAU variants: heatmap metrics RBDC/TBDC, BLEU-4 for Target and Trajectory, Yes/No accuracy.",
    first_header="Method",
    columns=(
        Column("Params ↓", kind="params", better="lower", decimals=0),
        Column("RBDC ↑", decimals=1),
        Column("TBDC ↑", decimals=1),
        Column("Target ↑", metric="target_bleu4"),
        Column("Trajectory ↑", metric="trajectory_bleu4"),
        Column("Yes/No ↑", kind="percent", metric="yes_no_accuracy"),
    ),
    measured_by="ablation",
    legend="Params: parameters in millions (M). " + BLEU_CAVEAT,
)

LAYOUTS: dict[str, Layout] = {t.key: t for t in (DETECTION, DIALOGUE, ABLATION)}

MISSING = "--"


def parse_cell(text: str, kind: str) -> float | None:
    """The number a printed cell stands for (``61.03%`` -> 61.03, ``7B`` -> 7, ``--`` -> None)."""
    text = text.strip()
    if text in (MISSING, ""):
        return None
    suffix = {"percent": "%", "size": "B", "params": "M"}.get(kind, "")
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    return float(text)


def format_value(value: float | None, column: Column) -> str:
    """Print a measured value the way the paper prints that column."""
    if value is None:
        return MISSING
    if column.kind == "size":
        return f"{value:g}B"
    if column.kind == "params":
        return f"{value:.0f}M"
    text = f"{value:.{column.decimals}f}"
    return text + "%" if column.kind == "percent" else text
