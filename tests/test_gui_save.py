"""Saving the result (never over the input unasked), the run report, and exporting the trajectory."""

from __future__ import annotations

import hashlib
import json

import cv2
import numpy as np
import pytest
from conftest import smooth_image
from gui_support import make_window, open_photo, restore_and_wait, write_png
from PIL import Image

pytest.importorskip("pytestqt")


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def restored(qtbot, tmp_path, installed_tiny_weights):
    src = write_png(tmp_path / "photo.png", smooth_image(40, 56))
    win = make_window(qtbot, tmp_path)
    assert open_photo(qtbot, win, src)
    win.panel.select_task("denoise")
    win.panel.set_steps(4)
    restore_and_wait(qtbot, win)
    assert win.result is not None
    return win, src


def test_save_writes_the_result_and_leaves_the_input_untouched(restored, tmp_path):
    win, src = restored
    before = digest(src)
    out = tmp_path / "out" / "clean.png"
    win.dialogs.answers["save_image"] = str(out)
    assert win.save() == out
    assert out.is_file()
    saved = np.asarray(Image.open(out))
    assert saved.shape == (40, 56, 3)
    assert np.abs(saved / 255.0 - win.result).max() <= 0.5 / 255 + 1e-6
    assert digest(src) == before
    report = json.loads((tmp_path / "out" / "clean.json").read_text())
    assert report["task"] == "denoise" and report["steps"] == 4 and report["output"] == str(out)
    assert len(report["model_sha256"]) == 64 and report["seed"] == win.panel.seed
    assert len(report["step_seconds"]) == 4 and report["device"].startswith("CPU")


def test_save_over_the_input_asks_first(restored):
    win, src = restored
    before = digest(src)
    win.dialogs.answers.update(save_image=str(src), confirm=False)
    assert win.save() is None
    assert "confirm" in win.dialogs.asked
    assert digest(src) == before, "declining keeps the input as it was"
    win.dialogs.answers["confirm"] = True
    assert win.save() == src
    assert digest(src) != before, "only an explicit yes replaces the input"


def test_jpeg_asks_the_quality(restored, tmp_path):
    win, _src = restored
    win.dialogs.answers.update(save_image=str(tmp_path / "clean.jpg"), jpeg_quality=80)
    out = win.save()
    assert out is not None and Image.open(out).format == "JPEG"
    assert win.settings.jpeg_quality == 80


def test_sixteen_bit_input_saves_sixteen_bit_tiff(qtbot, tmp_path, installed_tiny_weights):
    rgb16 = (smooth_image(32, 40) * 65535).astype(np.uint16)
    src = tmp_path / "deep.png"
    cv2.imwrite(str(src), cv2.cvtColor(rgb16, cv2.COLOR_RGB2BGR))
    win = make_window(qtbot, tmp_path)
    assert open_photo(qtbot, win, src) and win.photo.bit_depth == 16
    win.panel.set_steps(2)
    restore_and_wait(qtbot, win)
    win.dialogs.answers["save_image"] = str(tmp_path / "deep-clean.tif")
    out = win.save()
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape == (32, 40, 3)


def test_export_writes_a_gif_with_one_frame_per_stored_step(restored, tmp_path):
    win, _src = restored
    assert len(win.trajectory) == 4
    gif = tmp_path / "steps.gif"
    win.dialogs.answers["export_trajectory"] = str(gif)
    assert win.export_trajectory() == gif
    with Image.open(gif) as im:
        assert im.n_frames == len(win.trajectory)
        assert im.size == (56, 40)
    sheet = tmp_path / "sheet.png"
    win.dialogs.answers["export_trajectory"] = str(sheet)
    assert win.export_trajectory() == sheet and Image.open(sheet).format == "PNG"


def test_stop_offers_to_keep_the_clean_estimate(qtbot, tmp_path, installed_tiny_weights):
    win = make_window(qtbot, tmp_path)
    src = write_png(tmp_path / "photo.png", smooth_image(40, 56))
    open_photo(qtbot, win, src)
    win.panel.set_steps(100)
    stopped_at: list[int] = []

    def stop_after_two(frame):
        if frame.index >= 2 and not stopped_at:
            stopped_at.append(frame.index)
            win.stop()

    with qtbot.waitSignal(win.run_finished, timeout=30_000) as blocker:
        win.restore()
        win.run.frame.connect(stop_after_two)
    outcome = blocker.args[0]
    assert outcome.stopped and outcome.steps_done <= stopped_at[0] + 1
    assert win.result is None, "nothing is kept without asking"
    assert "Keep its clean estimate" in win.message_bar.text
    win.message_bar.action("Keep x0_hat").click()
    assert win.result is not None and np.array_equal(win.result, outcome.image)
    assert win.save_action.isEnabled()


