"""The window with the formats people bring and with chained tasks (issue 25).

- A camera RAW is developed on the reading thread, never the GUI thread, with progress; the
  status bar says it is a developed RAW; its result is saved as a 16-bit PNG by default; a
  corrupt one is refused in one message.
- A HEIC's result is offered as HEIC first ("like the input") and keeps its EXIF.
- "Continue from the result" (Ctrl+Shift+R) makes the result the photo: the run report of the
  chain lists every stage, the exported trajectory holds them all, and Undo goes back a stage.
"""

from __future__ import annotations

import json
import threading

import pytest
from conftest import smooth_image
from gui_support import make_window, open_photo, restore_and_wait, write_png
from PIL import Image
from raw_support import minimal_dng

from irsde_gui.core import imageio
from irsde_gui.core.imageio import read_photo, write_photo

pytest.importorskip("pytestqt")
pytest.importorskip("rawpy")
pytest.importorskip("tifffile")
pytest.importorskip("pillow_heif")


def test_a_raw_is_developed_off_the_gui_thread_with_progress(qtbot, tmp_path, installed_tiny_weights):
    raw = tmp_path / "IMG_0001.dng"
    raw.write_bytes(minimal_dng(smooth_image(24, 32), orientation=6))
    win = make_window(qtbot, tmp_path)
    threads, real = [], imageio._decode_raw

    def decode(data, name):
        threads.append(threading.current_thread())
        return real(data, name)

    imageio._decode_raw, messages = decode, []
    win.statusBar().messageChanged.connect(messages.append)
    try:
        assert open_photo(qtbot, win, raw)
    finally:
        imageio._decode_raw = real
    assert threads and threads[0] is not threading.main_thread(), "developed on the reading thread"
    assert any("Developing the RAW" in m for m in messages), messages
    assert (win.photo.width, win.photo.height) == (24, 32) and win.photo.bit_depth == 16
    assert "developed RAW (Acme R1, camera white balance)" in win.size_label.text()
    assert "16-bit RGB" in win.size_label.text()

    win.panel.select_task("denoise")
    win.panel.set_steps(1)
    restore_and_wait(qtbot, win)
    assert win.save() is None  # the dialog was cancelled: only its suggestion is looked at
    assert win.dialogs.suggested_image.endswith("IMG_0001-denoise.png"), "no RAW writer: PNG"
    win.dialogs.answers["save_image"] = win.dialogs.suggested_image
    out = win.save()
    saved = read_photo(out)
    assert saved.bit_depth == 16 and (saved.width, saved.height) == (24, 32)
    win.close()


