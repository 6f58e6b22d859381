"""longweave's modules import one another without cycles (module-level imports, as Python runs them)."""

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1] / "longweave"


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(deferred: bool = False) -> nx.DiGraph:
    """module -> longweave module it imports at module level, or also inside functions
    (`deferred`); ``if TYPE_CHECKING`` blocks are left out either way."""
    modules = {_name(p): p for p in ROOT.rglob("*.py")}
    graph = nx.DiGraph()
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text())
        typing_only = {
            id(n)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for n in ast.walk(block)
        }
        for node in ast.walk(tree) if deferred else tree.body:
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith("longweave") and target != name:
                    graph.add_edge(name, target)
    return graph


def _cycles(graph: nx.DiGraph) -> list[list[str]]:
    return sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)


def test_no_module_import_cycle():
    assert _cycles(import_graph()) == []


# Imports deferred into a function on purpose: an optional extra's module loaded only when asked
# for (Postgres), and the embedded model choosing its engine at run time.
DEFERRED_ON_PURPOSE = [
    ["longweave.llm.llamacpp", "longweave.llm.llamacpp_cpu", "longweave.llm.local"],
    ["longweave.pipelines.checkpoint", "longweave.pipelines.checkpoint_postgres"],
]


def test_no_cycle_hidden_in_a_deferred_import():
    assert _cycles(import_graph(deferred=True)) == DEFERRED_ON_PURPOSE


def test_no_cycle_between_subpackages():
    packages = nx.DiGraph()
    for a, b in import_graph().edges:
        pa, pb = ".".join(a.split(".")[:2]), ".".join(b.split(".")[:2])
        if pa != pb and "longweave" not in (pa, pb):  # the root re-exports everything
            packages.add_edge(pa, pb)
    assert [sorted(c) for c in nx.strongly_connected_components(packages) if len(c) > 1] == []
