"""The inpainting mask: paint (and erase) the area to fill over the photo.

:class:`MaskEditor` holds the mask at the photo's resolution (an 8-bit alpha
image, 255 = fill, which Qt paints and tints without a trip through NumPy)
and is the canvas *tool* of :class:`~irsde_gui.app.ui.compare_view.CompareView`:
left button paints, right button erases, ``[``/``]`` change the brush, and
strokes can be undone. A run fills a few pixels beyond the painted area ("grow",
on by default), shown as an orange margin. :class:`MaskToolBar` is its row of controls.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.tasks import DEFAULT_GROW, MAX_GROW, grow_mask
from .theme import icon

MIN_BRUSH, MAX_BRUSH = 2, 400
UNDO_DEPTH = 20
OVERLAY_COLOUR = QColor(255, 64, 96, 120)
GROWN_COLOUR = QColor(255, 160, 64, 90)  # the margin the fill adds around what was painted


class MaskEditor(QObject):
    """A paintable mask over a photo of ``size``; ``changed`` after every edit."""

    changed = Signal()
    brush_changed = Signal(int)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._mask = QImage()
        self._overlay: QImage | None = None
        self._canvas_scale = 1.0  # canvas px per mask px
        self._brush = 40  # diameter in photo pixels
        self.erase_mode = False
        self._stroke_erase = False
        self._last: QPointF | None = None
        self._undo: list[QImage] = []
        # The fill reaches ``grow_px`` beyond the painted area (shown as a margin) when on.
        self.grow_on = True
        self.grow_px = DEFAULT_GROW
        self._grown: np.ndarray | None = None  # cached until the next edit
        self.revision = 0  # counts edits
        # The mask the shown result was filled with, and what was painted since (cached).
        self._filled: QImage | None = None
        self._filled_revision = -1
        self._new_overlay: tuple[int, QImage | None] | None = None

    # -- the mask
    def reset(self, size: QSize) -> None:
        self._mask = QImage(size, QImage.Format.Format_Alpha8)
        self._mask.fill(0)
        self._undo.clear()
        self._overlay = None
        self._brush = max(MIN_BRUSH, min(MAX_BRUSH, round(max(size.width(), size.height()) / 14)))
        self.brush_changed.emit(self._brush)
        self.changed.emit()

    @property
    def size(self) -> QSize:
        return self._mask.size()

    def set_canvas_scale(self, scale: float) -> None:
        self._canvas_scale = float(scale)

    def to_array(self) -> np.ndarray:
        """The mask as uint8 HxW (255 = fill), a copy."""
        if self._mask.isNull():
            return np.zeros((0, 0), np.uint8)
        w, h = self._mask.width(), self._mask.height()
        bpl = self._mask.bytesPerLine()
        buf = np.frombuffer(self._mask.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
        return buf[:, :w].copy()

    def set_array(self, mask: np.ndarray) -> None:
        """Replace the mask (HxW; > half range = fill) with undo."""
        m = np.asarray(mask)
        if m.dtype != np.uint8:
            m = (np.clip(m.astype(np.float32), 0, 1) * 255).astype(np.uint8)
        m = np.ascontiguousarray(np.where(m > 127, 255, 0).astype(np.uint8))
        if (m.shape[1], m.shape[0]) != (self._mask.width(), self._mask.height()):
            raise ValueError(
                f"the mask is {m.shape[1]}x{m.shape[0]} but the photo is "
                f"{self._mask.width()}x{self._mask.height()}"
            )
        self._push_undo()
        h, w = m.shape
        self._mask = QImage(m.data, w, h, w, QImage.Format.Format_Alpha8).copy()
        self._edited()

    def is_empty(self) -> bool:
        return self._mask.isNull() or not self.to_array().any()

    def coverage(self) -> float:
        """The share of the photo that a run fills (the grown mask when growing is on)."""
        a = self.run_mask()
        return float((a > 127).mean()) if a.size else 0.0

    # -- growing: the painted area plus a margin
    def set_grow(self, on: bool, px: int | None = None) -> None:
        """Whether runs fill ``px`` beyond the painted area (the mask itself is unchanged)."""
        self.grow_on = bool(on)
        if px is not None:
            self.grow_px = max(0, min(MAX_GROW, int(px)))
        self._edited()

    def run_mask(self) -> np.ndarray:
        """The mask a run fills (uint8 HxW, 255 = fill): the painted one, grown if that is on."""
        if not (self.grow_on and self.grow_px):
            return self.to_array()
        if self._grown is None:
            self._grown = grow_mask(self.to_array(), self.grow_px)
        return self._grown.copy()

    def grow_now(self) -> bool:
        """Widen the painted mask itself by ``grow_px`` (undoable); False if there is nothing to grow."""
        if self.is_empty() or not self.grow_px:
            return False
        self.set_array(grow_mask(self.to_array(), self.grow_px))
        return True

    def clear(self) -> None:
        if self.is_empty():
            return
        self._push_undo()
        self._mask.fill(0)
        self._edited()

    def invert(self) -> None:
        if not self._mask.isNull():
            self.set_array(255 - self.to_array())

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._mask = self._undo.pop()
        self._edited()
        return True

    def _push_undo(self) -> None:
        self._undo.append(self._mask.copy())
        del self._undo[:-UNDO_DEPTH]

    def _edited(self) -> None:
        self.revision += 1
        self._overlay = None
        self._grown = None
        self.changed.emit()

    # -- the brush
    @property
    def brush(self) -> int:
        return self._brush

    def set_brush(self, diameter: int) -> None:
        d = max(MIN_BRUSH, min(MAX_BRUSH, int(diameter)))
        if d != self._brush:
            self._brush = d
            self.brush_changed.emit(d)

    def grow(self) -> None:
        self.set_brush(round(self._brush * 1.25) + 1)

    def shrink(self) -> None:
        self.set_brush(round(self._brush / 1.25))

    @property
    def radius(self) -> float:
        """Brush radius in canvas units (what the canvas draws as the brush outline)."""
        return self._brush / 2 * self._canvas_scale

    # -- the canvas tool protocol
    def press(self, pt: QPointF, erase: bool = False) -> None:
        if self._mask.isNull():
            return
        self._push_undo()
        self._stroke_erase = erase or self.erase_mode
        self._last = pt / self._canvas_scale
        self._dab(self._last, self._last)

    def move(self, pt: QPointF) -> None:
        if self._last is None:
            return
        here = pt / self._canvas_scale
        self._dab(self._last, here)
        self._last = here

    def release(self) -> None:
        self._last = None

    def paint_stroke(self, points: list[tuple[float, float]], erase: bool = False) -> None:
        """Paint a stroke through photo-pixel points (for scripts and tests)."""
        pts = [QPointF(x, y) * self._canvas_scale for x, y in points]
        self.press(pts[0], erase)
        for q in pts[1:]:
            self.move(q)
        self.release()

    def _dab(self, a: QPointF, b: QPointF) -> None:
        p = QPainter(self._mask)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        colour = QColor(255, 255, 255, 255)
        if self._stroke_erase:
            p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
        pen = QPen(colour, self._brush, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        if a == b:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(colour)
            p.drawEllipse(a, self._brush / 2, self._brush / 2)
        else:
            p.drawLine(a, b)
        p.end()
        self._edited()

    def overlay(self) -> QImage | None:
        """The mask as a translucent colour layer, its grown margin in a second colour (cached
        until the next edit)."""
        if self._mask.isNull():
            return None
        if self._overlay is None:
            ov = self._tinted(self._mask, OVERLAY_COLOUR)
            if self.grow_on and self.grow_px and not self.is_empty():
                grown = np.ascontiguousarray(self.run_mask())
                h, w = grown.shape
                margin = self._tinted(QImage(grown.data, w, h, w, QImage.Format.Format_Alpha8), GROWN_COLOUR)
                p = QPainter(margin)
                p.drawImage(0, 0, ov)  # the painted area over its margin
                p.end()
                ov = margin
            self._overlay = ov
        return self._overlay

    def mark_filled(self) -> None:
        """Remember the mask as the one the result now shown was filled with."""
        if self._filled_revision != self.revision:
            self._filled = None if self._mask.isNull() else self._mask.copy()
            self._filled_revision = self.revision

    def new_overlay(self) -> QImage | None:
        """What was painted since :meth:`mark_filled` (the next area to fill), as a colour layer;
        None where nothing was. Drawn over a result, it shows the new strokes without hiding the
        fill the result already holds."""
        if self._mask.isNull() or self.revision == self._filled_revision:
            return None
        if self._new_overlay is None or self._new_overlay[0] != self.revision:
            new = self._mask.copy()
            if self._filled is not None and self._filled.size() == new.size():
                p = QPainter(new)
                p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationOut)
                p.drawImage(0, 0, self._filled)
                p.end()
            bpl = new.bytesPerLine()
            painted = np.frombuffer(new.constBits(), np.uint8, count=bpl * new.height()).any()
            self._new_overlay = (self.revision, self._tinted(new, OVERLAY_COLOUR) if painted else None)
        return self._new_overlay[1]

    def _tinted(self, alpha: QImage, colour: QColor) -> QImage:
        ov = QImage(alpha.size(), QImage.Format.Format_ARGB32_Premultiplied)
        ov.fill(colour)
        p = QPainter(ov)
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationIn)
        p.drawImage(0, 0, alpha)
        p.end()
        return ov


class MaskToolBar(QWidget):
    """Paint / erase, brush size, undo, clear, invert and load a mask file."""

    load_requested = Signal()

    def __init__(self, editor: MaskEditor, parent: QWidget | None = None):
        super().__init__(parent)
        self.editor = editor
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(6)
        hint = QLabel("Paint over the area to fill. Right-drag erases; hold Space to pan.")
        hint.setWordWrap(True)
        hint.setProperty("hint", True)
        outer.addWidget(hint)
        outer.addLayout(self._build_tool_row(editor))
        outer.addLayout(self._build_size_row(editor))
        outer.addLayout(self._build_grow_row(editor))
        self.coverage_label = QLabel("")
        self.coverage_label.setProperty("hint", True)
        self.coverage_label.setWordWrap(True)  # a long line must not widen the panel
        outer.addWidget(self.coverage_label)
        editor.brush_changed.connect(self._brush_changed)
        editor.changed.connect(self._mask_changed)
        self._mask_changed()

    def _build_tool_row(self, editor: MaskEditor) -> QHBoxLayout:
        """Paint / erase, then undo, invert, clear and load."""
        row = QHBoxLayout()
        row.setSpacing(4)
        self.paint_button = self._tool("mdi6.brush", "Paint the area to fill (B)", checkable=True)
        self.erase_button = self._tool("mdi6.eraser", "Erase (E, or right-drag)", checkable=True)
        group = QButtonGroup(self)
        group.setExclusive(True)
        group.addButton(self.paint_button)
        group.addButton(self.erase_button)
        self.paint_button.setChecked(True)
        self.paint_button.toggled.connect(lambda on: setattr(editor, "erase_mode", not on))
        self.undo_button = self._tool("mdi6.undo", "Undo the last stroke (Ctrl+Z)")
        self.undo_button.clicked.connect(editor.undo)
        self.invert_button = self._tool("mdi6.invert-colors", "Invert the mask")
        self.invert_button.clicked.connect(editor.invert)
        self.clear_button = self._tool("mdi6.delete-sweep", "Clear the mask")
        self.clear_button.clicked.connect(editor.clear)
        self.load_button = self._tool("mdi6.folder-image", "Load a mask file (white = fill)")
        self.load_button.clicked.connect(self.load_requested)
        for b in (self.paint_button, self.erase_button):
            row.addWidget(b)
        row.addSpacing(6)
        for b in (self.undo_button, self.invert_button, self.clear_button, self.load_button):
            row.addWidget(b)
        row.addStretch(1)
        return row

    def _build_size_row(self, editor: MaskEditor) -> QHBoxLayout:
        size_row = QHBoxLayout()
        size_row.addWidget(QLabel("Brush"))
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(MIN_BRUSH, MAX_BRUSH)
        self.size_slider.setValue(editor.brush)
        self.size_slider.setToolTip("Brush size ([ and ])")
        self.size_slider.valueChanged.connect(editor.set_brush)
        self.size_label = QLabel(f"{editor.brush} px")
        self.size_label.setMinimumWidth(48)
        size_row.addWidget(self.size_slider, 1)
        size_row.addWidget(self.size_label)
        return size_row

    def _build_grow_row(self, editor: MaskEditor) -> QHBoxLayout:
        """Grow what is painted by a margin, now or on every run."""
        grow_row = QHBoxLayout()
        self.grow_check = QCheckBox("Grow by")
        self.grow_check.setChecked(editor.grow_on)
        self.grow_check.setToolTip(
            "Fill a little beyond what you paint: people paint an object tightly, and its shadow or "
            "halo would give it away. The margin shows in orange."
        )
        self.grow_spin = QSpinBox()
        self.grow_spin.setRange(1, MAX_GROW)
        self.grow_spin.setSuffix(" px")
        self.grow_spin.setValue(max(1, editor.grow_px))
        self.grow_spin.setToolTip("How far beyond the painted area the fill reaches")
        self.grow_button = self._tool("mdi6.arrow-expand-all", "Grow the painted mask now (undo with Ctrl+Z)")
        self.grow_button.clicked.connect(editor.grow_now)
        self.grow_check.toggled.connect(lambda on: editor.set_grow(on, self.grow_spin.value()))
        self.grow_spin.valueChanged.connect(lambda v: editor.set_grow(self.grow_check.isChecked(), v))
        grow_row.addWidget(self.grow_check)
        grow_row.addWidget(self.grow_spin)
        grow_row.addWidget(self.grow_button)
        grow_row.addStretch(1)
        return grow_row

    def _tool(self, name: str, tip: str, checkable: bool = False) -> QToolButton:
        b = QToolButton()
        b.setIcon(icon(name))
        b.setToolTip(tip)
        b.setCheckable(checkable)
        b.setAutoRaise(True)
        b.setIconSize(QSize(20, 20))
        return b

    def _brush_changed(self, d: int) -> None:
        self.size_slider.blockSignals(True)
        self.size_slider.setValue(d)
        self.size_slider.blockSignals(False)
        self.size_label.setText(f"{d} px")

    def _mask_changed(self) -> None:
        cov = self.editor.coverage()
        grown = self.editor.grow_on and self.editor.grow_px
        self.coverage_label.setText(
            "Nothing painted yet."
            if cov == 0
            else f"{cov * 100:.1f} % of the photo will be filled"
            + (f" (painted area + {self.editor.grow_px} px)." if grown else ".")
        )
