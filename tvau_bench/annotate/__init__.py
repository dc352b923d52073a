"""Dataset construction: the paper's three-stage annotation pipeline, resumable and verified.

- ``recipe.load_recipe(name_or_path)``: YAML recipe (backend, prompts, sampling, thresholds), shipped in
  ``tvau_bench/recipes/``: ``synthetic`` (geometric backend); ``ubnormal`` and ``shanghaitech`` build the
  published datasets with a vLLM-served VLM.
- ``pipeline.run(recipe, source_root, out_dir)``: writes ``videos.jsonl``, ``samples.jsonl``, ``tracks.jsonl``,
  ``quarantine.jsonl`` and ``report.json`` (CLI: ``tvau-bench annotate RECIPE --source ROOT --out DIR``).
- Stages: ``stage1`` (marked frames → per-target JSON, joined into timelines by ``timelines``), ``stage2``
  (target-focused views from masks, ``views``), ``stage3`` (appearance vote, motion vs geometry, one re-ask).
- ``motion`` turns mask geometry into features and trajectory sentences; ``colours`` names masked pixels;
  ``dialogue`` builds the benchmark samples and holds the fixed questions the harness asks.
- ``backends``: ``geometric`` (model-free default), ``openai`` (OpenAI-compatible HTTP, e.g. ``vllm serve``),
  ``vllm`` (offline, optional extra); ``asker`` + ``cache`` put every request through the on-disk cache.
- ``evaluate.evaluate(out_dir, truth_jsonl)``: fidelity against the synthetic generator's truth
  (CLI: ``tvau-bench annotate-eval OUT --truth FILE --json``).
"""
