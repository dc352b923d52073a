"""One prepared run for a lent GPU: a Qwen2.5-VL-7B-shaped T-VAU (random bf16 weights), one RAE + LoRA training
step and one generation with 8 frames; prints peak memory and step time as JSON.

    python benchmarks/gpu_tvau.py            # GPU, 7B shapes (needs ~40 GB)
    python benchmarks/gpu_tvau.py --tiny     # CPU smoke run with a tiny config (what the tests run)

No weights are downloaded: the model is built from a config in code and randomly initialised on the device.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> dict:
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    from tvau_bench.models.tiny import build_tokenizer, ensure_anomaly_token, qwen7b_config, tiny_qwen_config
    from tvau_bench.models.tvau import build_tvau, collate, encode_messages, video_inputs

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="tiny config (CPU smoke test)")
    p.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--side", type=int, default=448, help="frame side in pixels (multiple of 28)")
    p.add_argument("--new-tokens", type=int, default=16)
    args = p.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    side = 56 if args.tiny else args.side
    cuda = device.startswith("cuda")
    dtype = torch.bfloat16 if (cuda or not args.tiny) else torch.float32

    tok = build_tokenizer(["a person wearing a red top runs toward the upper right corner and exits"])
    cfg = qwen7b_config(tok) if not args.tiny else tiny_qwen_config(tok)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    with torch.device(device):
        lvlm = Qwen2_5_VLForConditionalGeneration._from_config(cfg, dtype=dtype)
    lvlm.eval()
    build_s = time.perf_counter() - t0
    model = build_tvau(lvlm, ensure_anomaly_token(tok))
    for prm in model.parameters():  # trainable weights in float32 (bf16 Adam updates underflow)
        if prm.requires_grad:
            prm.data = prm.data.float()
    model.rae.float()
    n_params = sum(p.numel() for p in model.parameters())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)

    clip = torch.rand(args.frames, 3, side, side)
    heat = torch.rand(1, args.frames, 64, 64, device=device)
    pv, grid, counts = video_inputs([clip], cfg.vision_config)
    pv, grid = pv.to(device, dtype), grid.to(device)
    frames = [{"type": "image", "ref": f"v#{i}", "image": None} for i in range(args.frames)]
    question = [
        {
            "role": "user",
            "content": [*frames, {"type": "text", "text": "is there an anomaly in this video ?"}],
        }
    ]
    messages = [
        *question,
        {"role": "assistant", "content": [{"type": "text", "text": "yes"}]},
        {"role": "user", "content": [{"type": "text", "text": "describe the anomalous target ."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "a person wearing a red top"}]},
    ]
    n_anomaly = [model.rae.num_tokens(args.frames)]
    enc = encode_messages(tok, messages, n_video_tokens=counts, n_anomaly_tokens=n_anomaly, label_from=0)
    batch = {k: v.to(device) for k, v in collate([enc], tok.pad_token_id).items()}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    model.train()
    sync()
    t0 = time.perf_counter()
    with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=cuda):
        loss = model(heatmaps=heat, pixel_values_videos=pv, video_grid_thw=grid, **batch).loss
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    sync()
    step_s = time.perf_counter() - t0
    train_peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None

    model.eval()
    gen_enc = encode_messages(
        tok, question, n_video_tokens=counts, n_anomaly_tokens=n_anomaly, generation_prompt=True
    )
    gb = {
        k: v.to(device)
        for k, v in collate([gen_enc], tok.pad_token_id, left_pad=True).items()
        if k != "labels"
    }
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    sync()
    t0 = time.perf_counter()
    with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=cuda):
        out = model.generate(
            heatmaps=heat,
            pixel_values_videos=pv,
            video_grid_thw=grid,
            max_new_tokens=args.new_tokens,
            min_new_tokens=args.new_tokens,
            do_sample=False,
            **gb,
        )
    sync()
    gen_s = time.perf_counter() - t0
    result = {
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "config": "tiny" if args.tiny else "qwen2.5-vl-7b-shaped",
        "dtype": str(dtype).replace("torch.", ""),
        "params": n_params,
        "trainable_params": n_train,
        "frames": args.frames,
        "frame_side": side,
        "video_tokens": counts[0],
        "anomaly_tokens": model.rae.num_tokens(args.frames),
        "sequence_length": int(batch["input_ids"].shape[1]),
        "loss": float(loss.detach()),
        "build_s": round(build_s, 3),
        "train_step_s": round(step_s, 3),
        "train_peak_gib": None if train_peak is None else round(train_peak, 2),
        "generate_s": round(gen_s, 3),
        "generated_tokens": int(out.shape[1] - gb["input_ids"].shape[1]),
        "generate_peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
    }
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
