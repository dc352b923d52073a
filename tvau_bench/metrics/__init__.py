"""Metrics with the reference semantics of ``METRICS.md``.

- :mod:`.frame`: micro/macro frame AUC (``frame_auc``);
- :mod:`.region`: RBDC/TBDC, vectorised (``region_metrics``, ``rbdc_tbdc``); :mod:`.region_reference` is the
  plain per-detection loop used as the test oracle;
- :mod:`.detections`: heatmaps to scored boxes and frame scores (``DetectionRule``, ``detect_video``,
  ``export_heatmaps``);
- :mod:`.text`: corpus/sentence BLEU, Yes/No extraction and accuracy; :mod:`.bootstrap`: 95% intervals;
- :mod:`.io`: readers/writers of the reference text formats.
- :mod:`.suite`: the benchmark's metrics declared once (the dialogue metric table, the detection summary).

Submodules are imported on use so that ``tvau-bench --help`` stays fast.
"""
