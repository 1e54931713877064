"""The engine's import graph: no cycles (imports inside functions included), and the arrow points
down: the engine never imports the workbench, the lessons or a UI library, directly, lazily or by
name (sub-commands are found through entry points, engine.cli). What importing the engine loads
at run time: tests/test_bench.py::test_engine_import_stays_light."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "engine"
UPWARD = ("workbench", "lessons", "panel", "holoviews", "bokeh", "param")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ENGINE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """{engine module: engine modules it imports anywhere in its source} and {module: every
    top-level package it imports}."""
    modules = {_module(p): p for p in ENGINE.rglob("*.py")}
    graph, external = {}, {}
    for name, path in modules.items():
        package = name if _is_package(path) else name.rpartition(".")[0]
        edges, tops = set(), set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    base = ".".join(base + ([node.module] if node.module else []))
                else:
                    base = node.module
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                tops.add(target.split(".")[0])
                if target in modules and target != name:
                    edges.add(target)
        graph[name], external[name] = edges, tops
    return graph, external


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph (a list of modules, first = last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_engine_has_no_import_cycle():
    graph, _ = import_graph()
    assert len(graph) > 30
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_engine_never_imports_upward():
    _, external = import_graph()
    bad = {m: sorted(t & set(UPWARD)) for m, t in external.items() if t & set(UPWARD)}
    assert not bad, f"engine modules importing the workbench, lessons or a UI library: {bad}"
    # nor by name: no string in engine's code names a workbench or lessons module
    by_name = re.compile(r"""["'](workbench|lessons)(\.\w+)*["']""")
    hits = [f"{p.relative_to(ENGINE.parent)}:{i}" for p in ENGINE.rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if by_name.search(line)]
    assert not hits, hits


if __name__ == "__main__":  # print the graph (the closing note's figure)
    g, _ = import_graph()
    for mod in sorted(g):
        print(f"{mod} -> {', '.join(sorted(g[mod])) or '-'}")
