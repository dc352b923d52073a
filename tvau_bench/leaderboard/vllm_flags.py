"""The `vllm serve` flags our baseline configs use, as documented for the pinned vLLM version, and a checker.

Data, kept as code so that it ships with the package without package-data entries. Every flag names the
documentation it was checked against (looked up with the project's search tool on 2026-11-26): the
``vllm serve`` CLI reference of the pinned version (docs.vllm.ai/en/v0.12.0/cli/serve/), the engine-argument
reference, and the ``MultiModalConfig`` API page. vLLM moved ``--limit-mm-per-prompt`` from ``image=16``
(comma-separated key=value, up to 0.8.x) to a JSON object ``'{"image": 16}'`` (``MultiModalConfig.
limit_per_prompt: dict[str, int]``, parsed as a "JSON CLI argument"); the pinned version takes JSON, so the
checker rejects the old form.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

VLLM_VERSION = "0.12.0"

_ENGINE_ARGS = (
    "docs.vllm.ai/en/v0.12.0/cli/serve/ (ModelConfig group); also docs.vllm.ai/en/stable/configuration/engine_args "
    "and docs.vllm.ai/en/v0.8.5/serving/engine_args.html (same flags, older layout)"
)
_MM_CONFIG = (
    "docs.vllm.ai/en/v0.11.0/api/vllm/config/multimodal.html: MultiModalConfig.limit_per_prompt is "
    'dict[str, int], example {"image": 16, "video": 2}; mm_processor_kwargs is a JSON object (same field in the '
    "later MultiModalConfig pages, e.g. docs.vllm.ai/en/v0.15.0/api/vllm/config/multimodal/)"
)
_JSON_CLI = (
    "docs.vllm.ai/en/v0.12.0/cli/serve/ 'JSON CLI Arguments': --json-arg '{\"key1\": \"value1\"}' or "
    "--json-arg.key1 value1"
)
_FRONTEND = (
    "docs.vllm.ai/en/v0.12.0/cli/serve/ (Frontend group: --host, --port); --chat-template CHAT_TEMPLATE in the "
    "same group, listed in the Red Hat AI Inference Server 3.0 'vllm serve' usage (docs.redhat.com, mirrors "
    "docs.vllm.ai)"
)
_GEN_CONFIG = (
    "docs.vllm.ai/en/stable/configuration/engine_args '--generation-config': 'auto' (default) loads the model's "
    "generation_config.json, 'vllm' loads none and uses vLLM defaults"
)
_CONSERVE = (
    "docs.vllm.ai configuration/conserving_memory: mm_processor_kwargs {'max_dynamic_patch': N} for InternVL "
    "(default 12), {'max_pixels': ...} for Qwen2-VL/Qwen2.5-VL"
)


@dataclass(frozen=True)
class Flag:
    """One documented option of `vllm serve`: its value kind and where it was checked."""

    name: str
    kind: str  # "bool" (no value), "str", "int", "float", "choice", "json-limits", "json-object"
    source: str
    choices: tuple[str, ...] = ()


FLAGS: dict[str, Flag] = {
    f.name: f
    for f in (
        Flag("--revision", "str", _ENGINE_ARGS),
        Flag("--tokenizer-revision", "str", _ENGINE_ARGS),
        Flag("--code-revision", "str", _ENGINE_ARGS),
        Flag("--trust-remote-code", "bool", _ENGINE_ARGS),
        Flag("--dtype", "choice", _ENGINE_ARGS, ("auto", "bfloat16", "float", "float16", "float32", "half")),
        Flag("--seed", "int", _ENGINE_ARGS),
        Flag("--max-model-len", "int", _ENGINE_ARGS),
        Flag("--enforce-eager", "bool", _ENGINE_ARGS),
        Flag("--generation-config", "str", _GEN_CONFIG),
        Flag("--limit-mm-per-prompt", "json-limits", f"{_MM_CONFIG}; {_JSON_CLI}"),
        Flag("--mm-processor-kwargs", "json-object", f"{_MM_CONFIG}; {_CONSERVE}"),
        Flag("--chat-template", "str", _FRONTEND),
        Flag("--host", "str", _FRONTEND),
        Flag("--port", "int", _FRONTEND),
    )
}


def check_serve_command(argv: Sequence[str]) -> list[str]:
    """Every problem with ``argv`` as a `vllm serve` command line for :data:`VLLM_VERSION` (empty when valid).

    Accepts ``vllm serve MODEL [--flag [value]]...`` where every flag is one of :data:`FLAGS`, used once,
    with a value of the documented kind.
    """
    argv = list(argv)
    problems: list[str] = []
    if argv[:2] != ["vllm", "serve"]:
        return [f"must start with 'vllm serve', got {argv[:2]}"]
    if len(argv) < 3 or argv[2].startswith("-"):
        return ["the model (positional model_tag) must follow 'vllm serve'"]
    seen: set[str] = set()
    i = 3
    while i < len(argv):
        token = argv[i]
        name, eq, inline = token.partition("=")
        flag = FLAGS.get(name)
        if flag is None:
            problems.append(
                f"{token!r} is not a documented vllm {VLLM_VERSION} serve flag in our verified list"
            )
            i += 1
            continue
        if name in seen:
            problems.append(f"{name} given twice")
        seen.add(name)
        if flag.kind == "bool":
            if eq:
                problems.append(f"{name} takes no value")
            i += 1
            continue
        if eq:
            value, i = inline, i + 1
        elif i + 1 < len(argv):
            value, i = argv[i + 1], i + 2
        else:
            problems.append(f"{name} needs a value")
            break
        problem = _value_problem(flag, value)
        if problem:
            problems.append(f"{name} {value!r}: {problem}")
    return problems


def flag_value(argv: Sequence[str], name: str) -> str | None:
    """The value given to ``name`` in ``argv`` (``--name v`` or ``--name=v``), or None when absent."""
    for i, token in enumerate(argv):
        if token == name and i + 1 < len(argv):
            return argv[i + 1]
        if token.startswith(name + "="):
            return token.split("=", 1)[1]
    return None


def _value_problem(flag: Flag, value: str) -> str | None:
    if value.startswith("--"):
        return "missing value (next token is a flag)"
    if flag.kind == "int":
        return None if _is_int(value) else "not an integer"
    if flag.kind == "float":
        try:
            float(value)
        except ValueError:
            return "not a number"
        return None
    if flag.kind == "choice":
        return None if value in flag.choices else f"not one of {list(flag.choices)}"
    if flag.kind in ("json-limits", "json-object"):
        try:
            obj = json.loads(value)
        except json.JSONDecodeError:
            hint = " (the key=value form was dropped; use JSON)" if "=" in value else ""
            return f"not valid JSON{hint}"
        if not isinstance(obj, dict):
            return "must be a JSON object"
        if flag.kind == "json-limits":
            bad = [k for k, v in obj.items() if not isinstance(v, int) or isinstance(v, bool) or v < 0]
            if bad:
                return f"limits must be non-negative integers (bad: {bad})"
            unknown = sorted(set(obj) - {"image", "video", "audio"})
            if unknown:
                return f"unknown modalities {unknown}"
        return None
    return None if value else "empty value"


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True
