"""The panel's suggestion: one clickable line saying what an opened photo looks like it needs.

- :class:`SuggestionLabel` shows a :class:`~irsde_gui.core.suggest.Suggestion` as a link,
  e.g. "Looks noisy (σ ≈ 9) — Denoise suggested"; clicking it (or Enter on it) emits
  ``task_chosen(task)``, which only selects the task: nothing runs until Restore. It hides
  itself when there is nothing to suggest or the preference is off.
- :class:`SuggestionRunner` measures a photo on a thread of its own (never on the GUI thread;
  about 0.1 s for 12 MP) and emits ``ready(suggestion)`` on the GUI thread for the photo given
  last; an older photo's answer is dropped.
- :func:`suggestions_action`: the checkable "Suggest What to Fix" preference for a menu.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from ...core.suggest import Suggestion, suggest
from .settings import Settings

log = logging.getLogger(__name__)


class SuggestionLabel(QLabel):
    """A one-line link with the suggested task; ``task_chosen(name)`` when it is clicked."""

    task_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None, enabled: bool = True):
        super().__init__(parent)
        self.suggestion: Suggestion | None = None
        self._enabled = enabled
        self._shown: str | None = None
        self.setObjectName("suggestion")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse | Qt.TextInteractionFlag.LinksAccessibleByKeyboard
        )
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # never widens the panel
        self.linkActivated.connect(self._activated)
        self.hide()

    @property
    def task(self) -> str | None:
        """The task the line suggests now (None: the line is hidden)."""
        return self._shown

    def set_enabled_by_preference(self, enabled: bool) -> None:
        """Turn suggestions on or off (the preference); off hides the line at once."""
        self._enabled = bool(enabled)
        self._refresh()

    def show_suggestion(self, suggestion: Suggestion | None) -> None:
        """Show what a photo needs; None or a suggestion without a task hides the line."""
        self.suggestion = suggestion
        self._refresh()

    def clear(self) -> None:  # a new photo is being opened, or it was closed
        self.show_suggestion(None)

    def _refresh(self) -> None:
        s = self.suggestion
        if not self._enabled or s is None or s.task is None:
            self.setText("")
            self.setToolTip("")
            self._shown = None
            self.hide()
            return
        self.setText(f'<a href="{html.escape(s.task)}">{html.escape(s.text)}</a>')
        self.setToolTip(
            f"Measured on this photo: {s.summary()}.\n"
            "Click to select the task; nothing runs until you press Restore."
        )
        self.setAccessibleName(f"Suggestion: {s.text}")
        self._shown = s.task
        self.show()

    def _activated(self, link: str) -> None:
        if link == self._shown:
            self.task_chosen.emit(link)


class _Estimate(QObject):
    """Measures one photo on the runner's thread."""

    finished = Signal(int, object)  # generation, Suggestion or None

    def __init__(self, generation: int, rgb: np.ndarray, measure: Callable[[np.ndarray], Suggestion]):
        super().__init__()
        self.generation = generation
        self.rgb = rgb
        self.measure = measure

    @Slot()
    def run(self) -> None:
        try:
            result = self.measure(self.rgb)
        except Exception:  # a suggestion is a nicety: never an error dialog for it
            log.exception("measuring the photo for a suggestion failed")
            result = None
        self.rgb = None
        self.finished.emit(self.generation, result)


class SuggestionRunner(QObject):
    """Measures photos off the GUI thread; ``ready(suggestion)`` (or None on failure) for the
    photo given last. ``measure`` is :func:`~irsde_gui.core.suggest.suggest` (tests slow it)."""

    ready = Signal(object)

    def __init__(self, parent: QObject | None = None, measure: Callable[[np.ndarray], Suggestion] = suggest):
        super().__init__(parent)
        self.measure = measure
        self.generation = 0
        self._running: list[tuple[QThread, _Estimate]] = []

    def estimate(self, rgb: np.ndarray) -> None:
        """Measure ``rgb`` (H×W×3 in [0, 1], not changed while it is measured) on a new thread."""
        self.generation += 1
        thread = QThread()
        thread.setObjectName("suggest")
        job = _Estimate(self.generation, rgb, self.measure)
        job.moveToThread(thread)
        thread.started.connect(job.run)
        job.finished.connect(self._finished)  # queued: arrives on the GUI thread
        job.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._reap)  # queued: on the GUI thread, after the thread ended
        self._running.append((thread, job))
        thread.start()

    def cancel(self) -> None:
        """Drop any answer still to come (the photo was closed or replaced by a paste, say)."""
        self.generation += 1

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def wait(self, msecs: int = 10_000) -> bool:
        """Block until every measurement's thread has ended (closing the window); False on timeout."""
        ended = all(thread.wait(msecs) for thread, _job in list(self._running))
        self._reap()
        return ended

    @Slot(int, object)
    def _finished(self, generation: int, result: Suggestion | None) -> None:
        if generation == self.generation:
            self.ready.emit(result)

    @Slot()
    def _reap(self) -> None:
        for thread, job in list(self._running):
            if thread.isFinished():
                self._running.remove((thread, job))
                job.deleteLater()
                thread.deleteLater()


def suggestions_action(settings: Settings, label: SuggestionLabel, parent: QObject) -> QAction:
    """The preference as a checkable menu item: on, an opened photo gets its suggestion line."""
    action = QAction("Suggest What to Fix", parent)
    action.setCheckable(True)
    action.setChecked(settings.suggest_tasks)
    action.setStatusTip("When a photo opens, say in one line which task looks like it would help")
    label.set_enabled_by_preference(settings.suggest_tasks)

    def toggled(on: bool) -> None:
        settings.suggest_tasks = on
        label.set_enabled_by_preference(on)

    action.toggled.connect(toggled)
    return action
