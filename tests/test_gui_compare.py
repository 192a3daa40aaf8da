"""The compare view's geometry (split, zoom around the cursor, side by side) and the trajectory scrubber."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import smooth_image
from gui_support import make_window, restore_and_wait

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from irsde_gui.app.ui.compare_view import CompareView
from irsde_gui.core.imageio import Photo


def solid(w: int, h: int, colour: str) -> QImage:
    img = QImage(w, h, QImage.Format.Format_RGB888)
    img.fill(QColor(colour))
    return img


@pytest.fixture
def view(qtbot):
    v = CompareView()
    qtbot.addWidget(v)
    v.resize(400, 300)
    v.show()
    v.set_before(solid(200, 100, "red"))
    v.set_after(solid(200, 100, "blue"))
    v.fit()
    return v


def wheel(view, pos: QPointF, delta: int) -> None:
    ev = QWheelEvent(
        pos,
        view.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, delta),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view, ev)


def close(a: QPointF, b: QPointF, tol: float = 1e-6) -> bool:
    return abs(a.x() - b.x()) < tol and abs(a.y() - b.y()) < tol


def test_fit_maps_the_canvas_into_the_view(view):
    z = view.zoom
    assert z == pytest.approx(min((400 - 24) / 200, (300 - 24) / 100))
    centre = view.map_to_canvas(QPointF(200, 150))
    assert close(centre, QPointF(100, 50))
    for pt in (QPointF(0, 0), QPointF(37.5, 80.25), QPointF(200, 100)):
        assert close(view.map_to_canvas(view.map_from_canvas(pt)), pt)


def test_wheel_zoom_keeps_the_pixel_under_the_cursor(view):
    cursor = QPointF(123.0, 77.0)
    under = view.map_to_canvas(cursor)
    z0 = view.zoom
    wheel(view, cursor, 240)
    assert view.zoom > z0 * 1.3
    assert close(view.map_to_canvas(cursor), under, 1e-6)
    wheel(view, cursor, -480)
    assert view.zoom < z0
    assert close(view.map_to_canvas(cursor), under, 1e-6)


def test_split_line_divides_before_and_after(view, qtbot):
    view.set_split(0.25)
    assert view.split_x() == pytest.approx(100)
    assert view.side_at(QPointF(99, 150)) == "before"
    assert view.side_at(QPointF(101, 150)) == "after"
    # drag the line to 3/4 of the width; pixels keep their canvas position
    under = view.map_to_canvas(QPointF(250, 150))
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(100, 150))
    qtbot.mouseMove(view, QPoint(300, 150))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(300, 150))
    assert view.split == pytest.approx(0.75)
    assert view.side_at(QPointF(250, 150)) == "before"
    assert close(view.map_to_canvas(QPointF(250, 150)), under)
    # what is painted matches: red (before) left of the line, blue (after) right of it
    grab = view.grab().toImage()
    assert grab.pixelColor(280, 150).red() > 200 and grab.pixelColor(320, 150).blue() > 200


def test_pan_and_side_by_side_stay_in_sync(view, qtbot):
    start = view.map_to_canvas(QPointF(150, 150))
    view.set_split(0.0)  # keep the split handle out of the way of the drag
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(150, 150))
    qtbot.mouseMove(view, QPoint(170, 140))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(170, 140))
    assert close(view.map_to_canvas(QPointF(170, 140)), start)
    view.set_mode("side")
    view.fit()
    wheel(view, QPointF(60, 120), 120)
    left = view.map_to_canvas(QPointF(60, 120))
    right = view.map_to_canvas(QPointF(60 + 200, 120))
    assert close(left, right), "both panes show the same canvas point at the same place"
    assert view.side_at(QPointF(60, 120)) == "before" and view.side_at(QPointF(260, 120)) == "after"


def test_actual_size_shows_one_pixel_per_screen_pixel(view):
    view.actual_size()
    a, b = view.map_from_canvas(QPointF(10, 10)), view.map_from_canvas(QPointF(11, 10))
    assert (b.x() - a.x()) * view.devicePixelRatioF() == pytest.approx(1.0)


def test_scrubber_shows_the_stored_frame_of_the_chosen_step(qtbot, tmp_path, installed_tiny_weights):
    win = make_window(qtbot, tmp_path)
    win.set_photo(Photo(smooth_image(40, 56)), "test")
    win.panel.select_task("denoise")
    win.panel.set_steps(5)
    restore_and_wait(qtbot, win)
    assert len(win.trajectory) == 5
    for kind, attr in (("state", "state"), ("estimate", "estimate")):
        win.scrubber.set_kind(kind)
        win.scrubber.choose(2)
        shown = win.view.after_image().convertToFormat(QImage.Format.Format_RGB888)
        frame = win.trajectory.frames[2]
        arr = np.frombuffer(shown.constBits(), np.uint8).reshape(shown.height(), shown.bytesPerLine())
        arr = arr[:, : shown.width() * 3].reshape(shown.height(), shown.width(), 3)
        assert np.array_equal(arr, getattr(frame, attr))
        assert "step 3/5" in win.view.after_label
        assert (
            win.scrubber.label.text().startswith("step 3 / 5")
            and f"t = {frame.t}" in win.scrubber.label.text()
        )
    # arrow keys step frame by frame (the canvas has focus)
    win.view.setFocus()
    qtbot.keyClick(win.view, Qt.Key.Key_Right)
    assert win.scrubber.index == 3
    qtbot.keyClick(win.view, Qt.Key.Key_Home)
    assert win.scrubber.index == 0


class SolidMask:
    """A mask tool whose painted area is the whole canvas, drawn in opaque green."""

    radius = 5.0

    def __init__(self, w: int, h: int):
        self.image = solid(w, h, "lime")
        self.pressed = 0

    def overlay(self) -> QImage:
        return self.image

    def press(self, pt, erase=False):
        self.pressed += 1

    def move(self, pt):
        pass

    def release(self):
        pass


def test_the_result_side_of_the_split_shows_the_fill_not_the_mask(view, qtbot):
    view.tool = SolidMask(200, 100)
    view.set_split(0.5)
    grab = view.grab().toImage()
    left, right = grab.pixelColor(150, 150), grab.pixelColor(250, 150)
    assert left.green() > 200 and left.red() < 50  # the painted area over the photo
    assert right.blue() > 200 and right.green() < 50  # the result, uncovered
    # While a stroke is painted, the mask shows on both sides.
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=QPoint(250, 150))
    assert view.tool.pressed == 1
    assert view.grab().toImage().pixelColor(250, 150).green() > 200
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(250, 150))
    assert view.grab().toImage().pixelColor(250, 150).blue() > 200


def test_a_stroke_painted_on_the_result_side_stays_in_view_until_the_next_result(view, qtbot):
    """Painting the next object to remove over the result: the new stroke must not vanish from the
    result side on release (it did: the result hid the whole mask), and the area already filled
    stays uncovered; a new result, filled with both, hides the new stroke too."""
    from PySide6.QtCore import QSize

    from irsde_gui.app.ui.mask_editor import MaskEditor

    editor = MaskEditor()
    editor.reset(QSize(200, 100))
    editor.set_brush(20)
    view.tool = editor
    view.set_split(0.25)
    old, new = QPoint(230, 150), QPoint(330, 150)
    plain = view.grab().toImage()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=old)  # the first object
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=old)
    view.set_after(solid(200, 100, "blue"))  # its result
    assert view.grab().toImage().pixelColor(old) == plain.pixelColor(old)  # the fill, uncovered
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=new)  # the next object, over the result
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=new)
    shot = view.grab().toImage()
    assert shot.pixelColor(new) != plain.pixelColor(new)  # the new stroke shows over the result
    assert shot.pixelColor(old) == plain.pixelColor(old)  # the first fill is still not covered
    view.set_after(solid(200, 100, "blue"))  # the next result, filled with both
    assert view.grab().toImage().pixelColor(new) == plain.pixelColor(new)
