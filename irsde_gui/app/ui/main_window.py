"""The main window: open a photo, pick a task, restore it step by step, compare, scrub, save.

Importing this module does not import PyTorch: the window is built and shown
first, then :meth:`MainWindow.start_engine` loads the engine in a thread.
Restoring runs in :class:`irsde_gui.app.worker.RestoreRun` threads. What the window
shows (photo, run, result, blur, A/B, uncertainty map, chain) is kept in a Qt-free
:class:`irsde_gui.app.session.Session`: this module forwards what the user and the
worker do to it, and turns its events into pixels and words.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt, QThread, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ...core.blind import describe_blur
from ...core.chain import chain_name, stage_entry
from ...core.imageio import (
    ImageReadError,
    ImageWriteError,
    Photo,
    decode_photo,
    read_kernel,
    read_photo,
    write_kernel,
    write_photo,
)
from ...core.runs import format_duration, plural, report_path_for
from ...core.tasks import get_task, mask_from_alpha
from ...core.trajectory import export_trajectory as write_trajectory
from ..session import SPREAD_SEEDS, Dropped, Session, batch_message, list_dropped
from ..worker import (
    EngineInfo,
    EngineLoader,
    FileRead,
    RestorerCache,
    RestoreRun,
    RunFailure,
    RunOutcome,
    RunRequest,
    scan_tasks,
)
from . import theme
from .batch import BatchPanel
from .compare_view import CompareView
from .controls import RunPanel
from .dialogs import AboutDialog, Dialogs, MessageBar, ShortcutsDialog, save_offer
from .mask_editor import MaskEditor
from .settings import Settings
from .suggestion import SuggestionRunner, suggestions_action
from .theme import app_icon, set_icon
from .trajectory import TrajectoryBar, qimage_from_rgb

log = logging.getLogger(__name__)
APP_TITLE = "IR-SDE Studio"


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """float32 HxWx3 in [0, 1] -> an 8-bit QImage for display."""
    return qimage_from_rgb((np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))


def why(exc: Exception | str, path: object) -> str:
    """The reason part of a core error message (which starts with the file name)."""
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


class MainWindow(QMainWindow):
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

    # ================================================================ layout
    def _build_central(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(8, 8, 8, 0)
        lay.setSpacing(6)
        self.message_bar = MessageBar()
        lay.addWidget(self.message_bar)
        self.view = CompareView()
        self.view.empty_icon = app_icon().pixmap(QSize(96, 96))
        self.view.tool = None
        self.view.hovered.connect(self._hovered)
        self.view.zoom_changed.connect(self._zoom_changed)
        lay.addWidget(self.view, 1)
        self.scrubber = TrajectoryBar()
        self.scrubber.frame_chosen.connect(self._show_frame)
        self.scrubber.kind_changed.connect(self._kind_changed)
        lay.addWidget(self.scrubber)
        self.progress_row = QWidget()
        prog = QHBoxLayout(self.progress_row)
        prog.setContentsMargins(8, 0, 8, 6)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_label = QLabel("")
        self.progress_label.setProperty("hint", True)
        self.progress_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        prog.addWidget(self.progress_bar, 2)
        prog.addWidget(self.progress_label, 3)
        lay.addWidget(self.progress_row)
        self.progress_row.hide()
        self.setCentralWidget(central)
        self.mask_editor.changed.connect(self.view.update)

    def _build_panel(self) -> None:
        self.panel = RunPanel(self.mask_editor)
        self.panel.task_changed.connect(self._task_changed)
        self.panel.restore_clicked.connect(self.restore)
        self.panel.stop_clicked.connect(self.stop)
        self.panel.settings_changed.connect(self._save_run_settings)
        # A known blur turns a deblur network's steps into rounds: no seed to roll, no spread map.
        self.panel.settings_changed.connect(self._sync_actions)
        self.panel.load_mask_requested.connect(self.load_mask)
        self.panel.kernel_file_requested.connect(self.load_kernel)
        self.panel.blur_save_requested.connect(self.save_blur)
        self.suggester = SuggestionRunner(self)  # measures each opened photo on its own thread
        self.suggester.ready.connect(self.panel.suggestion_label.show_suggestion)
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(330)
        holder = QWidget()
        hl = QVBoxLayout(holder)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.setSpacing(0)
        hl.addWidget(scroll, 1)
        hl.addWidget(self.panel.action_bar)
        self.panel_dock = QDockWidget("Restore", self)
        self.panel_dock.setObjectName("RestoreDock")
        self.panel_dock.setWidget(holder)
        self.panel_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.panel_dock)

    def _build_batch(self) -> None:
        self.batch = BatchPanel(self._batch_request, self.cache)
        self.batch.choose_output.connect(self.choose_batch_folder)
        self.batch.add_files_requested.connect(self._batch_add_files)
        self.batch.add_folder_requested.connect(self._batch_add_folder)
        self.batch.running_changed.connect(self._batch_running)
        self.batch.queue_finished.connect(self._batch_finished)
        self.batch.set_output_folder(self.settings.output_folder or None)
        self.batch_dock = QDockWidget("Batch queue", self)
        self.batch_dock.setObjectName("BatchDock")
        self.batch_dock.setWidget(self.batch)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.batch_dock)
        self.batch_dock.hide()

    def _action(self, text: str, slot, shortcut=None, icon_name: str | None = None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if icon_name:
            set_icon(a, icon_name)
        if shortcut:
            if isinstance(shortcut, list | tuple):
                a.setShortcuts([QKeySequence(s) for s in shortcut])
            else:
                a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        self._build_file_actions()
        self._build_run_actions()
        self._build_view_actions()
        self._build_edit_actions()

    def _build_file_actions(self) -> None:
        A = self._action
        self.open_action = A(
            "&Open…",
            self.open_dialog,
            QKeySequence.StandardKey.Open,
            "mdi6.folder-open",
            "Open a photo (or several, to queue them)",
        )
        self.paste_action = A(
            "&Paste photo",
            self.paste,
            QKeySequence.StandardKey.Paste,
            "mdi6.content-paste",
            "Paste a photo from the clipboard",
        )
        self.save_action = A(
            "&Save result…",
            self.save,
            QKeySequence.StandardKey.Save,
            "mdi6.content-save",
            "Save the restored photo (PNG, JPEG, TIFF, WebP)",
        )
        self.export_action = A(
            "&Export trajectory…",
            self.export_trajectory,
            "Ctrl+E",
            "mdi6.movie-open",
            "Export every step as an animated GIF, an MP4 video or a contact sheet",
        )
        self.report_action = A(
            "Save run &report…",
            self.save_report,
            None,
            "mdi6.file-document-outline",
            "Save the JSON report of the run (settings, model hash, timings)",
        )
        self.auto_report_action = QAction("Save a run report beside each result", self, checkable=True)
        self.auto_report_action.setChecked(self.settings.save_report)
        self.auto_report_action.toggled.connect(lambda on: setattr(self.settings, "save_report", on))
        self.quit_action = A("&Quit", self.close, QKeySequence.StandardKey.Quit)

    def _build_run_actions(self) -> None:
        A = self._action
        self.restore_action = A(
            "&Restore",
            self.restore,
            ["Ctrl+R", "Return", "Enter"],
            "mdi6.auto-fix",
            "Restore the photo with the chosen task",
        )
        self.stop_action = A("S&top", self.stop, "Esc", "mdi6.stop", "Stop after the current step")
        self.continue_action = A(
            "&Continue from the result",
            self.continue_from_result,
            "Ctrl+Shift+R",
            "mdi6.step-forward",
            "Make the result the photo, to restore it again with another task: denoise, then upscale x4 "
            "(Ctrl+Shift+R; Ctrl+Z goes back)",
        )
        self.back_action = A(
            "&Back one stage",
            self.back_one_stage,
            None,
            "mdi6.undo-variant",
            "Go back to the photo and the result before the last “Continue from the result” (Ctrl+Z)",
        )
        self.spread_map_action = A(
            f"&Uncertainty map ({SPREAD_SEEDS} seeds)",
            self.uncertainty_map,
            "Ctrl+U",
            "mdi6.chart-bell-curve",
            f"Restore with {SPREAD_SEEDS} seeds and show where the results disagree: there the model "
            "is guessing (Ctrl+U)",
        )
        self.dice_action = A("New random &seed", self.panel.roll_seed, "D", "mdi6.dice-5")
        self.batch_action = self.batch_dock.toggleViewAction()
        self.batch_action.setText("&Batch queue")
        self.batch_action.setShortcut(QKeySequence("Ctrl+B"))
        set_icon(self.batch_action, "mdi6.format-list-checks")
        self.batch_action.setToolTip("Restore several photos or a folder (Ctrl+B)")
        self.reload_action = A(
            "Reload &models", self.reload_models, None, "mdi6.restore", "Look again for installed weights"
        )

    def _build_view_actions(self) -> None:
        A = self._action
        self.fit_action = A(
            "&Fit", self.view.fit, "F", "mdi6.fit-to-screen", "Fit the photo in the window (F)"
        )
        self.actual_action = A(
            "&100 %",
            self.view.actual_size,
            "1",
            "mdi6.numeric-1-box-outline",
            "One photo pixel per screen pixel (1)",
        )
        self.zoom_in_action = A("Zoom &in", lambda: self._zoom_centre(1.25), ["+", "="], "mdi6.magnify-plus")
        self.zoom_out_action = A("Zoom &out", lambda: self._zoom_centre(0.8), "-", "mdi6.magnify-minus")
        self.side_action = A(
            "&Side by side",
            self.toggle_side_by_side,
            "S",
            "mdi6.view-split-vertical",
            "Show before and after side by side instead of the split line (S)",
        )
        self.side_action.setCheckable(True)
        self.kind_action = A(
            "Show x0_hat instead of x_t",
            self.scrubber.toggle_kind,
            "X",
            None,
            "Frames show the clean estimate x0_hat (or the noisy state x_t)",
        )
        self.kind_action.setCheckable(True)
        self.changes_action = A(
            "Show what &changed",
            lambda: self.set_result_view("changes"),
            "W",
            "mdi6.select-compare",
            "Show what the model removed (input minus result, amplified around grey); for x4 "
            "upscaling, the result shrunk back minus the input (W)",
        )
        self.spread_action = A(
            "Show the uncertainty &map",
            lambda: self.set_result_view("spread"),
            "U",
            "mdi6.chart-bell-curve",
            "Show where restorations with different seeds disagree (U; make one with Ctrl+U)",
        )
        self.previous_action = A(
            "Compare with the &previous result",
            self.toggle_previous,
            "P",
            "mdi6.compare",
            "Put the result before this one on the left side of the split: try another sampler, step "
            "count or seed and compare (P)",
        )
        for a in (self.changes_action, self.spread_action, self.previous_action):
            a.setCheckable(True)
        self.shortcuts_action = A("&Keyboard shortcuts", self.show_shortcuts, "F1", "mdi6.keyboard")
        self.about_action = A("&About IR-SDE Studio", self.show_about, None, "mdi6.information")

    def _build_edit_actions(self) -> None:
        """The brush, the eraser and Undo; the arrow keys that scrub the trajectory."""
        A = self._action
        self.grow_action = A("Larger brush", self.mask_editor.grow, "]")
        self.shrink_action = A("Smaller brush", self.mask_editor.shrink, "[")
        self.erase_action = A("Eraser", lambda: self.panel.mask_tools.erase_button.click(), "E")
        self.brush_action = A("Brush", lambda: self.panel.mask_tools.paint_button.click(), "B")
        self.undo_action = A("Undo", self.undo, QKeySequence.StandardKey.Undo)
        # Scrubbing (only while the canvas or the scrubber has focus, so spin boxes keep their keys)
        central = self.centralWidget()
        for key, slot in (
            ("Left", lambda: self.scrubber.step(-1)),
            ("Right", lambda: self.scrubber.step(1)),
            ("Home", self.scrubber.first),
            ("End", self.scrubber.last),
        ):
            a = QAction(key, central)
            a.setShortcut(QKeySequence(key))
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            a.triggered.connect(slot)
            central.addAction(a)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        f.addAction(self.open_action)
        self.recent_menu = f.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        f.addAction(self.paste_action)
        f.addSeparator()
        f.addAction(self.save_action)
        f.addAction(self.export_action)
        f.addAction(self.report_action)
        f.addAction(self.auto_report_action)
        f.addSeparator()
        f.addAction(self.quit_action)
        r = mb.addMenu("&Restore")
        for a in (self.restore_action, self.stop_action, self.spread_map_action, self.dice_action):
            r.addAction(a)
        r.addSeparator()
        r.addAction(self.continue_action)
        r.addAction(self.back_action)
        r.addSeparator()
        r.addAction(self.batch_action)
        r.addAction(self.reload_action)
        v = mb.addMenu("&View")
        for a in (self.fit_action, self.actual_action, self.zoom_in_action, self.zoom_out_action):
            v.addAction(a)
        v.addSeparator()
        v.addAction(self.side_action)
        v.addAction(self.kind_action)
        v.addAction(self.changes_action)
        v.addAction(self.spread_action)
        v.addAction(self.previous_action)
        v.addSeparator()
        self.suggest_action = suggestions_action(self.settings, self.panel.suggestion_label, self)
        self.suggest_action.toggled.connect(self._suggest_for_photo)
        v.addAction(self.suggest_action)
        theme_menu = v.addMenu("&Theme")
        group = QActionGroup(self)
        for key, label in (("system", "Follow the system"), ("dark", "Dark"), ("light", "Light")):
            a = theme_menu.addAction(label)
            a.setCheckable(True)
            a.setChecked(self.settings.theme == key)
            a.triggered.connect(lambda _=False, k=key: self.set_theme(k))
            group.addAction(a)
        v.addAction(self.panel_dock.toggleViewAction())
        h = mb.addMenu("&Help")
        h.addAction(self.shortcuts_action)
        h.addAction(self.about_action)

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("MainToolbar")
        tb.setMovable(False)
        tb.setIconSize(QSize(20, 20))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in (self.open_action, self.save_action, self.export_action):
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.fit_action, self.actual_action, self.side_action):
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.batch_action)
        for a in (self.fit_action, self.actual_action):
            w = tb.widgetForAction(a)
            if w is not None:
                w.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.open_action.setIconText("Open")
        self.save_action.setIconText("Save")
        self.export_action.setIconText("Export")
        self.side_action.setIconText("Side by side")
        self.batch_action.setIconText("Batch")

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.pixel_label = QLabel("")
        self.size_label = QLabel("")
        self.zoom_label = QLabel("")
        self.device_label = QLabel("Loading the engine…")
        for w in (self.pixel_label, self.size_label, self.zoom_label, self.device_label):
            w.setProperty("hint", True)
            sb.addPermanentWidget(w)

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

    # ================================================================ opening
    def open_dialog(self) -> None:
        files = self.dialogs.open_images(self, self.settings.last_folder)
        if files:
            self.open_paths([Path(f) for f in files])

    def open_paths(self, paths: list[Path]) -> None:
        """One photo opens; several photos or a folder go to the batch queue. What they hold is
        listed on a thread of its own (:func:`list_dropped`); drops are taken in the order they
        came, and :attr:`paths_listed` says when one has been."""
        paths = [Path(p) for p in paths]
        if paths:
            self._list_paths(paths, self._open_dropped)

    def _list_paths(self, paths: list[Path], then: Callable[[Dropped | str], None]) -> None:
        """List ``paths`` (:attr:`paths_lister`) on a thread of its own, then hand what they hold
        (or the listing's error) to ``then`` on this thread, in the order of the calls."""
        lister = self.paths_lister
        read = FileRead(lambda _first: lister(paths), paths[0], parent=self)
        listing = (read, [], then)  # the list holds the outcome once it came
        read.succeeded.connect(lambda dropped: self._paths_listed(listing, dropped))
        read.failed.connect(lambda message: self._paths_listed(listing, message))
        read.stopped.connect(lambda: self._read_stopped(read))
        self._reads.append(read)
        self._listings.append(listing)
        read.start()

    def _paths_listed(self, listing: tuple, outcome: Dropped | str) -> None:
        listing[1].append(outcome)
        while self._listings and self._listings[0][1]:
            _read, (first, *_), then = self._listings.pop(0)
            then(first)
            self.paths_listed.emit()

    def _open_dropped(self, dropped: Dropped | str) -> None:
        if isinstance(dropped, str):  # the listing failed (the reader's one line names the file)
            self.show_message("error", f"Nothing to open: {dropped}")
            return
        route = self.session.queue_batch(dropped, photo_coming=self._newest_read in self._reads)
        if route.error:
            self.show_message("error", route.error)
            return
        if not route.queue:
            self.open_path(route.open)
            return
        added = self.batch.add_paths(route.queue)
        self.show_batch()
        if route.open is not None:
            self.open_path(route.open, quiet=route.quiet)
        self.show_message("info", self.session.queued_message(added, route.notes))

    def open_path(self, path: str | Path, quiet: bool = False) -> None:
        """Open one photo. It is read on a thread of its own, so that a slow drive (or a pipe
        named like a photo) never freezes the window; the current photo stays until the new one
        is shown, or, on failure, a message says why. :attr:`photo_opened` tells which."""
        path = Path(path)
        read = FileRead(self.photo_reader, path, parent=self)
        read.succeeded.connect(lambda photo: self._photo_read(read, photo, quiet))
        read.failed.connect(lambda message: self._photo_refused(read, message))
        read.progress.connect(lambda what, done, total: self._read_progress(read, what, done, total))
        read.stopped.connect(lambda: self._read_stopped(read))
        self._reads.append(read)
        self._newest_read = read
        self.statusBar().showMessage(f"Opening {path.name}…")
        read.start()

    def _read_progress(self, read: FileRead, what: str, done: int, total: int) -> None:
        """A slow read (a camera RAW being developed, on the reading thread) says how far it is:
        in the status bar, and in the progress row while nothing is being restored."""
        if read is not self._newest_read:
            return
        self.statusBar().showMessage(f"Opening {read.path.name}: {what} ({done}/{total})…")
        if not self.session.busy:
            self._progress_for_read = True
            self.progress_row.show()
            self.progress_bar.setRange(0, max(1, total))
            self.progress_bar.setValue(done - 1)
            self.progress_label.setText(f"Opening {read.path.name}: {what}…")

    def _photo_read(self, read: FileRead, photo: Photo, quiet: bool) -> None:
        if read is not self._newest_read:
            return  # a photo opened since replaces this one
        path = read.path
        self.statusBar().clearMessage()
        self.set_photo(photo, path.name)
        self.settings.add_recent(path)
        self.settings.last_folder = str(path.parent)
        self.setWindowFilePath(str(path))
        if not quiet:
            self.message_bar.dismiss()
        self.photo_opened.emit(True)

    def _photo_refused(self, read: FileRead, message: str) -> None:
        if read is not self._newest_read:
            return
        self.statusBar().clearMessage()
        if self._progress_for_read and not self.session.busy:
            self.progress_row.hide()
        self._progress_for_read = False
        path = read.path
        self.show_message("error", f"Could not open “{path.name}”: {why(message, path).rstrip('.')}.")
        self.photo_opened.emit(False)

    def _read_stopped(self, read: FileRead) -> None:
        self._reads.remove(read)
        read.deleteLater()

    def paste(self) -> None:
        md = QApplication.clipboard().mimeData()
        if md is None:
            return
        if md.hasUrls() and any(u.isLocalFile() for u in md.urls()):
            self.open_paths([Path(u.toLocalFile()) for u in md.urls() if u.isLocalFile()])
            return
        if md.hasImage():
            img = QImage(md.imageData())
            if not img.isNull():
                self.open_qimage(img, "Pasted image")
                return
        if md.hasText() and Path(md.text().strip()).is_file():
            self.open_path(Path(md.text().strip()))
            return
        self.show_message("info", "The clipboard holds no photo to paste.")

    def open_qimage(self, img: QImage, name: str) -> bool:
        """Open an image held in memory (clipboard, dragged from a browser), via PNG and the core decoder."""
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        img.save(buf, "PNG")
        buf.close()
        try:
            photo = decode_photo(bytes(data.data()), name)
        except ImageReadError as exc:
            self.show_message("error", f"Could not use the pasted image: {why(exc, name)}")
            return False
        photo.path = None
        self.set_photo(photo, name)
        self.setWindowFilePath("")
        self.message_bar.dismiss()
        return True

    def set_photo(self, photo: Photo, name: str) -> None:
        if self.run is not None:
            self._abandon_run()
        self.session.open_photo(photo, name)  # a new photo starts a new chain

    def _photo_changed(self) -> None:
        """Show the session's new photo (opened, or a chain's stage) with no result yet."""
        photo, name = self.photo, self.photo_name
        self._progress_for_read = False
        self._changes_cache = None
        self.panel.show_blur(None)
        self.previous_action.setChecked(False)
        self.scrubber.set_trajectory(None)
        self._photo_image = rgb_to_qimage(photo.rgb)
        self.view.set_before(self._photo_image)
        self.mask_editor.set_canvas_scale(1.0)
        self.view.before_label = "Before"
        self.mask_editor.reset(QSize(photo.width, photo.height))
        self._init_mask_from_alpha()
        self._show_photo_info()
        self.setWindowTitle(f"{name} — {APP_TITLE}")
        self.progress_bar.setValue(0)
        self.progress_label.setText("")
        self.progress_row.hide()
        self._sync_actions()
        self.panel.suggestion_label.clear()
        self._suggest_for_photo()
        self.photo_changed.emit()

    def _show_photo_info(self) -> None:
        """The status bar's line about the photo: size, depth, where it came from (a developed
        camera RAW) and, in a chain, which stage it is."""
        self.size_label.setText(self.session.photo_info())

    def _suggest_for_photo(self, *_args) -> None:
        """Measure the photo on the suggestion's thread, if suggestions are on."""
        if self.photo is not None and self.settings.suggest_tasks:
            self.suggester.estimate(self.photo.rgb)

    def _init_mask_from_alpha(self) -> None:
        """Transparent pixels of the photo pre-fill the inpainting mask."""
        if self.photo is None or self.photo.alpha is None or not self.mask_editor.is_empty():
            return

        m = mask_from_alpha(self.photo.alpha)
        if m.any():
            self.mask_editor.set_array(m)

    def load_mask(self) -> None:
        """Take the inpainting mask from a file, read on a thread of its own as photos are;
        :attr:`mask_loaded` says when it is set or refused."""
        if self.photo is None:
            return
        f = self.dialogs.open_mask(self, self.settings.last_folder)
        if not f:
            return
        path, photo = Path(f), self.photo
        read = FileRead(self.photo_reader, path, parent=self)
        read.succeeded.connect(lambda mask: self._mask_read(photo, path, mask))
        read.failed.connect(lambda message: self._mask_refused(path, message))
        read.stopped.connect(lambda: self._read_stopped(read))
        self._reads.append(read)
        read.start()

    def _mask_read(self, photo: Photo, path: Path, mask: Photo) -> None:
        if self.photo is not photo:
            self._mask_refused(path, "another photo was opened meanwhile")
            return
        try:
            self.mask_editor.set_array(mask.rgb.max(axis=2))
        except ValueError as exc:
            self._mask_refused(path, str(exc))
            return
        self.mask_loaded.emit(True)

    def _mask_refused(self, path: Path, message: str) -> None:
        self.show_message("error", f"Could not use the mask “{path.name}”: {why(message, path)}")
        self.mask_loaded.emit(False)

    def load_kernel(self) -> None:
        """Take a known blur kernel from a file for blind deblurring (instead of estimating it),
        read on a thread of its own as photos are; :attr:`kernel_loaded` says when it is set or
        refused. The blur chosen before stays until then (and if the file is refused)."""
        f = self.dialogs.open_kernel(self, self.settings.last_folder)
        if not f:
            return
        path, reader = Path(f), self.kernel_reader

        def read(p: Path) -> tuple[np.ndarray, str]:  # on the reading thread
            return reader(p), str(p.resolve())  # the full path, for run reports

        kernel_read = FileRead(read, path, parent=self)
        kernel_read.succeeded.connect(lambda got: self._kernel_read(kernel_read, path, *got))
        kernel_read.failed.connect(lambda message: self._kernel_refused(kernel_read, path, message))
        kernel_read.stopped.connect(lambda: self._read_stopped(kernel_read))
        self._reads.append(kernel_read)
        self._newest_kernel_read = kernel_read
        kernel_read.start()

    def _kernel_read(self, read: FileRead, path: Path, kernel: np.ndarray, source: str) -> None:
        if read is not self._newest_kernel_read:
            return  # a blur chosen since replaces this one
        self.panel.set_known_kernel(kernel, path.name, source=source)
        self.kernel_loaded.emit(True)

    def _kernel_refused(self, read: FileRead, path: Path, message: str) -> None:
        if read is not self._newest_kernel_read:
            return
        self.show_message("error", f"Could not use the blur kernel “{path.name}”: {why(message, path)}")
        self.kernel_loaded.emit(False)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        items = self.settings.recent_files
        for p in items:
            a = self.recent_menu.addAction(Path(p).name)
            a.setToolTip(p)
            a.setStatusTip(p)
            a.triggered.connect(lambda _=False, path=p: self.open_path(Path(path)))
        if not items:
            self.recent_menu.addAction("No recent photos").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear the list", self.settings.clear_recent)

    # -- drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        md = event.mimeData()
        if (md.hasUrls() and any(u.isLocalFile() for u in md.urls())) or md.hasImage():
            event.acceptProposedAction()
            self.view.drop_hint = True
            self.view.update()

    def dragLeaveEvent(self, event) -> None:
        self.view.drop_hint = False
        self.view.update()

    def dropEvent(self, event: QDropEvent) -> None:
        self.view.drop_hint = False
        self.view.update()
        md = event.mimeData()
        paths = [Path(u.toLocalFile()) for u in md.urls() if u.isLocalFile()] if md.hasUrls() else []
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)
        elif md.hasImage():
            event.acceptProposedAction()
            self.open_qimage(QImage(md.imageData()), "Dropped image")

    # ================================================================ running
    def restore(self) -> None:
        request = self._request()
        if request is not None:
            self.session.cancel_spread()
            self.start_run(request)

    def uncertainty_map(self) -> None:
        """Restore with several seeds, one run after another; then show where they disagree."""
        if self.panel.blind:
            return
        request = self._request()
        if request is None:
            return
        from ...core.analysis import SpreadAccumulator  # deferred: it imports PyTorch

        self.session.begin_spread(request, SpreadAccumulator())
        self._next_seed()

    def _next_seed(self) -> None:
        due = self.session.next_spread_request()
        if due is not None:
            request, first = due
            self.start_run(request, fresh=first)

    def _request(self) -> RunRequest | None:
        """The run the window's settings describe, or None (saying why) when none can start."""
        if self.session.busy:
            return None
        if self.photo is None:
            self.show_message("info", "Open a photo first: drop it on the window, or press Ctrl+O.")
            return None
        if self.engine is None:
            self.session.defer_run()
            self.show_message(
                "info", "The restoration engine is still loading; the run starts when it is ready."
            )
            return None
        info = self.panel.task_info()
        if info is None or not info.available:
            self.show_message("error", info.problem if info else "Choose a task first.")
            return None
        mask = None
        if info.uses_mask:
            if self.mask_editor.is_empty():
                self.show_message(
                    "warning", "Paint the area to fill first (or load a mask), then press Restore."
                )
                return None
            mask = self.mask_editor.run_mask()  # the painted area, grown by its margin if that is on
        known = self.panel.known_kernel
        return RunRequest(
            info.name,
            rgb=self.photo.rgb,
            mask=mask,
            steps=self.panel.steps,
            sampler=self.panel.sampler,
            seed=self.panel.seed,
            device=self.panel.device,
            weights=info.weights_for(known),
            kernel=known,
            kernel_source=self.panel.known_kernel_source,
            estimated_kernel=self.session.blur_found_before(info.in_rounds(None), known),
        )

    def start_run(self, request: RunRequest, fresh: bool = True) -> RestoreRun:
        """Start a worker run; ``fresh=False`` (the later seeds of an uncertainty map) keeps the
        trajectory, the result and the canvas of the run before it."""
        info = self.engine.tasks[request.task] if self.engine else None
        self.message_bar.dismiss()
        trajectory = self.session.run_started(info.label if info else request.task, fresh)
        if fresh:
            unit = "round" if info is not None and info.in_rounds(request.kernel) else "step"
            self.scrubber.set_trajectory(trajectory, total=request.steps or 0, unit=unit)
            self._set_canvas_scale(info.scale if info else 1)
            self.view.set_after(None)
        run = RestoreRun(request, trajectory, self.cache, parent=self)
        run.frame.connect(self._on_frame)
        run.progress.connect(self._on_progress)
        run.device_chosen.connect(self._on_device)
        run.notice.connect(lambda text: self.show_message("warning", text))
        run.finished.connect(self._on_finished)
        run.cancelled.connect(self._on_cancelled)
        run.failed.connect(self._on_failed)
        run.stopped.connect(self._on_run_stopped)
        self.run = run
        self.panel.set_running(True)
        self.progress_row.show()
        self.progress_bar.setRange(0, max(1, request.steps or 1))
        self.progress_bar.setValue(0)
        self.progress_label.setText("Loading the model…")
        self._sync_actions()
        run.start()
        return run

    def _abandon_run(self) -> None:
        """A new photo replaces the one being restored: stop the run and ignore what it still sends."""
        run = self.run
        for signal, slot in (
            (run.frame, self._on_frame),
            (run.progress, self._on_progress),
            (run.finished, self._on_finished),
            (run.cancelled, self._on_cancelled),
            (run.failed, self._on_failed),
        ):
            signal.disconnect(slot)
        run.cancel()
        self.session.run_abandoned()
        self.statusBar().showMessage("The previous run was stopped: a new photo was opened.", 6000)

    def stop(self) -> None:
        if self.run is not None:
            self.run.cancel()
            self.session.stop_requested()
            self.progress_label.setText("Stopping after this step…")
        elif self.batch.is_running:
            self.batch.cancel()

    def _on_frame(self, frame) -> None:
        self.session.frame_received(frame)

    def _frame_received(self, frame) -> None:
        self.scrubber.refresh()
        if self.scrubber.follow:
            self._display_frame(frame)

    def _display_frame(self, frame) -> None:
        kind = "x_t" if self.scrubber.kind == "state" else "x0_hat"
        total = self.scrubber.total or len(self.trajectory)
        label = f"{kind} · {self.scrubber.unit} {frame.index}/{total}"
        self.view.set_after(self.scrubber.image_for(frame), label)

    def _on_progress(self, p) -> None:
        self.progress_bar.setRange(0, max(1, p.total))
        self.progress_bar.setValue(p.index)
        self.progress_label.setText(self.session.progress_text(p, rounds=self.scrubber.unit == "round"))

    def _on_device(self, description: str) -> None:
        self.device_label.setText(f"Running on {description}")
        self.device_label.setToolTip(f"Device and precision of the current run: {description}")

    def _on_finished(self, outcome: RunOutcome) -> None:
        became = self.session.run_finished(outcome)
        self.device_label.setText(f"Ran on {outcome.report.device}")
        if became == "seed":
            sr = self.spread_run
            self.progress_label.setText(f"Seed {sr.done} of {len(sr.seeds)} done")
            return
        if became == "map":
            self._map_ready()
            return
        self.panel.show_blur(outcome.kernel, given=outcome.report.blur_kernel_given)
        self.scrubber.refresh()
        self.scrubber.last()
        self._show_result()
        self.progress_label.setText(self._done_text(outcome))
        label = self.session.run_task_label
        self.statusBar().showMessage(f"{label}: restored. Save it with Ctrl+S.", 8000)

    @staticmethod
    def _done_text(outcome: RunOutcome) -> str:
        """The progress row's line once a run is done: its time, steps and settings."""
        r = outcome.report
        blind = r.method == "blind"
        unit = "round" if blind else "step"
        how = f"{r.sampler}, seed {r.seed}"
        if blind:
            how = describe_blur(outcome.kernel, r.blur_kernel_given, r.blur_kernel_source, r.blur_doubt)
        return (
            f"Done in {format_duration(r.elapsed_seconds)}   ·   {plural(r.steps, unit)}, "
            f"{r.seconds_per_step:.2f} s/{unit}"
            f"   ·   {how}" + (f"   ·   {r.tile} px tiles" if r.tile else "")
        )

    def _map_ready(self) -> None:
        """The last seed of an uncertainty map is done: show the map."""
        seeds = ", ".join(map(str, self.uncertainty.seeds))
        self.progress_label.setText(f"Uncertainty map from seeds {seeds}: bright where they disagree")
        self._show_result()
        self.statusBar().showMessage("Uncertainty map ready. U switches between it and the result.", 8000)

    def _on_cancelled(self, outcome: RunOutcome) -> None:
        sr = self.spread_run
        became = self.session.run_stopped(outcome)
        self.scrubber.refresh()
        if became == "spread":
            self._show_result()
            self.progress_label.setText(f"Uncertainty map stopped after {sr.done} of {len(sr.seeds)} seeds")
            return
        self.progress_label.setText(f"Stopped at step {outcome.steps_done} of {outcome.total}")
        if became == "nothing":
            self._show_result()
            return
        self.view.set_after(rgb_to_qimage(outcome.image), f"x0_hat · stopped at step {outcome.steps_done}")
        self.show_message(
            "info",
            f"Stopped at step {outcome.steps_done} of {outcome.total}. "
            "Keep its clean estimate x0_hat as the result?",
            [("Keep x0_hat", self.keep_stopped), ("Discard", self.discard_stopped)],
        )

    def keep_stopped(self) -> None:
        """Keep the stopped run's clean estimate x0_hat as the result."""
        if self.session.keep_stopped():
            self._show_result()
            self.statusBar().showMessage("Kept the clean estimate x0_hat as the result.", 6000)

    def discard_stopped(self) -> None:
        self.session.discard_stopped()
        self._show_result()

    def _on_failed(self, failure: RunFailure) -> None:
        text, retry = self.session.run_failed(failure)
        self.progress_label.setText("Failed")
        self._show_result()
        actions = []
        if retry is not None:
            button = "Run on the CPU" if retry == "cpu" else "Use Auto"
            actions.append((button, lambda: (self.panel.set_device(retry), self.restore())))
        self.show_message("error", text, actions)
        if failure.details:
            self.message_bar.text_label.setToolTip(failure.details)

    def _on_run_stopped(self) -> None:
        run, self.run = self.run, None
        if run is not None:
            self.run_finished.emit(run.result)
            run.deleteLater()
        self.panel.set_running(False)
        next_seed = self.session.run_ended()
        self._sync_actions()
        if next_seed:
            QTimer.singleShot(0, self._next_seed)

    def _show_result(self) -> None:
        if self.result is None:
            self.view.set_after(None)
            return
        if self.result_view == "changes":
            self.view.set_after(self._changes_image(), "What changed (amplified; grey: nothing)")
            return
        if self.result_view == "spread" and self.uncertainty is not None:
            u = self.uncertainty
            heat = qimage_from_rgb(np.ascontiguousarray(u.heatmap()))
            self.view.set_after(heat, f"Uncertainty over {len(u.seeds)} seeds (bright: they disagree)")
            return
        self.view.set_after(rgb_to_qimage(self.result), self.session.result_label())

    def set_result_view(self, kind: str) -> None:
        """Show the result, what changed, or the uncertainty map; choosing the shown one again
        goes back to the result."""
        self.session.set_result_view(kind)

    def _view_changed(self, kind: str) -> None:
        self.changes_action.setChecked(kind == "changes")
        self.spread_action.setChecked(kind == "spread")
        if not self.session.running and self.result is not None:
            self._show_result()

    def _changes_image(self) -> QImage:
        """The residual of the result (cached: big photos take a moment)."""
        if self._changes_cache is None or self._changes_cache[0] is not self.result:
            from ...core.analysis import residual, residual_image  # deferred: it imports PyTorch

            task = get_task(self.outcome.report.task if self.outcome else self.panel.task)
            diff = residual(task, self.photo.rgb, self.result)
            img = residual_image(diff)
            if task.scale != 1:  # shown over the result: one low-res pixel per scale x scale block
                h, w = self.result.shape[:2]
                img = np.repeat(np.repeat(img, task.scale, 0), task.scale, 1)
                pad = ((0, max(0, h - img.shape[0])), (0, max(0, w - img.shape[1])), (0, 0))
                img = np.ascontiguousarray(np.pad(img, pad, "edge")[:h, :w])
            self._changes_cache = (self.result, qimage_from_rgb(img))
        return self._changes_cache[1]

    def toggle_previous(self) -> None:
        """P: the previous result on the photo's side (A/B), or the photo again."""
        self.session.compare(self.previous_action.isChecked())

    def _compare_changed(self, on: bool) -> None:
        self.previous_action.setChecked(on)
        self._show_before()
        if not self.session.running:
            self._show_result()

    def _show_before(self) -> None:
        """The left side: the photo, or the previous result while P is on."""
        if self.photo is None:
            return
        previous = self.session.before()
        if previous is not None:
            self.view.swap_before(rgb_to_qimage(previous.image), previous.label)
        else:
            self.view.swap_before(self._photo_image, "Before")

    def _show_frame(self, index: int) -> None:
        if not len(self.trajectory):
            return
        if (
            not self.session.running
            and self.result is not None
            and self.scrubber.is_last()
            and self.scrubber.kind == "state"
        ):
            self._show_result()
            return
        self._display_frame(self.trajectory.frames[min(index, len(self.trajectory) - 1)])

    def _kind_changed(self, kind: str) -> None:
        self.kind_action.setChecked(kind == "estimate")
        self.settings.frame_kind = kind
        if len(self.trajectory):
            self._show_frame(self.scrubber.index)

    # ================================================================ chaining
    def continue_from_result(self) -> None:
        """The result becomes the photo, to restore it with another task (denoise, then upscale
        x4). The chain's run report lists every stage; Undo (or "Back one stage") returns to the
        photo and the result before."""
        if self.result is None or self.outcome is None or self.photo is None:
            self.show_message("info", "Restore the photo first; then its result can be restored again.")
            return
        if not self.session.continue_from_result():
            return
        chain = self.stages
        tasks = " + ".join(s.task for s in chain)
        self.show_message(
            "info",
            f"Stage {len(chain) + 1}: the result after {tasks} is now the photo. Pick the next task "
            "(for example Upscale x4) and restore it; Ctrl+Z goes back one stage.",
        )

    def back_one_stage(self) -> bool:
        """Undo the last "Continue from the result": its photo and its result come back (the
        run after it, if any, is dropped). False when there is no earlier stage."""
        stage = self.session.back_one_stage()
        if stage is None:
            return False
        report = stage.outcome.report
        self.panel.show_blur(stage.outcome.kernel, given=report.blur_kernel_given)
        unit = "round" if report.method == "blind" else "step"
        self.scrubber.set_trajectory(self.trajectory, total=report.steps, unit=unit)
        own = stage_entry(report)  # this stage's own sizes (a chain's report gives the chain's input)
        self._set_canvas_scale(max(1, own["output_size"][0] // max(1, own["input_size"][0])))
        self.scrubber.last()
        self._show_result()
        self.message_bar.dismiss()
        self.statusBar().showMessage(
            f"Back to stage {len(self.stages) + 1}: the photo and its {report.task} result.", 6000
        )
        return True

    def undo(self) -> None:
        """Ctrl+Z: the last mask stroke while painting, else back one stage of a chain."""
        if self.view.tool is self.mask_editor and self.mask_editor.undo():
            return
        self.back_one_stage()

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
            weights=info.weights_for(self.panel.known_kernel),
            kernel=self.panel.known_kernel,
            kernel_source=self.panel.known_kernel_source,
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

    # ================================================================ saving
    def _suggested(self, suffix: str, ext: str) -> str:
        return self.session.suggested_path(suffix, ext, self.settings.last_folder)

    def save(self) -> Path | None:
        if self.result is None or self.photo is None:
            self.show_message("info", "Nothing to save yet: restore the photo first.")
            return None
        # Like the input by default (a HEIC as HEIC); a camera RAW's result as a 16-bit PNG.
        opened = self.photo.format if self.photo.path is not None else None
        filters, ext = save_offer(opened, self.photo_name if self.photo.path is not None else "")
        task = chain_name(self.outcome.report) if self.outcome else "restored"
        f = self.dialogs.save_image(self, self._suggested(f"-{task}", ext), filters)
        if not f:
            return None
        path = Path(f)
        overwrite = self.session.is_the_photo(path)
        if overwrite and not self.dialogs.confirm(
            self,
            "Replace the original photo?",
            f"“{path.name}” is the photo you opened. Replacing it loses the original for good.",
        ):
            return None
        quality = self._ask_quality(path)
        if quality is None:
            return None
        try:
            out = write_photo(
                path,
                self.result,
                like=self.photo,
                overwrite_input=overwrite,
                alpha=self.session.result_alpha(),  # inpainting: the filled pixels are opaque
                quality=quality,
            )
        except ImageWriteError as exc:
            self.show_message("error", f"Could not save: {exc}")
            return None
        self.session.saved(out)
        self.settings.last_folder = str(out.parent)
        note = ""
        if self.settings.save_report and self.outcome is not None:
            try:
                rp = self.outcome.report.write(report_path_for(out), output=out)
                note = f" and its run report {rp.name}"
            except OSError as exc:
                self.show_message("warning", f"The photo was saved, but not its run report: {exc}")
        self.statusBar().showMessage(f"Saved {out}{note}", 8000)
        return out

    def _ask_quality(self, path: Path) -> int | None:
        """The quality to write a lossy format with (asked, and remembered); None if cancelled."""
        quality = self.settings.jpeg_quality
        if path.suffix.lower() in (".jpg", ".jpeg", ".webp", ".heic", ".heif", ".avif"):
            q = self.dialogs.jpeg_quality(self, quality)
            if q is None:
                return None
            quality = self.settings.jpeg_quality = q
        return quality

    def save_report(self) -> Path | None:
        if self.outcome is None:
            self.show_message("info", "There is no run to report yet.")
            return None
        default = (
            report_path_for(self.last_saved)
            if self.last_saved
            else self._suggested(f"-{self.outcome.report.task}", ".json")
        )
        f = self.dialogs.save_report(self, str(default))
        if not f:
            return None
        try:
            out = self.outcome.report.write(f, output=self.last_saved)
        except OSError as exc:
            self.show_message("error", f"Could not save the report: {exc}")
            return None
        self.statusBar().showMessage(f"Saved the run report {out}", 6000)
        return out

    def save_blur(self) -> Path | None:
        """Save the blur shown in the panel (found in this photo, or given) as a kernel file, for
        other photos of the same shake: "Known blur from a file…" and ``--kernel`` read it back."""
        kernel = self.panel.shown_blur
        if kernel is None:
            self.show_message("info", "There is no blur to save yet: deblur the photo first.")
            return None
        f = self.dialogs.save_blur(self, self._suggested("-blur", ".png"))
        if not f:
            return None
        try:
            out = write_kernel(f, kernel)
        except (OSError, ValueError) as exc:
            self.show_message("error", f"Could not save the blur: {exc}")
            return None
        self.statusBar().showMessage(
            f"Saved the blur {out.name}: Blur ▸ Known blur from a file… deblurs other photos with it", 8000
        )
        return out

    def export_trajectory(self) -> Path | None:
        frames = self.session.whole_trajectory()
        if not len(frames):
            self.show_message("info", "There is no trajectory yet: restore the photo first.")
            return None
        task = chain_name(self.outcome.report) if self.outcome else "run"
        f = self.dialogs.export_trajectory(self, self._suggested(f"-{task}-trajectory", ".gif"))
        if not f:
            return None
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            out = write_trajectory(f, frames, kind=self.scrubber.kind)
        except (OSError, ValueError) as exc:
            self.show_message("error", f"Could not export the trajectory: {exc}")
            return None
        finally:
            QApplication.restoreOverrideCursor()
        what = "x_t" if self.scrubber.kind == "state" else "x0_hat"
        self.statusBar().showMessage(f"Exported {len(frames)} steps ({what}) to {out}", 8000)
        return out

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
