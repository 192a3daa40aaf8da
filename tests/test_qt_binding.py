"""The Qt binding keeps Python's reference counts: a long session must not end in a fatal error.

PySide6 6.12.0 dropped one reference to ``None`` on every call of a method that
returns nothing (``setText``, ``resize``, ...) and one to ``True`` on every
signal emit. Python 3.11 frees ``None``/``True`` when their count reaches zero,
so the app died with "Fatal Python error: none_dealloc" after a few hundred
photos in the batch queue (found by ``tools/soak.py --mode gui --images 200``).
pyproject.toml excludes that version; this test catches any other that does it.
"""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem

CALLS = 2000


class Emitter(QObject):
    value = Signal(object)
    nothing = Signal()


def counts() -> tuple[int, int, int]:
    return sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)


def test_methods_that_return_nothing_keep_the_count_of_none(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    tree = QTreeWidget()
    qtbot.addWidget(tree)
    row = QTreeWidgetItem(["a", "b"])
    tree.addTopLevelItem(row)
    before = counts()
    for i in range(CALLS):
        label.setText("x")
        label.resize(10 + i % 3, 10)
        row.setText(1, "y")
    after = counts()
    assert abs(after[0] - before[0]) < CALLS // 10, f"None: {before[0]} -> {after[0]} after {3 * CALLS} calls"


def test_signal_emits_keep_the_counts_of_true_and_false(qtbot):
    e = Emitter()
    got = []
    e.value.connect(got.append)
    e.nothing.connect(lambda: None)
    before = counts()
    for i in range(CALLS):
        e.value.emit(i)
        e.nothing.emit()
    got.clear()
    after = counts()
    assert abs(after[1] - before[1]) < CALLS // 10, f"True: {before[1]} -> {after[1]} after {2 * CALLS} emits"
    assert abs(after[2] - before[2]) < CALLS // 10, f"False: {before[2]} -> {after[2]}"
    assert abs(after[0] - before[0]) < CALLS // 10, f"None: {before[0]} -> {after[0]}"
