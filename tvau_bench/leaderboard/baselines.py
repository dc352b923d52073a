"""The paper's baseline rows as runnable configs (``baselines/*.yaml``): listing and the exact `vllm serve` line."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from .. import shipped
from ..errors import TvauError
from .vllm_flags import VLLM_VERSION, check_serve_command, flag_value


@dataclass(frozen=True)
class BaselineInfo:
    """One baseline config, as ``baselines list`` shows it."""

    name: str
    display_name: str
    adapter: str
    hf_id: str | None
    revision: str | None
    shots: int
    size_b: float | None
    vllm_version: str | None
    path: str


def baselines_dir(explicit: str | Path | None = None) -> Path:
    """The baselines folder: ``explicit``, else the one shipped in the package (a clone's ``baselines/``)."""
    if explicit is None:
        return shipped.baselines_dir()
    path = Path(explicit)
    if not path.is_dir():
        raise TvauError("baselines folder not found", path=path)
    return path


def list_baselines(directory: str | Path | None = None) -> list[BaselineInfo]:
    """Every ``*.yaml`` in the baselines folder, loaded and validated by the harness's model-config loader."""
    from ..harness.model_config import load_model_config

    out = []
    for path in sorted(baselines_dir(directory).glob("*.yaml")):
        cfg = load_model_config(path)
        if cfg.name != path.stem:
            raise TvauError(f"name {cfg.name!r} differs from the file name", path=path, field="name")
        serve = cfg.serve or {}
        out.append(
            BaselineInfo(
                name=cfg.name,
                display_name=cfg.display_name,
                adapter=cfg.adapter,
                hf_id=cfg.hf_id,
                revision=cfg.revision,
                shots=cfg.shots,
                size_b=cfg.size_b,
                vllm_version=serve.get("vllm_version"),
                path=str(path),
            )
        )
    return out


def serve_command(name: str, directory: str | Path | None = None) -> list[str]:
    """The checked `vllm serve` argv of baseline ``name``; an error when it is not served by vLLM or invalid."""
    from ..harness.model_config import load_model_config

    path = baselines_dir(directory) / f"{name}.yaml"
    if not path.is_file():
        known = [b.stem for b in sorted(path.parent.glob("*.yaml"))]
        raise TvauError(f"no baseline named {name!r}", path=path, fix=f"use one of {known}")
    cfg = load_model_config(path)
    if not cfg.serve:
        raise TvauError(
            f"{name} is not served with vLLM (adapter {cfg.adapter!r})",
            path=path,
            field="serve",
            fix="run it directly with `tvau-bench run --model ...`",
        )
    argv = [str(a) for a in cfg.serve.get("command") or []]
    problems = serve_problems(argv, cfg.hf_id, cfg.revision, str(cfg.serve.get("vllm_version")))
    problems += _adapter_problems(cfg.adapter, cfg.adapter_args, cfg.hf_id, argv)
    if problems:
        raise TvauError("; ".join(problems), path=path, field="serve.command")
    return argv


def serve_problems(argv: list[str], hf_id: str | None, revision: str | None, vllm_version: str) -> list[str]:
    """Problems of a serve command against the verified flag list and the config it belongs to."""
    problems = []
    if vllm_version != VLLM_VERSION:
        problems.append(f"vllm_version {vllm_version!r} is not the verified {VLLM_VERSION!r}")
    problems += check_serve_command(argv)
    if len(argv) > 2 and argv[2] != hf_id:
        problems.append(f"serves {argv[2]!r} but hf_id is {hf_id!r}")
    if revision and flag_value(argv, "--revision") != revision:
        problems.append(f"--revision must equal the config's revision {revision!r}")
    return problems


def _adapter_problems(adapter: str, args: dict, hf_id: str | None, argv: list[str]) -> list[str]:
    # The OpenAI adapter must ask for the model the server serves (vLLM's served name defaults to the model tag).
    if adapter != "openai":
        return [f"adapter {adapter!r} does not talk to a vLLM server"]
    problems = []
    if args.get("model") != hf_id:
        problems.append(f"adapter_args.model {args.get('model')!r} differs from the served model {hf_id!r}")
    port = flag_value(argv, "--port") or "8000"
    if f":{port}/" not in str(args.get("base_url", "")):
        problems.append(f"adapter_args.base_url does not use the served port {port}")
    return problems


def format_list(rows: list[BaselineInfo]) -> str:
    """A fixed-width listing, one baseline per line."""
    header = ("NAME", "ADAPTER", "SHOTS", "SIZE", "HF_ID", "REVISION", "SERVE")
    lines = [header]
    for b in rows:
        size = "-" if b.size_b is None else f"{b.size_b:g}B"
        serve = f"vllm {b.vllm_version}" if b.vllm_version else "-"
        lines.append((b.name, b.adapter, str(b.shots), size, b.hf_id or "-", b.revision or "-", serve))
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in lines)


def format_command(argv: list[str]) -> str:
    """A shell-quoted command line."""
    return shlex.join(argv)
