"""The ``irsde-gui`` command: show the window first, then load the engine in the background.

PyTorch takes a second or more to import, so the window is built from Qt
alone, shown, and only after its first paint does a thread import the engine
(tasks, weights, devices). ``irsde-gui --measure-startup`` prints the time from
process start to the first painted window and to a ready engine, then quits.

Also: ``--self-test`` (see :mod:`irsde_gui.app.selftest`), ``--install-desktop`` /
``--uninstall-desktop`` (see :mod:`irsde_gui.app.desktop`). The app logs to a
rotating file and shows unexpected errors in a dialog (:mod:`irsde_gui.logs`,
:mod:`irsde_gui.app.ui.crash`).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from .. import __version__
from ..logs import environment, setup_logging
from . import desktop, platform_help

_MAIN_CALLED = time.perf_counter()


def seconds_since_process_start() -> float | None:
    """Wall time since this process was started (Linux), or None where that is not known."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5): starttime, in clock ticks after boot
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="irsde-gui",
        description="IR-SDE Studio: restore photos with a mean-reverting SDE and watch every step.",
    )
    p.add_argument("paths", nargs="*", help="a photo to open, or several photos / folders to queue")
    p.add_argument("--task", help="task to select (denoise, deblur, derain, sr, inpaint, dehaze)")
    p.add_argument("--settings", help="settings file to use (INI); default: the per-user one")
    p.add_argument(
        "--measure-startup",
        action="store_true",
        help="print the time to the first painted window and to a loaded engine, then quit",
    )
    p.add_argument(
        "--self-test",
        action="store_true",
        help="offscreen: restore a small built-in photo with every installed model, print one line per "
        "task, exit 0 if all passed",
    )
    p.add_argument(
        "--install-desktop",
        action="store_true",
        help="Linux: add the app to this user's menus and 'Open with' for photos (under $XDG_DATA_HOME)",
    )
    p.add_argument(
        "--uninstall-desktop", action="store_true", help="Linux: remove what --install-desktop added"
    )
    p.add_argument("--version", action="version", version=f"IR-SDE Studio {__version__}")
    return p


def desktop_command(install: bool) -> int:
    try:
        done = desktop.install() if install else desktop.uninstall()
    except (OSError, FileNotFoundError) as exc:
        print(f"irsde-gui: error: {exc}", file=sys.stderr)
        return 1
    verb = "installed" if install else "removed"
    for f in done.files:
        print(f"{verb} {f}")
    if not done.files:
        print("nothing to remove: the desktop integration was not installed for this user")
    if done.refreshed:
        print("refreshed: " + ", ".join(done.refreshed))
    if install:
        print(f"IR-SDE Studio is in the menus; it starts: {desktop.launcher()[0]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    global _MAIN_CALLED
    _MAIN_CALLED = time.perf_counter()
    argv = sys.argv[1:] if argv is None else list(argv)
    args, qt_args = build_parser().parse_known_args(argv)
    if args.install_desktop or args.uninstall_desktop:
        return desktop_command(args.install_desktop)
    if args.self_test:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    log_path = setup_logging(faults=True)
    log = logging.getLogger("irsde_gui.app.main")
    log.info("starting: %s; log %s; argv %s", environment(), log_path, argv)
    app = start_qt(qt_args)
    if args.self_test:
        return run_self_test(app)
    reporter = open_window(app, args)
    try:
        return app.exec()
    finally:
        reporter.uninstall()
        log.info("quit")


def start_qt(qt_args: list[str]):
    """The QApplication, named for the desktop, with Qt's messages sent to the log."""
    # deferred: Qt loads for a window or the self-test, not for --install-desktop
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    _PLATFORM["plugin_dirs"] = qt_plugin_dirs()  # asked now: Qt may give up inside QApplication()
    qInstallMessageHandler(qt_message_to_log)
    QApplication.setApplicationName("IR-SDE Studio")
    QApplication.setOrganizationName("irsde-studio")
    QApplication.setApplicationVersion(__version__)
    QApplication.setDesktopFileName("irsde-studio")
    return QApplication.instance() or QApplication([sys.argv[0], *qt_args])


def run_self_test(app) -> int:
    """``--self-test``: restore the built-in photo with every installed model, offscreen."""
    from . import selftest  # deferred: Qt and NumPy, only for the self-test
    from .ui import theme
    from .ui.crash import CrashReporter

    theme.apply_theme(app, "system")
    reporter = CrashReporter().install()
    try:
        return selftest.run(app, selftest.printer())
    finally:
        reporter.uninstall()


def open_window(app, args: argparse.Namespace):
    """Build and show the main window; the engine loads once it has been painted.

    Returns the installed crash reporter, to uninstall when the app quits.
    """
    from .ui import theme  # deferred: Qt, OpenCV and NumPy load here, for the window
    from .ui.crash import CrashReporter
    from .ui.file_open import FileOpenFilter
    from .ui.main_window import MainWindow
    from .ui.settings import Settings

    settings = Settings(args.settings)
    if args.task:
        settings.task = args.task
    theme.apply_theme(app, settings.theme)
    app.setWindowIcon(theme.app_icon())

    window = MainWindow(settings, load_engine=False)
    reporter = CrashReporter(window).install()
    file_open = FileOpenFilter(window)
    app.installEventFilter(file_open)
    timings: dict[str, float] = {}

    def after_first_paint() -> None:
        since_start = seconds_since_process_start()
        timings["paint_main"] = time.perf_counter() - _MAIN_CALLED
        timings["paint_process"] = since_start if since_start is not None else float("nan")
        logging.getLogger("irsde_gui.app.main").info(
            "first paint %.0f ms after process start (%.0f ms after main())",
            timings["paint_process"] * 1000,
            timings["paint_main"] * 1000,
        )
        window.start_engine()
        if args.paths:
            window.open_paths([Path(p) for p in args.paths])
        file_open.set_ready()

    call_after_first_paint(window, after_first_paint)

    def on_scheme_changed(*_args) -> None:
        if settings.theme == "system":
            window.apply_theme()

    app.styleHints().colorSchemeChanged.connect(on_scheme_changed)
    close_on_signals(window)
    if args.measure_startup:
        report_startup_when_ready(window, timings)
    window.show()
    return reporter


def call_after_first_paint(window, callback) -> None:
    """Call ``callback`` once, as soon as the whole window has been painted for the first time."""
    from PySide6.QtCore import QEvent, QObject, QTimer  # deferred: Qt, as in start_qt

    class FirstPaint(QObject):
        done = False

        def eventFilter(self, obj, event) -> bool:
            if not self.done and event.type() == QEvent.Type.Paint:
                self.done = True
                obj.removeEventFilter(self)
                QTimer.singleShot(0, callback)  # runs once the whole window has been painted
            return False

    window.installEventFilter(FirstPaint(window))


def close_on_signals(window) -> None:
    """Ctrl+C in the terminal or a SIGTERM closes the window the normal way: runs are
    cancelled and awaited, settings saved. (Python handles signals only when it runs,
    so a timer hands it control a few times a second.)"""
    from PySide6.QtCore import QTimer  # deferred: Qt, as in start_qt

    def close_on_signal(*_args) -> None:
        QTimer.singleShot(0, window.close)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, close_on_signal)
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(250)


