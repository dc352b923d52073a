"""No import cycles among ``tvau_bench`` modules.

A static walk (no module is imported): every ``import tvau_bench.x`` / ``from .x import y`` / ``from . import x``
that runs when its module is imported, i.e. anywhere but inside a function body (an import inside a function is
the accepted way to defer a dependency). Imports under ``if TYPE_CHECKING:`` count: type checkers follow them.
An edge to a package means its ``__init__``; the implicit import of a submodule's parent package is not an edge
(every submodule would otherwise be in a cycle with its package's ``__init__``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import tvau_bench

PACKAGE_DIR = Path(tvau_bench.__file__).parent

# Cycles known when this test was written, each a strongly connected component of the import graph, removed by
# work in progress; delete an entry when its cycle is gone (the test fails on a stale entry). Adding an entry
# needs a reason: prefer breaking the cycle (move the shared piece to its own module, or import inside the
# function that needs it).
KNOWN_CYCLES: list[frozenset[str]] = [
    # card.py imports export.SplitStats for a type hint (under TYPE_CHECKING); export -> validate -> card.
    frozenset({"tvau_bench.hub.card", "tvau_bench.hub.export", "tvau_bench.hub.validate"}),
]


def module_files(package_dir: Path = PACKAGE_DIR) -> dict[str, tuple[Path, bool]]:
    """``{dotted module name: (file, is a package __init__)}`` of every module under ``package_dir``."""
    root = package_dir.parent
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def import_time_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The import statements of a module that run when it is imported (function bodies are skipped)."""
    found, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


def import_graph(modules: dict[str, tuple[Path, bool]]) -> dict[str, set[str]]:
    """``{module: modules of the package it imports at import time}``."""
    graph: dict[str, set[str]] = {}
    for name, (path, is_pkg) in modules.items():
        here = name if is_pkg else name.rpartition(".")[0]  # the package relative imports start from
        targets: set[str] = set()
        for node in import_time_imports(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name in modules)
                continue
            if node.level:
                parts = here.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in modules:  # `from pkg import submodule`
                    targets.add(sub)
                elif base in modules:  # a name defined in the module (or package __init__) itself
                    targets.add(base)
        graph[name] = targets - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def _describe(component: frozenset[str], graph: dict[str, set[str]]) -> str:
    return "; ".join(f"{m} -> {', '.join(sorted(graph[m] & component))}" for m in sorted(component))


def test_graph_resolves_relative_and_absolute_imports():
    graph = import_graph(module_files())
    # from ..errors import TvauError (a name) / from . import video as vio (a submodule) / from .base import ...
    assert {"tvau_bench.errors", "tvau_bench.sources.video", "tvau_bench.sources.base"} <= graph[
        "tvau_bench.sources.ubnormal"
    ]
    # a package __init__'s relative imports start from the package itself
    assert "tvau_bench.sources.layout" in graph["tvau_bench.sources"]
    # imports inside functions are not edges: the CLI defers loading its readers
    assert "tvau_bench.sources.layout" not in graph["tvau_bench.sources.cli"]


def test_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": set()}
    assert sorted(map(sorted, cycles(graph))) == [["a", "b", "c"], ["d", "e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_beyond_the_known_ones():
    graph = import_graph(module_files())
    found = cycles(graph)
    new = [c for c in found if c not in KNOWN_CYCLES]
    assert not new, "import cycles: " + " | ".join(_describe(c, graph) for c in new)
    stale = [sorted(c) for c in KNOWN_CYCLES if c not in found]
    assert not stale, f"cycles gone or changed, remove them from KNOWN_CYCLES: {stale}"


def test_sources_layout_and_readers_do_not_import_each_other():
    """The registry ended the layout <-> ubnormal / shanghaitech cycle, even through function-level imports."""
    modules = module_files()
    for name in ("tvau_bench.sources.ubnormal", "tvau_bench.sources.shanghaitech"):
        text = modules[name][0].read_text(encoding="utf-8")
        imported = {
            n.module
            for n in ast.walk(ast.parse(text))
            if isinstance(n, ast.ImportFrom) and n.module is not None
        }
        assert not imported & {"layout", "registry", "ubnormal", "shanghaitech"}, name
