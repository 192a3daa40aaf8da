"""The inpainting mask: what is painted on the canvas is the mask, and the inpaint run fills exactly that."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import smooth_image
from gui_support import make_window, restore_and_wait

pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, QPointF, QSize, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from irsde_gui.app.ui.mask_editor import MaskEditor
from irsde_gui.core.imageio import Photo


def mouse(view, kind, pos: QPointF, button=Qt.MouseButton.LeftButton):
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    ev = QMouseEvent(
        kind,
        pos,
        view.mapToGlobal(pos),
        button if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(view, ev)


def paint(view, canvas_points, button=Qt.MouseButton.LeftButton):
    pts = [view.map_from_canvas(QPointF(x, y)) for x, y in canvas_points]
    mouse(view, QEvent.Type.MouseButtonPress, pts[0], button)
    for p in pts[1:]:
        mouse(view, QEvent.Type.MouseMove, p, button)
    mouse(view, QEvent.Type.MouseButtonRelease, pts[-1], button)


def distance_to_segment(h, w, a, b):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = np.clip(((xx - ax) * dx + (yy - ay) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
    return np.hypot(xx - (ax + t * dx), yy - (ay + t * dy))


def test_mask_editor_produces_the_painted_mask(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path, engine=False)
    win.set_photo(Photo(smooth_image(60, 80)), "test")
    editor = win.mask_editor
    win.view.tool = editor  # what selecting the inpaint task does
    editor.set_brush(10)
    paint(win.view, [(10, 20), (40, 20), (60, 30)])
    m = editor.to_array()
    assert m.shape == (60, 80) and m.dtype == np.uint8
    d = np.minimum(
        distance_to_segment(60, 80, (10, 20), (40, 20)), distance_to_segment(60, 80, (40, 20), (60, 30))
    )
    assert (m[d <= 4] == 255).all(), "every pixel well inside the stroke is painted"
    assert (m[d >= 6.5] == 0).all(), "nothing outside the stroke is painted"
    # the right button erases; undo brings the stroke back
    paint(win.view, [(20, 20)], button=Qt.MouseButton.RightButton)
    erased = editor.to_array()
    assert erased[20, 20] == 0 and erased[20, 35] == 255
    editor.undo()
    assert np.array_equal(editor.to_array(), m)
    # brush size from the keyboard
    size = editor.brush
    win.view.setFocus()
    qtbot.keyClick(win.view, Qt.Key.Key_BracketRight)
    assert editor.brush > size


def test_mask_round_trip_and_invert(qtbot):
    editor = MaskEditor()
    editor.reset(QSize(16, 8))
    target = np.zeros((8, 16), np.uint8)
    target[2:5, 3:9] = 255
    editor.set_array(target)
    assert np.array_equal(editor.to_array(), target)
    editor.invert()
    assert np.array_equal(editor.to_array(), 255 - target)
    editor.clear()
    assert editor.is_empty()


def test_inpaint_run_uses_the_painted_mask(qtbot, tmp_path, installed_tiny_weights):
    win = make_window(qtbot, tmp_path)
    rgb = smooth_image(48, 64)
    win.set_photo(Photo(rgb), "test")
    assert win.panel.select_task("inpaint")
    assert win.view.tool is win.mask_editor and not win.panel.mask_box.isHidden()
    win.panel.set_steps(3)
    # with nothing painted, Restore explains what to do instead of running
    win.restore()
    assert win.run is None and "Paint the area to fill" in win.message_bar.text
    win.mask_editor.set_brush(12)
    paint(win.view, [(20, 24), (44, 24)])
    painted = win.mask_editor.to_array()
    assert painted.any()
    outcome = restore_and_wait(qtbot, win)
    assert outcome is not None and not outcome.stopped
    # The run fills the painted area and its grown margin (on by default), nothing else.
    fill = win.mask_editor.run_mask() > 127
    assert fill.sum() > (painted > 127).sum()
    result = win.result
    assert np.array_equal(result[~fill], rgb[~fill]), "pixels outside the mask are kept exactly"
    assert np.abs(result[fill] - rgb[fill]).mean() > 0.01, "pixels inside the mask are filled by the model"
    margin = fill & (painted <= 127)
    assert np.abs(result[margin] - rgb[margin]).mean() > 0.01, "the margin is filled too"


def test_painting_over_a_x4_result_marks_the_photo_pixels_below(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path, engine=False)
    win.set_photo(Photo(smooth_image(30, 40)), "test")
    win._set_canvas_scale(4)  # what a x4 super-resolution run does to the canvas
    win.view.tool = win.mask_editor
    win.mask_editor.set_brush(4)
    paint(win.view, [(80, 60)])  # canvas pixels: photo pixel (20, 15)
    m = win.mask_editor.to_array()
    assert m.shape == (30, 40) and m[15, 20] == 255 and m[15, 30] == 0
    assert win.mask_editor.radius == pytest.approx(8.0)


def test_grow_mask_in_the_window_dilates_by_the_set_amount_and_undo_brings_it_back(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path, engine=False)
    win.set_photo(Photo(smooth_image(80, 80)), "test")
    editor, tools = win.mask_editor, win.panel.mask_tools
    win.view.tool = editor
    editor.set_brush(10)
    paint(win.view, [(40, 40)])
    painted = editor.to_array()
    tools.grow_spin.setValue(7)
    qtbot.mouseClick(tools.grow_button, Qt.MouseButton.LeftButton)
    grown = editor.to_array()
    # Every pixel within 7 px of the painted area is now painted, and none much farther.
    import cv2

    dist = cv2.distanceTransform((painted == 0).astype(np.uint8), cv2.DIST_L2, 5)
    assert (grown[dist <= 6.5] == 255).all()
    assert (grown[dist > 8] == 0).all()
    assert (grown > 127).sum() > (painted > 127).sum()
    assert editor.undo()
    assert np.array_equal(editor.to_array(), painted)


def test_runs_fill_a_margin_beyond_the_painted_area_by_default(qtbot, tmp_path):
    from irsde_gui.app.ui.mask_editor import DEFAULT_GROW
    from irsde_gui.core.tasks import grow_mask

    win = make_window(qtbot, tmp_path, engine=False)
    win.set_photo(Photo(smooth_image(64, 64)), "test")
    editor, tools = win.mask_editor, win.panel.mask_tools
    editor.paint_stroke([(20, 20), (40, 30)])
    assert tools.grow_check.isChecked() and editor.grow_on and editor.grow_px == DEFAULT_GROW
    painted = editor.to_array()
    assert np.array_equal(editor.run_mask(), grow_mask(painted, DEFAULT_GROW))
    assert np.array_equal(editor.to_array(), painted), "growing for a run leaves the painted mask alone"
    assert "+ 6 px" in tools.coverage_label.text()
    tools.grow_check.setChecked(False)
    assert np.array_equal(editor.run_mask(), painted)
    tools.grow_check.setChecked(True)
    tools.grow_spin.setValue(3)
    assert np.array_equal(editor.run_mask(), grow_mask(painted, 3))
    overlay = editor.overlay()
    ys, xs = np.nonzero((grow_mask(painted, 3) > 0) & (painted == 0))
    assert len(ys) and overlay.pixelColor(int(xs[0]), int(ys[0])).alpha() > 0  # the margin shows
    assert overlay.pixelColor(63, 63).alpha() == 0