def test_batch_queue_restores_every_file_into_the_output_folder(qtbot, tmp_path, installed_tiny_weights):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        write_png(folder / f"p{i}.png", smooth_image(24, 32, seed=i))
    (folder / "broken.png").write_bytes(b"not really a png")
    out = tmp_path / "out"
    win = make_window(qtbot, tmp_path, choose_folder=str(out))
    win.panel.set_steps(2)
    with qtbot.waitSignal(win.paths_listed):  # the folder is listed on a thread of its own
        win.open_paths([folder])
    assert len(win.batch.items) == 3
    win.choose_batch_folder()
    with qtbot.waitSignal(win.batch.queue_finished, timeout=60_000) as blocker:
        win.batch.start()
    assert blocker.args == [2, 1]
    assert sorted(p.name for p in out.iterdir()) == ["p0.json", "p0.png", "p1.json", "p1.png"]
    broken = next(i for i in win.batch.items if i.source.name == "broken.png")
    assert broken.status == "failed" and "broken.png" in broken.message
    assert not win.batch.is_running and win.restore_action.isEnabled()


def test_closing_the_window_during_a_run_cancels_and_waits(qtbot, tmp_path, installed_tiny_weights):
    win = make_window(qtbot, tmp_path)
    open_photo(qtbot, win, write_png(tmp_path / "photo.png", smooth_image(40, 56)))
    win.panel.set_steps(100)
    win.restore()
    run = win.run
    qtbot.waitUntil(lambda: len(win.trajectory) >= 1, timeout=20_000)
    win.close()
    assert not run.is_running(), "the worker thread has ended before the window is gone"
    assert len(win.trajectory) < 100


def test_opening_another_photo_during_a_run_stops_it(qtbot, tmp_path, installed_tiny_weights):
    win = make_window(qtbot, tmp_path)
    open_photo(qtbot, win, write_png(tmp_path / "first.png", smooth_image(40, 56)))
    win.panel.set_steps(100)
    with qtbot.waitSignal(win.run_finished, timeout=30_000):
        win.restore()
        qtbot.waitUntil(lambda: len(win.trajectory) >= 1, timeout=20_000)
        open_photo(qtbot, win, write_png(tmp_path / "second.png", smooth_image(24, 32, seed=2)))
    assert win.photo.rgb.shape == (24, 32, 3)
    assert win.result is None and len(win.trajectory) == 0 and win.message_bar.isHidden()
    assert win.run is None and win.restore_action.isEnabled()


def test_the_strength_slider_blends_the_result_shown_and_saved(restored, tmp_path):
    """Dragging Strength to 40 % shows and saves 40 % of the restoration at once (no new run),
    and its report says so; inpainting hides the slider."""
    win, _src = restored
    full = win.session.full_result.copy()
    photo = win.photo.rgb
    win.panel.strength_slider.setValue(40)
    assert win.panel.strength_spin.value() == 40 and not win.session.running
    np.testing.assert_allclose(win.result, photo + 0.4 * (full - photo), atol=1e-6)
    assert win.view.after_label == "Result at 40 % strength"
    out = tmp_path / "gentle.png"
    win.dialogs.answers["save_image"] = str(out)
    assert win.save() == out
    saved = np.asarray(Image.open(out)) / 255.0
    assert np.abs(saved - win.result).max() <= 0.5 / 255 + 1e-6
    assert json.loads(out.with_suffix(".json").read_text())["strength"] == 0.4
    form = win.panel._form
    assert form.isRowVisible(win.panel._strength_row)
    win.panel.select_task("inpaint")
    assert not form.isRowVisible(win.panel._strength_row)


def test_a_batch_writes_its_results_at_the_strength_chosen(qtbot, tmp_path, installed_tiny_weights):
    """The batch takes the slider's strength: each photo written blends the same way as the window's
    result does, and its report says so."""
    (tmp_path / "in").mkdir()
    src = write_png(tmp_path / "in" / "a.png", smooth_image(24, 32))
    out = tmp_path / "out"
    win = make_window(qtbot, tmp_path, choose_folder=str(out))
    win.settings.save_report = True
    win.panel.select_task("denoise")
    win.panel.set_steps(2)
    win.panel.strength_slider.setValue(0)
    assert win.batch.add_paths([src]) == 1
    win.choose_batch_folder()
    with qtbot.waitSignal(win.batch.queue_finished, timeout=120_000):
        win.batch.start()
    written = [p for p in out.rglob("*.png")]
    assert len(written) == 1
    photo = np.asarray(Image.open(src), np.float64)
    assert np.abs(np.asarray(Image.open(written[0]), np.float64) - photo).max() <= 1.0  # none kept
    assert json.loads(written[0].with_suffix(".json").read_text())["strength"] == 0.0