def report_startup_when_ready(window, timings: dict[str, float]) -> None:
    """``--measure-startup``: print the times to the first paint and a ready engine, then close."""
    from PySide6.QtCore import QTimer  # deferred: Qt, as in start_qt

    def report(_engine) -> None:
        nan = float("nan")
        total = time.perf_counter() - _MAIN_CALLED
        print(
            f"first painted window: {timings.get('paint_process', nan) * 1000:.0f} ms after process "
            f"start ({timings.get('paint_main', nan) * 1000:.0f} ms after main()); "
            f"engine (PyTorch, tasks, devices) ready: {total * 1000:.0f} ms after main()",
            flush=True,
        )
        QTimer.singleShot(0, window.close)

    window.engine_ready.connect(report)


_PLATFORM: dict = {"plugin_dirs": [], "messages": []}


def qt_plugin_dirs() -> list[str]:
    """The folders Qt looks for plugins in (the PySide6 package's own, the bundle's included)."""
    from PySide6.QtCore import QLibraryInfo  # deferred: Qt, as in start_qt

    dirs = [
        os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", ""),
        QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath),
    ]
    dirs += os.environ.get("QT_PLUGIN_PATH", "").split(os.pathsep)
    try:
        import PySide6  # deferred: Qt, as in start_qt

        dirs.append(str(Path(PySide6.__file__).parent / "Qt" / "plugins"))
    except (ImportError, TypeError):
        pass
    return [d for d in dict.fromkeys(dirs) if d]


def qt_message_to_log(mode, context, message: str) -> None:
    """Qt's own messages go to the log file; its warnings (mostly harmless) reach the terminal only
    with ``IRSDE_LOG=info``, critical ones always. When Qt gives up for want of a platform plugin
    (Linux), one paragraph says why and what to install (:mod:`irsde_gui.app.platform_help`) instead."""
    from PySide6.QtCore import QtMsgType  # deferred: Qt, as in start_qt

    if "platform plugin" in message:
        _PLATFORM["messages"] = [*_PLATFORM["messages"][-20:], message]
    if mode == QtMsgType.QtFatalMsg and sys.platform.startswith("linux"):
        if platform_help.GIVES_UP in message:
            logging.getLogger("qt").info("%s", message)  # the log keeps Qt's words, the terminal ours
            logging.shutdown()
            platform_help.report_and_exit(_PLATFORM["messages"], _PLATFORM["plugin_dirs"])

    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.INFO,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }.get(mode, logging.WARNING)
    logging.getLogger("qt").log(level, "%s", message)
