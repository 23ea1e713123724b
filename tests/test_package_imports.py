"""The modules of ``studies`` import each other without a cycle, function-level imports included:
a cycle hidden inside a function (a lazy ``from .x import y``) still means neither module can be
read, tested or moved without the other. Read from the source with ``ast``, so nothing is imported."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "studies"


def _module_name(path: Path, root: Path) -> tuple[str, list[str]]:
    """(dotted name, the package it lives in as parts) of a source file under ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), parts
    return ".".join(parts), parts[:-1]


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the modules of the package it imports anywhere in its source (``from . import x``
    counts as importing the submodule ``x`` when that is a module)."""
    root = package.parent
    sources = {_module_name(p, root)[0]: p for p in sorted(package.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in sources.items():
        _, pkg = _module_name(path, root)
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg[: len(pkg) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets.add(module)
                targets.update(f"{module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t in sources and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_lazy_cycle(tmp_path):
    # a known answer: two modules of a throwaway package, one importing the other inside a function
    pkg = tmp_path / "studies" / "data"
    pkg.mkdir(parents=True)
    (tmp_path / "studies" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "audit.py").write_text("from .splits import load_split\n")
    (pkg / "splits.py").write_text("def audit():\n    from .audit import audit\n")
    assert cycles(import_graph(tmp_path / "studies")) == [["studies.data.audit", "studies.data.splits"]]


def test_studies_has_no_import_cycle():
    graph = import_graph()
    assert "studies.data.splits" in graph["studies.data.audit"], "the audit reads split artifacts through splits"
    assert "studies.data.audit" not in graph["studies.data.splits"]
    assert cycles(graph) == [], f"import cycles in studies/: {cycles(graph)}"
