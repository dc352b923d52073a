"""Text metrics: BLEU equals the sacrebleu command line; Yes/No extraction; bootstrap intervals; the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tvau_bench.cli import main
from tvau_bench.errors import TvauError
from tvau_bench.metrics.bootstrap import (
    accuracy_ci,
    accuracy_statistic,
    bleu4_ci,
    bleu_statistic,
    bleu_stats,
    bootstrap_ci,
    paired_bootstrap,
)
from tvau_bench.metrics.text import corpus_bleu4, extract_yes_no, sentence_bleu, yes_no_accuracy

SACREBLEU = Path(sys.executable).parent / "sacrebleu"

REFS = [
    "A man in a red shirt walks to the left.",
    "The woman in black jeans falls down near the car.",
    "",
    "He runs from the top of the frame to the bottom, then stops.",
    "a car drives through the crowd",
]
HYPS = [
    "A man in a red shirt walks left.",
    "A woman in black falls near a car.",
    "nothing",
    "He runs from top to bottom and stops .",
    "",
]


def _cli_bleu(tmp_path: Path, hyps: list[str], refs: list[str]) -> dict:
    (tmp_path / "h.txt").write_text("".join(h + "\n" for h in hyps), encoding="utf-8")
    (tmp_path / "r.txt").write_text("".join(r + "\n" for r in refs), encoding="utf-8")
    out = subprocess.run(
        [
            str(SACREBLEU),
            str(tmp_path / "r.txt"),
            "-i",
            str(tmp_path / "h.txt"),
            "-m",
            "bleu",
            "-w",
            "10",
            "-f",
            "json",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def test_corpus_bleu_equals_sacrebleu_command_line(tmp_path):
    ours = corpus_bleu4(HYPS, REFS)
    theirs = _cli_bleu(tmp_path, HYPS, REFS)
    assert ours.score == pytest.approx(theirs["score"], abs=1e-9)
    assert ours.signature == theirs["signature"]
    assert "tok:13a" in ours.signature and "smooth:exp" in ours.signature
    assert 0 < ours.score < 100


def test_cli_text_bleu_matches_sacrebleu(tmp_path, capsys):
    theirs = _cli_bleu(tmp_path, HYPS, REFS)
    rc = main(
        [
            "metrics",
            "text",
            "--predictions",
            str(tmp_path / "h.txt"),
            "--references",
            str(tmp_path / "r.txt"),
            "--json",
            "--ci",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert (
        out["bleu4"] == pytest.approx(theirs["score"], abs=1e-9) and out["signature"] == theirs["signature"]
    )
    lo, hi = out["bleu4_ci95"]
    assert 0 <= lo <= hi <= 100


def test_cli_text_jsonl_and_crlf(tmp_path, capsys):
    (tmp_path / "p.jsonl").write_text(
        "".join(json.dumps({"id": i, "text": h}) + "\n" for i, h in enumerate(HYPS))
    )
    (tmp_path / "r.txt").write_bytes("".join(r + "\r\n" for r in REFS).encode())
    rc = main(
        [
            "metrics",
            "text",
            "--predictions",
            str(tmp_path / "p.jsonl"),
            "--references",
            str(tmp_path / "r.txt"),
            "--kind",
            "bleu4",
            "--json",
        ]
    )
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["bleu4"] == pytest.approx(
        corpus_bleu4(HYPS, REFS).score, abs=1e-12
    )


def test_sentence_bleu_names_its_smoothing():
    a = sentence_bleu("the cat sat", "the cat sat on the mat", smoothing="exp")
    b = sentence_bleu("the cat sat", "the cat sat on the mat", smoothing="floor")
    assert "smooth:exp" in a.signature and "smooth:floor" in b.signature and "eff:yes" in a.signature
    assert 0 < a.score < 100
    with pytest.raises(TvauError, match="smoothing"):
        sentence_bleu("a", "a", smoothing="bogus")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Yes.", "Yes"),
        ("no, nothing unusual", "No"),
        ("yes and no", "Unknown"),
        ("I cannot tell", "Unknown"),
        ("", "Unknown"),
        (None, "Unknown"),
        ("YES! Yes, there is.", "Yes"),
        ("No.", "No"),
        ("yes,it is", "Yes"),
        ("Nope, yesterday nobody", "Unknown"),
        ("«Yes»", "Yes"),
        ("No: someone is falling, yes", "Unknown"),
    ],
)
def test_extract_yes_no(answer, expected):
    assert extract_yes_no(answer) == expected


def test_yes_no_accuracy_counts_unknown_as_wrong():
    res = yes_no_accuracy(["Yes.", "no", "maybe", "Yes"], ["Yes", "No", "No", "No"])
    assert res.accuracy == 50.0 and res.unknown_rate == 0.25 and res.num_unknown == 1
    assert res.correct.tolist() == [True, True, False, False]
    with pytest.raises(TvauError, match="neither Yes nor No"):
        yes_no_accuracy(["yes"], ["perhaps"])
    with pytest.raises(TvauError, match="1 predictions but 2 references"):
        yes_no_accuracy(["yes"], ["yes", "no"])


def test_cli_text_yes_no(tmp_path, capsys):
    (tmp_path / "p.txt").write_text("Yes.\nno, nothing unusual\nyes and no\n\n")
    (tmp_path / "g.jsonl").write_text(
        "".join(json.dumps({"text": t}) + "\n" for t in ["Yes", "No", "No", "Yes"])
    )
    rc = main(
        [
            "metrics",
            "text",
            "--predictions",
            str(tmp_path / "p.txt"),
            "--references",
            str(tmp_path / "g.jsonl"),
            "--kind",
            "yes_no",
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["accuracy"] == 50.0 and out["unknown_rate"] == 0.5 and out["num_samples"] == 4


def test_cli_text_errors(tmp_path, capsys):
    (tmp_path / "p.txt").write_text("a\nb\n")
    (tmp_path / "r.txt").write_text("a\n")
    argv = [
        "metrics",
        "text",
        "--predictions",
        str(tmp_path / "p.txt"),
        "--references",
        str(tmp_path / "r.txt"),
    ]
    assert main(argv) == 2
    assert "2 predictions but 1 references" in capsys.readouterr().err
    (tmp_path / "r.txt").write_text("yes\nsometimes\n")
    assert main([*argv, "--kind", "yes_no"]) == 2
    assert "r.txt:2" in capsys.readouterr().err
    (tmp_path / "r.jsonl").write_text('{"text": "a"}\n{"txt": "b"}\n')
    argv[-1] = str(tmp_path / "r.jsonl")
    assert main(argv) == 2
    assert "r.jsonl:2" in capsys.readouterr().err


# --- bootstrap ----------------------------------------------------------------------------------------------


def test_bleu_stats_reproduce_corpus_bleu():
    stats = bleu_stats(HYPS, REFS)
    assert stats.shape == (5, 10)
    assert bleu_statistic(stats) == pytest.approx(corpus_bleu4(HYPS, REFS).score, abs=1e-9)


def test_bootstrap_is_deterministic_and_brackets_the_estimate():
    rng = np.random.default_rng(0)
    correct = rng.random(200) < 0.7
    a = accuracy_ci(correct, seed=1)
    assert a == accuracy_ci(correct, seed=1)
    values = rng.random(200)
    stat = lambda rows: float(rows.mean())  # noqa: E731
    assert bootstrap_ci(values, stat, seed=1) != bootstrap_ci(values, stat, seed=2)
    assert a[0] < 100 * correct.mean() < a[1] and a[1] - a[0] < 20
    lo, hi = bleu4_ci(HYPS * 10, REFS * 10, n_resamples=200)
    assert lo <= corpus_bleu4(HYPS * 10, REFS * 10).score <= hi
    with pytest.raises(TvauError):
        bootstrap_ci(np.zeros(0), accuracy_statistic)


def test_paired_bootstrap():
    rng = np.random.default_rng(0)
    a = (rng.random(300) < 0.8).astype(float)
    b = (rng.random(300) < 0.5).astype(float)
    res = paired_bootstrap(a, b, accuracy_statistic, n_resamples=300)
    assert res.delta == pytest.approx(100 * (a.mean() - b.mean()))
    assert res.ci95[0] > 0 and res.p_value < 0.01
    same = paired_bootstrap(a, a, accuracy_statistic, n_resamples=50)
    assert same.delta == 0 and same.ci95 == (0.0, 0.0) and same.p_value == 1.0
    assert res.to_dict() == paired_bootstrap(a, b, accuracy_statistic, n_resamples=300).to_dict()
    with pytest.raises(TvauError, match="same samples"):
        paired_bootstrap(a, b[:10], accuracy_statistic)
