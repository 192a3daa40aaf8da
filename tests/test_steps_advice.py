"""The steps' tooltip says what more steps do for the chosen model, from its card's step sweep."""

from __future__ import annotations

import pytest

from irsde_gui.core.sde import SDEConfig
from irsde_gui.core.weights import ModelCard


def card(validation: dict) -> ModelCard:
    return ModelCard("denoise", {}, SDEConfig(), validation=validation)


def test_a_sweep_best_at_one_step_says_more_steps_sample_and_cost_time():
    sweep = {"steps": {"1": {"psnr": 37.48, "seconds": 1.7}, "5": {"psnr": 37.25, "seconds": 3.7}}}
    text = card({"polyu": {"name": "polyu real noise", "step_sweep": sweep}}).steps_advice()
    assert text.startswith("The fewest steps score best")
    assert "polyu real noise" in text and "1: 37.48 dB, 1.7 s" in text and "5: 37.25 dB, 3.7 s" in text


def test_an_older_sweep_best_later_names_its_best_count():
    sweep = {"images": 8, "psnr_y": {"1": 23.9, "2": 24.02, "5": 23.77}}
    text = card({"cbsd68": {"name": "cbsd68", "step_sweep": sweep}, "summary": "x"}).steps_advice()
    assert text.startswith("This model scores best at 2 steps") and "5: 23.77 dB" in text


def test_without_a_sweep_there_is_no_advice():
    assert card({"summary": "PSNR 30 dB"}).steps_advice() is None
    assert card({"a": {"step_sweep": {"steps": {"1": {"psnr": 30.0}}}}}).steps_advice() is None


def test_the_window_shows_the_chosen_models_advice_on_its_steps(qtbot, tmp_path):
    pytest.importorskip("pytestqt")
    from irsde_gui.app.ui.main_window import MainWindow
    from irsde_gui.app.ui.settings import Settings
    from irsde_gui.app.worker import load_engine_info

    win = MainWindow(Settings(tmp_path / "settings.ini"), load_engine=False)
    qtbot.addWidget(win)
    engine = load_engine_info()
    win.set_engine(engine)
    for name in ("sr", "dehaze"):
        assert win.panel.select_task(name)
        advice = engine.tasks[name].card.steps_advice()
        assert advice and win.panel.steps_spin.toolTip() == advice == win.panel.steps_slider.toolTip()
