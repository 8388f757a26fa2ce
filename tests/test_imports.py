"""The package's imports run one way along the data flow: no module imports one that imports it back."""

import ast
from pathlib import Path

import zoolib

PACKAGE = Path(zoolib.__file__).parent


def _imports(path: Path) -> set[str]:
    """zoolib modules a file imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("zoolib"):
            found.add(node.module.split(".")[1] if "." in node.module else node.names[0].name)
            if node.module == "zoolib":
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("zoolib."))
    return found


def test_no_import_cycle():
    graph = {p.stem: _imports(p) - {p.stem} for p in PACKAGE.glob("*.py")}
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", f"import cycle: {' -> '.join(path + [module])}"
        state[module] = "open"
        for other in sorted(graph.get(module, ())):
            visit(other, path + [module])
        state[module] = "done"

    for module in sorted(graph):
        visit(module, [])


def test_metrics_is_a_leaf():
    assert _imports(PACKAGE / "metrics.py") == set()
