"""Settings and window layout survive closing and reopening the window; missing weights are explained."""

from __future__ import annotations

import pytest
from gui_support import make_window

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from irsde_gui.app.ui.settings import Settings


def test_settings_survive_a_restart(qtbot, tmp_path, installed_tiny_weights):
    ini = tmp_path / "prefs.ini"
    win = make_window(qtbot, tmp_path, settings_file=ini)
    assert win.panel.select_task("deblur")
    win.panel.set_steps(7)
    win.panel.set_sampler("ode")
    win.panel.set_seed(4242)
    assert win.panel.set_device("cpu")
    win.side_action.trigger()
    win.scrubber.set_kind("estimate")
    win.settings.last_folder = str(tmp_path)
    win.resize(900, 640)
    win.close()

    again = make_window(qtbot, tmp_path, settings_file=ini)
    p = again.panel
    assert (p.task, p.steps, p.sampler, p.seed, p.device) == ("deblur", 7, "ode", 4242, "cpu")
    assert again.view.mode == "side" and again.side_action.isChecked()
    assert again.scrubber.kind == "estimate"
    assert again.settings.last_folder == str(tmp_path)
    assert Settings(ini).task == "deblur"


def test_geometry_is_restored(qtbot, tmp_path):
    ini = tmp_path / "prefs.ini"
    win = make_window(qtbot, tmp_path, engine=False, settings_file=ini)
    win.resize(777, 555)  # the offscreen test screen is 800 x 600
    win.close()
    from irsde_gui.app.ui.main_window import MainWindow

    again = MainWindow(Settings(ini), load_engine=False)
    qtbot.addWidget(again)
    again.show()
    assert (again.width(), again.height()) == (777, 555)


@pytest.fixture
def no_bundled_weights(monkeypatch, tmp_path):
    monkeypatch.setattr("irsde_gui.core.paths.bundled_weights_dir", lambda: tmp_path / "no-bundled-weights")


def test_tasks_without_weights_are_disabled_with_the_reason(
    qtbot, tmp_path, installed_tiny_weights, no_bundled_weights
):
    for ext in (".pt", ".json"):
        (installed_tiny_weights / f"dehaze{ext}").unlink()
    win = make_window(qtbot, tmp_path)
    items = {win.panel.task_list.item(i).text(): win.panel.task_list.item(i) for i in range(6)}
    dehaze = items["Dehaze"]
    assert not dehaze.flags() & Qt.ItemFlag.ItemIsEnabled
    assert "No trained weights" in dehaze.toolTip()
    assert items["Denoise"].flags() & Qt.ItemFlag.ItemIsEnabled
    assert not win.panel.select_task("dehaze")


def test_no_weights_at_all_says_so(qtbot, tmp_path, no_bundled_weights):
    win = make_window(qtbot, tmp_path)
    assert all(not i.available for i in win.engine.tasks.values())
    assert "No trained weights are installed" in win.message_bar.text


def test_about_names_each_model_with_its_data_and_numbers(qtbot, tmp_path, installed_tiny_weights):
    import json

    from irsde_gui.app.ui.dialogs import about_html

    card = installed_tiny_weights / "denoise.json"
    d = json.loads(card.read_text())
    d["training"] = {"data": ["bsds500_train", "div2k"], "iterations": 1200}
    d["validation"] = {
        "cbsd68": {
            "folder": "/data/cbsd68",
            "images": 68,
            "classic_method": "BM3D",
            "mean": {"input": {"psnr": 20.1, "ssim": 0.4}, "model": {"psnr": 30.25, "ssim": 0.871}},
            "per_image": [{"image": "a.png"}] * 68,
        }
    }
    card.write_text(json.dumps(d))  # the card is not covered by the sha256 of the weights
    win = make_window(qtbot, tmp_path)
    text = about_html(win.engine)
    assert "bsds500_train, div2k; iterations 1200" in text
    assert "cbsd68 (68 images): model 30.25 dB / SSIM 0.871" in text and "a.png" not in text
    assert text.count("no validation numbers in the model card") == 5  # the tiny cards have none
    assert "denoise.pt" in text and "sha256" in text
    # the deblur model is installed: a known blur still runs with the denoise model
    assert "A known blur (Blur ▸ Known blur from a file…) is deconvolved with denoise.pt" in text


def test_a_remembered_gpu_that_is_missing_falls_back_with_a_message(qtbot, tmp_path, installed_tiny_weights):
    from irsde_gui.core.device import mps_available

    if mps_available():
        pytest.skip("this machine has an Apple GPU")
    ini = tmp_path / "prefs.ini"
    s = Settings(ini)
    s.device = "mps"  # not present on the test machines
    s.sync()
    win = make_window(qtbot, tmp_path, settings_file=ini)
    assert win.panel.device == "auto"
    assert "MPS" in win.message_bar.text and "was not found" in win.message_bar.text


def test_averaging_with_the_turned_photo_follows_the_task_and_is_remembered(
    qtbot, tmp_path, installed_tiny_weights
):
    """On by default where the task averages (denoise), off elsewhere; the run does what the box
    says and its report says so; the choice is remembered per task across a restart."""
    import numpy as np
    from gui_support import open_photo, restore_and_wait
    from PIL import Image

    ini = tmp_path / "prefs.ini"
    win = make_window(qtbot, tmp_path, settings_file=ini)
    p = win.panel
    assert p.select_task("denoise") and p.flip_check.isChecked() and p.flip_average is True
    assert p.select_task("dehaze") and not p.flip_check.isChecked()
    photo = tmp_path / "p.png"
    Image.fromarray(np.full((40, 48, 3), 128, np.uint8)).save(photo)
    assert open_photo(qtbot, win, photo)
    assert p.select_task("denoise")
    p.set_steps(1)
    assert restore_and_wait(qtbot, win).report.flip_average is True
    assert "upside-down copy" in win.progress_label.text()
    p.flip_check.setChecked(False)
    assert restore_and_wait(qtbot, win).report.flip_average is False
    assert "upside-down" not in win.progress_label.text()
    win.close()

    again = make_window(qtbot, tmp_path, settings_file=ini)
    assert again.panel.select_task("denoise") and not again.panel.flip_check.isChecked()
    assert Settings(ini).flip_average("denoise") is False and Settings(ini).flip_average("sr") is None
