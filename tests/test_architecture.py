"""The package's shape, checked from the source: one job path, one resolver, no package cycle, short functions.

Imports inside functions count (lazy imports are still dependencies); those under `if TYPE_CHECKING:` do not.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kdedge"
MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> tuple[str, bool]:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    return skipped


def _imported(path: Path) -> set[str]:
    """Absolute names of the kdedge modules (or module.attribute) `path` imports anywhere in it."""
    module, is_package = _module_name(path)
    tree = ast.parse(path.read_text())
    skipped = _type_checking_nodes(tree)
    names = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names.update(f"{target}.{a.name}" for a in node.names) if not node.module else names.add(target)
    return {n for n in names if n == "kdedge" or n.startswith("kdedge.")}


def _unit(name: str) -> str:
    """The package (or top-level module) a name belongs to: kdedge.convert.c.emit -> kdedge.convert."""
    parts = name.split(".")
    return ".".join(parts[:2])


def package_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        here = _unit(_module_name(path)[0])
        for name in _imported(path):
            there = _unit(name)
            if there != here and there != "kdedge":
                edges[here].add(there)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return found


def test_no_package_imports_another_that_imports_it_back():
    cycles = _cycles(package_graph())
    detail = [" <-> ".join(c) + ": " + "; ".join(f"{a} -> {sorted(package_graph()[a] & set(c))}" for a in c)
              for c in cycles]  # fmt: skip
    assert not cycles, detail


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _calls(name: str, where: list[Path], attribute: bool = True) -> dict[str, int]:
    """file -> how many calls of a function called `name` it makes (`attribute`: `x.name(...)` counts too)."""
    counts: dict[str, int] = {}
    for path in where:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None) if attribute else None
                if called == name:
                    key = str(path.relative_to(ROOT))
                    counts[key] = counts.get(key, 0) + 1
    return counts


def _surfaces() -> list[Path]:
    """The CLI, the API, recipes, search and the benchmarks: everything but the tests."""
    return sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "benchmarks").rglob("*.py"))


def test_one_job_path_every_surface_trains_through_execute():
    assert _calls("fit_run", _surfaces()) == {"kdedge/jobs/job.py": 1}
    executes = _calls("execute", _surfaces())
    for surface in (
        "kdedge/api.py",  # kdedge distill / teacher train and the Python API
        "kdedge/recipes/runner.py",  # kdedge run (and sweep's combinations)
        "kdedge/budget_search/study.py",  # a search trial
        "kdedge/jobs/born_again.py",  # --generations, from distill and recipes
        "benchmarks/hard_task.py",
        "benchmarks/fukui_table.py",
    ):
        assert executes.get(surface), f"{surface} no longer trains through kdedge.jobs.execute"


def test_one_resolver_teachers_are_loaded_and_bound_in_one_place():
    loaders = _calls("load_teacher", _surfaces())
    # kdedge.teachers.load_teacher (a file -> an unbound teacher) is called by the resolver, by `teacher layers`
    # (which lists a torch model's layers and needs no data) and by the API's public alias of the resolver.
    assert set(loaders) <= {"kdedge/jobs/resolve.py", "kdedge/cli/layers.py", "kdedge/cli/teacher.py"}, loaders
    resolvers = _calls("resolve", [p for p in _surfaces() if "jobs" not in p.parts], attribute=False)  # not Path's
    for surface in ("kdedge/api.py", "kdedge/recipes/runner.py", "kdedge/budget_search/study.py"):
        assert resolvers.get(surface), f"{surface} resolves teachers without kdedge.jobs.resolve"


def test_no_function_is_longer_than_80_lines():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long
