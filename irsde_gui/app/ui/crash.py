"""Unexpected exceptions: logged with their traceback, shown in a non-modal dialog, and the app goes on.

:class:`CrashReporter` replaces ``sys.excepthook`` (which PySide6 calls for an
exception that escapes a slot or an event handler) and ``threading.excepthook``.
Exceptions from any thread are written to the log at once and handed to the
GUI thread through a queued signal, where :class:`CrashDialog` shows the
message with a "Copy details" button (traceback, versions, log file) for a bug
report. The dialog is not modal, so the window stays usable; further errors
while it is open are added to it instead of opening more dialogs.
"""

from __future__ import annotations

import html
import logging
import sys
import threading
from types import TracebackType

from PySide6.QtCore import QObject, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...logs import describe_exception, log_file
from .theme import icon

log = logging.getLogger("irsde_gui.crash")


class CrashDialog(QDialog):
    """What went wrong, that the app carries on, and the details to copy into a bug report."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("CrashDialog")
        self.setWindowTitle("IR-SDE Studio: unexpected error")
        self.setModal(False)
        self.count = 0
        self.details = ""
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        badge = QLabel()
        badge.setPixmap(icon("mdi6.alert-circle", color="#e03131").pixmap(QSize(40, 40)))
        top.addWidget(badge, 0, Qt.AlignmentFlag.AlignTop)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.message_label, 1)
        lay.addLayout(top)
        self.details_view = QPlainTextEdit()
        self.details_view.setReadOnly(True)
        self.details_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details_view.setMinimumHeight(160)
        lay.addWidget(self.details_view, 1)
        buttons = QDialogButtonBox()
        self.copy_button = QPushButton(icon("mdi6.content-copy"), "Copy details")
        self.copy_button.clicked.connect(self.copy_details)
        self.log_button = QPushButton(icon("mdi6.folder-open"), "Open log folder")
        self.log_button.clicked.connect(self.open_log_folder)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.log_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        lay.addWidget(buttons)
        self.resize(640, 380)

    def add(self, message: str, details: str) -> None:
        self.count += 1
        self.details = details if self.count == 1 else f"{self.details}\n{'-' * 72}\n{details}"
        more = f" ({self.count} errors so far; all are in the details)" if self.count > 1 else ""
        self.message_label.setText(
            f"<b>Something went wrong:</b> {_escape(message)}{more}<br><br>"
            "The app keeps running; your photo and results are still there. "
            f"The details were written to the log file<br><small>{_escape(str(log_file()))}</small>"
        )
        self.details_view.setPlainText(self.details)
        self.copy_button.setText("Copy details")

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details)
        self.copy_button.setText("Copied")

    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_file().parent)))

    def closeEvent(self, event) -> None:
        self.count = 0
        self.details = ""
        super().closeEvent(event)


def _escape(text: str) -> str:
    return html.escape(text)


class CrashReporter(QObject):
    """Installs the exception hooks; ``reported(message, details)`` fires on the GUI thread for each error."""

    reported = Signal(str, str)

    def __init__(self, parent_window: QWidget | None = None):
        super().__init__()
        self.window = parent_window
        self.dialog: CrashDialog | None = None
        self._previous = (sys.excepthook, threading.excepthook)
        self._showing = False
        self.reported.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> CrashReporter:
        sys.excepthook = self.excepthook
        threading.excepthook = self._thread_excepthook
        return self

    def uninstall(self) -> None:
        sys.excepthook, threading.excepthook = self._previous

    def excepthook(self, etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(etype, KeyboardInterrupt | SystemExit):
            sys.__excepthook__(etype, value, tb)
            return
        try:
            message, details = describe_exception(etype, value, tb)
            log.critical("unexpected error: %s", message, exc_info=(etype, value, tb))
            self.reported.emit(message, details)  # queued: shown by the GUI thread, from any thread
        except Exception:  # the reporter itself must never take the app down
            sys.__excepthook__(etype, value, tb)

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        self.excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    def _show(self, message: str, details: str) -> None:
        if self._showing:
            return
        self._showing = True
        try:
            if self.dialog is None:
                self.dialog = CrashDialog(self.window)
            self.dialog.add(message, details)
            self.dialog.show()
            self.dialog.raise_()
        except Exception:
            log.exception("the error dialog could not be shown")
        finally:
            self._showing = False
