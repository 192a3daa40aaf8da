"""Helpers for the GUI tests: a window with isolated settings, scripted dialogs, a synchronous engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


class ScriptedDialogs:
    """Answers every question the window asks from values set by the test; never shows a dialog."""

    def __init__(self, **answers):
        self.answers = answers
        self.asked: list[str] = []

    def _answer(self, name, default=None):
        self.asked.append(name)
        return self.answers.get(name, default)

    def open_images(self, parent, folder):
        return self._answer("open_images", [])

    def open_mask(self, parent, folder):
        return self._answer("open_mask")

    def open_kernel(self, parent, folder):
        return self._answer("open_kernel")

    def save_image(self, parent, suggested, filters=None):
        self.suggested_image, self.save_filters = suggested, filters
        return self._answer("save_image")

    def export_trajectory(self, parent, suggested):
        return self._answer("export_trajectory")

    def save_blur(self, parent, suggested):
        self.suggested_blur = suggested
        return self._answer("save_blur")

    def save_report(self, parent, suggested):
        return self._answer("save_report")

    def choose_folder(self, parent, title, folder):
        return self._answer("choose_folder")

    def jpeg_quality(self, parent, current):
        return self._answer("jpeg_quality", current)

    def confirm(self, parent, title, text, yes="Replace"):
        return self._answer("confirm", False)


def make_window(qtbot, tmp_path: Path, engine: bool = True, settings_file: Path | None = None, **answers):
    """A main window with its own settings file; ``engine`` loads the (tiny) engine synchronously."""
    from irsde_gui.app.ui.main_window import MainWindow
    from irsde_gui.app.ui.settings import Settings
    from irsde_gui.app.worker import load_engine_info

    settings = Settings(settings_file or tmp_path / "settings.ini")
    win = MainWindow(settings, dialogs=ScriptedDialogs(**answers), load_engine=False)
    qtbot.addWidget(win)
    win.resize(1000, 700)
    with qtbot.waitActive(win):
        win.show()
        win.activateWindow()
    if engine:
        win.set_engine(load_engine_info())
    return win


def write_png(path: Path, rgb: np.ndarray) -> Path:
    Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def restore_and_wait(qtbot, win, timeout: int = 30_000):
    """Press Restore and wait until the run's thread has ended; returns the run's result."""
    with qtbot.waitSignal(win.run_finished, timeout=timeout) as blocker:
        win.restore()
        assert win.run is not None, win.message_bar.text
    return blocker.args[0]


def open_photo(qtbot, win, path, timeout: int = 10_000) -> bool:
    """Open a photo (read on a worker thread) and wait until it is shown (True) or refused (False)."""
    with qtbot.waitSignal(win.photo_opened, timeout=timeout) as blocker:
        win.open_path(path)
    return blocker.args[0]
