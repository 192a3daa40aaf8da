"""The main window's widgets, docks, actions, menus, toolbar and status bar, built once."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..session import SPREAD_SEEDS
from .batch import BatchPanel
from .compare_view import CompareView
from .controls import RunPanel
from .dialogs import MessageBar
from .suggestion import SuggestionRunner, suggestions_action
from .theme import app_icon, set_icon
from .trajectory import TrajectoryBar


class WindowLayout:
    """Part of :class:`~irsde_gui.app.ui.main_window.MainWindow` (a mixin: it reads and writes the
    window's widgets and session)."""

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
        self.panel.strength_changed.connect(self._strength_changed)
        # A known blur turns a deblur network's steps into rounds: no seed to roll, no spread map.
        self.panel.settings_changed.connect(self._sync_actions)
        self.panel.load_mask_requested.connect(self.load_mask)
        self.panel.kernel_file_requested.connect(self.load_kernel)
        self.panel.blur_save_requested.connect(self.save_blur)
        self.panel.other_blur_requested.connect(self.try_other_blur)
        self.suggester = SuggestionRunner(self)  # measures each opened photo on its own thread
        self.suggester.ready.connect(self.panel.suggestion_label.show_suggestion)
        self.panel_scroll = scroll = QScrollArea()
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
        self.batch = BatchPanel(self._batch_request, self.cache, queue=self.session.batch)
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
