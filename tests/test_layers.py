"""The dependency direction of ARCHITECTURE.md: training and evaluation build on the engine
(:mod:`irsde_gui.core`); neither the engine nor the app imports them."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "irsde_gui"
UPPER = ("irsde_gui.training", "irsde_gui.evaluation")


def imported(path: Path, source: str | None = None) -> set[str]:
    """Every module ``path`` imports (at any depth), with relative imports made absolute."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text() if source is None else source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.update([base] + [f"{base}.{a.name}" for a in node.names])
    return names


def offenders(files) -> list[str]:
    return sorted(
        f"{f.relative_to(PACKAGE.parent)} imports {name}"
        for f in files
        for name in imported(f)
        if name.startswith(UPPER)
    )


def test_the_engine_imports_neither_training_nor_evaluation():
    assert offenders(sorted((PACKAGE / "core").rglob("*.py"))) == []


def test_the_app_imports_neither_training_nor_evaluation():
    app = [
        PACKAGE / "session.py",
        PACKAGE / "worker.py",
        PACKAGE / "app.py",
        *sorted((PACKAGE / "ui").rglob("*.py")),
    ]
    assert offenders(app) == []


def test_the_check_sees_an_import_of_training_at_any_depth():
    """A deferred, relative import inside a function of the engine is caught."""
    source = "def f():\n    from ..training.train import Trainer\n    from .. import evaluation\n"
    names = imported(PACKAGE / "core" / "x.py", source)  # the file need not exist
    assert "irsde_gui.training.train" in names and "irsde_gui.evaluation" in names
