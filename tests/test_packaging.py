"""Installable anywhere: the wheel ships every data file and its commands work outside a clone; the shipped
folders have one lookup (``tvau_bench.shipped``) that the clone's top-level folders link to; a missing torch
extra is an error that says what to install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tvau_bench import shipped
from tvau_bench.cli import main
from tvau_bench.extras import TORCH_MODULES
from tvau_bench.leaderboard.baselines import list_baselines
from tvau_bench.leaderboard.render import render

REPO = Path(__file__).resolve().parents[1]


def _build_wheel(dest: Path) -> tuple[Path, str]:
    """Build the wheel from a copy of the sources (a build writes build/ and *.egg-info beside them)."""
    src = dest / "src"
    src.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "tvau_bench", src / "tvau_bench", ignore=shutil.ignore_patterns("__pycache__"))
    # The build backend called directly: no build isolation, so no index is needed.
    proc = subprocess.run(
        [sys.executable, "-c", "from setuptools import build_meta as b; print(b.build_wheel('dist'))"],
        cwd=src,
        capture_output=True,
        text=True,
        check=True,
    )
    return src / "dist" / proc.stdout.strip().splitlines()[-1], proc.stderr + proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(the built wheel, the build's output)."""
    return _build_wheel(tmp_path_factory.mktemp("wheel"))


