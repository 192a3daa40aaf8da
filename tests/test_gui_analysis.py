"""Looking into a result in the app: what changed (the residual) and the uncertainty map over seeds."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import smooth_image
from gui_support import make_window, restore_and_wait
from PySide6.QtGui import QImage

from irsde_gui.core.analysis import residual_image
from irsde_gui.core.imageio import Photo

pytest.importorskip("pytestqt")


def shown(win) -> np.ndarray:
    img = win.view.after_image().convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def as_u8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


@pytest.fixture
def win(qtbot, tmp_path, installed_tiny_weights):
    w = make_window(qtbot, tmp_path)
    w.set_photo(Photo(smooth_image(40, 56)), "test")
    w.panel.select_task("denoise")
    w.panel.set_steps(3)
    w.panel.seed_spin.setValue(7)
    return w


def map_and_wait(qtbot, win, timeout=60_000):
    win.uncertainty_map()
    qtbot.waitUntil(lambda: win.spread_run is None and win.run is None, timeout=timeout)


def test_what_changed_shows_input_minus_result_and_toggles_back(win, qtbot):
    restore_and_wait(qtbot, win)
    result = shown(win)
    assert np.array_equal(result, as_u8(win.result))
    win.changes_action.trigger()
    assert win.changes_action.isChecked() and "What changed" in win.view.after_label
    assert np.array_equal(shown(win), residual_image(win.photo.rgb - win.result))
    win.changes_action.trigger()  # again: back to the result
    assert not win.changes_action.isChecked() and np.array_equal(shown(win), result)


def test_what_changed_for_upscaling_is_drawn_at_the_result_size(win, qtbot):
    win.panel.select_task("sr")
    restore_and_wait(qtbot, win)
    win.set_result_view("changes")
    h, w = win.result.shape[:2]
    assert (h, w) == (160, 224) and shown(win).shape == (h, w, 3)


def test_uncertainty_map_runs_one_seed_after_another_and_keeps_the_first_as_result(win, qtbot):
    assert not win.spread_action.isEnabled()
    map_and_wait(qtbot, win)
    u = win.uncertainty
    assert u is not None and u.seeds == [7, 8, 9, 10]
    assert win.spread_action.isEnabled() and win.spread_action.isChecked()
    assert "Uncertainty over 4 seeds" in win.view.after_label
    assert np.array_equal(shown(win), u.heatmap())
    assert u.std.mean() > 0  # the seeds differ
    assert win.outcome.report.seed == 7 and len(win.trajectory) == 3  # the first seed's run
    first = win.result.copy()
    win.spread_action.trigger()  # U again: the result
    assert np.array_equal(shown(win), as_u8(first))
    # the first seed's result is exactly what a plain restore with that seed gives
    restore_and_wait(qtbot, win)
    assert np.array_equal(win.result, first)
    assert win.uncertainty is None and not win.spread_action.isEnabled()  # a new result: no old map


def test_stop_during_a_later_seed_keeps_the_first_result_and_makes_no_map(win, qtbot, monkeypatch):
    import threading

    from irsde_gui.core import pipeline

    # Hold every later seed after its first step until Stop is pressed: a tiny model's 20 steps
    # can otherwise all be done before the stop arrives (a busy machine made that happen).
    gate, runs, steps_iter = threading.Event(), [], pipeline.RestoreJob.steps_iter

    def held(job):
        runs.append(job)
        for rec in steps_iter(job):
            yield rec
            if len(runs) > 1:
                assert gate.wait(30)

    monkeypatch.setattr(pipeline.RestoreJob, "steps_iter", held)
    win.panel.set_steps(20)
    win.uncertainty_map()
    qtbot.waitUntil(
        # the second seed's run, not the first one's before its thread has ended
        lambda: (
            win.spread_run is not None and win.spread_run.done == 1 and win.run is not None and len(runs) > 1
        ),
        timeout=60_000,
    )
    first = win.result.copy()
    with qtbot.waitSignal(win.run_finished, timeout=30_000):
        win.stop()
        gate.set()
    assert win.spread_run is None and win.uncertainty is None and win.run is None
    assert np.array_equal(win.result, first) and win.outcome.report.seed == 7
    assert "stopped after 1 of 4 seeds" in win.progress_label.text()
    assert not win.message_bar.isVisible() or "x0_hat" not in win.message_bar.text
    qtbot.wait(50)
    assert win.run is None  # no further seed started


def before_shown(win) -> np.ndarray:
    img = win.view.before_image().convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def test_previous_result_on_the_left_for_an_a_b_of_samplers(win, qtbot):
    assert not win.previous_action.isEnabled()
    restore_and_wait(qtbot, win)
    first = win.result.copy()
    assert win.previous is None and not win.previous_action.isEnabled()
    win.panel.set_sampler("ode")
    restore_and_wait(qtbot, win)
    assert win.previous_action.isEnabled() and not np.array_equal(win.result, first)
    photo = before_shown(win)
    assert np.array_equal(photo, as_u8(win.photo.rgb)) and win.view.before_label == "Before"
    win.previous_action.trigger()  # P: the previous result against the current one
    assert np.array_equal(before_shown(win), as_u8(first))
    assert win.view.before_label == "Previous: denoise, posterior, 3 steps, seed 7"
    assert np.array_equal(shown(win), as_u8(win.result))  # the right side is the result
    assert win.view.after_label == "Result: ode, 3 steps, seed 7"
    win.previous_action.trigger()
    assert np.array_equal(before_shown(win), photo) and win.view.before_label == "Before"
    assert win.view.after_label == "Result"
    win.set_photo(Photo(smooth_image(40, 56, seed=3)), "other")  # a new photo: nothing to compare
    assert win.previous is None and not win.previous_action.isEnabled()
