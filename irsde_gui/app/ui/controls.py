"""The side panel: task selector, inpainting mask tools, steps, sampler, seed, device, Restore / Stop."""

from __future__ import annotations

import secrets

import numpy as np
from PySide6.QtCore import QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSpinBox,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.blind import blur_from_spec, describe_blur_extent
from .mask_editor import MaskEditor, MaskToolBar
from .suggestion import SuggestionLabel
from .theme import icon
from .trajectory import qimage_from_rgb

BLUR_VIEW_PX = 72  # the estimated blur, drawn this big in the panel
# A known blur by its shape (irsde_gui.core.blind.BLUR_SHAPES, imported only when one is
# chosen): menu text, what its size is called, the size's default, largest value (within
# blind's MAX_BLUR_PX limits) and tooltip.
BLUR_SHAPE_CHOICES = {
    "motion": ("Motion blur (length, angle)", "Length", 15.0, 121.0, "How far the camera moved, in pixels"),
    "defocus": ("Lens blur (radius)", "Radius", 3.0, 60.0, "The radius of the out-of-focus disk, in pixels"),
    "gaussian": ("Soft blur (Gaussian)", "Sigma", 1.5, 20.0, "The width of the soft blur, in pixels"),
}

SAMPLER_CHOICES = [
    ("posterior", "Posterior (recommended)", "Exact Gaussian posterior jumps: the best quality per step"),
    ("sde", "Reverse SDE", "Euler–Maruyama steps of the reverse-time SDE (stochastic)"),
    ("ode", "Probability-flow ODE", "Deterministic steps of the probability-flow ODE"),
]
DEVICE_CHOICES = [("auto", "Auto"), ("cuda", "CUDA GPU"), ("mps", "Apple GPU (MPS)"), ("cpu", "CPU")]
DESCRIPTION_ROLE = Qt.ItemDataRole.UserRole + 1
NAME_ROLE = Qt.ItemDataRole.UserRole + 2
SEED_MAX = 2**31 - 1


