"""The package's shape: imports run one way through the stages, with no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import harness

PACKAGE = Path(harness.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Every harness module `path` imports, at any depth (functions too), except for type checking."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names if alias.name in modules)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for alias in child.names:
                    sub = f"{child.module}.{alias.name}"
                    found.add(sub if sub in modules else child.module)
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: _imports(path, modules) - {name} for name, path in paths.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycle_inside_the_package() -> None:
    assert _cycles(import_graph()) == []


# The stages, in the order data flows through them; a module may import its own stage and
# the ones before it. contract and cassette are one rank: file validation reads cassettes.
STAGES = {
    "harness._version": 0,
    "harness.errors": 0,
    "harness._choice": 0,
    "harness.model": 1,
    "harness.contract": 2,
    "harness.cassette": 2,
    "harness._wire": 2,
    "harness.record": 3,
    "harness.replay": 3,
    "harness.testing": 4,
    "harness.cli": 4,
}
# the package's lazy public API and its entry points: above every stage
TOP = {"harness": 5, "harness.plugin": 5, "harness.__main__": 5}


def _stage(module: str) -> int:
    """The rank of a module's stage; KeyError for a module in none."""
    if module in TOP:
        return TOP[module]
    name = module
    while name not in STAGES:
        name = name.rpartition(".")[0]
        if name in ("", "harness"):
            raise KeyError(f"{module} belongs to no stage: put it in one (or add it to STAGES)")
    return STAGES[name]


def test_every_module_belongs_to_a_stage() -> None:
    for module in import_graph():
        _stage(module)  # KeyError names the module that has no stage
    with pytest.raises(KeyError, match=r"harness\.stray belongs to no stage"):
        _stage("harness.stray")


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_imports_inside_the_package_are_absolute() -> None:
    # the graph reads absolute imports only: a relative one would slip past the checks above
    relative = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert relative == []


def test_imports_run_one_way_through_the_stages() -> None:
    backwards = sorted(
        (module, imported)
        for module, imports in import_graph().items()
        for imported in imports
        if _stage(imported) > _stage(module)
    )
    assert backwards == []
