"""The functions the tvau_* task YAMLs name: re-exported from the installed tvau-bench package (one implementation)."""

from tvau_bench.integrations.lmms_eval.task import (  # noqa: F401
    aggregate_target_bleu4,
    aggregate_trajectory_bleu4,
    aggregate_yes_no_accuracy,
    doc_to_messages,
    doc_to_target,
    doc_to_text,
    doc_to_visual,
    process_docs_turns,
    process_results,
)
