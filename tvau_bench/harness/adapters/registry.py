"""The adapter registry: the one table of adapter names, each an import path and whether it is an oracle.

A package that provides adapters registers them with :func:`register_adapter` when it is imported: the harness
its own (below), :mod:`tvau_bench.models` the models' adapters. Importing ``tvau_bench`` imports both, so the
table is complete whichever module a caller imports first, and the harness never names the packages above it.
Registration is names and ``module:Class`` strings only; a class is imported on first use, so torch loads for
a model's adapter and never for ``--help``. The ``adapter`` enum of ``schemas/model_config.json`` lists the
same names in the same order (``tests/test_registries.py`` checks it).

This module imports nothing of the package but :mod:`tvau_bench.errors`: every package may register here.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from ...errors import TvauError


@dataclass(frozen=True)
class AdapterSpec:
    """A registered adapter: ``target`` is ``"module:Class"``; ``oracle`` mirrors the class's ``is_oracle``."""

    name: str
    target: str
    oracle: bool = False


_SPECS: dict[str, AdapterSpec] = {}
# Read-only view of the table, in registration order.
REGISTRY = MappingProxyType(_SPECS)


def register_adapter(name: str, target: str, *, oracle: bool = False) -> None:
    """Register ``target`` (``"package.module:Class"``) as the adapter ``name``; registering it again is a no-op.

    ``oracle`` declares an adapter that reads the source or the ground truth (its class sets ``is_oracle``):
    old run folders without an ``oracle`` field are classified by it without importing the class.
    """
    spec = AdapterSpec(name, target, oracle)
    module, _, cls = target.partition(":")
    if not module or not cls:
        raise TvauError(f"adapter {name!r} target {target!r} is not 'module:Class'", field="adapter")
    have = _SPECS.get(name)
    if have is not None and have != spec:
        raise TvauError(
            f"adapter {name!r} is already registered as {have.target!r}",
            field="adapter",
            fix="choose another name",
        )
    _SPECS[name] = spec


def adapter_names() -> list[str]:
    """The registered adapter names, in registration order."""
    return list(_SPECS)


def adapter_spec(name: str) -> AdapterSpec:
    """The adapter registered as ``name``; TvauError naming the registered ones otherwise."""
    spec = _SPECS.get(name)
    if spec is None:
        raise TvauError(f"unknown adapter {name!r}", field="adapter", fix=f"use one of {sorted(_SPECS)}")
    return spec


def oracle_names() -> frozenset[str]:
    """The registered oracles (ceilings, shown apart from the models)."""
    return frozenset(s.name for s in _SPECS.values() if s.oracle)


# The harness's own adapters (the models' register in tvau_bench/models/__init__.py).
register_adapter("openai", "tvau_bench.harness.adapters.openai_adapter:OpenAIAdapter")
register_adapter("transformers", "tvau_bench.harness.adapters.transformers_adapter:TransformersAdapter")
register_adapter("vllm", "tvau_bench.harness.adapters.vllm_adapter:VLLMAdapter")
register_adapter("replay", "tvau_bench.harness.adapters.replay:ReplayAdapter")
register_adapter("majority", "tvau_bench.harness.adapters.majority:MajorityAdapter")
register_adapter(
    "geometry-oracle", "tvau_bench.harness.adapters.geometry_oracle:GeometryOracleAdapter", oracle=True
)
