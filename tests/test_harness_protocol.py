"""Protocol pieces: prompt set, message lists (zero/one-shot, own/gold history), exemplar and fingerprint."""

from __future__ import annotations

import numpy as np
import pytest
from harness_fixtures import records

from tvau_bench.errors import TvauError
from tvau_bench.harness.frames import resize_to_cap
from tvau_bench.harness.messages import (
    Clip,
    exemplar_messages,
    gold_answers,
    messages_digest,
    messages_json,
    query_messages,
    turn_kinds,
)
from tvau_bench.harness.prompts import available_prompt_sets, load_prompt_set, parse_prompt_set
from tvau_bench.harness.protocol import Protocol, choose_exemplar, fingerprint
from tvau_bench.harness.runner import select_samples

SAMPLES, VIDEOS = records()
TRAIN = [s for s in SAMPLES if s["split"] == "train"]
TEST = [s for s in SAMPLES if s["split"] == "test"]
ABNORMAL = next(s for s in TEST if s["label"] == "Yes")
NORMAL = next(s for s in TEST if s["label"] == "No")


def texts(messages):
    return [(m["role"], [p.get("text", p.get("ref")) for p in m["content"]]) for m in messages]


def test_prompt_set_is_shipped_and_checked():
    p = load_prompt_set()
    assert "dialogue-v1" in available_prompt_sets()
    assert set(p.questions) == {"yes_no", "target", "trajectory"}
    assert "8" in p.intro(8)
    with pytest.raises(TvauError, match="unknown prompt set"):
        load_prompt_set("nope-v9")
    with pytest.raises(TvauError, match="questions"):
        parse_prompt_set({"version": "x", "clip_intro": "y", "questions": {"yes_no": "q"}})


def test_turns_follow_the_ground_truth_label():
    assert turn_kinds(ABNORMAL) == ["yes_no", "target", "trajectory"]
    assert turn_kinds(NORMAL) == ["yes_no"]
    assert gold_answers(NORMAL) == {"yes_no": "No", "target": None, "trajectory": None}
    assert gold_answers(ABNORMAL)["target"] == ABNORMAL["dialogue"][1]["answer"]


def test_zero_shot_own_history_message_list():
    p = load_prompt_set()
    clip = Clip(ABNORMAL["video_id"], tuple(ABNORMAL["frame_indices"]))
    msgs = query_messages([], p, clip, ["yes_no", "target"], ["no way"])
    refs = [f"{ABNORMAL['video_id']}#{i}" for i in ABNORMAL["frame_indices"]]
    assert texts(msgs) == [
        ("user", [p.intro(4), *refs, p.question("yes_no")]),
        ("assistant", ["no way"]),
        ("user", [p.question("target")]),
    ]


def test_one_shot_prefix_is_a_full_gold_exchange_with_its_own_frames():
    p = load_prompt_set()
    ex = choose_exemplar(TRAIN, 0)
    prefix = exemplar_messages(p, Clip(ex["video_id"], tuple(ex["frame_indices"])), ex)
    gold = gold_answers(ex)
    assert [m["role"] for m in prefix] == ["user", "assistant"] * 3
    assert [m["content"][0]["text"] for m in prefix[1::2]] == [
        gold["yes_no"],
        gold["target"],
        gold["trajectory"],
    ]
    assert sum(part["type"] == "image" for part in prefix[0]["content"]) == len(ex["frame_indices"])
    clip = Clip(NORMAL["video_id"], tuple(NORMAL["frame_indices"]))
    full = query_messages(prefix, p, clip, ["yes_no"], [])
    assert full[:6] == prefix and len(full) == 7
    assert messages_json(full)[6]["content"][1] == {
        "type": "image",
        "ref": f"{NORMAL['video_id']}#{NORMAL['frame_indices'][0]}",
    }


def test_exemplar_is_fixed_by_seed_and_needs_an_abnormal_train_sample():
    a = choose_exemplar(TRAIN, 0)
    assert a == choose_exemplar(list(reversed(TRAIN)), 0)  # order of the input does not matter
    assert a["label"] == "Yes"
    assert {choose_exemplar(TRAIN, s)["sample_id"] for s in range(20)} == {
        s["sample_id"] for s in TRAIN if s["label"] == "Yes"
    }
    with pytest.raises(TvauError, match="exemplar"):
        choose_exemplar([s for s in TRAIN if s["label"] == "No"], 0)


def test_an_unverified_sample_is_never_the_exemplar():
    """A target that failed verification may carry wrong gold answers: it is never the worked example."""
    picked = choose_exemplar(TRAIN, 0)
    flagged = [{**s, "verified": False} if s["sample_id"] == picked["sample_id"] else s for s in TRAIN]
    other = choose_exemplar(flagged, 0)
    assert other["sample_id"] != picked["sample_id"] and other.get("verified", True)
    with pytest.raises(TvauError, match="verified"):
        choose_exemplar([{**s, "verified": False} for s in TRAIN], 0)


