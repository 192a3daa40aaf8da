"""The code's functions stay short: none in the package or its tools is longer than 80 lines.

Ruff holds the rest of the line (pyproject.toml): C901 caps a function's branches, PLR0915 its
statements. A function that grows past either is split into named steps, not listed here.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("irsde_gui", "tools")
MAX_LINES = 80


def function_lengths(root: Path) -> dict[str, int]:
    """``file:Class.method`` (nested functions too) -> lines from ``def`` to its last line."""
    lengths: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()

        def walk(node: ast.AST, prefix: str, rel: str = rel) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    name = prefix + child.name
                    lengths[f"{rel}:{name}"] = child.end_lineno - child.lineno + 1
                    walk(child, name + ".")
                elif isinstance(child, ast.ClassDef):
                    walk(child, prefix + child.name + ".")
                else:
                    walk(child, prefix)

        walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), "")
    return lengths


def test_lengths_are_measured_from_def_to_the_last_line(tmp_path):
    (tmp_path / "m.py").write_text(
        "class A:\n    def f(self):\n        def g():\n            pass\n\n        return 1\n"
    )
    assert function_lengths(tmp_path) == {"m.py:A.f": 5, "m.py:A.f.g": 2}


def test_no_function_is_longer_than_80_lines():
    long = {
        f"{folder}/{name}": n
        for folder in CHECKED
        for name, n in function_lengths(ROOT / folder).items()
        if n > MAX_LINES
    }
    assert not long, f"functions longer than {MAX_LINES} lines (split them into named steps): {long}"
