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


def _closure(module: str) -> set[str]:
    """Every zoolib module that importing `module` loads (at module level or inside its functions)."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        for other in _imports(PACKAGE / f"{name}.py") - seen - {name}:
            seen.add(other)
            todo.append(other)
    return seen


def test_the_modules_at_the_start_of_the_flow_import_nothing_after_them():
    allowed = {  # module -> what it may import: only what comes before it in the data flow
        "files": set(), "cnn": set(), "cluster": set(),
        "hparams": {"cnn"},  # the paper's Table 1 and the columns of a run's config
        "train": {"cnn", "hparams"},  # trains nets from configs, writes the checkpoint rows
        "profiles": {"data", "files", "hparams"},  # what a profile means; its preset is checked by predictors
    }
    for module, before in allowed.items():
        assert _imports(PACKAGE / f"{module}.py") <= before, f"{module} imports {_imports(PACKAGE / f'{module}.py') - before}"


def test_reading_zoos_and_results_does_not_load_the_generator():
    for module in ("zoo", "experiments", "evaluation", "book_zoos", "release"):
        assert "generate" not in _closure(module), module
    users = {path.stem for path in PACKAGE.glob("*.py") if "cluster" in _imports(path)}
    assert {"generate", "experiments"} <= users  # one Dask engine, in a module of its own
