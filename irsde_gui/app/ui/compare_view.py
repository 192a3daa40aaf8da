"""The canvas: before/after compare with a draggable split line, zoom around the cursor, pan, side by side.

Coordinates. Both images are drawn into one *canvas* rectangle ``(0, 0, W, H)``
(the size of the result; the "before" photo is stretched to it, so x4
super-resolution lines up). A pane shows the canvas at ``zoom`` screen pixels
per canvas pixel, with the canvas origin at ``offset`` inside the pane::

    widget = pane.topLeft + offset + canvas * zoom

Split mode has one pane (the whole widget): left of the split line shows
"before", right of it "after". Side-by-side mode has two panes of half the
width with the *same* offset and zoom, so both sides always stay in sync.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QCursor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

MIN_ZOOM, MAX_ZOOM = 0.02, 64.0
SPLIT_GRAB = 9  # px either side of the split line that grab it
WHEEL_BASE = 1.0016  # zoom factor per 1/8 degree of wheel rotation (x1.21 per notch)


class CompareView(QWidget):
    split_changed = Signal(float)
    zoom_changed = Signal(float)
    hovered = Signal(object)  # QPointF in canvas coordinates, or None when outside the image
    stroke_finished = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 200)
        self._before: QPixmap | None = None
        self._after: QPixmap | None = None
        self._canvas = QSizeF(0, 0)
        self._zoom = 1.0
        self._offset = QPointF(0, 0)
        self._split = 0.5
        self._mode = "split"
        self._fitting = True
        self._drag: str | None = None  # "split", "pan" or "tool"
        self._drag_from = QPointF()
        self._offset_from = QPointF()
        self._mouse: QPointF | None = None
        self._space = False
        # An object with press(pt, erase), move(pt), release(), overlay(), radius; optionally
        # mark_filled() and new_overlay(): what was painted since the result shown.
        self.tool = None
        self.before_label = "Before"
        self.after_label = "After"
        self.empty_title = "Drop a photo here"
        self.empty_hint = "or open one with Ctrl+O, or paste with Ctrl+V"
        self.drop_hint = False
        self.empty_icon: QPixmap | None = None

    # ------------------------------------------------------------ content
    def set_before(self, image: QImage | None, fit: bool = True) -> None:
        """The input photo; a new photo sets the canvas to its size and fits it in view."""
        self._before = QPixmap.fromImage(image) if image is not None else None
        self._after = None
        if image is not None:
            self._canvas = QSizeF(image.width(), image.height())
        else:
            self._canvas = QSizeF(0, 0)
        if fit:
            self.fit()
        self.update()

    def set_after(self, image: QImage | None, label: str | None = None) -> None:
        """The current image (a streamed frame or the result); any size, drawn over the canvas."""
        self._after = QPixmap.fromImage(image) if image is not None else None
        if image is not None and hasattr(self.tool, "mark_filled"):
            self.tool.mark_filled()
        if label is not None:
            self.after_label = label
        self.update()

    def set_canvas_size(self, size: QSize | QSizeF) -> None:
        """Change the canvas size (e.g. x4 for super-resolution) keeping what is on screen in place."""
        new = QSizeF(size)
        if new.isEmpty() or new == self._canvas:
            return
        if self._canvas.isEmpty():
            self._canvas = new
            self.fit()
            return
        ratio = self._canvas.width() / new.width()
        self._canvas = new
        self._zoom *= ratio
        if self._fitting:
            self.fit()
        self.update()

    def swap_before(self, image: QImage, label: str) -> None:
        """Show another image on the "before" side (an earlier result, for A/B) without touching the
        canvas, the zoom or the "after" side; drawn over the canvas like the photo."""
        self._before = QPixmap.fromImage(image)
        self.before_label = label
        self.update()

    def before_image(self) -> QImage | None:
        """What the "before" side shows now (for tests and screenshots)."""
        return self._before.toImage() if self._before is not None else None

    def after_image(self) -> QImage | None:
        """What the "after" side shows now (for tests and screenshots)."""
        return self._after.toImage() if self._after is not None else None

    @property
    def has_before(self) -> bool:
        return self._before is not None

    @property
    def has_after(self) -> bool:
        return self._after is not None

    @property
    def canvas_size(self) -> QSizeF:
        return QSizeF(self._canvas)

    # ------------------------------------------------------------ mode and split
    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in ("split", "side") or mode == self._mode:
            return
        centre = self._centre_on_canvas()
        self._mode = mode
        if self._fitting:
            self.fit()
        else:
            self._centre_view_on(centre)
        self.update()

    @property
    def split(self) -> float:
        return self._split

    def set_split(self, fraction: float) -> None:
        self._split = min(1.0, max(0.0, float(fraction)))
        self.split_changed.emit(self._split)
        self.update()

    def split_x(self) -> float:
        return self._split * self.width()

    def side_at(self, pos: QPointF) -> str:
        """Which image the point shows: ``before`` or ``after``."""
        if self._mode == "side":
            return "before" if pos.x() < self.width() / 2 else "after"
        if self._after is None:
            return "before"
        return "before" if pos.x() < self.split_x() else "after"

    # ------------------------------------------------------------ geometry
    def panes(self) -> list[QRectF]:
        w, h = float(self.width()), float(self.height())
        if self._mode == "side":
            half = w / 2
            return [QRectF(0, 0, half, h), QRectF(half, 0, w - half, h)]
        return [QRectF(0, 0, w, h)]

    def pane_index(self, pos: QPointF) -> int:
        if self._mode == "side" and pos.x() >= self.width() / 2:
            return 1
        return 0

    @property
    def zoom(self) -> float:
        return self._zoom

    @property
    def offset(self) -> QPointF:
        return QPointF(self._offset)

    def map_to_canvas(self, pos: QPointF) -> QPointF:
        """Widget point -> canvas point (in whichever pane the point is)."""
        pane = self.panes()[self.pane_index(pos)]
        local = QPointF(pos) - pane.topLeft()
        return (local - self._offset) / self._zoom

    def map_from_canvas(self, pt: QPointF, pane: int = 0) -> QPointF:
        return self.panes()[pane].topLeft() + self._offset + QPointF(pt) * self._zoom

    def set_view(self, zoom: float, offset: QPointF) -> None:
        self._zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        self._offset = QPointF(offset)
        self._fitting = False
        self.zoom_changed.emit(self._zoom)
        self.update()

    def zoom_at(self, pos: QPointF, factor: float) -> None:
        """Zoom by ``factor`` keeping the canvas point under ``pos`` where it is."""
        if self._canvas.isEmpty():
            return
        pane = self.panes()[self.pane_index(pos)]
        local = QPointF(pos) - pane.topLeft()
        under = (local - self._offset) / self._zoom
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, self._zoom * factor))
        self.set_view(zoom, local - under * zoom)

    def fit(self) -> None:
        """Fit the whole canvas in the pane (F)."""
        self._fitting = True
        if self._canvas.isEmpty():
            return
        pane = self.panes()[0]
        margin = 12.0
        zx = max(1.0, pane.width() - 2 * margin) / self._canvas.width()
        zy = max(1.0, pane.height() - 2 * margin) / self._canvas.height()
        self._zoom = min(MAX_ZOOM, max(MIN_ZOOM, min(zx, zy)))
        self._offset = QPointF(
            (pane.width() - self._canvas.width() * self._zoom) / 2,
            (pane.height() - self._canvas.height() * self._zoom) / 2,
        )
        self.zoom_changed.emit(self._zoom)
        self.update()

    def actual_size(self) -> None:
        """One canvas pixel per screen pixel (1), around the centre of the view."""
        centre = self._centre_on_canvas()
        self._zoom = 1.0 / self.devicePixelRatioF()
        self._fitting = False
        self._centre_view_on(centre)
        self.zoom_changed.emit(self._zoom)

    def zoom_percent(self) -> float:
        return self._zoom * self.devicePixelRatioF() * 100.0

    def _centre_on_canvas(self) -> QPointF:
        pane = self.panes()[0]
        return (QPointF(pane.width() / 2, pane.height() / 2) - self._offset) / self._zoom

    def _centre_view_on(self, canvas_pt: QPointF) -> None:
        pane = self.panes()[0]
        self._offset = QPointF(pane.width() / 2, pane.height() / 2) - canvas_pt * self._zoom
        self.update()

    def pan_by(self, dx: float, dy: float) -> None:
        self.set_view(self._zoom, self._offset + QPointF(dx, dy))

    # ------------------------------------------------------------ events
    def resizeEvent(self, event) -> None:
        if self._fitting:
            self.fit()
        super().resizeEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_at(event.position(), WHEEL_BASE**delta)
        event.accept()

    def _near_split(self, pos: QPointF) -> bool:
        return (
            self._mode == "split"
            and self._before is not None
            and self._after is not None
            and abs(pos.x() - self.split_x()) <= SPLIT_GRAB
        )

    def _tool_active(self) -> bool:
        return self.tool is not None and not self._space and self._before is not None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        button = event.button()
        if button in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton) and self._tool_active():
            if self._mode == "side" and self.pane_index(pos) == 1:
                pass  # paint on the "before" pane only
            else:
                self._drag = "tool"
                self.tool.press(self.map_to_canvas(pos), erase=button == Qt.MouseButton.RightButton)
                self.update()
                return
        if button == Qt.MouseButton.LeftButton and self._near_split(pos):
            self._drag = "split"
        elif button in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            self._drag = "pan"
            self._drag_from = QPointF(pos)
            self._offset_from = QPointF(self._offset)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self._mouse = QPointF(pos)
        if self._drag == "split":
            self.set_split(pos.x() / max(1, self.width()))
        elif self._drag == "pan":
            self.set_view(self._zoom, self._offset_from + (pos - self._drag_from))
        elif self._drag == "tool":
            self.tool.move(self.map_to_canvas(pos))
            self.update()
        else:
            self._update_cursor(pos)
            if self.tool is not None:
                self.update()
        pt = self.map_to_canvas(pos)
        inside = 0 <= pt.x() < self._canvas.width() and 0 <= pt.y() < self._canvas.height()
        self.hovered.emit(pt if inside else None)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag == "tool":
            self.tool.release()
            self.stroke_finished.emit()
        self._drag = None
        self._update_cursor(event.position())
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._tool_active():
            return
        if self._fitting:
            self.zoom_at(event.position(), (1.0 / self.devicePixelRatioF()) / self._zoom)
        else:
            self.fit()

    def leaveEvent(self, event) -> None:
        self._mouse = None
        self.hovered.emit(None)
        self.update()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self._update_cursor(self._mouse)
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._update_cursor(self._mouse)
            return
        super().keyReleaseEvent(event)

    def _update_cursor(self, pos: QPointF | None) -> None:
        if pos is not None and self._near_split(pos) and not self._tool_active():
            self.setCursor(Qt.CursorShape.SplitHCursor)
        elif self._tool_active():
            self.setCursor(Qt.CursorShape.CrossCursor)
        elif self._before is not None:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            self.setCursor(QCursor(Qt.CursorShape.ArrowCursor))

    # ------------------------------------------------------------ painting
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        bg = self.palette().color(self.backgroundRole()).darker(125)
        p.fillRect(self.rect(), bg)
        if self._before is None:
            self._paint_empty(p)
            if self.drop_hint:
                self._paint_drop_hint(p)
            p.end()
            return
        panes = self.panes()
        if self._mode == "side":
            self._paint_pane(p, panes[0], self._before, overlay=True)
            if self._after is not None:
                self._paint_pane(p, panes[1], self._after)
            else:
                self._paint_pane(p, panes[1], self._before, dim=True)
            p.setPen(QPen(QColor(0, 0, 0, 160), 2))
            p.drawLine(QPointF(panes[1].left(), 0), QPointF(panes[1].left(), self.height()))
            self._chip(p, QPointF(panes[0].left() + 12, 12), self.before_label)
            self._chip(
                p, QPointF(panes[1].left() + 12, 12), self.after_label if self._after else "No result yet"
            )
        else:
            pane = panes[0]
            if self._after is None:
                self._paint_pane(p, pane, self._before, overlay=True)
                self._chip(p, QPointF(12, 12), self.before_label)
            else:
                x = self.split_x()
                left = QRectF(0, 0, x, pane.height())
                right = QRectF(x, 0, pane.width() - x, pane.height())
                self._paint_pane(p, pane, self._before, clip=left, overlay=True)
                # The result shows what filled the painted area, never covered by the mask; only
                # what is painted since (the next object to remove) shows over it.
                self._paint_pane(p, pane, self._after, clip=right, overlay=self._result_overlay())
                self._paint_split(p, x)
                if x > 90:
                    self._chip(p, QPointF(12, 12), self.before_label)
                if self.width() - x > 90:
                    self._chip(p, QPointF(self.width() - 12, 12), self.after_label, right_align=True)
        self._paint_brush(p)
        if self.drop_hint:
            self._paint_drop_hint(p)
        p.end()

    def _result_overlay(self) -> QImage | None:
        """What the mask shows over the result: the strokes painted since it (a tool without that
        notion: its whole mask, while a stroke is being painted)."""
        if self.tool is None:
            return None
        if hasattr(self.tool, "new_overlay"):
            return self.tool.new_overlay()
        return self.tool.overlay() if self._drag == "tool" else None

    def _paint_pane(
        self,
        p: QPainter,
        pane: QRectF,
        pix: QPixmap,
        clip: QRectF | None = None,
        overlay: bool | QImage | None = False,
        dim: bool = False,
    ) -> None:
        p.save()
        p.setClipRect(clip if clip is not None else pane)
        p.translate(pane.topLeft() + self._offset)
        p.scale(self._zoom, self._zoom)
        canvas = QRectF(QPointF(0, 0), self._canvas)
        # Only the visible part of the image is drawn (fast at high zoom on big photos).
        visible = QRectF(
            (QPointF(0, 0) - self._offset) / self._zoom, QSizeF(pane.width(), pane.height()) / self._zoom
        )
        target = canvas.intersected(visible.adjusted(-2, -2, 2, 2))
        if not target.isEmpty():
            sx, sy = pix.width() / self._canvas.width(), pix.height() / self._canvas.height()
            source = QRectF(target.x() * sx, target.y() * sy, target.width() * sx, target.height() * sy)
            device_zoom = self._zoom * self.devicePixelRatioF() / max(sx, 1e-9)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, device_zoom < 3.0)
            p.drawPixmap(target, pix, source)
            if dim:
                p.fillRect(target, QColor(0, 0, 0, 140))
            ov = overlay if isinstance(overlay, QImage) else None
            if overlay is True and self.tool is not None:
                ov = self.tool.overlay()
            if ov is not None:
                p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
                p.drawImage(canvas, ov)
        p.restore()

    def _paint_split(self, p: QPainter, x: float) -> None:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        top = max(0.0, self._offset.y())
        bottom = min(float(self.height()), self._offset.y() + self._canvas.height() * self._zoom)
        p.setPen(QPen(QColor(0, 0, 0, 110), 4))
        p.drawLine(QPointF(x, top), QPointF(x, bottom))
        p.setPen(QPen(QColor(255, 255, 255, 235), 2))
        p.drawLine(QPointF(x, top), QPointF(x, bottom))
        c = QPointF(x, (top + bottom) / 2)
        p.setPen(QPen(QColor(0, 0, 0, 90), 1))
        p.setBrush(QColor(255, 255, 255, 240))
        p.drawEllipse(c, 17, 17)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#3b5bdb"))
        for sign in (-1, 1):
            tri = QPainterPath()
            tri.moveTo(c + QPointF(sign * 11, 0))
            tri.lineTo(c + QPointF(sign * 3, -7))
            tri.lineTo(c + QPointF(sign * 3, 7))
            tri.closeSubpath()
            p.drawPath(tri)
        p.restore()

    def _chip(self, p: QPainter, at: QPointF, text: str, right_align: bool = False) -> None:
        if not text:
            return
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        f = QFont(self.font())
        f.setPointSizeF(max(8.0, f.pointSizeF() * 0.92))
        f.setWeight(QFont.Weight.DemiBold)
        p.setFont(f)
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 18, fm.height() + 8
        x = at.x() - w if right_align else at.x()
        r = QRectF(x, at.y(), w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(16, 17, 20, 190))
        p.drawRoundedRect(r, h / 2, h / 2)
        p.setPen(QColor(240, 240, 240))
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        p.restore()

    def _paint_brush(self, p: QPainter) -> None:
        if not self._tool_active() or self._mouse is None:
            return
        if self._mode == "side" and self.pane_index(self._mouse) == 1:
            return
        r = self.tool.radius * self._zoom
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0, 170), 3))
        p.drawEllipse(self._mouse, r, r)
        p.setPen(QPen(QColor(255, 255, 255, 230), 1.5))
        p.drawEllipse(self._mouse, r, r)
        p.restore()

    def _paint_empty(self, p: QPainter) -> None:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(28, 28, -28, -28)
        colour = self.palette().color(self.foregroundRole())
        pen = QPen(QColor(colour.red(), colour.green(), colour.blue(), 150 if self.drop_hint else 70), 2)
        pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(r, 18, 18)
        y = r.center().y()
        if self.empty_icon is not None and not self.empty_icon.isNull():
            s = self.empty_icon.deviceIndependentSize()
            p.setOpacity(0.85)
            p.drawPixmap(QPointF(r.center().x() - s.width() / 2, y - s.height() - 24), self.empty_icon)
            p.setOpacity(1.0)
        f = QFont(self.font())
        f.setPointSizeF(f.pointSizeF() * 1.6)
        f.setWeight(QFont.Weight.DemiBold)
        p.setFont(f)
        p.setPen(colour)
        p.drawText(QRectF(r.left(), y - 16, r.width(), 36), Qt.AlignmentFlag.AlignCenter, self.empty_title)
        f.setPointSizeF(self.font().pointSizeF())
        f.setWeight(QFont.Weight.Normal)
        p.setFont(f)
        p.setPen(QColor(colour.red(), colour.green(), colour.blue(), 170))
        p.drawText(QRectF(r.left(), y + 22, r.width(), 24), Qt.AlignmentFlag.AlignCenter, self.empty_hint)
        p.restore()

    def _paint_drop_hint(self, p: QPainter) -> None:
        p.save()
        p.fillRect(self.rect(), QColor(79, 140, 255, 60))
        pen = QPen(QColor(79, 140, 255), 3)
        pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawRect(QRectF(self.rect()).adjusted(3, 3, -3, -3))
        p.restore()
