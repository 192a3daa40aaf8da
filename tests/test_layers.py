"""The dependency direction of ARCHITECTURE.md: training, evaluation, the app and the command
line build on the engine (:mod:`irsde_gui.core`), which imports none of them and no Qt; the app
imports neither training, evaluation nor the command line."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "irsde_gui"
UPPER = ("irsde_gui.training", "irsde_gui.evaluation")
ABOVE_THE_ENGINE = (*UPPER, "irsde_gui.app", "irsde_gui.cli", "PySide6", "qtawesome", "superqt")


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


def offenders(files, forbidden=UPPER) -> list[str]:
    return sorted(
        f"{f.relative_to(PACKAGE.parent)} imports {name}"
        for f in files
        for name in imported(f)
        if name == forbidden or name.startswith(tuple(f"{m}." for m in forbidden) + forbidden)
    )


def test_the_engine_imports_nothing_above_it_and_no_qt():
    assert offenders(sorted((PACKAGE / "core").rglob("*.py")), ABOVE_THE_ENGINE) == []


def test_the_app_imports_neither_training_evaluation_nor_the_command_line():
    app = sorted((PACKAGE / "app").rglob("*.py"))
    assert len(app) > 10
    assert offenders(app, (*UPPER, "irsde_gui.cli")) == []


def test_the_check_sees_an_import_of_training_at_any_depth():
    """A deferred, relative import inside a function of the engine is caught."""
    source = "def f():\n    from ..training.train import Trainer\n    from .. import evaluation\n"
    names = imported(PACKAGE / "core" / "x.py", source)  # the file need not exist
    assert "irsde_gui.training.train" in names and "irsde_gui.evaluation" in names
