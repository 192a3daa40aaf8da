"""The panel's suggestion line: shown for a photo that needs something, a click selects the task,
a preference turns it off, and the photo is measured off the GUI thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt, QThread
from PySide6.QtWidgets import QMenu, QVBoxLayout, QWidget

from irsde_gui.app.ui.settings import Settings
from irsde_gui.app.ui.suggestion import SuggestionLabel, SuggestionRunner, suggestions_action
from irsde_gui.core.suggest import Finding, Suggestion, suggest


def noisy_photo(sigma: float = 20, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.full((300, 900, 3), 0.5, np.float32)
    base[:, 450:] = 0.2
    return np.clip(base + rng.normal(0, sigma / 255, base.shape), 0, 1).astype(np.float32)


def nothing_to_fix() -> Suggestion:
    return Suggestion(1200, 900, (Finding("size", 1200.0, "px", False, "1200×900"),), None, "")


@pytest.fixture
def panel(qtbot):
    host = QWidget()
    layout = QVBoxLayout(host)
    label = SuggestionLabel(host)
    layout.addWidget(label)
    layout.addStretch()
    host.resize(420, 120)
    qtbot.addWidget(host)
    host.show()
    qtbot.waitExposed(host)
    yield label  # the host lives until the test ends


def test_a_noisy_photo_shows_a_line_and_a_click_selects_denoise(qtbot, panel):
    assert panel.isHidden() and panel.task is None
    panel.show_suggestion(suggest(noisy_photo()))
    assert panel.isVisible() and panel.task == "denoise"
    assert "Looks noisy (σ ≈ 2" in panel.text() and "Denoise suggested" in panel.text()
    assert "noise σ" in panel.toolTip() and "nothing runs until you press Restore" in panel.toolTip()
    with qtbot.waitSignal(panel.task_chosen, timeout=2000) as chosen:
        qtbot.mouseClick(panel, Qt.MouseButton.LeftButton, pos=QPoint(12, panel.height() // 2))
    assert chosen.args == ["denoise"]


def test_nothing_to_suggest_hides_the_line(panel):
    panel.show_suggestion(suggest(noisy_photo()))
    panel.show_suggestion(nothing_to_fix())
    assert panel.isHidden() and panel.task is None and panel.text() == ""
    panel.show_suggestion(suggest(noisy_photo()))
    panel.clear()
    assert panel.isHidden()


def test_the_preference_turns_it_off_and_on(qtbot, panel, tmp_path):
    ini = tmp_path / "prefs.ini"
    settings = Settings(ini)
    assert settings.suggest_tasks is True  # on by default
    menu = QMenu()
    action = suggestions_action(settings, panel, menu)
    menu.addAction(action)
    panel.show_suggestion(suggest(noisy_photo()))
    assert action.isChecked() and panel.isVisible()

    action.trigger()
    assert not action.isChecked() and panel.isHidden() and panel.task is None
    assert Settings(ini).suggest_tasks is False  # remembered
    panel.show_suggestion(suggest(noisy_photo(seed=1)))  # the next photo: still off
    assert panel.isHidden()

    action.trigger()
    assert panel.isVisible() and panel.task == "denoise"
    assert Settings(ini).suggest_tasks is True


def test_a_label_made_with_the_preference_off_starts_hidden(panel, tmp_path):
    settings = Settings(tmp_path / "prefs.ini")
    settings.suggest_tasks = False
    action = suggestions_action(settings, panel, panel)
    panel.show_suggestion(suggest(noisy_photo()))
    assert not action.isChecked() and panel.isHidden()


def test_the_photo_is_measured_off_the_gui_thread(qtbot):
    threads = []

    def measure(rgb):
        threads.append(QThread.currentThread())
        return suggest(rgb)

    runner = SuggestionRunner(measure=measure)
    with qtbot.waitSignal(runner.ready, timeout=10_000) as got:
        runner.estimate(noisy_photo())
    assert got.args[0].task == "denoise"
    assert threads and threads[0] is not QThread.currentThread()
    assert runner.wait(5000) and not runner.busy


def test_only_the_last_photo_answers(qtbot):
    release = threading.Event()

    def measure(rgb):
        if rgb[0, 0, 0] > 0.9:  # the first photo: slow, still measuring when the second comes
            release.wait(10)
        return suggest(rgb)

    runner = SuggestionRunner(measure=measure)
    first = np.ones((300, 900, 3), np.float32)
    answers = []
    runner.ready.connect(answers.append)
    runner.estimate(first)
    with qtbot.waitSignal(runner.ready, timeout=10_000):
        runner.estimate(noisy_photo())
    release.set()
    assert runner.wait(10_000)
    qtbot.wait(50)  # a late answer would arrive now
    assert [a.task for a in answers] == ["denoise"]


def test_a_failed_measurement_answers_none(qtbot, caplog):
    def measure(rgb):
        raise RuntimeError("broken estimator")

    runner = SuggestionRunner(measure=measure)
    with qtbot.waitSignal(runner.ready, timeout=10_000) as got:
        runner.estimate(noisy_photo())
    assert got.args == [None]
    assert "suggestion failed" in caplog.text
    runner.wait()


def test_cancel_drops_the_answer(qtbot):
    cancelled = threading.Event()  # the measurement ends after the cancel, however slow the machine
    runner = SuggestionRunner(measure=lambda rgb: (cancelled.wait(10), suggest(rgb))[1])
    answers = []
    runner.ready.connect(answers.append)
    runner.estimate(noisy_photo())
    runner.cancel()
    cancelled.set()
    assert runner.wait(10_000)
    qtbot.wait(50)
    assert answers == []


def test_the_window_suggests_for_an_opened_photo_and_a_click_selects_the_task(
    qtbot, tmp_path, installed_tiny_weights
):
    from conftest import smooth_image
    from gui_support import make_window

    from irsde_gui.core.imageio import Photo

    win = make_window(qtbot, tmp_path)
    label = win.panel.suggestion_label
    clean = smooth_image(256, 256, seed=1)
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 12 / 255, clean.shape), 0, 1).astype(
        np.float32
    )
    with qtbot.waitSignal(win.suggester.ready, timeout=10_000):
        win.set_photo(Photo(noisy), "noisy")
    assert label.task == "denoise" and label.isVisibleTo(win)
    label.linkActivated.emit(label.task)  # what a click on the link does
    assert win.panel.task == "denoise"
    assert win.run is None, "a suggestion never runs anything on its own"
    # Turned off in the View menu, the line goes and a new photo is not measured.
    win.suggest_action.setChecked(False)
    assert not label.isVisibleTo(win)
    win.set_photo(Photo(noisy), "again")
    qtbot.wait(300)
    assert not win.suggester.busy and label.task is None
