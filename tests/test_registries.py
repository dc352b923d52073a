"""One source for each table: adapter names and oracles (the registry), the protocol read back from a run, and
the modules that used to import each other (submit / replay, the card / the export)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import tvau_bench
from tvau_bench.errors import TvauError
from tvau_bench.harness.adapters import (
    REGISTRY,
    adapter_class,
    adapter_names,
    adapter_spec,
    is_oracle_run,
    oracle_names,
    register_adapter,
)
from tvau_bench.harness.protocol import Protocol
from tvau_bench.schemas import load_schema

PACKAGE = Path(tvau_bench.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports anywhere (function bodies and TYPE_CHECKING blocks included), with
    relative imports written as in the source (``..submissions``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.update({base} if node.module else {base + a.name for a in node.names})
    return found


# ------------------------------------------------------------------------------------------ adapter registry


def test_the_model_config_schema_lists_exactly_the_registered_adapters_in_order():
    assert load_schema("model_config")["properties"]["adapter"]["enum"] == adapter_names()
    assert adapter_names()[-2:] == ["ahd-template", "tvau"]  # registered by tvau_bench.models


def test_registered_oracles_are_the_classes_that_say_so():
    assert {name: adapter_class(name).is_oracle for name in adapter_names()} == {
        name: adapter_spec(name).oracle for name in adapter_names()
    }
    assert oracle_names() == {"geometry-oracle"}


def test_old_runs_are_classified_by_the_registered_oracle_flag():
    assert is_oracle_run({"adapter": "geometry-oracle"}) is True
    assert is_oracle_run({"adapter": "majority"}) is False
    assert is_oracle_run({"adapter": "no-such-adapter"}) is False
    assert is_oracle_run({"adapter": "geometry-oracle", "oracle": False}) is False  # the run's record wins


def test_the_harness_never_names_the_models_package():
    """The models register their adapters; nothing under harness/ imports or names tvau_bench.models."""
    for path in sorted((PACKAGE / "harness").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef) and ast.get_docstring(n) is not None
        }
        strings = [
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
        ]
        assert not [s for s in strings if "tvau_bench.models" in s], path
        assert not {m for m in _imported_modules(path) if m.lstrip(".").startswith("models")}, path


def test_the_registry_is_complete_whatever_is_imported_first_and_loads_no_torch():
    code = (
        "import sys, json\n"
        "from tvau_bench.harness.model_config import model_config_from_dict\n"
        "from tvau_bench.harness.adapters.registry import adapter_names\n"
        "model_config_from_dict({'name': 'x', 'adapter': 'tvau'})\n"
        "print(json.dumps([adapter_names(), 'torch' in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [adapter_names(), False]


def test_register_adapter_refuses_a_second_target_and_a_target_without_a_class():
    register_adapter("tvau", REGISTRY["tvau"].target)  # the same registration again: nothing changes
    with pytest.raises(TvauError, match="already registered"):
        register_adapter("tvau", "elsewhere:Adapter")
    with pytest.raises(TvauError, match="not 'module:Class'"):
        register_adapter("bad-target", "tvau_bench.models.adapter")
    assert REGISTRY["tvau"].target == "tvau_bench.models.adapter:TvauAdapter"
    assert "bad-target" not in REGISTRY


def test_an_unknown_adapter_names_the_registered_ones():
    with pytest.raises(TvauError) as err:
        adapter_class("gpt-99")
    assert err.value.field == "adapter" and "majority" in err.value.fix and "tvau" in err.value.fix


# ------------------------------------------------------------------------------------- protocol from a run


@pytest.mark.parametrize(
    "protocol",
    [
        Protocol(),
        Protocol(split="validation", shots=0, history="gold", max_side=224, exemplar_seed=3),
        Protocol(generation={"temperature": 0.0, "seed": 1}, include_unverified=True),
    ],
)
def test_protocol_from_dict_reads_back_what_as_dict_records(protocol):
    recorded = json.loads(json.dumps(protocol.as_dict()))  # as run.json holds it
    assert Protocol.from_dict(recorded) == protocol
    assert Protocol.from_dict(recorded).as_dict() == protocol.as_dict()


def test_protocol_from_dict_names_the_file_and_the_missing_setting(tmp_path):
    recorded = Protocol().as_dict()
    del recorded["history"]
    with pytest.raises(TvauError) as err:
        Protocol.from_dict(recorded, path=tmp_path / "run.json")
    assert err.value.field == "protocol" and "'history'" in err.value.problem
    assert err.value.path == str(tmp_path / "run.json")


def test_the_leaderboard_store_reads_the_protocol_through_from_dict():
    store = (PACKAGE / "leaderboard" / "store.py").read_text(encoding="utf-8")
    assert "Protocol.from_dict(" in store and "Protocol(" not in store.replace("Protocol.from_dict(", "")


# ------------------------------------------------------------------------------------------- former cycles


def test_submissions_and_replay_do_not_import_each_other():
    """``submit`` lives next to ``run``; the submissions module only parses files (not even lazily importing
    an adapter)."""
    submissions = _imported_modules(PACKAGE / "harness" / "submissions.py")
    assert not {m for m in submissions if "adapters" in m or "runner" in m}
    assert "..submissions" in _imported_modules(PACKAGE / "harness" / "adapters" / "replay.py")
    from tvau_bench.harness import runner
    from tvau_bench.harness import submissions as sub

    assert callable(runner.submit) and not hasattr(sub, "submit")


def test_the_card_does_not_import_the_export():
    """SplitStats lives in the card, which the export (and validate) import; never the other way round."""
    assert not {m for m in _imported_modules(PACKAGE / "hub" / "card.py") if m.endswith("export")}
    from tvau_bench.hub import card, export

    assert export.SplitStats is card.SplitStats
