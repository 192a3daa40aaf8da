"""Logs and crash reports: a rotating log file, and unexpected errors shown (not modal), logged, survived."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

import pytest
from gui_support import make_window, open_photo, write_png

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication

from irsde_gui import logs
from irsde_gui.app.ui.crash import CrashDialog, CrashReporter
from irsde_gui.core import paths


@pytest.fixture
def log_to(tmp_path, monkeypatch):
    """The app's logging set up into a temporary log folder; undone afterwards."""
    monkeypatch.setenv("IRSDE_LOG_DIR", str(tmp_path / "logs"))
    path = logs.setup_logging()
    yield path
    root = logging.getLogger()
    for h in list(logs._handlers):
        root.removeHandler(h)
        h.close()
    logs._handlers.clear()


@pytest.fixture
def reporter(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path, engine=False)
    rep = CrashReporter(win).install()
    yield win, rep
    rep.uninstall()
    if rep.dialog is not None:
        rep.dialog.close()


def test_log_dir_follows_the_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("IRSDE_LOG_DIR", str(tmp_path / "a"))
    assert paths.user_log_dir() == tmp_path / "a"
    monkeypatch.delenv("IRSDE_LOG_DIR")
    monkeypatch.setenv("IRSDE_DATA_DIR", str(tmp_path / "data"))
    assert paths.user_log_dir() == tmp_path / "data" / "logs"
    monkeypatch.delenv("IRSDE_DATA_DIR")
    assert "irsde-studio" in str(paths.user_log_dir())


def test_log_file_rotates_and_keeps_a_bounded_history(log_to, monkeypatch):
    handler = next(h for h in logs._handlers if isinstance(h, logging.handlers.RotatingFileHandler))
    monkeypatch.setattr(handler, "maxBytes", 4096)
    log = logging.getLogger("irsde_gui.test")
    for i in range(2000):
        log.info("line %d %s", i, "x" * 40)
    files = sorted(log_to.parent.glob("irsde-studio.log*"))
    assert log_to in files and len(files) == logs.BACKUPS + 1
    assert all(f.stat().st_size <= 4096 + 200 for f in files)
    assert "line 1999" in log_to.read_text()


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_slot_is_logged_shown_and_survived(qtbot, reporter, log_to, tmp_path):
    win, rep = reporter

    def broken_slot():
        raise ZeroDivisionError("the divisor was zero")

    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: rep.dialog is not None and rep.dialog.isVisible(), timeout=5000)
    dialog = rep.dialog
    assert isinstance(dialog, CrashDialog) and not dialog.isModal()
    assert "ZeroDivisionError: the divisor was zero" in dialog.message_label.text()

    dialog.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert "Traceback" in copied and "broken_slot" in copied and "IR-SDE Studio" in copied
    assert str(log_to) in copied

    text = log_to.read_text()
    assert "unexpected error: ZeroDivisionError: the divisor was zero" in text
    assert "broken_slot" in text  # the traceback is in the log

    # The app stays usable: the event loop runs and the window opens a photo.
    from conftest import smooth_image

    photo = write_png(tmp_path / "after.png", smooth_image(24, 32))
    assert open_photo(qtbot, win, photo)
    assert win.photo is not None and win.photo.width == 32

    # A second error while the dialog is open goes into the same dialog.
    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: dialog.count == 2, timeout=5000)
    assert rep.dialog is dialog and "2 errors so far" in dialog.message_label.text()


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_python_thread_reaches_the_dialog(qtbot, reporter, log_to):
    _win, rep = reporter

    def work():
        raise RuntimeError("thread went wrong")

    t = threading.Thread(target=work, name="worker-x")
    t.start()
    t.join()
    qtbot.waitUntil(lambda: rep.dialog is not None and rep.dialog.isVisible(), timeout=5000)
    assert "RuntimeError: thread went wrong" in rep.dialog.message_label.text()
    assert "thread went wrong" in log_to.read_text()


def test_the_app_writes_its_log_file(tmp_path, installed_tiny_weights):
    src = write_png(tmp_path / "cat.png", __import__("conftest").smooth_image(40, 56))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "IRSDE_LOG_DIR": str(tmp_path / "logs")}
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
        env=env,
    )
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "logs" / "irsde-studio.log").read_text()
    assert "starting: IR-SDE Studio" in text and "first paint" not in out.stderr
    assert "quit" in text
