"""The trajectory scrubber: a timeline under the canvas through every stored step of the run.

Frames come from the run's :class:`~irsde_gui.core.trajectory.Trajectory`
(stored downsampled; see :func:`irsde_gui.app.worker.frame_side` for the memory
bound). During a run the scrubber follows the newest step until the user
grabs it; afterwards it steps through ``T -> 0`` with the arrow keys. A
two-way toggle chooses what frames show: the noisy state ``x_t`` or the clean
estimate ``x0_hat``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QWidget,
)

from ...core.trajectory import Frame, Trajectory
from .theme import icon


def qimage_from_rgb(rgb: np.ndarray) -> QImage:
    """uint8 HxWx3 RGB -> a QImage that owns its pixels (a copy, safe after ``rgb`` is gone)."""
    a = np.ascontiguousarray(rgb)
    h, w = a.shape[:2]
    return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGB888).copy()


class TrajectoryBar(QWidget):
    """Slider over the stored frames, with the step, ``t`` and an ``x_t`` / ``x0_hat`` toggle.

    ``frame_chosen(int)`` gives the 0-based index of the frame to show,
    ``kind_changed(str)`` gives ``state`` or ``estimate``.
    """

    frame_chosen = Signal(int)
    kind_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.trajectory: Trajectory | None = None
        self.total = 0
        self.unit = "step"  # "round" for blind deblurring, whose frames are deconvolution rounds
        self.follow = True  # track the newest frame while a run streams
        self._kind = "state"
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.setSpacing(8)

        self.state_button = self._toggle("x_t", "Show the noisy state x_t at each step (X toggles)")
        self.estimate_button = self._toggle(
            "x0_hat", "Show the clean estimate x0_hat at each step (X toggles)"
        )
        group = QButtonGroup(self)
        group.setExclusive(True)
        group.addButton(self.state_button)
        group.addButton(self.estimate_button)
        self.state_button.setChecked(True)
        self.state_button.setProperty("segment", "left")
        self.estimate_button.setProperty("segment", "right")
        self.state_button.toggled.connect(lambda on: on and self.set_kind("state"))
        self.estimate_button.toggled.connect(lambda on: on and self.set_kind("estimate"))
        seg = QHBoxLayout()
        seg.setSpacing(0)
        seg.addWidget(self.state_button)
        seg.addWidget(self.estimate_button)
        lay.addLayout(seg)

        self.play_button = QToolButton()
        self.play_button.setIcon(icon("mdi6.play"))
        self.play_button.setToolTip("Play the trajectory")
        self.play_button.setAutoRaise(True)
        self.play_button.setIconSize(QSize(18, 18))
        self.play_button.clicked.connect(self.toggle_play)
        lay.addWidget(self.play_button)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(5)
        self.slider.setToolTip("Step through the trajectory (← / →, Home / End)")
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.slider.valueChanged.connect(self._moved)
        self.slider.sliderPressed.connect(self._grabbed)
        lay.addWidget(self.slider, 1)

        self.label = QLabel("No trajectory yet")
        self.label.setMinimumWidth(190)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        lay.addWidget(self.label)
        self._timer = QTimer(self)
        self._timer.setInterval(120)
        self._timer.timeout.connect(self._advance)
        self._sync_enabled()

    def _toggle(self, text: str, tip: str) -> QToolButton:
        b = QToolButton()
        b.setText(text)
        b.setToolTip(tip)
        b.setCheckable(True)
        b.setMinimumWidth(56)
        return b

    # -- model
    def set_trajectory(self, trajectory: Trajectory | None, total: int = 0, unit: str = "step") -> None:
        self.stop_playing()
        self.trajectory = trajectory
        self.total = total
        self.unit = unit
        self.follow = True
        self.refresh()

    def refresh(self) -> None:
        """Take in frames added since the last call (the run appends from its thread)."""
        n = len(self.trajectory) if self.trajectory is not None else 0
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, max(n, self.total) - 1))
        if self.follow and n:
            self.slider.setValue(n - 1)
        elif self.slider.value() > n - 1:
            self.slider.setValue(max(0, n - 1))
        self.slider.blockSignals(False)
        self._update_label()
        self._sync_enabled()

    def _sync_enabled(self) -> None:
        n = len(self.trajectory) if self.trajectory is not None else 0
        self.slider.setEnabled(n > 0)
        self.play_button.setEnabled(n > 1)

    @property
    def kind(self) -> str:
        return self._kind

    def set_kind(self, kind: str) -> None:
        if kind not in ("state", "estimate"):
            return
        changed = kind != self._kind
        self._kind = kind
        (self.state_button if kind == "state" else self.estimate_button).setChecked(True)
        if changed:
            self.kind_changed.emit(kind)

    def toggle_kind(self) -> None:
        self.set_kind("estimate" if self._kind == "state" else "state")

    @property
    def index(self) -> int:
        return self.slider.value()

    def current_frame(self) -> Frame | None:
        if self.trajectory is None or not len(self.trajectory):
            return None
        return self.trajectory.frames[min(self.slider.value(), len(self.trajectory) - 1)]

    def is_last(self) -> bool:
        return self.trajectory is not None and self.slider.value() >= len(self.trajectory) - 1

    def choose(self, index: int) -> None:
        """Show the frame at ``index`` (0-based, clamped)."""
        n = len(self.trajectory) if self.trajectory is not None else 0
        if not n:
            return
        index = max(0, min(n - 1, index))
        self.follow = index == n - 1
        if self.slider.value() == index:
            self._moved(index)
        else:
            self.slider.setValue(index)

    def step(self, delta: int) -> None:
        self.choose(self.slider.value() + delta)

    def first(self) -> None:
        self.choose(0)

    def last(self) -> None:
        self.choose(10**9)

    # -- playback
    def toggle_play(self) -> None:
        if self._timer.isActive():
            self.stop_playing()
        elif self.trajectory is not None and len(self.trajectory) > 1:
            if self.is_last():
                self.choose(0)
            self._timer.start()
            self.play_button.setIcon(icon("mdi6.pause"))
            self.play_button.setToolTip("Pause")

    def stop_playing(self) -> None:
        self._timer.stop()
        self.play_button.setIcon(icon("mdi6.play"))
        self.play_button.setToolTip("Play the trajectory")

    def _advance(self) -> None:
        if self.is_last():
            self.stop_playing()
        else:
            self.step(1)

    # -- slots
    def _grabbed(self) -> None:
        self.follow = False

    def _moved(self, value: int) -> None:
        n = len(self.trajectory) if self.trajectory is not None else 0
        if n and value > n - 1:  # not computed yet: stay on the newest step
            self.slider.setValue(n - 1)
            return
        self.follow = n > 0 and value >= n - 1
        self._update_label()
        self.frame_chosen.emit(value)

    def _update_label(self) -> None:
        f = self.current_frame()
        if f is None:
            self.label.setText("No trajectory yet")
            return
        total = self.total or len(self.trajectory)
        if self.unit == "step":
            self.label.setText(f"step {f.index} / {total}   ·   t = {f.t}")
        else:
            self.label.setText(f"{self.unit} {f.index} / {total}")

    def image_for(self, frame: Frame) -> QImage:
        return qimage_from_rgb(frame.state if self._kind == "state" else frame.estimate)
