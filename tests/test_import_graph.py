"""steepest's own imports form no cycle (every import counts: in functions, under
TYPE_CHECKING), and callbacks know the trainer only through their protocol."""

from __future__ import annotations

import ast
from pathlib import Path

import steepest
from steepest import nn, optim
from steepest.train import Trainer, TrainerView

PACKAGE = Path(steepest.__file__).parent


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The steepest modules ``name`` imports (a package's __init__ counts as itself)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each cycle once, as the path that closes it (depth-first search)."""
    found, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_package_has_no_import_cycle():
    modules = module_names()
    # a package's __init__ that re-exports its modules is their face, not a room of its own
    faces = {name for name, path in modules.items() if path.name == "__init__.py"}
    graph = {name: imports(name, path, modules) - faces for name, path in modules.items()}
    assert cycles(graph) == []


def test_callbacks_do_not_import_the_trainer():
    modules = module_names()
    for name in ("steepest.train.callbacks", "steepest.train.progress"):
        assert "steepest.train.loop" not in imports(name, modules[name], modules)


def test_the_trainer_is_what_callbacks_see():
    net = nn.Network([nn.Dense(1)], n_features=2)
    assert isinstance(Trainer(net, "mse", optim.SGD()), TrainerView)
    assert not isinstance(object(), TrainerView)
