"""`publish`: the dry run lists files; the real path calls huggingface_hub (methods replaced, no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import huggingface_hub
import pytest
from hub_fixtures import build_records, export_fixture

from tvau_bench.cli import main
from tvau_bench.errors import TvauError
from tvau_bench.hub.publish import publish


class _Recorder:
    """Replaces HfApi methods; records each call with its arguments and the token the client holds."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        rec = self

        def make(name: str, result: Any):
            def method(self_api: huggingface_hub.HfApi, *args: Any, **kwargs: Any) -> Any:
                rec.calls.append((name, args, {**kwargs, "_token": self_api.token}))
                return result

            return method

        commit = huggingface_hub.CommitInfo(
            commit_url="https://huggingface.co/datasets/tvau/ubnormal-fg/commit/abc",
            commit_message="m",
            commit_description="",
            oid="abc",
        )
        monkeypatch.setattr(
            huggingface_hub.HfApi, "create_repo", make("create_repo", "https://hf.co/datasets/x")
        )
        monkeypatch.setattr(huggingface_hub.HfApi, "create_branch", make("create_branch", None))
        monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", make("upload_folder", commit))

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_fixture(tmp_path_factory.mktemp("pub")).out


def test_dry_run_lists_files_and_calls_nothing(hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = _Recorder(monkeypatch)
    (hub / ".cache").mkdir(exist_ok=True)
    (hub / ".cache" / "junk").write_text("x")
    res = publish(hub, "tvau/ubnormal-fg", dry_run=True)
    names = [f for f, _ in res.files]
    assert "README.md" in names and "data/samples/train-00000-of-00001.parquet" in names
    assert "schemas/sample.json" in names and not any(n.startswith(".") for n in names)
    assert dict(res.files)["README.md"] == (hub / "README.md").stat().st_size
    assert rec.calls == []
    assert "total (15 files)" in res.format()


def test_upload_path(hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = _Recorder(monkeypatch)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    res = publish(hub, "tvau/ubnormal-fg", private=True, revision="v1.0")
    assert rec.names() == ["create_repo", "create_branch", "upload_folder"]
    _, args, kw = rec.calls[0]
    assert args == ("tvau/ubnormal-fg",) and kw["repo_type"] == "dataset" and kw["private"] is True
    assert kw["exist_ok"] is True and kw["_token"] == "hf_test_token"
    _, _, kw = rec.calls[1]
    assert kw["branch"] == "v1.0" and kw["exist_ok"] is True and kw["repo_type"] == "dataset"
    _, _, kw = rec.calls[2]
    assert Path(kw["folder_path"]) == hub and kw["repo_id"] == "tvau/ubnormal-fg"
    assert kw["repo_type"] == "dataset" and kw["revision"] == "v1.0"
    assert kw["delete_patterns"] == ["data/**"] and ".*" in kw["ignore_patterns"]
    assert res.commit_url.endswith("/commit/abc") and not res.dry_run


def test_main_branch_needs_no_branch_call(hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = _Recorder(monkeypatch)
    publish(hub, "tvau/ubnormal-fg", token="hf_x")
    assert rec.names() == ["create_repo", "upload_folder"]
    assert rec.calls[0][2]["private"] is False and rec.calls[1][2]["revision"] is None


def test_refuses_invalid_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = _Recorder(monkeypatch)
    recs = build_records()
    recs["samples"][0]["dialogue"][0]["answer"] = "Maybe"
    bad = export_fixture(tmp_path, recs, check=False).out
    with pytest.raises(TvauError, match="does not validate"):
        publish(bad, "tvau/ubnormal-fg", token="hf_x")
    with pytest.raises(TvauError, match="does not validate"):
        publish(bad, "tvau/ubnormal-fg", dry_run=True)
    assert rec.calls == []


def test_needs_token_and_repo_id(hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = _Recorder(monkeypatch)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(TvauError, match="HF_TOKEN"):
        publish(hub, "tvau/ubnormal-fg")
    with pytest.raises(TvauError, match="owner/name"):
        publish(hub, "ubnormal-fg", dry_run=True)
    assert rec.calls == []


def test_hub_errors_become_tvau_errors(hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: Any, **__: Any) -> None:
        raise OSError("network unreachable")

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", fail)
    with pytest.raises(TvauError, match="network unreachable"):
        publish(hub, "tvau/ubnormal-fg", token="hf_x")


def test_cli_publish(hub: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    rec = _Recorder(monkeypatch)
    assert main(["publish", str(hub), "--repo", "tvau/ubnormal-fg", "--dry-run"]) == 0
    assert "dry run: would upload" in capsys.readouterr().out and rec.calls == []
    monkeypatch.setenv("HF_TOKEN", "hf_cli")
    assert main(["publish", str(hub), "--repo", "tvau/ubnormal-fg", "--private", "--revision", "dev"]) == 0
    assert rec.names() == ["create_repo", "create_branch", "upload_folder"]
    assert "commit: https://huggingface.co/datasets/tvau/ubnormal-fg/commit/abc" in capsys.readouterr().out
