"""T-VAU models (torch extra): E_t, the Anomaly Heatmap Decoder, the Region-aware Anomaly Encoder, the LoRA-tuned
Qwen2.5-VL assembly, training loops, detection and the harness adapters.

Modules (import them directly; nothing heavy is imported here):
- ``text_encoder``: class embeddings S_c from templated prompt sentences (LVLM token embeddings, hashed, learned);
- ``backbones``: small CNN (CPU default) and the Qwen2.5-VL vision tower's blocks with window order undone;
- ``ahd``: per-layer projection → cosine with S_c → learned layer fusion → (B, T, 2, H, W) logits; losses;
- ``rae``: heatmaps → region/global prompt tokens; scattering them at ``<|anomaly_prompt_pad|>``;
- ``tvau``: LoRA on the language model only, prompt building, injection for forward and ``generate``;
- ``tiny``: tiny random Qwen2.5-VL configs and an in-code tokenizer (tests, CPU smoke runs, 7B shapes);
- ``data``, ``train_ahd``, ``train_rae``, ``detect``, ``classical``, ``checkpoint``, ``adapter``, ``cli``.

Importing the package registers its adapters (``ahd-template``, ``tvau``) with the harness registry.
"""

from ..harness.adapters.registry import register_adapter

# The models' harness adapters (classes in .adapter, imported on first use: registering loads no torch).
register_adapter("ahd-template", "tvau_bench.models.adapter:AhdTemplateAdapter")
register_adapter("tvau", "tvau_bench.models.adapter:TvauAdapter")
