"""Photos opened from the macOS Finder arrive as FileOpen events; the window opens them once it is ready."""

from __future__ import annotations

import pytest
from conftest import smooth_image
from gui_support import make_window, write_png

pytest.importorskip("pytestqt")

from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

from irsde_gui.app.ui.file_open import FileOpenFilter


def test_file_open_events_wait_for_the_window_then_open_the_photo(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path, engine=False)
    filt = FileOpenFilter(win)
    app = QApplication.instance()
    app.installEventFilter(filt)
    try:
        photo = write_png(tmp_path / "from-finder.png", smooth_image(30, 44))
        QApplication.sendEvent(app, QFileOpenEvent(str(photo)))
        assert win.photo is None and filt.pending == [photo], "held until the window is ready"
        with qtbot.waitSignal(win.photo_opened):  # read off the GUI thread
            filt.set_ready()
        assert win.photo is not None and win.photo.width == 44
        second = write_png(tmp_path / "second.png", smooth_image(20, 24))
        with qtbot.waitSignal(win.photo_opened):
            QApplication.sendEvent(app, QFileOpenEvent(str(second)))
        assert win.photo.width == 24 and filt.pending == []
    finally:
        app.removeEventFilter(filt)
