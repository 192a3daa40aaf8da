"""The main window: open a photo, pick a task, restore it step by step, compare, scrub, save.

Importing this module does not import PyTorch: the window is built and shown
first, then :meth:`MainWindow.start_engine` loads the engine in a thread.
Restoring runs in :class:`irsde_gui.app.worker.RestoreRun` threads. What the window
shows (photo, run, result, blur, A/B, uncertainty map, chain) is kept in a Qt-free
:class:`irsde_gui.app.session.Session`: this module forwards what the user and the
worker do to it, and turns its events into pixels and words.

The window is one class built from parts, a module each: :mod:`.window_layout` (widgets, docks,
actions, menus), :mod:`.window_files` (opening photos, masks and blurs on reading threads),
:mod:`.window_running` (runs, their frames and endings, chains) and :mod:`.window_saving`. This
module holds the rest: the engine's loading, the settings, the batch queue, the view, closing.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QImage
from PySide6.QtWidgets import QApplication, QMainWindow

from ...core.imageio import read_kernel, read_photo
from ...core.runs import plural
from ..session import Dropped, Session, batch_message, list_dropped
from ..worker import EngineInfo, EngineLoader, FileRead, RestorerCache, RestoreRun, RunRequest, scan_tasks
from . import theme
from .dialogs import AboutDialog, Dialogs, ShortcutsDialog
from .mask_editor import MaskEditor
from .settings import Settings
from .theme import app_icon
from .window_common import APP_TITLE
from .window_files import WindowFiles
from .window_layout import WindowLayout
from .window_running import WindowRunning
from .window_saving import WindowSaving

log = logging.getLogger(__name__)


class MainWindow(WindowLayout, WindowFiles, WindowRunning, WindowSaving, QMainWindow):
    engine_ready = Signal(object)
    photo_changed = Signal()
    photo_opened = Signal(bool)  # after open_path: True once the photo is shown, False if refused
    mask_loaded = Signal(bool)  # after load_mask: True once the mask is set, False if refused
    kernel_loaded = Signal(bool)  # after load_kernel: True once the blur is set, False if refused
    paths_listed = Signal()  # after open_paths: the photo is being opened, or the queue has them
    run_finished = Signal(object)  # RunOutcome, RunFailure or None after any run has ended

    def __init__(
        self,
        settings: Settings | None = None,
        dialogs: Dialogs | None = None,
        load_engine: bool = True,
    ):
        super().__init__()
        self.settings = settings or Settings()
        self.dialogs = dialogs or Dialogs()
        self.engine = None
        self.session = Session()
        self._changes_cache: tuple[np.ndarray, QImage] | None = None  # (result, its residual)
        self._photo_image: QImage | None = None
        self.run: RestoreRun | None = None
        self.cache = RestorerCache()
        self.photo_reader = read_photo  # reads a photo file, on a thread of its own (tests slow it)
        self.kernel_reader = read_kernel  # reads a blur kernel file, so too
        self.paths_lister = list_dropped  # lists dropped folders, so too
        self._listings: list[tuple] = []  # (read, [outcome], then) of paths being listed, oldest first
        self._newest_kernel_read: FileRead | None = None
        self._reads: list[FileRead] = []  # photos being read (their threads run)
        self._newest_read: FileRead | None = None  # the photo opened last: it wins
        self._progress_for_read = False  # the progress row shows a photo being read (a RAW developed)
        self._engine_thread: QThread | None = None
        self._wanted_device = self.settings.device
        self._restoring = True  # no saving while the widgets are being set from the settings
        self.started_at = time.perf_counter()

        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.mask_editor = MaskEditor(self)
        self._build_central()
        self._build_panel()
        self._build_batch()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status()
        self._subscribe(self.session.events)
        self._restore_settings()
        self._show_tasks()
        self._restoring = False
        self._sync_actions()
        if load_engine:
            QTimer.singleShot(0, self.start_engine)

    # ---------------------------------------------------------------- the session's state, read-only
    photo = property(lambda self: self.session.photo)
    photo_name = property(lambda self: self.session.photo_name)
    result = property(lambda self: self.session.result)
    outcome = property(lambda self: self.session.outcome)
    trajectory = property(lambda self: self.session.trajectory)
    stages = property(lambda self: self.session.stages)
    previous = property(lambda self: self.session.previous)
    uncertainty = property(lambda self: self.session.uncertainty)
    spread_run = property(lambda self: self.session.spread_run)
    result_view = property(lambda self: self.session.result_view)
    last_saved = property(lambda self: self.session.last_saved)

    def _subscribe(self, events) -> None:
        """Draw what the session says changed."""
        events.photo_changed.connect(self._photo_changed)
        events.run_state_changed.connect(lambda _state: self._sync_actions())
        events.frame_received.connect(self._frame_received)
        events.result_changed.connect(self._sync_actions)
        events.compare_changed.connect(self._compare_changed)
        events.view_changed.connect(self._view_changed)
        events.batch_changed.connect(self._batch_changed)

    # ================================================================ settings
    def _restore_settings(self) -> None:
        s = self.settings
        if s.geometry is not None:
            self.restoreGeometry(s.geometry)
        else:
            self.resize(1280, 820)
        if s.window_state is not None:
            self.restoreState(s.window_state)
        self.panel.set_sampler(s.sampler)
        self.panel.set_seed(s.seed)
        self.panel.set_blur_shape_values({k: s.blur_shape(k) for k in self.panel.blur_shape_values()})
        self.side_action.setChecked(s.compare_mode == "side")
        self.view.set_mode(s.compare_mode)
        self.scrubber.set_kind(s.frame_kind)
        self.kind_action.setChecked(s.frame_kind == "estimate")

    def _save_run_settings(self) -> None:
        if self._restoring:
            return
        s = self.settings
        if self.panel.task:
            s.task = self.panel.task
            if self.panel.steps_key == self.panel.task:  # a known blur's rounds last one session
                s.set_steps(self.panel.task, self.panel.steps)
            if self.panel.flip_average is not None:
                s.set_flip_average(self.panel.task, self.panel.flip_average)
        s.sampler = self.panel.sampler
        s.seed = self.panel.seed
        for key, value in self.panel.blur_shape_values().items():  # not the choice: it starts
            s.set_blur_shape(key, value)  # on the estimate (or the model) each session
        if self.engine is not None:
            s.device = self.panel.device
            self._wanted_device = self.panel.device

    def save_layout(self) -> None:
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        self.settings.compare_mode = self.view.mode
        self.settings.frame_kind = self.scrubber.kind
        self.settings.sync()

    # ================================================================ engine
    def _show_tasks(self) -> None:
        """List the tasks and their weights at once (no PyTorch needed); devices come with the engine."""
        try:
            tasks = scan_tasks(vet=False)  # no PyTorch here: the engine's scan checks the files
        except Exception as exc:  # a broken weights folder must not stop the window from opening
            log.exception("scanning the weights failed")
            self.show_message("error", f"The installed models could not be read: {exc}")
            return
        self.panel.set_engine(EngineInfo(tasks, {}), self.settings.task, loading=True)
        self._task_changed(self.panel.task or "")

    def start_engine(self) -> None:
        """Load PyTorch, the task list and the devices in a thread; :attr:`engine_ready` when done."""
        if self._engine_thread is not None:
            return
        thread = QThread(self)
        thread.setObjectName("engine-loader")
        loader = EngineLoader()
        loader.moveToThread(thread)
        thread.started.connect(loader.run)
        loader.ready.connect(self.set_engine)
        loader.failed.connect(self._engine_failed)
        loader.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._engine_thread_done)
        self._engine_loader = loader
        self._engine_thread = thread
        self.device_label.setText("Loading the engine…")
        thread.start()

    def _engine_thread_done(self) -> None:
        if self._engine_thread is not None:
            self._engine_thread.deleteLater()
        self._engine_thread = None
        self._engine_loader = None

    def set_engine(self, engine) -> None:
        self.engine = engine
        self.session.task_labels = {name: t.label for name, t in engine.tasks.items()}
        self._restoring = True
        try:
            self._apply_engine(engine)
        finally:
            self._restoring = False
        self._task_changed(self.panel.task or "")
        self._sync_actions()
        self.engine_ready.emit(engine)
        if self.session.take_deferred_run():
            self.restore()

    def _apply_engine(self, engine) -> None:
        for name in engine.tasks:
            steps = self.settings.steps(name)
            if steps:
                self.panel.remember_steps(name, steps)
            self.panel.remember_flip_average(name, self.settings.flip_average(name))
        self.panel.set_engine(engine, self.panel.task or self.settings.task)
        if not self.panel.set_device(self._wanted_device):
            if self._wanted_device != "auto":
                self.show_message(
                    "warning",
                    f"The device used last time ({self._wanted_device.upper()}) was not found on this "
                    f"computer; using {next(iter(engine.devices.values()))} instead.",
                )
            self.panel.set_device("auto")
        best = next(iter(engine.devices.values()))
        self.device_label.setText(best)
        self.device_label.setToolTip(
            f"PyTorch {engine.torch_version}; devices: " + "; ".join(engine.devices.values())
        )
        available = [t for t in engine.tasks.values() if t.available]
        if not available:
            self.show_message(
                "warning",
                "No trained weights are installed, so nothing can be restored yet. "
                "Put the weight files (e.g. denoise.pt with denoise.json) in the weights folder, "
                "then use Restore ▸ Reload models.",
            )
        refused = [line for t in engine.tasks.values() for line in t.refused]
        if refused:
            for line in refused:
                log.warning("weights refused: %s", line)
            self.show_message(
                "warning",
                f"Refused {plural(len(refused), 'weight file')}, so the next one found is used: "
                + "; ".join(refused),
            )
        self.statusBar().showMessage(
            f"Engine ready in {engine.seconds:.1f} s (PyTorch {engine.torch_version})", 5000
        )
        self._init_mask_from_alpha()

    def _engine_failed(self, message: str) -> None:
        self.device_label.setText("Engine unavailable")
        self.show_message("error", message)

    def reload_models(self) -> None:
        if self.session.busy:
            self.show_message("info", "Models can be reloaded when the current run has ended.")
            return
        self.cache.clear()
        self.start_engine()

    # ================================================================ batch
    def _batch_request(self, source: Path) -> RunRequest | str:
        info = self.panel.task_info()
        if info is None or not info.available:
            return info.problem if info else "Choose a task first."
        return RunRequest(
            info.name,
            steps=self.panel.steps,
            sampler=self.panel.sampler,
            seed=self.panel.seed,
            device=self.panel.device,
            flip_average=self.panel.flip_average,
            weights=info.weights_for(self.panel.known_kernel),
            kernel=self.panel.known_kernel,
            kernel_source=self.panel.known_kernel_source,
            strength=self.panel.strength,
            source=source,
            write_report=self.settings.save_report,
            jpeg_quality=self.settings.jpeg_quality,
            keep_frames=False,
        )

    def show_batch(self) -> None:
        if self.batch_dock.isHidden():
            self.batch_dock.show()
            if not self.batch_dock.isFloating():
                self.resizeDocks(
                    [self.batch_dock], [max(200, self.height() * 2 // 7)], Qt.Orientation.Vertical
                )
        self.batch_dock.raise_()

    def choose_batch_folder(self) -> None:
        start = self.settings.output_folder or self.settings.last_folder
        folder = self.dialogs.choose_folder(self, "Save the restored photos in", start)
        if folder:
            self.settings.output_folder = folder
            self.batch.set_output_folder(folder)

    def _batch_add_files(self) -> None:
        files = self.dialogs.open_images(self, self.settings.last_folder)
        if files:
            self.batch.add_paths([Path(f) for f in files])

    def _batch_add_folder(self) -> None:
        folder = self.dialogs.choose_folder(self, "Add the photos of a folder", self.settings.last_folder)
        if folder:
            self._list_paths([Path(folder)], self._queue_listed)

    def _queue_listed(self, listed: Dropped | str) -> None:
        """A folder's photos, listed on a thread of its own, join the queue."""
        if isinstance(listed, str):
            self.show_message("warning", listed)
            return
        self.batch.add_paths(listed.files)
        if listed.notes:
            self.show_message("warning", "; ".join(listed.notes))

    def _batch_running(self, running: bool) -> None:
        if running:
            self.session.batch_started()
        else:
            self.session.batch_finished()

    def _batch_changed(self, running: bool) -> None:
        self.panel.restore_button.setEnabled(not running and not self.session.running)
        self.panel.stop_button.setEnabled(running)
        self._sync_actions()
        if running:
            self.progress_row.show()
            self.progress_bar.setRange(0, 0)
            self.progress_label.setText("Restoring the batch queue…")
        else:
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(1)
            self.progress_label.setText("Batch queue finished")

    def _batch_finished(self, done: int, failed: int) -> None:
        self.show_message(*batch_message(done, failed, self.batch.output_folder))

    # ================================================================ view
    def toggle_side_by_side(self) -> None:
        self.view.set_mode("side" if self.side_action.isChecked() else "split")
        self.settings.compare_mode = self.view.mode

    def _zoom_centre(self, factor: float) -> None:
        self.view.zoom_at(self.view.rect().center().toPointF(), factor)

    def _zoom_changed(self, _zoom: float) -> None:
        self.zoom_label.setText(f"{self.view.zoom_percent():.0f} %")

    def _hovered(self, pt) -> None:
        if pt is None or self.photo is None:
            self.pixel_label.setText("")
            return
        cw = self.view.canvas_size.width()
        s = self.photo.width / cw if cw else 1.0
        self.pixel_label.setText(f"x {int(pt.x() * s)}, y {int(pt.y() * s)}")

    def set_theme(self, choice: str) -> None:
        self.settings.theme = choice
        self.apply_theme()

    def apply_theme(self) -> None:
        app = QApplication.instance()
        theme.apply_theme(app, self.settings.theme)
        theme.refresh_icons(self)
        if self.panel.engine is not None:
            self.panel.set_engine(
                self.panel.engine, self.panel.task or self.settings.task, self.engine is None
            )
        self.view.update()

    def _task_changed(self, task: str) -> None:
        info = self.panel.task_info()
        painting = bool(info and info.uses_mask)
        self.view.tool = self.mask_editor if painting else None
        self.view.update()
        if painting and self.photo is not None and self.mask_editor.is_empty():
            self.statusBar().showMessage("Paint the area to fill over the photo, then press Restore.", 6000)
        self._sync_actions()
        self._save_run_settings()

    def _set_canvas_scale(self, scale: int) -> None:
        """The canvas is the photo times ``scale`` (x4 for super-resolution); the mask brush follows it."""
        if self.photo is None:
            return
        self.view.set_canvas_size(QSize(self.photo.width * scale, self.photo.height * scale))
        self.mask_editor.set_canvas_scale(self.view.canvas_size.width() / self.photo.width)

    def show_message(self, kind: str, text: str, actions=None) -> None:
        self.message_bar.show_message(kind, text, actions)

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self).exec()

    def show_about(self) -> None:
        AboutDialog(self.engine, self).exec()

    def _sync_actions(self) -> None:
        running = self.session.busy
        self.batch.set_blocked(self.session.running)
        self.save_action.setEnabled(self.result is not None)
        self.report_action.setEnabled(self.outcome is not None)
        self.export_action.setEnabled(bool(len(self.trajectory) or self.stages) and not self.session.running)
        self.continue_action.setEnabled(self.result is not None and not running)
        self.back_action.setEnabled(bool(self.stages) and not running)
        self.restore_action.setEnabled(not running)
        # Blind deblurring gives one result whatever the seed: no map of where seeds disagree.
        self.spread_map_action.setEnabled(not running and not self.panel.blind)
        self.dice_action.setEnabled(not self.panel.blind)
        self.stop_action.setEnabled(running)
        self.changes_action.setEnabled(self.result is not None)
        self.spread_action.setEnabled(self.uncertainty is not None)
        self.previous_action.setEnabled(self.previous is not None)
        self.panel.restore_button.setEnabled(not running and self.photo is not None)

    # ================================================================ closing
    def closeEvent(self, event: QCloseEvent) -> None:
        """Cancel any run and wait for its thread before the window goes."""
        self.save_layout()
        self._save_run_settings()
        busy = [r for r in (self.run, self.batch.run) if r is not None]
        for r in busy:
            r.cancel()
        self.batch.cancel()
        for r in busy:
            r.wait(60_000)
        if self._engine_thread is not None:
            self._engine_thread.wait(60_000)
        for read in self._reads:
            read.wait(10_000)
        self.suggester.cancel()
        self.suggester.wait()
        event.accept()
