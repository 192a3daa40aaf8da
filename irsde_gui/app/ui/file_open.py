"""Photos opened from the macOS Finder ("Open With", a double-click, a drop on the Dock icon).

The bundle's Info.plist declares the image types the app opens; macOS then
delivers each file to the running app as a ``QFileOpenEvent`` rather than on
the command line. This filter hands them to the window once it is ready, in
the order they came.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject


class FileOpenFilter(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.pending: list[Path] = []
        self.ready = False

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.FileOpen and event.file():
            self.pending.append(Path(event.file()))
            self.flush()
            return True
        return False

    def set_ready(self) -> None:
        """The window has been painted: open what arrived so far, and from now on at once."""
        self.ready = True
        self.flush()

    def flush(self) -> None:
        if self.ready and self.pending:
            paths, self.pending = self.pending, []
            self.window.open_paths(paths)