def test_fingerprint_covers_every_protocol_component():
    ex = choose_exemplar(TRAIN, 0)
    base = Protocol(generation={"temperature": 0.0, "max_new_tokens": 128})
    data = "a" * 64
    fp = fingerprint(base, TEST, ex, data)
    assert fp == fingerprint(
        Protocol(generation={"max_new_tokens": 128, "temperature": 0.0}), list(reversed(TEST)), ex, data
    )
    changed = [
        fingerprint(Protocol(shots=0, generation=base.generation), TEST, None, data),
        fingerprint(Protocol(history="gold", generation=base.generation), TEST, ex, data),
        fingerprint(Protocol(max_side=224, generation=base.generation), TEST, ex, data),
        fingerprint(Protocol(generation={"temperature": 0.0, "max_new_tokens": 64}), TEST, ex, data),
        fingerprint(
            base,
            TEST,
            choose_exemplar(TRAIN, 1) if choose_exemplar(TRAIN, 1) != ex else choose_exemplar(TRAIN, 2),
            data,
        ),
        fingerprint(base, TEST, ex, "b" * 64),  # same samples, other dataset content
    ]
    moved = [dict(s) for s in TEST]
    moved[0] = {**moved[0], "frame_indices": [0, 1, 2, 3]}
    changed.append(fingerprint(base, moved, ex, data))
    assert len({fp, *changed}) == len(changed) + 1


def test_protocol_rejects_bad_settings():
    with pytest.raises(TvauError, match="shots"):
        Protocol(shots=2)
    with pytest.raises(TvauError, match="history"):
        Protocol(history="mine")


def test_digest_ignores_pixels_but_not_text():
    p = load_prompt_set()
    img = np.zeros((4, 4, 3), np.uint8)
    a = query_messages([], p, Clip("v", (0,), (img,)), ["yes_no"], [])
    b = query_messages([], p, Clip("v", (0,), None), ["yes_no"], [])
    c = query_messages([], p, Clip("v", (1,), None), ["yes_no"], [])
    assert messages_digest(a) == messages_digest(b) != messages_digest(c)


def test_resize_cap_keeps_aspect_and_never_upscales():
    img = np.zeros((480, 856, 3), np.uint8)
    assert resize_to_cap(img, 448).shape == (251, 448, 3)
    assert resize_to_cap(img, 1000) is img


def test_limit_selects_a_fixed_spread_subset():
    picked = select_samples(TEST, 3)
    assert picked == select_samples(list(reversed(TEST)), 3)
    assert len(picked) == 3 and select_samples(TEST, None) == TEST
    with pytest.raises(TvauError):
        select_samples(TEST, 0)


def test_prompts_are_the_dataset_dialogue_questions():
    dialogue = pytest.importorskip("tvau_bench.annotate.dialogue")
    assert dialogue.PROMPT_SET == "dialogue-v1"
    assert load_prompt_set(dialogue.PROMPT_SET).questions == dialogue.QUESTIONS


def _toy(video: str, i: int, abnormal: bool) -> dict:
    turns = [{"turn": 1, "kind": "yes_no", "question": "q", "answer": "Yes" if abnormal else "No"}]
    if abnormal:
        turns += [
            {"turn": 2, "kind": "target", "question": "q", "answer": "a person"},
            {"turn": 3, "kind": "trajectory", "question": "q", "answer": "moves left"},
        ]
    label = "Yes" if abnormal else "No"
    return {"sample_id": f"{video}:{i}-{i + 7}", "video_id": video, "label": label, "dialogue": turns}


def test_evaluation_set_prefers_train_then_falls_back_to_the_evaluated_split():
    from tvau_bench.harness.protocol import evaluation_set

    test = [_toy("v1", 0, True), _toy("v1", 10, False), _toy("v2", 0, True), _toy("v3", 0, False)]
    train = [_toy("t1", 0, True), _toy("t1", 9, False)]
    scored, ex = evaluation_set({"train": train, "test": test}, "test", 1, 0)
    assert ex["sample_id"] == "t1:0-7" and scored == test
    scored0, ex0 = evaluation_set({"train": train, "test": test}, "test", 0, 0)
    assert ex0 is None and scored0 == test

    # ShanghaiTech: a normal-only train split; the exemplar's whole video leaves the scored set.
    normal_train = [_toy("t1", 9, False)]
    for seed in range(4):
        scored, ex = evaluation_set({"train": normal_train, "test": test}, "test", 1, seed)
        assert ex["video_id"] in {"v1", "v2"} and ex in test
        assert all(s["video_id"] != ex["video_id"] for s in scored)
        assert len(scored) == len(test) - sum(s["video_id"] == ex["video_id"] for s in test)


def test_evaluation_set_without_any_abnormal_sample_is_a_clear_error():
    from tvau_bench.errors import TvauError
    from tvau_bench.harness.protocol import evaluation_set

    with pytest.raises(TvauError, match="exemplar"):
        evaluation_set({"test": [_toy("v3", 0, False)]}, "test", 1, 0)
    with pytest.raises(TvauError, match="no samples in split 'validation'"):
        evaluation_set({"test": [_toy("v3", 0, False)]}, "validation", 1, 0)
