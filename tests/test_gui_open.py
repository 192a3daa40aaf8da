"""Opening photos: drop a file, drop a non-photo, queue a folder; start-up without PyTorch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import smooth_image
from gui_support import make_window, write_png

pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication


def drag_event(cls, md: QMimeData):
    """A drag event at (200, 200): newer PySide6 takes a QPointF, 6.11 and older a QPoint."""
    args = (Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    try:
        return cls(QPointF(200, 200), *args)
    except TypeError:
        return cls(QPoint(200, 200), *args)


def drop(win, paths, qtbot=None, opened: bool | None = None):
    """Drop ``paths`` on the window; with ``qtbot``, wait until the photo dropped is read (off
    the GUI thread) and shown, or refused, as ``opened`` says."""
    if qtbot is not None:
        with qtbot.waitSignal(win.photo_opened, timeout=10_000) as blocker:
            drop(win, paths)
        assert blocker.args == [opened]
        return
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = drag_event(QDragEnterEvent, md)
    QApplication.sendEvent(win, enter)
    assert enter.isAccepted()
    ev = drag_event(QDropEvent, md)
    QApplication.sendEvent(win, ev)


def test_drop_of_a_photo_loads_it(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path, engine=False)
    src = write_png(tmp_path / "cat.png", smooth_image(40, 56))
    drop(win, [src], qtbot, opened=True)
    assert win.photo is not None and win.photo.rgb.shape == (40, 56, 3)
    expected = (smooth_image(40, 56) * 255 + 0.5).astype(np.uint8) / 255.0
    assert np.abs(win.photo.rgb - expected).max() < 1e-6
    assert win.view.has_before and win.view.canvas_size.width() == 56
    assert "cat.png" in win.windowTitle()
    assert win.settings.recent_files[0].endswith("cat.png")
    assert win.message_bar.isHidden()


def test_drop_of_a_non_image_shows_an_error_and_keeps_the_photo(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path, engine=False)
    drop(win, [write_png(tmp_path / "cat.png", smooth_image(40, 56))], qtbot, opened=True)
    before = win.photo
    notes = tmp_path / "notes.txt"
    notes.write_text("this is not a photo\n")
    drop(win, [notes], qtbot, opened=False)
    assert win.photo is before, "the previous photo must stay"
    assert not win.message_bar.isHidden() and win.message_bar.kind == "error"
    assert "notes.txt" in win.message_bar.text and "not an image" in win.message_bar.text
    assert "cat.png" in win.windowTitle()


def test_drop_of_a_folder_queues_its_photos(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path, engine=False)
    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(3):
        write_png(folder / f"p{i}.png", smooth_image(24, 24, seed=i))
    drop(win, [folder], qtbot, opened=True)
    assert [i.source.name for i in win.batch.items] == ["p0.png", "p1.png", "p2.png"]
    assert not win.batch_dock.isHidden()
    assert win.photo is not None, "with no photo open, the first queued one is shown"


def test_the_window_module_does_not_import_pytorch():
    """The window is shown before PyTorch loads: nothing on the start-up path may import it."""
    code = (
        "import sys, irsde_gui.app, irsde_gui.app.ui.main_window, irsde_gui.app.worker;"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_app_starts_paints_loads_the_engine_and_quits(tmp_path, installed_tiny_weights):
    src = write_png(tmp_path / "cat.png", smooth_image(40, 56))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "irsde_gui.app",
            "--measure-startup",
            "--settings",
            str(tmp_path / "s.ini"),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 0, out.stderr
    assert "first painted window" in out.stdout and "engine" in out.stdout


def test_paste_of_an_image_opens_it(qtbot, tmp_path):
    from PySide6.QtGui import QColor, QImage

    win = make_window(qtbot, tmp_path, engine=False)
    img = QImage(30, 20, QImage.Format.Format_RGB888)
    img.fill(QColor(200, 100, 50))
    QApplication.clipboard().setImage(img)
    win.paste()
    assert win.photo is not None and win.photo.rgb.shape == (20, 30, 3)
    assert np.allclose(win.photo.rgb[0, 0], np.array([200, 100, 50]) / 255, atol=1e-6)
    assert win.photo.path is None and "Pasted image" in win.windowTitle()