def test_wheel_ships_every_package_file(wheel):
    """Every file inside tvau_bench/ is in the wheel: a YAML dropped into a shipped folder ships with no edit."""
    names = set(zipfile.ZipFile(wheel[0]).namelist())
    files = [
        p.relative_to(REPO).as_posix()
        for p in (REPO / "tvau_bench").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert "tvau_bench/data/baselines/majority.yaml" in files
    assert "tvau_bench/recipes/ubnormal.yaml" in files
    assert sorted(set(files) - names) == []


def test_wheel_builds_without_deprecation_warnings(wheel):
    """The licence is an SPDX expression (no setuptools licence-table deprecation warning)."""
    assert "DeprecationWarning" not in wheel[1]
    metadata = zipfile.ZipFile(wheel[0]).read("tvau_bench-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata


# Neither this clone (PYTHONPATH, the current folder) nor a leftover *.egg-info in it may be seen by the wheel's
# install or commands: pip would take the clone for an installed tvau-bench and install nothing.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _check(argv: list[str], cwd: Path) -> str:
    """Run ``argv`` in ``cwd`` with :data:`CLEAN_ENV`; its stdout, or a failure showing its stderr."""
    proc = subprocess.run(argv, cwd=cwd, env=CLEAN_ENV, capture_output=True, text=True)
    assert proc.returncode == 0, f"{argv}: {proc.stderr}"
    return proc.stdout


def _venv_with_wheel(wheel_path: Path, dest: Path) -> Path:
    """A fresh venv holding the wheel, the running interpreter's installed dependencies behind it (offline).

    The dependencies' folder is added as a plain path, so its .pth files (among them the editable install's
    finder of this clone) are not run: ``tvau_bench`` can only come from the wheel.
    """
    _check([sys.executable, "-m", "venv", "--without-pip", str(dest)], dest.parent)
    py = str(dest / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", py]
    _check([*pip, "install", "-q", "--no-deps", "--no-index", str(wheel_path)], dest.parent)
    purelib = _check([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], dest.parent)
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(purelib.strip()) / "_deps_behind_wheel.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    return dest / "bin"


@pytest.mark.slow
def test_wheel_commands_run_outside_the_clone(wheel, tiny_bench, tmp_path):
    """The wheel in a fresh venv, run from a folder outside the clone: baselines list, leaderboard render into
    an empty folder, run --model majority on a tiny export, and the shipped annotation recipes."""
    bin_dir = _venv_with_wheel(wheel[0], tmp_path / "venv")
    work = tmp_path / "elsewhere"
    work.mkdir()

    def tvau(*args: str) -> str:
        return _check([str(bin_dir / "tvau-bench"), *args], work)

    def python(code: str) -> str:
        return _check([str(bin_dir / "python"), "-c", code], work).strip()

    assert Path(python("import tvau_bench; print(tvau_bench.__file__)")).is_relative_to(tmp_path / "venv")

    listed = tvau("baselines", "list")
    for name in shipped.names(shipped.baselines_dir()):
        assert f"\n{name} " in listed
    assert tvau("baselines", "serve-cmd", "qwen2.5-vl-7b-one-shot").startswith("vllm serve")

    (work / "board").mkdir()  # an empty leaderboard folder: the shipped reported tables fill it
    tvau("leaderboard", "render", "--root", "board")
    readme = (work / "board" / "README.md").read_text(encoding="utf-8")
    assert readme.count("reported (paper)") >= 7

    tvau("run", "--model", "majority", "--dataset", str(tiny_bench / "hub"), "--out", "run")
    assert (work / "run" / "results.json").is_file()

    recipes = ["synthetic", "ubnormal", "shanghaitech"]
    code = f"from tvau_bench.annotate.recipe import load_recipe as r; print([r(n).name for n in {recipes!r}])"
    assert python(code) == repr(recipes)


def test_clone_folders_link_to_the_shipped_ones():
    """The editable view: the clone's top-level folders are the package's folders, not copies."""
    assert (REPO / "baselines").resolve() == shipped.baselines_dir()
    assert (REPO / "leaderboard" / "reported").resolve() == shipped.reported_dir()
    assert (REPO / "annotation").resolve() == shipped.recipes_dir()


def test_shipped_baselines_found_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = list_baselines()
    assert {r.name for r in rows} == set(shipped.names(shipped.baselines_dir()))
    assert all(Path(r.path).parent == shipped.baselines_dir() for r in rows)


def test_render_without_a_reported_folder_uses_the_shipped_tables(tmp_path):
    render(tmp_path / "board")
    shipped_copy = tmp_path / "copy"
    shutil.copytree(shipped.reported_dir(), shipped_copy / "reported")
    render(shipped_copy)
    for name in ("README.md", "tables.tex", "dialogue.csv", "detection.csv", "ablation.csv"):
        assert (tmp_path / "board" / name).read_bytes() == (shipped_copy / name).read_bytes(), name


def _without(monkeypatch: pytest.MonkeyPatch, modules: tuple[str, ...]) -> None:
    """Make ``modules`` unimportable, and drop the cached model modules that imported them."""
    for name in list(sys.modules):
        if name.startswith("tvau_bench.models.") and name != "tvau_bench.models.cli":
            monkeypatch.delitem(sys.modules, name)
    for name in [*modules, *(m for m in list(sys.modules) if m.partition(".")[0] in modules)]:
        monkeypatch.setitem(sys.modules, name, None)  # submodules too: imported earlier, they stay cached


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "ahd", "--source", "SRC", "--out", "OUT"],
        ["train", "rae", "--dataset", "HUB", "--lvlm", "LVLM", "--source", "SRC", "--out", "OUT"],
        ["detect", "--source", "SRC", "--out", "OUT", "--ckpt", "CKPT"],
    ],
)
def test_missing_torch_names_the_extra(argv, tiny_bench, tmp_path, monkeypatch, capsys):
    paths = {"SRC": tiny_bench / "ubnormal", "HUB": tiny_bench / "hub", "OUT": tmp_path / "out"}
    paths |= {"LVLM": tmp_path / "lvlm", "CKPT": tmp_path / "ckpt"}
    _without(monkeypatch, TORCH_MODULES)
    assert main([str(paths.get(a, a)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "is not installed" in err and "pip install 'tvau-bench[torch]'" in err
    assert "--index-url https://download.pytorch.org/whl/cpu" in err
    assert not (tmp_path / "out").exists()


def test_other_missing_modules_are_not_blamed_on_the_extra(monkeypatch):
    import tvau_bench.leaderboard.cli as lcli

    def broken(args):
        import tvau_no_such_module  # noqa: F401

    monkeypatch.setattr(lcli, "_list", broken)
    with pytest.raises(ModuleNotFoundError):
        main(["baselines", "list"])
