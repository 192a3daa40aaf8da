"""The batch queue: several photos or a folder, restored one after another into an output folder.

Each file is read, restored and written by the worker thread (the same
:class:`~irsde_gui.app.worker.RestoreRun` as a single photo, with ``source`` and
``output`` set), with the settings of the side panel at the time the file
starts. What the queue holds and decides lives in the Qt-free
:class:`~irsde_gui.app.batch_queue.BatchQueue`: a result is never written over an input of the
queue, nor over another result (``photo.png``, ``photo-2.png``). This panel draws it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.runs import OutputRefused, format_duration
from ..batch_queue import EMPTY, BatchItem, BatchQueue
from ..worker import RestorerCache, RestoreRun, RunRequest
from .theme import icon

STATUS_ICONS = {
    "queued": ("mdi6.timer-sand", None),
    "running": ("mdi6.progress-clock", "#4f8cff"),
    "done": ("mdi6.check-circle", "#2f9e44"),
    "failed": ("mdi6.alert-circle", "#e03131"),
    "cancelled": ("mdi6.cancel", "#868e96"),
}


def progress_text(p) -> str:
    """A row's status while its photo is restored: the step, or the stage before the steps
    (developing a camera RAW, estimating the blur)."""
    return p.stage if p.stage else f"Step {p.index}/{p.total}"


class BatchPanel(QWidget):
    """Queue of files with per-file status, an output folder, Start and Cancel."""

    running_changed = Signal(bool)
    item_finished = Signal(object)  # BatchItem
    choose_output = Signal()
    add_files_requested = Signal()
    add_folder_requested = Signal()
    queue_finished = Signal(int, int)  # done, failed

    def __init__(
        self,
        make_request: Callable[[Path], RunRequest | str],
        cache: RestorerCache,
        parent: QWidget | None = None,
        queue: BatchQueue | None = None,
    ):
        super().__init__(parent)
        self.make_request = make_request
        self.cache = cache
        self.queue = queue if queue is not None else BatchQueue()
        self.run: RestoreRun | None = None
        self._blocked = False  # a single photo is being restored

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        lay.addLayout(self._build_top_row())
        lay.addWidget(self._build_tree(), 1)
        lay.addLayout(self._build_run_row())
        self._sync()

    def _build_top_row(self) -> QHBoxLayout:
        """Add photos, add a folder, clear, and the folder the results go to."""
        top = QHBoxLayout()
        self.add_files_button = self._button("mdi6.image-plus", "Add photos…")
        self.add_files_button.clicked.connect(self.add_files_requested)
        self.add_folder_button = self._button("mdi6.folder-multiple-image", "Add a folder…")
        self.add_folder_button.clicked.connect(self.add_folder_requested)
        self.clear_button = self._button("mdi6.delete-sweep", "Remove finished and queued files")
        self.clear_button.clicked.connect(self.clear)
        top.addWidget(self.add_files_button)
        top.addWidget(self.add_folder_button)
        top.addWidget(self.clear_button)
        top.addSpacing(12)
        top.addWidget(QLabel("Save to"))
        self.output_label = QLabel("(choose a folder)")
        self.output_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.output_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top.addWidget(self.output_label, 1)
        self.output_button = QPushButton("Choose…")
        self.output_button.clicked.connect(self.choose_output)
        top.addWidget(self.output_button)
        return top

    def _build_tree(self) -> QTreeWidget:
        """The queue: one row per photo, with its status and time."""
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Photo", "Status", "Time"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        return self.tree

    def _build_run_row(self) -> QHBoxLayout:
        """The queue's summary line, Start and Cancel all."""
        run_row = QHBoxLayout()
        self.summary = QLabel(EMPTY)
        self.summary.setProperty("hint", True)
        self.summary.setWordWrap(True)
        run_row.addWidget(self.summary, 1)
        self.start_button = QPushButton(icon("mdi6.play"), "Start")
        self.start_button.setToolTip("Restore every queued photo with the current settings")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton(icon("mdi6.stop"), "Cancel all")
        self.cancel_button.setToolTip("Stop the current photo and leave the rest queued")
        self.cancel_button.clicked.connect(self.cancel)
        run_row.addWidget(self.start_button)
        run_row.addWidget(self.cancel_button)
        return run_row

    def _button(self, name: str, tip: str) -> QToolButton:
        b = QToolButton()
        b.setIcon(icon(name))
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.setIconSize(QSize(20, 20))
        return b

    # -- queue
    @property
    def items(self) -> list[BatchItem]:
        return self.queue.items

    @property
    def output_folder(self) -> Path | None:
        return self.queue.output_folder

    def set_output_folder(self, folder: str | Path | None) -> None:
        self.queue.set_output_folder(folder)
        self.output_label.setText(str(self.output_folder) if self.output_folder else "(choose a folder)")
        self.output_label.setToolTip(str(self.output_folder or ""))
        self._sync()

    def add_paths(self, paths: list[Path]) -> int:
        added = self.queue.add(paths)
        for item in added:
            self._add_row(item)
        self._sync()
        return len(added)

    def clear(self) -> None:
        self.queue.clear()
        self.tree.clear()
        for i in self.items:
            self._add_row(i)
        self._sync()

    def _add_row(self, item: BatchItem) -> None:
        row = QTreeWidgetItem([item.source.name, item.message, ""])
        row.setToolTip(0, str(item.source))
        row.setData(0, Qt.ItemDataRole.UserRole, str(item.source))
        self.tree.addTopLevelItem(row)
        self._paint_row(item)

    def _row(self, item: BatchItem) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            r = self.tree.topLevelItem(i)
            if r.data(0, Qt.ItemDataRole.UserRole) == str(item.source):
                return r
        return None

    def _paint_row(self, item: BatchItem) -> None:
        r = self._row(item)
        if r is None:
            return
        name, colour = STATUS_ICONS[item.status]
        r.setIcon(1, icon(name, color=colour) if colour else icon(name))
        r.setText(1, item.message)
        r.setToolTip(1, item.message if item.output is None else f"{item.message}\n{item.output}")
        r.setText(2, format_duration(item.seconds) if item.seconds else "")

    # -- running
    @property
    def is_running(self) -> bool:
        return self.run is not None

    def set_blocked(self, blocked: bool) -> None:
        """While the main window restores a photo, the queue waits (one run at a time)."""
        self._blocked = blocked
        self._sync()

    def start(self) -> None:
        if self._blocked:
            return
        if self.is_running or self.output_folder is None:
            if self.output_folder is None:
                self.choose_output.emit()
            return
        for i in self.queue.start():
            self._paint_row(i)
        self.running_changed.emit(True)
        self._next()

    def cancel(self) -> None:
        self.queue.cancelled = True
        if self.run is not None:
            self.run.cancel()

    def wait(self, msecs: int = 30_000) -> bool:
        return self.run.wait(msecs) if self.run is not None else True

    def _next(self) -> None:
        item = self.queue.next_item()
        if item is None:
            self._finish_queue()
            return
        request = self.make_request(item.source)
        if isinstance(request, str):
            self._set(item, "failed", request)
            self._next()
            return
        try:
            request.output = self.queue.claim_output(item, request.task, request.write_report)
        except OutputRefused as exc:
            self._set(item, "failed", str(exc))
            self._next()
            return
        self.queue.began(item)
        self._paint_row(item)
        run = RestoreRun(request, cache=self.cache, parent=self)
        run.progress.connect(lambda p, it=item: self._set(it, "running", progress_text(p)))
        run.finished.connect(lambda o, it=item: self._done(it, o))
        run.cancelled.connect(lambda o, it=item: self._set(it, "cancelled", "Cancelled"))
        run.failed.connect(lambda f, it=item: self._set(it, "failed", f.message))
        run.stopped.connect(self._run_stopped)
        self.run = run
        self._sync()
        run.start()

    def _done(self, item: BatchItem, outcome) -> None:
        text = f"Saved {outcome.output.name}" if outcome.output else "Done"
        self._set(item, "done", text, outcome.output)

    def _set(self, item: BatchItem, status: str, message: str, output: Path | None = None) -> None:
        ended = self.queue.set(item, status, message, output)
        self._paint_row(item)
        if ended:
            self.item_finished.emit(item)
        self._sync()

    def _run_stopped(self) -> None:
        run, self.run = self.run, None
        if run is not None:
            run.deleteLater()
        self.queue.ended()
        self._next()

    def _finish_queue(self) -> None:
        self.running_changed.emit(False)
        self._sync()
        self.queue_finished.emit(self.queue.count("done"), self.queue.count("failed"))

    def _sync(self) -> None:
        running = self.is_running
        self.start_button.setEnabled(not running and self.queue.count("queued") > 0 and not self._blocked)
        self.cancel_button.setEnabled(running)
        self.clear_button.setEnabled(not running and bool(self.items))
        self.summary.setText(self.queue.summary())