def test_a_corrupt_raw_is_refused_in_one_message(qtbot, tmp_path):
    raw = tmp_path / "broken.cr2"
    data = minimal_dng(smooth_image(24, 32))
    raw.write_bytes(data[: len(data) // 2])
    win = make_window(qtbot, tmp_path, engine=False)
    assert not open_photo(qtbot, win, raw)
    assert win.message_bar.kind == "error"
    assert (
        win.message_bar.text
        == "Could not open “broken.cr2”: the RAW data is truncated or damaged (Input/output error)."
    )
    assert win.photo is None and not win.progress_row.isVisible()
    win.close()


def test_a_heic_is_saved_as_heic_by_default_with_its_exif(qtbot, tmp_path, installed_tiny_weights):
    exif = Image.Exif()
    exif[0x0110] = "Acme Phone 9"
    src = write_photo(tmp_path / "IMG_1234.HEIC", smooth_image(24, 32))
    like = read_photo(src)
    like.exif = exif.tobytes()
    write_photo(src, like.rgb, like=like, overwrite_input=True)
    win = make_window(qtbot, tmp_path, jpeg_quality=90)
    assert open_photo(qtbot, win, src)
    win.panel.select_task("denoise")
    win.panel.set_steps(1)
    restore_and_wait(qtbot, win)
    assert win.save() is None
    assert win.dialogs.suggested_image.endswith("IMG_1234-denoise.heic"), "like the input"
    assert next(iter(win.dialogs.save_filters.values())) == ".heic", "HEIC offered first"
    win.dialogs.answers["save_image"] = win.dialogs.suggested_image
    out = win.save()
    assert "jpeg_quality" in win.dialogs.asked, "a lossy format asks its quality"
    saved = read_photo(out)
    assert saved.format == "HEIF"
    back = Image.Exif()
    back.load(saved.exif)
    assert back[0x0110] == "Acme Phone 9"
    win.close()


def test_a_png_is_not_offered_heic(qtbot, tmp_path, installed_tiny_weights):
    win = make_window(qtbot, tmp_path)
    assert open_photo(qtbot, win, write_png(tmp_path / "photo.png", smooth_image(24, 32)))
    win.panel.set_steps(1)
    restore_and_wait(qtbot, win)
    win.save()
    assert (
        ".heic" not in win.dialogs.save_filters.values() and ".avif" not in win.dialogs.save_filters.values()
    )
    win.close()


# ------------------------------------------------------------------ chaining
def test_continue_from_the_result_chains_stages_and_undo_goes_back(qtbot, tmp_path, installed_tiny_weights):
    src = write_png(tmp_path / "photo.png", smooth_image(24, 32))
    win = make_window(qtbot, tmp_path)
    assert open_photo(qtbot, win, src)
    original = win.photo.rgb
    assert win.continue_action.shortcut().toString() == "Ctrl+Shift+R"
    assert not win.continue_action.isEnabled(), "nothing to continue from yet"
    win.panel.select_task("denoise")
    win.panel.set_steps(2)
    restore_and_wait(qtbot, win)
    denoised, first = win.result, win.outcome

    win.continue_action.trigger()
    assert win.photo.rgb is denoised and len(win.stages) == 1 and win.result is None
    assert "stage 2, after denoise" in win.size_label.text()
    win.panel.select_task("sr")
    win.panel.set_steps(2)
    restore_and_wait(qtbot, win)
    assert win.result.shape == (96, 128, 3)
    stages = win.outcome.report.stages
    assert [s["task"] for s in stages] == ["denoise", "sr"]
    assert all(len(s["model_sha256"]) == 64 and s["steps"] == 2 for s in stages)
    assert stages[0]["seed"] == first.report.seed and win.outcome.report.input == str(src)

    win.dialogs.answers["save_image"] = str(tmp_path / "out" / "photo-clean.png")
    out = win.save()
    assert win.dialogs.suggested_image.endswith("photo-denoise-sr.png")
    assert Image.open(out).size == (128, 96)
    report = json.loads(out.with_suffix(".json").read_text())
    assert [s["task"] for s in report["stages"]] == ["denoise", "sr"] and report["input_size"] == [32, 24]

    gif = tmp_path / "steps.gif"
    win.dialogs.answers["export_trajectory"] = str(gif)
    assert win.export_trajectory() == gif
    with Image.open(gif) as im:
        assert im.n_frames == 4 and im.size == (128, 96), "both stages, one after another"

    win.undo_action.trigger()  # Ctrl+Z: back one stage
    assert win.stages == [] and win.photo.rgb is original
    assert win.result is denoised and win.outcome is first
    assert not win.back_action.isEnabled() and win.continue_action.isEnabled()
    assert win.view.canvas_size.width() == 32, "the canvas is the photo's size again, not x4"
    win.close()


def test_undo_takes_back_a_mask_stroke_before_a_stage(qtbot, tmp_path, installed_tiny_weights):
    win = make_window(qtbot, tmp_path)
    assert open_photo(qtbot, win, write_png(tmp_path / "photo.png", smooth_image(24, 32)))
    win.panel.select_task("denoise")
    win.panel.set_steps(1)
    restore_and_wait(qtbot, win)
    win.continue_action.trigger()
    win.panel.select_task("inpaint")
    win.mask_editor.paint_stroke([(4.0, 4.0), (12.0, 8.0)])
    assert not win.mask_editor.is_empty()
    win.undo()
    assert win.mask_editor.is_empty() and len(win.stages) == 1, "the stroke first"
    win.undo()
    assert win.stages == [] and win.result is not None, "then the stage"
    win.close()
