"""The app's log: a rotating file under the user log folder, and crash reports for people and the log.

The file is ``irsde-studio.log`` in :func:`irsde_gui.core.paths.user_log_dir`
(``IRSDE_LOG_DIR`` overrides it), rotated at 1 MiB with five old files kept,
so it never grows without bound. Messages also go to stderr at the level of
``IRSDE_LOG`` (default WARNING). Hard crashes (a segfault in a native library)
are written by :mod:`faulthandler` to ``faults.log`` beside it.

No Qt here: :mod:`irsde_gui.app.ui.crash` shows the reports.
"""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import os
import platform
import sys
import traceback
from pathlib import Path
from types import TracebackType

from . import __version__
from .core import paths

LOG_NAME = "irsde-studio.log"
FAULTS_NAME = "faults.log"
MAX_BYTES = 1 << 20
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"

_handlers: list[logging.Handler] = []
_faults_file = None


def log_file() -> Path:
    return paths.user_log_dir() / LOG_NAME


def setup_logging(console_level: str | None = None, faults: bool = False) -> Path | None:
    """Log to the rotating file (INFO and above) and to stderr; returns the file, or None if unwritable.

    Calling it again replaces the handlers it added before (the log folder may have changed).
    ``faults`` also sends :mod:`faulthandler` tracebacks of hard crashes to ``faults.log``.
    """
    global _faults_file
    root = logging.getLogger()
    for h in _handlers:
        root.removeHandler(h)
        h.close()
    _handlers.clear()
    level = (console_level or os.environ.get("IRSDE_LOG") or "WARNING").upper()
    console = logging.StreamHandler()
    console.setLevel(level)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    _handlers.append(console)
    path: Path | None = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=False
        )
        file_handler.setLevel(min(logging.INFO, logging.getLevelName(level)))
        file_handler.setFormatter(logging.Formatter(FORMAT))
        _handlers.append(file_handler)
    except OSError as exc:
        print(f"irsde-gui: cannot write the log file {path}: {exc}", file=sys.stderr)
        path = None
    for h in _handlers:
        root.addHandler(h)
    root.setLevel(min(h.level for h in _handlers))
    if faults and path is not None:
        if _faults_file is not None:
            _faults_file.close()
        _faults_file = open(path.parent / FAULTS_NAME, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
        faulthandler.enable(_faults_file)
    return path


def environment() -> str:
    """One line naming the app, Python, Qt, PyTorch (when loaded) and the system, for logs and reports."""
    parts = [f"IR-SDE Studio {__version__}", f"Python {platform.python_version()}"]
    qt = sys.modules.get("PySide6.QtCore")
    if qt is not None:
        parts.append(f"Qt {qt.qVersion()}")
    torch = sys.modules.get("torch")
    if torch is not None:
        parts.append(f"PyTorch {torch.__version__}")
    parts.append(platform.platform())
    if getattr(sys, "frozen", False):
        parts.append("bundled app")
    return ", ".join(parts)


def describe_exception(
    etype: type[BaseException], value: BaseException, tb: TracebackType | None
) -> tuple[str, str]:
    """(one-line message, full details) of an unexpected exception, for the crash dialog."""
    message = f"{etype.__name__}: {value}" if str(value) else etype.__name__
    lines = "".join(traceback.format_exception(etype, value, tb))
    where = log_file()
    details = f"{environment()}\nLog file: {where}\n\n{lines}"
    return message, details