class TaskDelegate(QStyledItemDelegate):
    """Two lines per task: the label in bold and the one-line description below."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        fm = option.fontMetrics
        return QSize(200, fm.height() * 2 + 14)

    def paint(self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        style = opt.widget.style() if opt.widget else None
        enabled = bool(opt.state & QStyle.StateFlag.State_Enabled)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = opt.rect.adjusted(2, 2, -2, -2)
        pal = opt.palette
        hovered = bool(opt.state & QStyle.StateFlag.State_MouseOver)
        self._paint_background(p, r, pal, enabled, selected, hovered)
        installed = bool(index.flags() & Qt.ItemFlag.ItemIsEnabled)
        ic = index.data(Qt.ItemDataRole.DecorationRole)
        if ic is not None:
            mode = ic.Mode.Normal if enabled else ic.Mode.Disabled
            ic.paint(p, QRect(r.left() + 8, r.center().y() - 12, 24, 24), Qt.AlignmentFlag.AlignCenter, mode)
        text_rect = r.adjusted(42, 5, -6, -5)
        f = QFont(opt.font)
        f.setWeight(QFont.Weight.DemiBold)
        p.setFont(f)
        group = QPalette.ColorGroup.Normal if enabled else QPalette.ColorGroup.Disabled
        p.setPen(pal.color(group, QPalette.ColorRole.Text))
        fm = p.fontMetrics()
        p.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, index.data())
        if not installed:
            self._paint_tag(p, "not installed", text_rect, opt.font, pal)
        f2 = QFont(opt.font)
        f2.setPointSizeF(f2.pointSizeF() * 0.9)
        p.setFont(f2)
        sub = pal.color(group, QPalette.ColorRole.PlaceholderText)
        p.setPen(sub)
        desc = index.data(DESCRIPTION_ROLE) or ""
        desc = p.fontMetrics().elidedText(desc, Qt.TextElideMode.ElideRight, text_rect.width())
        p.drawText(
            text_rect.adjusted(0, fm.height() + 2, 0, 0),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
            desc,
        )
        p.restore()
        del style

    @staticmethod
    def _paint_background(
        p: QPainter, r: QRect, pal: QPalette, enabled: bool, selected: bool, hovered: bool
    ) -> None:
        """A rounded highlight behind the selected task, fainter behind the one under the mouse."""
        if selected:
            c = pal.color(QPalette.ColorRole.Highlight)
            c.setAlpha(70 if enabled else 30)
            p.setBrush(c)
            p.setPen(pal.color(QPalette.ColorRole.Highlight))
            p.drawRoundedRect(r, 6, 6)
        elif hovered and enabled:
            c = pal.color(QPalette.ColorRole.Highlight)
            c.setAlpha(25)
            p.setBrush(c)
            p.setPen(Qt.PenStyle.NoPen)
            p.drawRoundedRect(r, 6, 6)

    @staticmethod
    def _paint_tag(p: QPainter, tag: str, text_rect: QRect, font: QFont, pal: QPalette) -> None:
        """A small outlined tag at the top right of the text, e.g. "not installed"."""
        f3 = QFont(font)
        f3.setPointSizeF(f3.pointSizeF() * 0.8)
        p.setFont(f3)
        tw = p.fontMetrics().horizontalAdvance(tag) + 12
        tag_rect = QRect(text_rect.right() - tw, text_rect.top(), tw, p.fontMetrics().height() + 2)
        p.setPen(pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(tag_rect, 4, 4)
        p.drawText(tag_rect, Qt.AlignmentFlag.AlignCenter, tag)


class RunPanel(QWidget):
    """Everything that decides a run, plus the Restore and Stop buttons."""

    task_changed = Signal(str)
    restore_clicked = Signal()
    stop_clicked = Signal()
    settings_changed = Signal()
    strength_changed = Signal(float)  # the share of the restoration kept, 0-1
    load_mask_requested = Signal()
    kernel_file_requested = Signal()  # "Known blur from a file…" was chosen
    blur_save_requested = Signal()  # "Save blur…" beside the blur shown
    other_blur_requested = Signal()  # "Try the other blur" beside the blur shown

    def __init__(self, mask_editor: MaskEditor, parent: QWidget | None = None):
        super().__init__(parent)
        self.engine = None
        self._steps_by_task: dict[str, int] = {}
        self._flips_by_task: dict[str, bool] = {}
        self._known_kernel: np.ndarray | None = None
        self._known_kernel_source: str | None = None
        self._blur_source_index = 0
        self._blur_sizes = {key: choice[2] for key, choice in BLUR_SHAPE_CHOICES.items()}
        self._shape_cache: tuple[str, np.ndarray] | None = None  # (its --blur spec, the kernel)
        self._shown_blur: np.ndarray | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 10, 10, 10)
        outer.setSpacing(10)
        outer.addWidget(self._build_task_box())
        outer.addWidget(self._build_mask_box(mask_editor))
        outer.addWidget(self._build_run_box())
        self._build_action_bar()
        outer.addStretch(1)
        self._set_device_choices({})

    def _build_task_box(self) -> QGroupBox:
        """The suggestion line, the list of tasks and the engine's loading note."""
        task_box = QGroupBox("Task")
        tl = QVBoxLayout(task_box)
        # What an opened photo looks like it needs; a click selects that task, nothing runs.
        self.suggestion_label = SuggestionLabel()
        self.suggestion_label.task_chosen.connect(self.select_task)
        tl.addWidget(self.suggestion_label)
        self.task_list = QListWidget()
        self.task_list.setItemDelegate(TaskDelegate(self.task_list))
        self.task_list.setMouseTracking(True)
        self.task_list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.task_list.setFrameShape(QListWidget.Shape.NoFrame)
        self.task_list.currentItemChanged.connect(self._task_item_changed)
        self.task_list.setAccessibleName("Task")
        tl.addWidget(self.task_list)
        self.loading_label = QLabel("Loading the restoration engine…")
        self.loading_label.setProperty("hint", True)
        tl.addWidget(self.loading_label)
        return task_box

    def _build_mask_box(self, mask_editor: MaskEditor) -> QGroupBox:
        """Inpainting's mask tools, shown only for that task."""
        self.mask_box = QGroupBox("Area to fill")
        ml = QVBoxLayout(self.mask_box)
        self.mask_tools = MaskToolBar(mask_editor)
        self.mask_tools.load_requested.connect(self.load_mask_requested)
        ml.addWidget(self.mask_tools)
        self.mask_box.hide()
        return self.mask_box

    def _build_run_box(self) -> QGroupBox:
        """Steps, sampler, seed, device and, for deblurring, the blur rows."""
        self.run_box = run_box = QGroupBox("Sampling")  # "Deconvolution" for blind deblurring
        self._form = form = QFormLayout(run_box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._add_steps_row(form)
        self.sampler_combo = QComboBox()
        for key, label, tip in SAMPLER_CHOICES:
            self.sampler_combo.addItem(label, key)
            self.sampler_combo.setItemData(self.sampler_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.sampler_combo.currentIndexChanged.connect(lambda _i: self.settings_changed.emit())
        form.addRow("Sampler", self.sampler_combo)
        self._sampler_row = form.rowCount() - 1
        self._add_seed_row(form)
        self.flip_check = QCheckBox("Average with an upside-down copy")
        self.flip_check.setToolTip(
            "Run each step on the photo and on it turned upside down, and average the two: a little "
            "cleaner (about 0.1 dB on heavy noise), for twice the model's work"
        )
        self.flip_check.toggled.connect(self._flips_toggled)
        form.addRow("Averaging", self.flip_check)
        self._flip_row = form.rowCount() - 1
        self._add_strength_row(form)
        self.device_combo = QComboBox()
        for key, label in DEVICE_CHOICES:
            self.device_combo.addItem(label, key)
        self.device_combo.currentIndexChanged.connect(lambda _i: self.settings_changed.emit())
        form.addRow("Device", self.device_combo)
        self._add_blur_source_row(form)
        self._add_blur_shape_row(form)
        self._add_blur_view_row(form)
        form.setRowVisible(self._blur_row, False)
        form.setRowVisible(self._blur_source_row, False)
        form.setRowVisible(self._blur_shape_row, False)
        return run_box

    def _add_steps_row(self, form: QFormLayout) -> None:
        steps_row = QHBoxLayout()
        self.steps_slider = QSlider(Qt.Orientation.Horizontal)
        self.steps_spin = QSpinBox()
        for w in (self.steps_slider, self.steps_spin):
            w.setRange(1, 100)
        self.steps_spin.setToolTip("Network calls from noise to the result: more is slower and finer")
        self.steps_slider.setToolTip(self.steps_spin.toolTip())
        self.steps_slider.valueChanged.connect(self.steps_spin.setValue)
        self.steps_spin.valueChanged.connect(self._steps_changed)
        steps_row.addWidget(self.steps_slider, 1)
        steps_row.addWidget(self.steps_spin)
        self.steps_label = QLabel("Steps")  # "Rounds" for blind deblurring, as its progress says
        form.addRow(self.steps_label, steps_row)

    def _add_strength_row(self, form: QFormLayout) -> None:
        """How much of the restoration the result keeps: applied to the result at once, and to
        the next ones; not for inpainting (under a hole is the object to remove)."""
        row = QHBoxLayout()
        self.strength_slider = QSlider(Qt.Orientation.Horizontal)
        self.strength_spin = QSpinBox()
        self.strength_spin.setSuffix(" %")
        for w in (self.strength_slider, self.strength_spin):
            w.setRange(0, 100)
            w.setValue(100)
        self.strength_spin.setToolTip(
            "How much of the restoration to keep: lower blends the photo back in, for some of its "
            "grain and texture. Applied to the result at once; saved as shown"
        )
        self.strength_slider.setToolTip(self.strength_spin.toolTip())
        self.strength_slider.valueChanged.connect(self.strength_spin.setValue)
        self.strength_spin.valueChanged.connect(self._strength_changed)
        row.addWidget(self.strength_slider, 1)
        row.addWidget(self.strength_spin)
        form.addRow("Strength", row)
        self._strength_row = form.rowCount() - 1

    def _strength_changed(self, value: int) -> None:
        if self.strength_slider.value() != value:
            self.strength_slider.blockSignals(True)
            self.strength_slider.setValue(value)
            self.strength_slider.blockSignals(False)
        self.strength_changed.emit(value / 100)

    @property
    def strength(self) -> float:
        return self.strength_spin.value() / 100

    def _add_seed_row(self, form: QFormLayout) -> None:
        seed_row = QHBoxLayout()
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, SEED_MAX)
        self.seed_spin.setToolTip("The same seed, settings and photo give the same result")
        self.seed_spin.valueChanged.connect(lambda _v: self.settings_changed.emit())
        self.dice_button = QToolButton()
        self.dice_button.setIcon(icon("mdi6.dice-5"))
        self.dice_button.setToolTip("A new random seed (D)")
        self.dice_button.setAutoRaise(True)
        self.dice_button.clicked.connect(self.roll_seed)
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.dice_button)
        form.addRow("Seed", seed_row)
        self._seed_row = form.rowCount() - 1

    def _add_blur_source_row(self, form: QFormLayout) -> None:
        """Deblurring: estimate the blur (or leave it to a deblur model), or take a known one, by
        its shape or from a file."""
        self.blur_source = QComboBox()
        self.blur_source.addItem("Estimate from the photo", "estimate")
        for key, (text, *_rest) in BLUR_SHAPE_CHOICES.items():
            self.blur_source.addItem(text, key)
        self.blur_source.addItem("Known blur from a file…", "load")
        self.blur_source.activated.connect(self._blur_source_chosen)
        form.addRow("Blur", self.blur_source)
        self._blur_source_row = form.rowCount() - 1

    def _add_blur_shape_row(self, form: QFormLayout) -> None:
        """A blur known by its shape: its size (length, radius or sigma) and, for motion, angle."""
        self.blur_size = QDoubleSpinBox()
        self.blur_size.setDecimals(1)
        self.blur_size.setSingleStep(0.5)
        self.blur_size.setSuffix(" px")
        self.blur_angle = QSpinBox()
        self.blur_angle.setRange(0, 179)
        self.blur_angle.setWrapping(True)
        self.blur_angle.setSuffix("°")
        self.blur_angle.setToolTip("The direction the camera moved, counter-clockwise from the horizontal")
        self.blur_size.valueChanged.connect(self._blur_shape_changed)
        self.blur_angle.valueChanged.connect(self._blur_shape_changed)
        shape_row = QHBoxLayout()
        shape_row.addWidget(self.blur_size, 1)
        shape_row.addWidget(self.blur_angle, 1)
        self.blur_size_label = QLabel("Length")
        form.addRow(self.blur_size_label, shape_row)
        self._blur_shape_row = form.rowCount() - 1

    def _add_blur_view_row(self, form: QFormLayout) -> None:
        """The blur found in the photo (or given), drawn as the path the camera moved along, and
        a button to save it: saved, a blur deblurs other photos of the same shake."""
        self.blur_view = QLabel()
        self.blur_view.setFixedSize(BLUR_VIEW_PX, BLUR_VIEW_PX)
        self.blur_view.setStyleSheet("background: black; border-radius: 4px;")
        self.save_blur_button = QToolButton()
        self.save_blur_button.setIcon(icon("mdi6.content-save-outline"))
        self.save_blur_button.setText("Save blur…")
        self.save_blur_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.save_blur_button.setToolTip(
            "Save this blur (PNG, TIFF, NumPy or CSV) to deblur other photos of the same shake with it: "
            "Blur ▸ Known blur from a file…"
        )
        self.save_blur_button.clicked.connect(self.blur_save_requested)
        # Where the estimate tried both of its starts and kept one by a close measure, the other
        # is offered: the eye tells a blur that fits from one that rings (docs/deblurring.md).
        self.other_blur_button = QToolButton()
        self.other_blur_button.setIcon(icon("mdi6.swap-horizontal"))
        self.other_blur_button.setText("Try the other blur")
        self.other_blur_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.other_blur_button.clicked.connect(self.other_blur_requested)
        self.other_blur_button.hide()
        buttons = QVBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.other_blur_button)
        buttons.addWidget(self.save_blur_button)
        blur_box = QHBoxLayout()
        blur_box.addWidget(self.blur_view)
        blur_box.addLayout(buttons)
        blur_box.addStretch(1)
        self.blur_label = QLabel("Blur found")
        form.addRow(self.blur_label, blur_box)
        self._blur_row = form.rowCount() - 1

    def _build_action_bar(self) -> None:
        """Restore and Stop, below the scrolling settings and always in view (see action_bar)."""
        self.restore_button = QPushButton(icon("mdi6.auto-fix", color="#ffffff"), "  Restore")
        self.restore_button.setObjectName("RestoreButton")
        self.restore_button.setToolTip("Restore the photo (Ctrl+R or Enter)")
        self.restore_button.setMinimumHeight(40)
        self.restore_button.clicked.connect(self.restore_clicked)
        self.stop_button = QPushButton(icon("mdi6.stop"), "  Stop")
        self.stop_button.setToolTip("Stop after the current step (Esc)")
        self.stop_button.setMinimumHeight(40)
        self.stop_button.clicked.connect(self.stop_clicked)
        self.stop_button.setEnabled(False)
        self.action_bar = QWidget()
        buttons = QHBoxLayout(self.action_bar)
        buttons.setContentsMargins(10, 8, 10, 10)
        buttons.addWidget(self.restore_button, 2)
        buttons.addWidget(self.stop_button, 1)

    # -- tasks
    def set_engine(self, engine, selected: str, loading: bool = False) -> None:
        """Fill the task list; tasks without weights are disabled. ``loading``: devices still unknown."""
        self.engine = engine
        self.task_list.blockSignals(True)
        self.task_list.clear()
        for info in engine.tasks.values():
            item = QListWidgetItem(icon(info.icon), info.label)
            item.setData(DESCRIPTION_ROLE, info.description)
            item.setData(NAME_ROLE, info.name)
            if info.available:
                tip = f"{info.description}\nWeights: {info.weights}"
                item.setToolTip(tip)
            else:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled & ~Qt.ItemFlag.ItemIsSelectable)
                item.setToolTip(f"{info.description}\n\nUnavailable: {info.problem}")
            self.task_list.addItem(item)
        self.task_list.blockSignals(False)
        rows = self.task_list.count()
        self.task_list.setFixedHeight(sum(self.task_list.sizeHintForRow(i) for i in range(rows)) + 4)
        if not any(i.available for i in engine.tasks.values()):
            self.loading_label.setText(
                "No trained weights are installed. See Help ▸ About for where they go."
            )
        else:
            self.loading_label.setText("Loading PyTorch and looking for GPUs…" if loading else "")
        self.loading_label.setVisible(bool(self.loading_label.text()))
        self._set_device_choices(engine.devices)
        if not self.select_task(selected):
            first = next((i.name for i in engine.tasks.values() if i.available), None)
            if first:
                self.select_task(first)

    def select_task(self, name: str) -> bool:
        for row in range(self.task_list.count()):
            item = self.task_list.item(row)
            if item.data(NAME_ROLE) == name and item.flags() & Qt.ItemFlag.ItemIsEnabled:
                self.task_list.setCurrentItem(item)
                return True
        return False

    @property
    def task(self) -> str | None:
        item = self.task_list.currentItem()
        return item.data(NAME_ROLE) if item is not None else None

    def task_info(self):
        if self.engine is None or self.task is None:
            return None
        return self.engine.tasks.get(self.task)

    def _task_item_changed(self, current: QListWidgetItem | None, _previous) -> None:
        info = self.task_info()
        if info is None:
            return
        self.mask_box.setVisible(info.uses_mask)
        self._form.setRowVisible(self._strength_row, not info.uses_mask)
        self._apply_blur_choice()
        self.task_changed.emit(info.name)

    @property
    def blind(self) -> bool:
        """The run deconvolves in rounds: blind deblurring, or deblurring a known blur. Rounds
        instead of steps, no seed, no sampler."""
        info = self.task_info()
        return bool(info and info.in_rounds(self.known_kernel))

    @staticmethod
    def _steps_advice(info) -> str:
        """What more steps do for this task's model, from its card's step sweep."""
        advice = info.card.steps_advice() if info is not None and info.card is not None else None
        return advice or "Network calls from noise to the result: more is slower and finer"

    def _apply_method(self, info) -> None:
        rounds = self.blind  # deconvolution rounds: no sampler, no seed
        if info is not None and info.offers_known_blur:  # what "estimate" means for this task
            network = info.method != "blind"
            label = "Found by the deblur model" if network else "Estimate from the photo"
            self.blur_source.setItemText(0, label)
            found = "left to the deblur model" if network else "estimated from the photo"
            self.blur_source.setToolTip(
                f"Where the blur comes from: {found}, or a blur kernel you know (an image whose "
                "brightness is the weight, a .npy array or a .txt/.csv grid)"
            )
            self.blur_source.setItemData(
                0,
                "The deblur model removes the blur without being told it"
                if network
                else "The blur is estimated from the photo, then undone",
                Qt.ItemDataRole.ToolTipRole,
            )
        tip = (
            "Rounds of deconvolution: each undoes the blur a little more and cleans up with the denoise model"
            if rounds
            else self._steps_advice(info)
        )
        self.steps_spin.setToolTip(tip)
        self.steps_slider.setToolTip(tip)
        self.steps_label.setText("Rounds" if rounds else "Steps")
        self.run_box.setTitle("Deconvolution" if rounds else "Sampling")
        # Deconvolution gives one result for a photo: no sampler or seed to choose, so their
        # rows go (as the mask tools go for tasks without a mask).
        for w in (self.sampler_combo, self.seed_spin, self.dice_button):
            w.setEnabled(not rounds)
        for row in (self._sampler_row, self._seed_row, self._flip_row):
            self._form.setRowVisible(row, not rounds)
        offered = bool(info and info.offers_known_blur)
        self._form.setRowVisible(self._blur_source_row, offered)
        shape = self.blur_source.currentData() if offered else None
        self._form.setRowVisible(self._blur_shape_row, shape in BLUR_SHAPE_CHOICES)
        if shape in BLUR_SHAPE_CHOICES:
            _text, name, _default, top, tip = BLUR_SHAPE_CHOICES[shape]
            self.blur_size_label.setText(name)
            for w in (self.blur_size, self.blur_angle):
                w.blockSignals(True)
            self.blur_size.setRange(0.0, top)
            self.blur_size.setValue(self._blur_sizes[shape])
            self.blur_size.setToolTip(tip)
            self.blur_angle.setVisible(shape == "motion")
            for w in (self.blur_size, self.blur_angle):
                w.blockSignals(False)

    # -- a known blur (deblurring)
    @property
    def known_kernel(self) -> np.ndarray | None:
        """The blur kernel the user gave, when chosen for deblurring; None: the blur is estimated
        or left to the deblur model (or the task does not deblur)."""
        info = self.task_info()
        choice = self.blur_source.currentData()
        if info is None or not info.offers_known_blur:
            return None
        if choice in BLUR_SHAPE_CHOICES:
            return self._shape_kernel(choice)
        return self._known_kernel if choice == "known" else None

    def _shape_spec(self, shape: str) -> str:
        """The blur shape chosen as ``irsde restore --blur`` takes it (``motion:15:30``)."""
        angle = f":{self.blur_angle.value()}" if shape == "motion" else ""
        return f"{shape}:{self.blur_size.value():g}{angle}"

    def _shape_kernel(self, shape: str) -> np.ndarray:
        """The kernel of the blur shape chosen, at the size (and angle) set; made once."""
        spec = self._shape_spec(shape)
        if self._shape_cache is None or self._shape_cache[0] != spec:
            self._shape_cache = (spec, blur_from_spec(spec).astype(np.float32))
        return self._shape_cache[1]

    def blur_shape_values(self) -> dict[str, float]:
        """Each blur shape's size, and the motion's ``angle``: what the app remembers."""
        return {**self._blur_sizes, "angle": float(self.blur_angle.value())}

    def set_blur_shape_values(self, values: dict[str, float | None]) -> None:
        """Take remembered sizes (missing or out-of-range ones keep their defaults)."""
        for key, (_text, _name, _default, top, _tip) in BLUR_SHAPE_CHOICES.items():
            v = values.get(key)
            if v is not None and 0.0 <= v <= top:
                self._blur_sizes[key] = float(v)
        angle = values.get("angle")
        if angle is not None:
            self.blur_angle.blockSignals(True)
            self.blur_angle.setValue(round(angle) % 180)
            self.blur_angle.blockSignals(False)
        self._apply_method(self.task_info())

    def _blur_shape_changed(self, _value) -> None:
        shape = self.blur_source.currentData()
        if shape in BLUR_SHAPE_CHOICES:
            self._blur_sizes[shape] = self.blur_size.value()
            self.show_blur(self.known_kernel, given=True)
            self.settings_changed.emit()

    @property
    def known_kernel_source(self) -> str | None:
        """Where :attr:`known_kernel` came from, for the run report: its file, or its shape as
        ``irsde restore --blur`` takes it (``motion:15:30``)."""
        if self.known_kernel is None:
            return None
        shape = self.blur_source.currentData()
        return self._shape_spec(shape) if shape in BLUR_SHAPE_CHOICES else self._known_kernel_source

    def set_known_kernel(self, kernel: np.ndarray, name: str, source: str | None = None) -> None:
        """Use ``kernel`` (read from the file ``name``; ``source``, its full path, goes into run
        reports) instead of estimating the blur."""
        self._known_kernel = np.asarray(kernel, np.float32)
        self._known_kernel_source = source or name
        h, w = self._known_kernel.shape
        label = f"Known: {name} ({w}×{h} px)"
        i = self.blur_source.findData("known")
        if i < 0:
            i = self.blur_source.findData("load")
            self.blur_source.insertItem(i, label, "known")
        else:
            self.blur_source.setItemText(i, label)
        self.blur_source.setItemData(i, f"The blur kernel from {name}", Qt.ItemDataRole.ToolTipRole)
        self.blur_source.setCurrentIndex(i)
        self._blur_source_index = i
        self._apply_blur_choice()
        self.settings_changed.emit()

    def _blur_source_chosen(self, index: int) -> None:
        choice = self.blur_source.itemData(index)
        if choice == "load":  # stay on what was chosen until a file is read
            self.blur_source.setCurrentIndex(self._blur_source_index)
            self.kernel_file_requested.emit()
            return
        self._blur_source_index = index
        self._apply_blur_choice()
        self.settings_changed.emit()

    def _apply_blur_choice(self) -> None:
        """After the task or the blur source changed: steps or rounds (their range, the count last
        used for what is now chosen) and the rows that go with them, and the known blur shown
        when one is chosen (else nothing)."""
        info = self.task_info()
        if info is None:
            return
        known = self.known_kernel is not None
        for w in (self.steps_slider, self.steps_spin):
            w.blockSignals(True)
            w.setRange(1, info.known_max_steps if known else info.max_steps)
            w.blockSignals(False)
        self._apply_method(info)
        self._restore_steps()
        self._restore_flips()
        self.show_blur(self.known_kernel, given=True)

    def show_blur(self, kernel, given: bool = False, other=None, other_start: str | None = None) -> None:
        """Show the blur a blind run estimated, or the one the user ``given``; hide the row (None).
        ``other``: another blur the estimate found in the photo (from ``other_start``, "photo" or
        "network"), offered with "Try the other blur"."""
        offered = kernel is not None and other is not None and not given
        self.other_blur_button.setVisible(offered)
        if offered:
            network = other_start == "network"
            source = "the deblur network's sharp guess" if network else "the photo's own edges"
            self.other_blur_button.setToolTip(
                f"Another blur also fits this photo (found from {source}, spreading a point over "
                f"{describe_blur_extent(np.asarray(other, np.float32))}). Deblur with it and compare "
                "the two results (A/B): the blur that measures as the better fit is not always the "
                "one that looks right."
            )
        if kernel is None:
            self._shown_blur = None
            self.blur_view.clear()
            self._form.setRowVisible(self._blur_row, False)
            return
        k = self._shown_blur = np.asarray(kernel, np.float32)
        grey = (np.clip(k / max(float(k.max()), 1e-12), 0, 1) ** 0.5 * 255 + 0.5).astype(np.uint8)
        img = qimage_from_rgb(np.repeat(grey[..., None], 3, axis=2))
        self.blur_view.setPixmap(
            QPixmap.fromImage(img).scaled(
                BLUR_VIEW_PX,
                BLUR_VIEW_PX,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation,
            )
        )

        self.blur_label.setText("Blur given" if given else "Blur found")
        spans = f"spreading a point over {describe_blur_extent(k)}"
        what = f"The blur you gave ({spans})" if given else f"The blur estimated from the photo ({spans})"
        self.blur_view.setToolTip(
            f"{what}: the path the camera moved along while the shutter was open, brightest where it lingered"
        )
        self._form.setRowVisible(self._blur_row, True)

    @property
    def shown_blur(self) -> np.ndarray | None:
        """The blur drawn in the panel (found by the last run, or given), or None."""
        return self._shown_blur

    # -- steps, seed, sampler, device
    def remember_steps(self, task: str, steps: int | None) -> None:
        if steps:
            self._steps_by_task[task] = steps

    @property
    def steps(self) -> int:
        return self.steps_spin.value()

    def set_steps(self, steps: int) -> None:
        self.steps_spin.setValue(int(steps))
        self.steps_slider.blockSignals(True)
        self.steps_slider.setValue(int(steps))
        self.steps_slider.blockSignals(False)

    @property
    def steps_key(self) -> str | None:
        """Under what the steps are remembered: the task, or for a known blur the task's own
        entry, as a known kernel takes fewer rounds by default than an estimated one."""
        if not self.task:
            return None
        return f"{self.task}/known" if self.known_kernel is not None else self.task

    def _restore_steps(self) -> None:
        """The steps last used for what is chosen now, else its default."""
        info = self.task_info()
        if info is None:
            return
        default = info.default_steps
        if self.known_kernel is not None and info.known_default_steps:
            default = info.known_default_steps
        self.set_steps(self._steps_by_task.get(self.steps_key, default))

    def _steps_changed(self, value: int) -> None:
        self.steps_slider.blockSignals(True)
        self.steps_slider.setValue(value)
        self.steps_slider.blockSignals(False)
        if self.steps_key:
            self._steps_by_task[self.steps_key] = value
        self.settings_changed.emit()

    # -- averaging with the photo turned half a turn
    def remember_flip_average(self, task: str, on: bool | None) -> None:
        if on is not None:
            self._flips_by_task[task] = bool(on)

    @property
    def flip_average(self) -> bool | None:
        """The user's choice for the task shown (None: deconvolution rounds, which never average)."""
        return None if self.blind else self.flip_check.isChecked()

    def _restore_flips(self) -> None:
        """The choice last made for this task, else the task's own."""
        info = self.task_info()
        if info is None:
            return
        self.flip_check.blockSignals(True)
        self.flip_check.setChecked(self._flips_by_task.get(info.name, info.flip_average))
        self.flip_check.blockSignals(False)

    def _flips_toggled(self, on: bool) -> None:
        if self.task:
            self._flips_by_task[self.task] = on
        self.settings_changed.emit()

    @property
    def sampler(self) -> str:
        return self.sampler_combo.currentData()

    def set_sampler(self, key: str) -> None:
        i = self.sampler_combo.findData(key)
        if i >= 0:
            self.sampler_combo.setCurrentIndex(i)

    @property
    def seed(self) -> int:
        return self.seed_spin.value()

    def set_seed(self, seed: int) -> None:
        self.seed_spin.setValue(max(0, min(SEED_MAX, int(seed))))

    def roll_seed(self) -> None:
        self.set_seed(secrets.randbelow(SEED_MAX))

    @property
    def device(self) -> str:
        return self.device_combo.currentData()

    def set_device(self, key: str) -> bool:
        i = self.device_combo.findData(key)
        if i < 0 or not self._device_enabled(i):
            return False
        self.device_combo.setCurrentIndex(i)
        return True

    def _device_enabled(self, i: int) -> bool:
        item = self.device_combo.model().item(i)
        return bool(item.flags() & Qt.ItemFlag.ItemIsEnabled)

    def _set_device_choices(self, devices: dict[str, str]) -> None:
        model = self.device_combo.model()
        for i in range(self.device_combo.count()):
            key = self.device_combo.itemData(i)
            item = model.item(i)
            present = key == "auto" or key in devices
            flags = item.flags()
            item.setFlags(
                flags | Qt.ItemFlag.ItemIsEnabled if present else flags & ~Qt.ItemFlag.ItemIsEnabled
            )
            if key == "auto":
                best = next(iter(devices.values()), "the best device found")
                item.setToolTip(f"Use {best}")
            elif present:
                item.setToolTip(devices[key])
            else:
                item.setToolTip("Not found on this computer" if devices else "Looking for devices…")
        if not self._device_enabled(self.device_combo.currentIndex()):
            self.device_combo.setCurrentIndex(0)

    # -- state while running
    def set_running(self, running: bool) -> None:
        for w in (self.task_list, self.mask_box, self.steps_slider, self.steps_spin, self.sampler_combo,
                  self.seed_spin, self.dice_button, self.device_combo):  # fmt: skip
            w.setEnabled(not running)
        self.restore_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        if not running:
            self._apply_method(self.task_info())
