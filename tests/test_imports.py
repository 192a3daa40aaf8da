"""How the package's modules import each other.

- Every module imports on its own, in a fresh interpreter: none relies on another having
  been imported first.
- No import cycle, counting the imports inside functions too: a cycle hidden in a function
  is still a cycle.
- An import inside a function only defers a heavy import (PyTorch, OpenCV, Qt, an optional
  native library) that the module does not already load, and a comment that says
  "deferred" marks it.

The graph is read from the source with :mod:`ast`, so these tests need no GPU or display.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "irsde_gui"
ROOT = PACKAGE.parent
# Third-party packages slow enough to load (or optional enough) that a module may defer them.
HEAVY = {
    "numpy",
    "torch",
    "cv2",
    "PySide6",
    "shiboken6",
    "qtawesome",
    "scipy",
    "rawpy",
    "pillow_heif",
    "PyInstaller",
}


@dataclass
class Import:
    """One import statement: the modules it names, where it is, and what it is marked with."""

    targets: list[str]
    line: int
    in_function: bool
    comment: str = ""  # the comment on its lines or the line before its group


@dataclass
class Module:
    name: str
    path: Path
    relative: str  # the path from the folder above the package, with / between parts
    imports: list[Import] = field(default_factory=list)


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The modules an import runs: for ``from X import y``, X, and X.y where y is a module."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    return [target, *(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known)]


def _comment(lines: list[str], first: int, last: int) -> str:
    """The comments on lines ``first``..``last`` (1-based) and on the line before them."""
    found = [lines[first - 2].strip()] if first > 1 and lines[first - 2].strip().startswith("#") else []
    found += [line.partition("#")[2] for line in lines[first - 1 : last] if "#" in line]
    return " ".join(found)


def _group_heads(tree: ast.Module) -> dict[int, ast.stmt]:
    """For each import statement (by id), the first of the run of imports it belongs to."""
    heads: dict[int, ast.stmt] = {}
    for node in ast.walk(tree):
        for block in ("body", "orelse", "finalbody"):
            stmts = getattr(node, block, None)
            head = None
            for stmt in stmts if isinstance(stmts, list) else []:
                if isinstance(stmt, ast.Import | ast.ImportFrom):
                    head = head or stmt
                    heads[id(stmt)] = head
                else:
                    head = None
    return heads


class _Walker(ast.NodeVisitor):
    def __init__(self, module: Module, lines: list[str], heads: dict[int, ast.stmt], known: set[str]):
        self.module, self.lines, self.heads, self.known = module, lines, heads, known
        self.depth = 0

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):  # imports for type checkers only never run
            for stmt in node.orelse:
                self.visit(stmt)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        head = self.heads.get(id(node), node)
        comment = _comment(self.lines, head.lineno, node.end_lineno or node.lineno)
        is_package = self.module.path.name == "__init__.py"
        targets = _targets(node, self.module.name, is_package, self.known)
        self.module.imports.append(Import(targets, node.lineno, self.depth > 0, comment))

    visit_ImportFrom = visit_Import


def _read(path: Path, root: Path, known: set[str]) -> Module:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    module = Module(_module_name(path, root), path, path.relative_to(root).as_posix())
    _Walker(module, source.splitlines(), _group_heads(tree), known).visit(tree)
    return module


def _package(folder: Path) -> dict[str, Module]:
    """Every module of the package in ``folder``, with its imports."""
    paths = sorted(folder.rglob("*.py"))
    known = {_module_name(p, folder.parent) for p in paths}
    return {m.name: m for m in (_read(p, folder.parent, known) for p in paths)}


MODULES = _package(PACKAGE)


def _runs(importer: str, target: str, modules: dict[str, Module]) -> list[str]:
    """The package modules an import of ``target`` runs: it and the packages above it that
    are not the importer's own (a module's own package is already being imported)."""
    parts = target.split(".")
    chain = [".".join(parts[: i + 1]) for i in range(len(parts))]
    return [m for m in chain if m in modules and not importer.startswith(m + ".")]


def _graph(modules: dict[str, Module], include_functions: bool) -> dict[str, set[str]]:
    return {
        name: {
            t
            for imp in m.imports
            if include_functions or not imp.in_function
            for target in imp.targets
            for t in _runs(name, target, modules)
            if t != name
        }
        for name, m in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _heavy_loaded(modules: dict[str, Module]) -> dict[str, set[str]]:
    """For each module, the heavy third-party packages importing it loads (at module level)."""
    graph = _graph(modules, include_functions=False)
    own = {
        name: {t.split(".")[0] for imp in m.imports if not imp.in_function for t in imp.targets} & HEAVY
        for name, m in modules.items()
    }
    loaded: dict[str, set[str]] = {}

    def load(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        if name not in loaded:
            result = set(own[name])
            for dep in graph[name] - seen:
                result |= load(dep, seen | {name})
            loaded[name] = result
        return loaded[name]

    for name in modules:
        load(name)
    return loaded


def _function_import_problems(modules: dict[str, Module]) -> tuple[list[str], list[str]]:
    """(imports inside functions not marked "deferred", those that defer nothing heavy): an
    import defers something when it names a heavy package, or a module of ours that loads one,
    that its own module does not load already."""
    loaded = _heavy_loaded(modules)
    unmarked, needless = [], []
    for name, m in modules.items():
        for imp in m.imports:
            if not imp.in_function:
                continue
            where = f"{m.relative}:{imp.line}"
            if "deferred" not in imp.comment.lower():
                unmarked.append(where)
            defers = set()
            for target in imp.targets:
                defers |= {target.split(".")[0]} & HEAVY
                defers |= set().union(*(loaded[t] for t in _runs(name, target, modules)))
            if not defers - loaded[name]:
                needless.append(where)
    return unmarked, needless


def test_the_scan_sees_the_package():
    """The walk finds the modules and both kinds of import (else the rules would hold vacuously)."""
    assert {"irsde_gui.cli", "irsde_gui.core.sde", "irsde_gui.core.tasks"} <= set(MODULES)
    imports = [imp for m in MODULES.values() for imp in m.imports]
    assert sum(not imp.in_function for imp in imports) > 100
    assert any(imp.in_function for imp in imports)
    assert "torch" in _heavy_loaded(MODULES)["irsde_gui.core.sde"]


def test_no_import_cycles():
    assert _cycles(_graph(MODULES, include_functions=True)) == []


def test_imports_inside_functions_only_defer_heavy_ones_and_say_so():
    unmarked, needless = _function_import_problems(MODULES)
    assert unmarked == [], "imports inside functions without a '# deferred: why' comment"
    assert needless == [], "imports inside functions that defer nothing heavy: import them at the top"


def test_the_rules_catch_a_cycle_an_unmarked_and_a_needless_import(tmp_path):
    """A toy package breaking each rule once is caught, and a well-marked deferral is not."""
    toy = tmp_path / "toy"
    toy.mkdir()
    files = {
        "__init__.py": "",
        "light.py": "import json\n\n\ndef f():\n    import csv  # deferred: no reason\n    return csv\n",
        "heavy.py": "import torch\n",
        "user.py": "def f():\n    from . import heavy  # deferred: PyTorch\n\n    return heavy\n",
        "bare.py": "def f():\n    import cv2\n\n    return cv2\n",
        "a.py": "def f():\n    from . import b  # deferred: torch\n\n    return b\n",
        "b.py": "from . import a, heavy\n",
    }
    for name, text in files.items():
        (toy / name).write_text(text)
    modules = _package(toy)
    assert _cycles(_graph(modules, include_functions=True)) == [["toy.a", "toy.b"]]
    assert _cycles(_graph(modules, include_functions=False)) == []
    unmarked, needless = _function_import_problems(modules)
    assert unmarked == ["toy/bare.py:2"]
    assert needless == ["toy/light.py:5"]


@pytest.mark.parametrize("group", range(4))
def test_every_module_imports_on_its_own(group):
    """Each module in a fresh interpreter of its own (four groups, a few interpreters at a time)."""
    names = sorted(MODULES)[group::4]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")

    def load(name: str) -> tuple[str, int, str]:
        done = subprocess.run(
            [sys.executable, "-c", f"import {name}"], capture_output=True, text=True, env=env, cwd=ROOT
        )
        return name, done.returncode, done.stderr[-2000:]

    with ThreadPoolExecutor(max_workers=3) as pool:
        failed = [(n, err) for n, rc, err in pool.map(load, names) if rc != 0]
    assert failed == []
