"""T-VAU assembly on a tiny random Qwen2.5-VL built in code: injection, LoRA placement, forward/backward/generate,
overfitting a handful of samples, and the vision tower's window order."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from transformers import Qwen2_5_VLForConditionalGeneration  # noqa: E402

from tvau_bench.models.backbones import (  # noqa: E402
    QwenVisionBackbone,
    merge_order_to_grid,
    patchify_images,
    patchify_video,
    undo_window_order,
)
from tvau_bench.models.tiny import build_tiny_qwen, build_tokenizer, ensure_anomaly_token, tiny_qwen_config  # noqa: E402
from tvau_bench.models.tvau import (  # noqa: E402
    build_tvau,
    collate,
    encode_messages,
    lora_module_names,
    video_inputs,
)

QUESTION = "is there an anomaly in this video ?"
ANSWERS = [
    "yes",
    "no",
    "a person wearing red top enters from left",
    "a car moves toward upper right corner and exits",
]


def one_turn(question, answer=None):
    """A harness-shaped message list: one clip (its frames), the question, and the answer when given."""
    frames = [{"type": "image", "ref": f"v#{i}", "image": None} for i in range(2)]
    messages = [{"role": "user", "content": [*frames, {"type": "text", "text": question}]}]
    if answer is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return messages


def _tiny(seed=0, lora=True):
    tok = build_tokenizer(ANSWERS)
    lvlm = build_tiny_qwen(tok, seed=seed)
    model = build_tvau(lvlm, ensure_anomaly_token(tok), lora=lora, heatmap_size=32, rae_width=16)
    return tok, model


def _batch(tok, model, clips, answers, *, generation=False):
    pv, grid, counts = video_inputs(clips, model.config.vision_config)
    steps = clips[0].shape[0]
    encs = [
        encode_messages(
            tok,
            one_turn(QUESTION, None if generation else answers[i]),
            n_video_tokens=[counts[i]],
            n_anomaly_tokens=[model.rae.num_tokens(steps)],
            label_from=0,
            generation_prompt=generation,
        )
        for i in range(len(clips))
    ]
    b = collate(encs, tok.pad_token_id, left_pad=generation)
    b.update(pixel_values_videos=pv, video_grid_thw=grid)
    if generation:
        b.pop("labels")
    return b


@pytest.fixture(scope="module")
def tiny():
    return _tiny()


def test_lora_only_on_language_model(tiny):
    _, model = tiny
    names = lora_module_names(model)
    assert names, "no LoRA module was created"
    assert all(".language_model.layers." in n for n in names)
    assert not [n for n in names if ".visual." in n]
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert all(n.startswith("rae.") or "lora_" in n for n in trainable)
    assert not [n for n in trainable if ".visual." in n]


def test_forward_backward_reaches_rae_and_lora_only(tiny):
    tok, model = tiny
    model.zero_grad()
    clips = [torch.rand(4, 3, 56, 56) for _ in range(2)]
    batch = _batch(tok, model, clips, ANSWERS[:2])
    out = model(heatmaps=torch.rand(2, 4, 32, 32), **batch)
    assert torch.isfinite(out.loss)
    out.loss.backward()
    assert model.rae.base.grad is not None and model.rae.base.grad.abs().sum() > 0
    lora_grads = [p.grad for n, p in model.named_parameters() if "lora_B" in n]
    assert lora_grads and all(g is not None for g in lora_grads)
    assert all(p.grad is None for n, p in model.named_parameters() if ".visual." in n)
    model.zero_grad()


def test_prompt_tokens_replace_placeholders_in_embeddings(tiny):
    tok, model = tiny
    clips = [torch.rand(2, 3, 56, 56)]
    batch = _batch(tok, model, clips, ["yes"])
    ids = batch["input_ids"]
    heat = torch.rand(1, 2, 32, 32)
    with torch.no_grad(), model.prompts(heat):
        emb = model.embed_tokens()(ids)
        expected = model.rae(heat)
    mask = ids[0] == model.anomaly_token_id
    assert int(mask.sum()) == model.rae.num_tokens(2) == expected.shape[1]
    assert torch.allclose(emb[0, mask], expected[0])
    plain = model.embed_tokens()(ids)  # outside the context: the ordinary embedding
    assert torch.allclose(plain[0, ~mask], emb[0, ~mask])
    assert not torch.allclose(plain[0, mask], emb[0, mask])


def test_multimodal_position_ids_cover_video_grid(tiny):
    tok, model = tiny
    clips = [torch.rand(4, 3, 56, 84)]
    batch = _batch(tok, model, clips, ["yes"])
    pos, _ = model.base_lvlm().model.get_rope_index(
        batch["input_ids"], batch["mm_token_type_ids"], video_grid_thw=batch["video_grid_thw"]
    )
    video = batch["mm_token_type_ids"][0] == 2
    # video tokens: 2 temporal x 2 rows x 3 cols of merged tokens; height/width ids span the merged grid
    hpos, wpos = pos[1, 0, video], pos[2, 0, video]
    assert int(video.sum()) == 2 * 2 * 3
    assert int(hpos.max() - hpos.min()) == 1 and int(wpos.max() - wpos.min()) == 2
    # text after the video (the anomaly placeholders included) continues in 1D after the largest video position
    anomaly = (batch["input_ids"][0] == model.anomaly_token_id).nonzero().flatten()
    a_pos = pos[:, 0, anomaly]
    assert torch.equal(a_pos[0], a_pos[1]) and torch.equal(a_pos[1], a_pos[2])
    assert int(a_pos[0, 0]) > int(pos[:, 0, video].max())
    assert torch.equal(a_pos[0], a_pos[0, 0] + torch.arange(len(anomaly)))


def test_generate_uses_heatmap_tokens(tiny):
    tok, model = tiny
    clips = [torch.rand(4, 3, 56, 56) for _ in range(2)]
    batch = _batch(tok, model, clips, None, generation=True)
    kw = dict(max_new_tokens=3, do_sample=False, output_scores=True, return_dict_in_generate=True)
    a = model.generate(heatmaps=torch.zeros(2, 4, 32, 32), **batch, **kw)
    b = model.generate(heatmaps=torch.ones(2, 4, 32, 32), **batch, **kw)
    assert a.sequences.shape == (2, batch["input_ids"].shape[1] + 3)
    assert not torch.allclose(a.scores[0], b.scores[0])  # the heatmaps reach the first generated token
    assert int((a.sequences[:, batch["input_ids"].shape[1] :] == model.anomaly_token_id).sum()) == 0


def test_handful_of_samples_overfit_quickly():
    # 30 steps on a tiny model: a few seconds on 2 idle cores (speed is a benchmark matter, not asserted here).
    tok, model = _tiny(seed=1)
    torch.manual_seed(1)
    clips = [torch.rand(2, 3, 28, 28) for _ in ANSWERS]
    heat = torch.rand(len(ANSWERS), 2, 32, 32)
    batch = _batch(tok, model, clips, ANSWERS)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=5e-3)
    model.train()
    losses = []
    for _ in range(30):
        loss = model(heatmaps=heat, **batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    assert losses[-1] <= 0.5 * losses[0], losses


def test_patchify_matches_reference_processor_and_video_of_still_frames():
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    img = torch.randn(3, 56, 84)
    rows, grid = patchify_images(img[None], 14, 2, 2)
    ref, gh, gw = Qwen2VLImageProcessorPil().patchify(img.numpy(), 14, 2, 2)
    assert (gh, gw) == (4, 6) and grid.tolist() == [[1, 4, 6]]
    np.testing.assert_array_equal(rows.numpy(), ref)
    # a video of two identical frames is the image repeated over the temporal patch
    vrows, vgrid = patchify_video(img[None].expand(2, -1, -1, -1), 14, 2, 2)
    assert vgrid.tolist() == [[1, 4, 6]]
    assert torch.equal(vrows, rows)


def test_window_order_is_undone():
    """The tower permutes tokens into attention windows; undoing it restores the row-major patch grid."""
    tok = build_tokenizer()
    torch.manual_seed(0)
    visual = Qwen2_5_VLForConditionalGeneration(tiny_qwen_config(tok)).model.visual.eval()
    from transformers.vision_utils import get_vision_window_index

    images = torch.rand(2, 3, 112, 84)  # 8x6 patches: 2x2 windows of merged tokens, ragged at the edge
    rows, grid = patchify_images(images, 14, 2, 2)
    window_index, _ = get_vision_window_index(grid, 2, visual.window_size, 14)
    assert not torch.equal(window_index, torch.arange(len(window_index)))  # a real permutation
    seen = {}
    hook = visual.blocks[0].register_forward_pre_hook(lambda _m, args: seen.setdefault("x", args[0]))
    with torch.no_grad():
        visual(rows, grid_thw=grid)
        embedded = visual.patch_embed(rows)
    hook.remove()
    restored = undo_window_order(seen["x"], window_index, 4)
    assert torch.allclose(restored, embedded)
    # the restored order maps onto the spatial grid: patch (r, c) of image 1 is its own patch embedding
    maps = merge_order_to_grid(restored, grid, 2)
    assert maps.shape == (2, 32, 8, 6)
    r, c = 5, 3
    patch = images[1, :, r * 14 : (r + 1) * 14, c * 14 : (c + 1) * 14]
    one, _ = patchify_images(torch.zeros(1, 3, 28, 28), 14, 2, 2)
    single = patch.unsqueeze(1).expand(-1, 2, -1, -1).reshape(1, -1)
    with torch.no_grad():
        assert torch.allclose(maps[1, :, r, c], visual.patch_embed(single)[0], atol=1e-5)
    assert one.shape[1] == single.shape[1]
    # the backbone returns per-frame maps of each tapped block
    bb = QwenVisionBackbone(visual, layers=[1, -1])
    with torch.no_grad():
        feats = bb(images)
    assert [f.shape for f in feats] == [torch.Size([2, 32, 8, 6])] * 2
