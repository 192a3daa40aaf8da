"""Deblurring with no deblur model installed: the blur is estimated from the photo and undone with
the denoise model as the prior, in the library, the command line, the worker and the window."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
from conftest import make_tiny_weights, smooth_image
from PIL import Image

from irsde_gui.cli import main
from irsde_gui.core.blind import (
    BLIND_ROUNDS,
    ESTIMATED_STRENGTH,
    KNOWN_ROUNDS,
    KNOWN_STRENGTH,
    MAX_BLIND_ROUNDS,
    blur_extent,
    deconvolve,
    describe_blur_extent,
)
from irsde_gui.core.imageio import ImageReadError, read_kernel
from irsde_gui.core.model import load_task_restorer
from irsde_gui.core.pipeline import BlindDeblurJob, JobHooks, JobSettings, RestoreJob, create_job, is_blind
from irsde_gui.core.runs import RunReport
from irsde_gui.core.tasks import get_task
from irsde_gui.core.weights import WeightsError, resolve_weights


@pytest.fixture
def denoise_only(installed_tiny_weights):
    """Every tiny model but deblur's."""
    for f in installed_tiny_weights.glob("deblur.*"):
        f.unlink()
    return installed_tiny_weights


def test_deblur_falls_back_to_the_denoise_model(denoise_only):
    assert resolve_weights("deblur") == ("denoise", denoise_only / "denoise.pt")
    # told the denoise model's file, deblur runs blind too; other tasks are untouched
    assert resolve_weights("deblur", denoise_only / "denoise.pt")[0] == "denoise"
    assert resolve_weights("derain") == ("derain", denoise_only / "derain.pt")


def test_an_installed_deblur_model_is_used_when_there_is_one(installed_tiny_weights):
    task, path = resolve_weights("deblur")
    assert (task, path.name) == ("deblur", "deblur.pt")
    restorer = load_task_restorer("deblur", device="cpu")
    assert not is_blind(get_task("deblur"), restorer)
    assert isinstance(create_job(get_task("deblur"), restorer, smooth_image(32, 32)), RestoreJob)


def test_without_either_model_the_message_says_what_is_missing(isolated_user_dirs, monkeypatch, tmp_path):
    monkeypatch.setattr("irsde_gui.core.paths.bundled_weights_dir", lambda: tmp_path / "none")
    with pytest.raises(WeightsError, match="the denoise model as the prior, needs that model"):
        resolve_weights("deblur")


def test_a_blind_job_estimates_the_blur_then_yields_one_record_a_round(denoise_only):
    restorer = load_task_restorer("deblur", device="cpu")
    stages = []
    job = create_job(
        get_task("deblur"),
        restorer,
        smooth_image(48, 64),
        settings=JobSettings(steps=3),
        hooks=JobHooks(on_stage=lambda what, done, total: stages.append((what, done, total))),
    )
    assert isinstance(job, BlindDeblurJob) and job.steps == 3
    records = list(job.steps_iter())
    assert [(r.index, r.total) for r in records] == [(1, 3), (2, 3), (3, 3)]
    assert records[0].x_t.shape == records[0].x0_hat.shape == (1, 3, 48, 64)
    assert stages and stages[0][0] == "Estimating the blur"
    assert [d for _, d, _ in stages] == list(range(1, stages[0][2] + 1))
    assert job.result.shape == (48, 64, 3) and job.result.dtype == np.float32
    np.testing.assert_allclose(job.result, records[-1].x0_hat[0].permute(1, 2, 0).numpy(), atol=1e-6)
    assert job.kernel.ndim == 2 and job.kernel.shape[0] % 2 == 1
    report = RunReport.from_job(job, restorer, [r.seconds for r in records], 1.0)
    assert report.method == "blind" and report.blur_kernel_px == job.kernel.shape[0]
    assert report.blur_extent_px == list(blur_extent(job.kernel)), "the blur itself, not its array"
    assert report.model_file.endswith("denoise.pt")


@pytest.fixture
def with_start_network(denoise_only):
    """The deblur network installed as the blind route's helper (not as the deblur model)."""
    make_tiny_weights(denoise_only / "made")
    for suffix in (".pt", ".json"):
        (denoise_only / "made" / f"deblur{suffix}").rename(denoise_only / f"deblur_start{suffix}")
    assert resolve_weights("deblur")[0] == "denoise"  # the route stays blind
    return denoise_only


def test_a_blind_job_asks_the_start_network_when_its_estimate_explains_too_little(
    with_start_network, monkeypatch
):
    import irsde_gui.core.blind as blind_module

    restorer = load_task_restorer("deblur", device="cpu")
    photo = smooth_image(48, 64)
    monkeypatch.setattr(blind_module, "SECOND_START_RESIDUAL", -1.0)  # every estimate gets one ...
    monkeypatch.setattr(blind_module, "MAX_RESIDUAL", 2.0)  # ... none doubted for what it leaves
    seen = []
    real = blind_module.second_start
    monkeypatch.setattr(blind_module, "second_start", lambda *a, **kw: seen.append(a[3]) or real(*a, **kw))
    stages = []
    hooks = JobHooks(on_stage=lambda what, done, total: stages.append((what, done, total)))
    job = create_job(get_task("deblur"), restorer, photo, settings=JobSettings(steps=2), hooks=hooks)
    records = list(job.steps_iter())
    assert len(seen) == 1 and len(records) == 2
    guess = seen[0](photo)  # the helper's one step: a photo of the same size
    assert guess.shape == photo.shape and np.isfinite(guess).all() and np.abs(guess - photo).max() > 1e-4
    assert job.blur_start in ("photo", "network")
    assert [d for _, d, _ in stages] == list(range(1, stages[-1][2] + 1)), "one count, to the end"
    first = stages[0][2]
    assert {w for w, _, t in stages if t == first} == {"Estimating the blur"}
    assert {w for w, _, t in stages if t > first} == {"Estimating the blur again, from the deblur network"}
    report = RunReport.from_job(job, restorer, [r.seconds for r in records], 1.0)
    assert report.blur_start == job.blur_start
    # the start not kept is offered; run with it, the photo is not estimated again, and the
    # report says where that blur came from
    assert job.other_blur is not None and job.other_blur.shape == job.kernel.shape
    assert report.blur_other_extent_px == list(blind_module.blur_extent(job.other_blur))
    assert {job.other_start, job.blur_start} == {"photo", "network"}
    stages.clear()
    again = JobSettings(steps=2, estimated=job.other_blur, estimated_start=job.other_start)
    other = create_job(get_task("deblur"), restorer, photo, settings=again, hooks=hooks)
    records = list(other.steps_iter())
    assert not stages and len(seen) == 1 and np.allclose(other.kernel, job.other_blur)
    again_report = RunReport.from_job(other, restorer, [r.seconds for r in records], 1.0)
    assert again_report.blur_start == job.other_start and again_report.blur_other_extent_px is None
    assert other.other_blur is None, "the run knows only the blur it was given"
    # turned off, the helper is not even loaded
    import irsde_gui.core.pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "load_helper", lambda *a: 1 / 0)
    seen.clear()
    off = create_job(get_task("deblur"), restorer, photo, settings=JobSettings(steps=2, second_start=False))
    off.run()
    assert not seen and off.blur_start == "photo"


def test_a_start_network_that_is_missing_or_refused_is_done_without(denoise_only, caplog):
    from irsde_gui.core.device import pick_device
    from irsde_gui.core.model import load_helper

    device = pick_device("cpu")
    assert load_helper("deblur_start", device) is None  # not installed: nothing said
    (denoise_only / "deblur_start.pt").write_bytes(b"not a network")
    (denoise_only / "deblur_start.json").write_text("{}")
    assert load_helper("deblur_start", device) is None
    assert "deblur_start: not used" in caplog.text


def test_a_known_kernel_skips_the_estimate(denoise_only):
    restorer = load_task_restorer("deblur", device="cpu")
    kernel = np.zeros((5, 5))
    kernel[2, 1:4] = 2.0  # any positive sum: it is normalised
    stages = []
    job = BlindDeblurJob(
        get_task("deblur"),
        restorer,
        smooth_image(40, 48),
        settings=JobSettings(steps=2, kernel=kernel),
        hooks=JobHooks(on_stage=lambda *a: stages.append(a)),
    )
    out = job.run()
    assert stages == []  # nothing estimated
    default = BlindDeblurJob(
        get_task("deblur"), restorer, smooth_image(40, 48), settings=JobSettings(kernel=kernel)
    )
    assert default.steps == KNOWN_ROUNDS
    np.testing.assert_allclose(job.kernel, kernel / kernel.sum())
    assert out.shape == (40, 48, 3)
    # a known kernel is trusted more than an estimate: its rounds pull harder to the photo
    rgb = job.prepared.mu
    known = deconvolve(rgb, job.kernel, job._denoise, iters=2, strength=KNOWN_STRENGTH)
    estimated = deconvolve(rgb, job.kernel, job._denoise, iters=2, strength=ESTIMATED_STRENGTH)
    np.testing.assert_allclose(out, known, atol=1e-5)
    assert np.abs(known - estimated).max() > 1e-3
    for bad in (np.zeros((5, 5)), np.ones(5), -kernel, np.full((3, 3), np.nan)):
        with pytest.raises(ValueError, match="blur kernel"):
            BlindDeblurJob(
                get_task("deblur"), restorer, smooth_image(40, 48), settings=JobSettings(kernel=bad)
            )


def test_a_blind_job_stops_when_closed_or_cancelled(denoise_only):
    restorer = load_task_restorer("deblur", device="cpu")
    job = create_job(get_task("deblur"), restorer, smooth_image(48, 64), settings=JobSettings(steps=4))
    steps = job.steps_iter()
    next(steps)
    steps.close()
    assert job.result is None

    class Stop(Exception):
        pass

    def cancel(what, done, total):
        raise Stop

    job = create_job(get_task("deblur"), restorer, smooth_image(48, 64), hooks=JobHooks(on_stage=cancel))
    with pytest.raises(Stop):
        next(job.steps_iter())


def test_blind_rounds_are_bounded(denoise_only):
    restorer = load_task_restorer("deblur", device="cpu")
    with pytest.raises(ValueError, match="1 to 24 rounds"):
        create_job(get_task("deblur"), restorer, smooth_image(32, 32), settings=JobSettings(steps=25))


def test_the_command_line_deblurs_blind_and_says_so(tmp_path, denoise_only, capsys):
    src = tmp_path / "blurry.png"
    Image.fromarray((smooth_image(40, 52) * 255 + 0.5).astype(np.uint8)).save(src)
    out = tmp_path / "sharp.png"
    assert main(["restore", str(src), "-o", str(out), "--task", "deblur", "--steps", "2"]) == 0
    assert Image.open(out).size == (52, 40)
    err = capsys.readouterr().err
    assert "blind (blur estimated from the photo, denoise.pt as the prior)" in err
    assert "Estimating the blur" in err and "2 rounds" in err and "px blur found" in err
    # one result whatever the seed: an uncertainty map would show nothing
    args = ["restore", str(src), "-o", str(tmp_path / "u.png"), "--task", "deblur", "--uncertainty", "2"]
    assert main(args) != 0
    assert "same result for every seed" in capsys.readouterr().err


# ---------------------------------------------------------------- the worker and the window
def test_the_app_lists_deblur_as_blind_when_only_the_denoise_model_is_installed(denoise_only):
    from irsde_gui.app.worker import scan_tasks

    tasks = scan_tasks()
    info = tasks["deblur"]
    assert info.available and info.method == "blind"
    assert info.weights.name == "denoise.pt" and (info.default_steps, info.max_steps) == (8, 24)
    assert "no deblur model installed" in info.description
    assert tasks["denoise"].method == "sde"


def test_a_blind_run_reports_the_estimate_then_one_frame_a_round(qtbot, denoise_only):
    pytest.importorskip("pytestqt")
    from irsde_gui.app.worker import RestoreRun, RunRequest

    run = RestoreRun(RunRequest("deblur", rgb=smooth_image(40, 48), steps=2, device="cpu"))
    frames, stages = [], []
    run.frame.connect(lambda f: frames.append(f.index))
    run.progress.connect(lambda p: stages.append(p.stage))
    with qtbot.waitSignal(run.finished, timeout=30_000) as blocker:
        run.start()
    outcome = blocker.args[0]
    assert frames[-1] == 2 and [f.index for f in run.trajectory.frames] == [1, 2]
    assert any(s.startswith("Estimating the blur") for s in stages)
    assert outcome.image.shape == (40, 48, 3) and outcome.report.method == "blind"
    assert run.wait(5_000)


def test_a_blind_run_on_a_featureless_photo_is_only_denoised_and_says_why(qtbot, denoise_only):
    """A photo with no edges shows no blur: rather than fail, the run denoises it and the
    report says the blur could not be found (the window's finished line shows GENTLER)."""
    pytest.importorskip("pytestqt")
    from irsde_gui.app.worker import RestoreRun, RunRequest
    from irsde_gui.core.blind import GENTLER, describe_blur

    run = RestoreRun(RunRequest("deblur", rgb=np.full((120, 160, 3), 0.4, np.float32), steps=2, device="cpu"))
    with qtbot.waitSignal(run.finished, timeout=30_000) as blocker:
        run.start()
    outcome = blocker.args[0]
    r = outcome.report
    assert r.blur_doubt.startswith("no blur could be measured in this photo (160x120 px)")
    assert outcome.kernel is None and outcome.image.shape == (120, 160, 3)
    assert np.isfinite(outcome.image).all()
    assert describe_blur(outcome.kernel, r.blur_kernel_given, r.blur_kernel_source, r.blur_doubt) == GENTLER
    assert run.wait(5_000)


def test_a_blind_run_stops_during_the_estimate(qtbot, denoise_only):
    pytest.importorskip("pytestqt")
    from irsde_gui.app.worker import RestoreRun, RunRequest

    run = RestoreRun(RunRequest("deblur", rgb=smooth_image(64, 64), steps=4, device="cpu"))
    run.progress.connect(lambda p: run.cancel() if p.stage else None)
    frames = []
    run.frame.connect(lambda f: frames.append(f.index))
    with qtbot.waitSignal(run.cancelled, timeout=30_000) as blocker:
        run.start()
    outcome = blocker.args[0]
    assert outcome.stopped and outcome.image is None and outcome.steps_done == 0
    assert frames == [] and run.wait(5_000)


def test_the_window_offers_rounds_and_no_seed_for_blind_deblurring(qtbot, tmp_path, denoise_only):
    pytest.importorskip("pytestqt")
    from gui_support import make_window, restore_and_wait

    from irsde_gui.core.imageio import Photo

    win = make_window(qtbot, tmp_path)
    win.set_photo(Photo(smooth_image(40, 56)), "test")
    assert win.panel.select_task("deblur") and win.panel.blind
    assert not win.panel.seed_spin.isEnabled() and not win.panel.sampler_combo.isEnabled()
    assert not win.panel.dice_button.isEnabled()
    form = win.panel._form
    assert not form.isRowVisible(win.panel._seed_row) and not form.isRowVisible(win.panel._sampler_row)
    assert not win.spread_map_action.isEnabled() and not win.dice_action.isEnabled()
    assert "Rounds of deconvolution" in win.panel.steps_spin.toolTip()
    assert win.panel.steps_label.text() == "Rounds" and win.panel.run_box.title() == "Deconvolution"
    win.panel.set_steps(2)
    restore_and_wait(qtbot, win)
    assert win.result is not None and win.result.shape == (40, 56, 3)
    text = win.progress_label.text()
    assert "2 rounds" in text and f"{describe_blur_extent(win.outcome.kernel)} blur found" in text
    assert "seed" not in text
    assert not win.panel.seed_spin.isEnabled(), "a finished run leaves the seed off for blind deblurring"
    assert win.scrubber.label.text() == "round 2 / 2"
    assert not win.panel.blur_view.pixmap().isNull() and "blur estimated" in win.panel.blur_view.toolTip()
    assert win.panel._form.isRowVisible(win.panel._blur_row)
    win.panel.select_task("denoise")
    assert win.panel.seed_spin.isEnabled() and win.spread_map_action.isEnabled()
    assert win.panel.steps_label.text() == "Steps" and win.panel.run_box.title() == "Sampling"
    assert not form.isRowVisible(win.panel._blur_row), "the blur goes with the task"
    assert form.isRowVisible(win.panel._seed_row) and form.isRowVisible(win.panel._sampler_row)


def test_the_window_deblurs_with_a_known_blur_from_a_file(qtbot, tmp_path, denoise_only):
    """Blur: "Known blur from a file…" reads the kernel (a bad file leaves the estimate chosen, with a
    message), shows it, and the run deconvolves with it: no estimate, the same result as the library."""
    pytest.importorskip("pytestqt")
    from gui_support import make_window, restore_and_wait

    from irsde_gui.core.imageio import Photo

    (tmp_path / "bad.npy").write_bytes(b"not an array")
    np.save(tmp_path / "k.npy", trail())
    win = make_window(qtbot, tmp_path, open_kernel=str(tmp_path / "bad.npy"))
    photo = smooth_image(40, 56)
    win.set_photo(Photo(photo), "test")
    panel = win.panel
    assert panel.select_task("deblur") and panel._form.isRowVisible(panel._blur_source_row)
    assert panel.blur_source.currentData() == "estimate" and panel.known_kernel is None
    assert panel.steps == BLIND_ROUNDS
    load = panel.blur_source.findData("load")
    with qtbot.waitSignal(win.kernel_loaded) as loaded:  # read on a thread of its own
        panel.blur_source.activated.emit(load)  # as a click on "Known blur from a file…" does
    assert "open_kernel" in win.dialogs.asked and loaded.args == [False]
    assert win.message_bar.text == (
        "Could not use the blur kernel “bad.npy”: "
        "cannot be read as a blur kernel (it is not a NumPy array file)"
    )
    assert panel.blur_source.currentData() == "estimate" and panel.known_kernel is None
    win.dialogs.answers["open_kernel"] = str(tmp_path / "k.npy")
    with qtbot.waitSignal(win.kernel_loaded) as loaded:
        panel.blur_source.activated.emit(panel.blur_source.findData("load"))
    assert loaded.args == [True] and panel.blur_source.currentData() == "known"
    assert panel.blur_source.currentText() == "Known: k.npy (5×3 px)"
    np.testing.assert_allclose(panel.known_kernel, trail() / trail().sum(), atol=1e-6)
    assert panel._form.isRowVisible(panel._blur_row) and "blur you gave" in panel.blur_view.toolTip()
    assert panel.blur_label.text() == "Blur given"
    assert panel.steps == KNOWN_ROUNDS, "a known blur takes fewer rounds by default"
    panel.set_steps(2)
    assert win.settings.steps("deblur") != 2, "a known blur's rounds are not saved as the task's"
    stages = []
    with qtbot.waitSignal(win.run_finished, timeout=30_000) as blocker:
        win.restore()
        win.run.progress.connect(lambda p: stages.append(p.stage))
    outcome = blocker.args[0]
    assert stages and not any(stages), "nothing estimated"
    assert outcome.report.blur_kernel_given and outcome.report.blur_kernel_px == 5
    assert outcome.report.blur_extent_px == [5, 2] and "given a 5×2 px blur" in win.progress_label.text()
    assert "(spreading a point over 5×2 px)" in panel.blur_view.toolTip()
    expected = create_job(
        get_task("deblur"), load_task_restorer("deblur", device="cpu"), photo,
        settings=JobSettings(steps=2, kernel=trail()),
    ).run()  # fmt: skip
    np.testing.assert_allclose(win.result, expected, atol=1e-5)
    # back to estimating: the next run finds the blur itself
    panel.blur_source.setCurrentIndex(panel.blur_source.findData("estimate"))
    panel.blur_source.activated.emit(panel.blur_source.currentIndex())
    assert panel.known_kernel is None and not panel._form.isRowVisible(panel._blur_row)
    assert panel.steps == BLIND_ROUNDS, "each choice keeps its own rounds"
    outcome = restore_and_wait(qtbot, win)
    assert not outcome.report.blur_kernel_given and outcome.report.blur_kernel_source is None
    assert panel.blur_label.text() == "Blur found"


def test_a_deblur_model_installed_still_offers_a_known_blur(installed_tiny_weights, monkeypatch, tmp_path):
    """With a deblur network, deblurring is the network's; a known blur is deconvolved with the
    denoise model, which is what a run given one loads. Without the denoise model, no known blur."""
    from irsde_gui.app.worker import scan_tasks

    info = scan_tasks()["deblur"]
    assert info.method == "sde" and info.weights == installed_tiny_weights / "deblur.pt"
    assert info.offers_known_blur and info.prior_weights == installed_tiny_weights / "denoise.pt"
    assert (info.known_default_steps, info.known_max_steps) == (KNOWN_ROUNDS, MAX_BLIND_ROUNDS)
    assert info.weights_for(trail()) == installed_tiny_weights / "denoise.pt"
    assert info.weights_for(None) == info.weights
    assert info.in_rounds(trail()) and not info.in_rounds(None)
    assert not scan_tasks()["derain"].offers_known_blur
    (installed_tiny_weights / "denoise.pt").unlink()
    monkeypatch.setattr("irsde_gui.core.paths.bundled_weights_dir", lambda: tmp_path / "none")
    info = scan_tasks()["deblur"]
    assert not info.offers_known_blur and info.weights_for(trail()) == info.weights


def test_the_window_deconvolves_a_known_blur_where_a_deblur_model_is_installed(
    qtbot, tmp_path, installed_tiny_weights
):
    """The Blur row shows with a deblur model too: left to the model, the run samples the network
    in steps (seed, sampler); a known blur runs in rounds with the denoise model as the prior, as
    the library does, and going back gives the network its steps again."""
    pytest.importorskip("pytestqt")
    from gui_support import make_window, restore_and_wait

    from irsde_gui.core.imageio import Photo

    np.save(tmp_path / "k.npy", trail())
    win = make_window(qtbot, tmp_path, open_kernel=str(tmp_path / "k.npy"))
    photo = smooth_image(40, 56)
    win.set_photo(Photo(photo), "test")
    panel = win.panel
    info = win.engine.tasks["deblur"]
    assert panel.select_task("deblur") and panel._form.isRowVisible(panel._blur_source_row)
    assert panel.blur_source.currentText() == "Found by the deblur model"
    assert panel.blur_source.toolTip().startswith("Where the blur comes from: left to the deblur model, or")
    assert not panel.blind and panel.steps_label.text() == "Steps" and panel.run_box.title() == "Sampling"
    assert panel._form.isRowVisible(panel._seed_row) and panel.steps_spin.maximum() == info.max_steps
    network_steps = panel.steps
    with qtbot.waitSignal(win.kernel_loaded):
        panel.blur_source.activated.emit(panel.blur_source.findData("load"))
    assert panel.blur_source.currentData() == "known" and panel.blind
    assert panel.steps_label.text() == "Rounds" and panel.run_box.title() == "Deconvolution"
    assert not panel._form.isRowVisible(panel._seed_row) and not panel._form.isRowVisible(panel._sampler_row)
    assert panel.steps == KNOWN_ROUNDS and panel.steps_spin.maximum() == MAX_BLIND_ROUNDS
    assert not win.dice_action.isEnabled() and not win.spread_map_action.isEnabled()
    panel.set_steps(2)
    outcome = restore_and_wait(qtbot, win)
    assert outcome.report.method == "blind" and outcome.report.blur_kernel_given
    assert outcome.report.steps_done == 2 and "given a 5×2 px blur" in win.progress_label.text()
    assert win.scrubber.unit == "round"
    prior = load_task_restorer("denoise", device="cpu")
    settings = JobSettings(steps=2, kernel=trail())
    expected = create_job(get_task("deblur"), prior, photo, settings=settings).run()
    np.testing.assert_allclose(win.result, expected, atol=1e-5)
    # back to the network: steps, seed and sampler again, and the network runs
    panel.blur_source.setCurrentIndex(panel.blur_source.findData("estimate"))
    panel.blur_source.activated.emit(panel.blur_source.currentIndex())
    assert not panel.blind and panel.steps_label.text() == "Steps"
    assert panel._form.isRowVisible(panel._seed_row)
    assert panel.steps == network_steps and panel.steps_spin.maximum() == info.max_steps
    assert win.dice_action.isEnabled() and win.spread_map_action.isEnabled()
    outcome = restore_and_wait(qtbot, win)
    assert outcome.report.method == "sde" and outcome.kernel is None
    assert win.scrubber.unit == "step"


def test_a_batch_deblurs_every_photo_with_the_known_blur(qtbot, tmp_path, installed_tiny_weights):
    """Photos shaken the same way (a burst) take one known blur: the batch deconvolves each with it,
    using the denoise model although a deblur model is installed, and says so in each report."""
    pytest.importorskip("pytestqt")
    from gui_support import make_window, write_png

    from irsde_gui.core.imageio import read_photo

    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for i in range(2):
        write_png(folder / f"p{i}.png", smooth_image(32, 40, seed=i))
    np.save(tmp_path / "k.npy", trail())
    win = make_window(qtbot, tmp_path, open_kernel=str(tmp_path / "k.npy"), choose_folder=str(out))
    assert win.panel.select_task("deblur")
    with qtbot.waitSignal(win.kernel_loaded):
        win.panel.blur_source.activated.emit(win.panel.blur_source.findData("load"))
    win.panel.set_steps(2)
    with qtbot.waitSignal(win.paths_listed):  # the folder is listed on a thread of its own
        win.open_paths([folder])
    win.choose_batch_folder()
    with qtbot.waitSignal(win.batch.queue_finished, timeout=60_000) as blocker:
        win.batch.start()
    assert blocker.args == [2, 0]
    prior = load_task_restorer("denoise", device="cpu")
    for i in range(2):
        report = json.loads((out / f"p{i}.json").read_text())
        assert report["method"] == "blind" and report["blur_kernel_given"] and report["steps_done"] == 2
        assert report["model_file"].endswith("denoise.pt")
        assert report["sampler"] is None and report["seed"] is None, "rounds use neither"
        assert report["blur_kernel_source"] == str((tmp_path / "k.npy").resolve()), "to reproduce it"
        photo = read_photo(folder / f"p{i}.png").rgb
        job = create_job(get_task("deblur"), prior, photo, settings=JobSettings(steps=2, kernel=trail()))
        np.testing.assert_allclose(read_photo(out / f"p{i}.png").rgb, job.run(), atol=1.5 / 255)


def test_the_library_exports_what_the_app_runs():
    import irsde_gui.core as core

    assert core.create_job is create_job and core.BlindDeblurJob is BlindDeblurJob
    assert core.load_task_restorer is load_task_restorer and core.read_kernel is read_kernel


def test_eval_scores_what_the_app_runs_the_same_as_the_blind_benchmark_row(tmp_path, denoise_only):
    """With no deblur model, ``irsde eval --task deblur`` scores the app's blind route as the
    model, and it is the same computation as the ``--blind`` row that the README quotes."""
    from irsde_gui.evaluation.evaluate import blind_deblur_method, evaluate, format_table

    data = tmp_path / "clean"
    data.mkdir()
    Image.fromarray((smooth_image(72, 80, seed=3) * 255 + 0.5).astype(np.uint8)).save(data / "a.png")
    restorer = load_task_restorer("deblur", device="cpu")
    result = evaluate(get_task("deblur"), restorer, str(data), 8, methods=blind_deblur_method(restorer))
    assert result["model_method"] == "blind"
    assert result["mean"]["model"]["psnr"] == pytest.approx(result["mean"]["blind"]["psnr"], abs=1e-6)
    assert "blind deblur (8 rounds)" in format_table(result, 8)


def test_eval_of_deblur_without_its_model_runs_blind(tmp_path, denoise_only, capsys):
    data = tmp_path / "clean"
    data.mkdir()
    Image.fromarray((smooth_image(64, 64) * 255 + 0.5).astype(np.uint8)).save(data / "a.png")
    assert main(["eval", "--task", "deblur", "--data", str(data), "--steps", "2", "-q"]) == 0
    assert "blind deblur (2 rounds)" in capsys.readouterr().out
    # --blind then adds only the row told the true kernel (the model row is the blind route)
    out_json = tmp_path / "ev.json"
    args = ["eval", "--task", "deblur", "--data", str(data), "--steps", "2", "--blind", "-q"]
    assert main([*args, "--json", str(out_json)]) == 0
    table = capsys.readouterr().out
    assert "told the kernel" in table and "kernel estimate + PnP" not in table
    mean = json.loads(out_json.read_text())["mean"]
    assert "blind" not in mean and mean["told"]["psnr"] != mean["model"]["psnr"]


def test_bench_times_blind_deblurring(denoise_only, capsys):
    args = ["bench", "--json", "--sizes", "64", "--tasks", "denoise", "--repeats", "2", "--blind"]
    assert main(args) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert [r["task"] for r in rows] == ["denoise", "deblur (blind)"]
    blind_row = rows[1]
    assert blind_row["ms_per_step"] > 0 and blind_row["setup_ms"] > 0 and blind_row["size"] == 64
    assert blind_row["weights"].endswith("denoise.pt") and rows[0]["setup_ms"] is None


# ---------------------------------------------------------------- a known blur kernel
def trail() -> np.ndarray:
    k = np.zeros((3, 5))
    k[1, :] = [1, 2, 3, 2, 1]
    k[0, 4] = 1
    return k


def test_a_kernel_file_is_read_from_an_image_an_array_or_a_grid_of_numbers(tmp_path):
    k = trail()
    Image.fromarray((k / k.max() * 255).astype(np.uint8)).save(tmp_path / "k.png")
    Image.fromarray((k / k.max() * 255).astype(np.uint8)).convert("RGB").save(tmp_path / "rgb.png")
    np.save(tmp_path / "k.npy", k)
    np.savetxt(tmp_path / "k.txt", k)
    np.savetxt(tmp_path / "k.csv", k, delimiter=",")
    for name in ("k.png", "rgb.png", "k.npy", "k.txt", "k.csv"):
        got = read_kernel(tmp_path / name)
        assert got.shape == (3, 5) and got.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(got, k / k.sum(), atol=1e-3, err_msg=name)


def test_a_saved_blur_is_read_back_as_it_was(tmp_path):
    """What the app's "Save blur…" and ``--save-blur`` write, ``--kernel`` reads back: images to
    1/65535 of the peak (a faint pixel at 1 % of it survives), arrays and grids to rounding."""
    from irsde_gui.core.imageio import write_kernel

    k = trail()
    k[0, 0] = 0.01 * k.max()
    want = k / k.sum()
    for name, tol in (("k.png", 2e-5), ("k.tif", 2e-5), ("k.npy", 1e-15), ("k.csv", 1e-8), ("k.txt", 1e-8)):
        path = write_kernel(tmp_path / name, k)
        assert path == tmp_path / name
        np.testing.assert_allclose(read_kernel(path), want, atol=tol, rtol=0, err_msg=name)
        assert read_kernel(path)[0, 0] > 0, name
    assert Image.open(tmp_path / "k.png").mode.startswith("I;16"), "16-bit, not 8"
    for name, why in (("k.jpg", "lossless"), ("k", "no suffix")):
        with pytest.raises(OSError, match=why):
            write_kernel(tmp_path / name, k)
        assert not (tmp_path / name).exists()
    with pytest.raises(ValueError):
        write_kernel(tmp_path / "zero.png", np.zeros((3, 3)))
    (tmp_path / "taken.png").mkdir()
    with pytest.raises(OSError, match=r"taken\.png"):
        write_kernel(tmp_path / "taken.png", k)


def test_a_bad_kernel_file_is_refused_naming_it(tmp_path):
    np.save(tmp_path / "cube.npy", np.ones((3, 3, 3)))
    np.save(tmp_path / "negative.npy", -trail())
    np.save(tmp_path / "huge.npy", np.ones((500, 3)))
    (tmp_path / "words.txt").write_text("a b c\n")
    (tmp_path / "empty.txt").write_text("")
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(tmp_path / "black.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    cases = {
        "missing.npy": "no such file",
        "cube.npy": "2-D grid of numbers",
        "negative.npy": "non-negative",
        "huge.npy": "at most 401 px a side",
        "words.txt": "cannot be read as a blur kernel",
        "empty.txt": "holds no numbers",
        "black.png": "positive sum",
        "broken.png": "broken.png",
    }
    for name, why in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the message is ours alone: no library warning first
            with pytest.raises(ImageReadError, match=why) as info:
                read_kernel(tmp_path / name)
        assert name in str(info.value)


def test_the_command_line_deblurs_with_a_given_kernel(tmp_path, installed_tiny_weights, capsys):
    """Even with a deblur network installed, a given kernel is deconvolved with the denoise model as
    the prior, as the library does it, and nothing is estimated."""
    src = tmp_path / "blurry.png"
    photo = (smooth_image(40, 52) * 255 + 0.5).astype(np.uint8)
    Image.fromarray(photo).save(src)
    np.save(tmp_path / "k.npy", trail())
    out = tmp_path / "sharp.png"
    args = ["restore", str(src), "-o", str(out), "--task", "deblur", "--steps", "2"]
    assert main([*args, "--kernel", str(tmp_path / "k.npy")]) == 0
    err = capsys.readouterr().err
    assert "with the given blur kernel (k.npy, 5x3 px; denoise.pt as the prior)" in err
    assert "Estimating the blur" not in err and "2 rounds" in err
    assert "round 2/2" in err and "s/round" in err and "step" not in err
    restorer = load_task_restorer("denoise", device="cpu")
    job = create_job(
        get_task("deblur"),
        restorer,
        photo.astype(np.float32) / 255,
        settings=JobSettings(steps=2, kernel=trail()),
    )
    expected = np.clip(job.run() * 255 + 0.5, 0, 255).astype(np.uint8)
    got = np.asarray(Image.open(out))
    assert np.abs(got.astype(int) - expected).max() <= 1
    assert np.abs(got.astype(int) - photo).mean() > 0.5  # it did deconvolve


def test_a_given_kernel_is_refused_where_it_cannot_be_used(tmp_path, installed_tiny_weights, capsys):
    src = tmp_path / "p.png"
    Image.fromarray((smooth_image(40, 52) * 255).astype(np.uint8)).save(src)
    np.save(tmp_path / "k.npy", trail())
    kernel = ["--kernel", str(tmp_path / "k.npy")]
    out = ["-o", str(tmp_path / "o.png")]
    assert main(["restore", str(src), *out, "--task", "denoise", *kernel]) == 2
    assert "--kernel is for --task deblur" in capsys.readouterr().err
    assert main(["restore", str(src), *out, "--task", "deblur", "--kernel", str(tmp_path / "none.npy")]) == 2
    assert "none.npy: no such file" in capsys.readouterr().err
    deblur_net = ["--weights", str(installed_tiny_weights / "deblur.pt")]
    assert main(["restore", str(src), *out, "--task", "deblur", *kernel, *deblur_net]) == 1
    assert "deblur.pt holds weights for 'deblur', not for 'denoise'" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()
    with pytest.raises(ValueError, match="known blur kernel"):
        create_job(
            get_task("deblur"),
            load_task_restorer("deblur", device="cpu"),
            smooth_image(32, 32),
            settings=JobSettings(kernel=trail()),
        )


# ---------------------------------------------------------------- a blur known by its shape
def _moments(k: np.ndarray) -> tuple[float, float, float]:
    """Centroid offset from the array's middle (px), and the trail's length and axis angle."""
    ys, xs = np.mgrid[: k.shape[0], : k.shape[1]]
    c = (k.shape[0] - 1) / 2
    dx, dy = ((xs - c) * k).sum(), ((ys - c) * k).sum()
    cov = [[((xs - c) ** 2 * k).sum(), ((xs - c) * (ys - c) * k).sum()], [0.0, ((ys - c) ** 2 * k).sum()]]
    cov[1][0] = cov[0][1]
    values, vectors = np.linalg.eigh(cov)
    angle = np.degrees(np.arctan2(-vectors[1, -1], vectors[0, -1])) % 180  # rows grow downwards
    return float(np.hypot(dx, dy)), float(np.sqrt(12 * values[-1])), float(angle)


@pytest.mark.parametrize("length,angle", [(9, 0), (20, 30), (15.5, 90), (31, 135)])
def test_a_motion_blur_is_a_centred_trail_of_the_length_and_angle_asked(length, angle):
    from irsde_gui.core.blind import motion_kernel

    k = motion_kernel(length, angle)
    assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1 and k.min() >= 0
    assert k.sum() == pytest.approx(1.0)
    off, measured, axis = _moments(k)
    assert off < 1e-9, "centred: the photo stays where it was"
    assert measured == pytest.approx(length, abs=1.0)
    assert min(abs(axis - angle % 180), 180 - abs(axis - angle % 180)) < 1.0


def test_a_lens_blur_is_a_disk_and_a_gaussian_is_round():
    from irsde_gui.core.blind import defocus_kernel, gaussian_blur_kernel, motion_kernel

    k = defocus_kernel(4.0)
    assert k.shape == (9, 9) and k.sum() == pytest.approx(1.0)
    assert np.allclose(k, k.T) and np.allclose(k, k[::-1]) and np.allclose(k, k[:, ::-1])
    inner = k[4, 4]
    assert np.allclose(k[2:7, 2:7][k[2:7, 2:7] > 0], inner), "evenly weighted inside"
    assert 0 < k[4, 0] < inner, "the edge pixel is partly covered"
    assert k[0, 0] == 0
    assert k.sum() / inner == pytest.approx(np.pi * 4.0**2, rel=0.02), "the disk's area"
    g = gaussian_blur_kernel(1.5)
    assert g.shape == (11, 11) and np.allclose(g, g.T) and g.sum() == pytest.approx(1.0)
    for tiny in (motion_kernel(1, 45), defocus_kernel(0.2), gaussian_blur_kernel(0.0)):
        assert tiny.shape == (1, 1) and tiny[0, 0] == 1.0, "no blur: a single pixel"


def test_a_blur_is_told_by_how_far_it_spreads_a_point_not_by_its_array():
    """An estimate's kernel is a 31 px array whatever blur it holds: the app and the command
    line name the blur's extent (its pixels above 5 % of the peak), not the array's size."""
    from irsde_gui.core.blind import blur_extent, defocus_kernel, describe_blur, motion_kernel

    assert motion_kernel(15, 0).shape == (17, 17) and blur_extent(motion_kernel(15, 0)) == (15, 1)
    assert blur_extent(motion_kernel(15, 90)) == (1, 15)
    w, h = blur_extent(motion_kernel(20, 30))
    assert w == pytest.approx(20 * np.cos(np.pi / 6), abs=1.0) and h == pytest.approx(10, abs=1.0)
    assert blur_extent(defocus_kernel(4.0)) == (9, 9)
    estimate = np.zeros((31, 31))
    estimate[14:17, 13:18] = trail()
    estimate[2, 2] = 0.1  # fainter than 5 % of the peak (3): not part of the blur
    assert blur_extent(estimate) == blur_extent(trail()) == (5, 2)
    assert blur_extent(np.zeros((3, 3))) == (0, 0)
    assert describe_blur(estimate, given=False) == "5×2 px blur found"
    assert describe_blur(trail(), given=True, source="/photos/k.npy") == "given a 5×2 px blur"
    assert describe_blur(motion_kernel(9, 30), given=True, source="motion:9:30") == "given 9 px motion at 30°"


def test_a_blur_description_is_parsed_or_refused_saying_why():
    from irsde_gui.core.blind import blur_from_spec, defocus_kernel, describe_blur_spec, motion_kernel

    assert describe_blur_spec("motion:15:30") == "15 px motion at 30°"
    assert describe_blur_spec("defocus:4") == "4 px lens blur"
    assert describe_blur_spec("gaussian:1.5") == "1.5 px soft blur"
    assert describe_blur_spec("/photos/k.npy") is None and describe_blur_spec("motion:3") is None

    np.testing.assert_array_equal(blur_from_spec("motion:20:30"), motion_kernel(20, 30))
    np.testing.assert_array_equal(blur_from_spec(" Defocus:3.5 "), defocus_kernel(3.5))
    cases = {
        "shake:3": "unknown blur 'shake'",
        "motion:20": "motion takes 2 number",
        "defocus:x": "RADIUS must be numbers",
        "gaussian:nan": "must be finite",
        "motion:500:0": "0 to 121 px long",
        "defocus:-1": "radius is 0 to",
    }
    for spec, why in cases.items():
        with pytest.raises(ValueError, match=why):
            blur_from_spec(spec)


def test_the_command_line_deblurs_a_blur_given_by_its_shape(tmp_path, installed_tiny_weights, capsys):
    """``--blur motion:9:30`` runs exactly as the same kernel given as a file does."""
    from irsde_gui.core.blind import motion_kernel

    src = tmp_path / "blurry.png"
    Image.fromarray((smooth_image(40, 52) * 255 + 0.5).astype(np.uint8)).save(src)
    np.save(tmp_path / "k.npy", motion_kernel(9, 30))
    base = ["restore", str(src), "--task", "deblur", "--steps", "2"]
    assert main([*base, "-o", str(tmp_path / "a.png"), "--blur", "motion:9:30"]) == 0
    err = capsys.readouterr().err
    assert "with the given blur kernel (motion:9:30, 11x11 px; denoise.pt as the prior)" in err
    assert "2 rounds" in err and "given 9 px motion at 30°)" in err, "the last line names the shape"
    assert main([*base, "-o", str(tmp_path / "b.png"), "--kernel", str(tmp_path / "k.npy")]) == 0
    assert "given a 9×5 px blur)" in capsys.readouterr().err, "a file's blur: how far it reaches"
    a, b = (np.asarray(Image.open(tmp_path / f)) for f in ("a.png", "b.png"))
    assert np.array_equal(a, b)
    refusals = {
        ("--blur", "spin:3"): "--blur unknown blur 'spin'",
        ("--blur", "motion:9:30", "--kernel", str(tmp_path / "k.npy")): "not both",
    }
    for extra, why in refusals.items():
        assert main([*base, "-o", str(tmp_path / "c.png"), *extra]) == 2
        assert why in capsys.readouterr().err
    assert (
        main(["restore", str(src), "--task", "denoise", "-o", str(tmp_path / "c.png"), "--blur", "defocus:2"])
        == 2
    )
    assert "--blur is for --task deblur" in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()


def test_the_window_deblurs_a_blur_given_by_its_shape(qtbot, tmp_path, denoise_only):
    """Blur: "Motion blur (length, angle)" shows a length and an angle, the blur drawn as they
    change; the run deconvolves with that kernel, as the library does. Each shape keeps its size."""
    pytest.importorskip("pytestqt")
    from gui_support import make_window, restore_and_wait

    from irsde_gui.core.blind import defocus_kernel, motion_kernel
    from irsde_gui.core.imageio import Photo

    win = make_window(qtbot, tmp_path)
    photo = smooth_image(40, 56)
    win.set_photo(Photo(photo), "test")
    panel = win.panel
    assert panel.select_task("deblur") and not panel._form.isRowVisible(panel._blur_shape_row)
    panel.blur_source.setCurrentIndex(panel.blur_source.findData("motion"))
    panel.blur_source.activated.emit(panel.blur_source.currentIndex())
    assert panel._form.isRowVisible(panel._blur_shape_row) and panel.blur_size_label.text() == "Length"
    assert not panel.blur_angle.isHidden()
    np.testing.assert_array_equal(panel.known_kernel, motion_kernel(15, 0).astype(np.float32))
    panel.blur_size.setValue(9)
    panel.blur_angle.setValue(30)
    kernel = motion_kernel(9, 30).astype(np.float32)
    np.testing.assert_array_equal(panel.known_kernel, kernel)
    assert panel._form.isRowVisible(panel._blur_row) and "over 9×5 px" in panel.blur_view.toolTip()
    assert panel.blind and panel.steps == KNOWN_ROUNDS and not win.dice_action.isEnabled()
    panel.set_steps(2)
    outcome = restore_and_wait(qtbot, win)
    assert outcome.report.blur_kernel_given and outcome.report.blur_kernel_px == 11
    assert outcome.report.blur_extent_px == [9, 5], "a 9 px trail at 30°, in an 11 px array"
    assert outcome.report.blur_kernel_source == "motion:9:30", "as irsde restore --blur takes it"
    assert "given 9 px motion at 30°" in win.progress_label.text()
    prior = load_task_restorer("deblur", device="cpu")
    job = create_job(get_task("deblur"), prior, photo, settings=JobSettings(steps=2, kernel=kernel))
    np.testing.assert_allclose(win.result, job.run(), atol=1e-5)
    # another shape has its own size and no angle; coming back finds the motion as it was
    panel.blur_source.setCurrentIndex(panel.blur_source.findData("defocus"))
    panel.blur_source.activated.emit(panel.blur_source.currentIndex())
    assert panel.blur_size_label.text() == "Radius" and panel.blur_angle.isHidden()
    np.testing.assert_array_equal(panel.known_kernel, defocus_kernel(3).astype(np.float32))
    panel.blur_source.setCurrentIndex(panel.blur_source.findData("motion"))
    panel.blur_source.activated.emit(panel.blur_source.currentIndex())
    assert panel.blur_size.value() == 9 and panel.blur_angle.value() == 30
    np.testing.assert_array_equal(panel.known_kernel, kernel)
    panel.blur_source.setCurrentIndex(panel.blur_source.findData("estimate"))
    panel.blur_source.activated.emit(panel.blur_source.currentIndex())
    assert panel.known_kernel is None and not panel._form.isRowVisible(panel._blur_shape_row)
    assert panel.steps == BLIND_ROUNDS and not panel._form.isRowVisible(panel._blur_row)


def test_the_blur_shapes_sizes_are_remembered_but_not_the_choice(qtbot, tmp_path, denoise_only):
    pytest.importorskip("pytestqt")
    from gui_support import make_window

    ini = tmp_path / "prefs.ini"
    win = make_window(qtbot, tmp_path, settings_file=ini)
    panel = win.panel
    assert panel.select_task("deblur")
    for shape, size in (("defocus", 2.5), ("motion", 9.0)):
        panel.blur_source.setCurrentIndex(panel.blur_source.findData(shape))
        panel.blur_source.activated.emit(panel.blur_source.currentIndex())
        panel.blur_size.setValue(size)
    panel.blur_angle.setValue(120)
    win.close()
    again = make_window(qtbot, tmp_path, settings_file=ini)
    panel = again.panel
    assert panel.select_task("deblur") and panel.blur_source.currentData() == "estimate"
    assert panel.known_kernel is None, "each session starts on the estimate"
    panel.blur_source.setCurrentIndex(panel.blur_source.findData("motion"))
    panel.blur_source.activated.emit(panel.blur_source.currentIndex())
    assert (panel.blur_size.value(), panel.blur_angle.value()) == (9.0, 120)
    panel.blur_source.setCurrentIndex(panel.blur_source.findData("defocus"))
    panel.blur_source.activated.emit(panel.blur_source.currentIndex())
    assert panel.blur_size.value() == 2.5
    panel.blur_source.setCurrentIndex(panel.blur_source.findData("gaussian"))
    panel.blur_source.activated.emit(panel.blur_source.currentIndex())
    assert panel.blur_size.value() == 1.5, "never set: its default"


def test_a_blur_found_before_in_the_same_photo_spares_the_estimate(denoise_only):
    """The estimate depends on the photo alone: handed back, it gives the result a fresh
    estimate gives, with no estimating, and counts as found, not given."""
    restorer = load_task_restorer("deblur", device="cpu")
    task = get_task("deblur")
    photo = smooth_image(48, 64)
    first = create_job(task, restorer, photo, settings=JobSettings(steps=2))
    fresh = first.run()
    stages = []
    again = create_job(
        task, restorer, photo, settings=JobSettings(steps=2, estimated=first.kernel),
        hooks=JobHooks(on_stage=lambda *s: stages.append(s)),
    )  # fmt: skip
    np.testing.assert_allclose(again.run(), fresh, atol=1e-6)
    assert not stages, "nothing estimated"
    assert not again.kernel_given and again.kernel_source is None
    report = RunReport.from_job(again, restorer, [0.1, 0.1], 1.0)
    assert not report.blur_kernel_given and report.blur_extent_px == list(blur_extent(first.kernel))
    assert (
        create_job(task, restorer, photo, settings=JobSettings(estimated=first.kernel)).steps == BLIND_ROUNDS
    ), "an estimate's rounds"
    with pytest.raises(ValueError, match="given or estimated, not both"):
        BlindDeblurJob(task, restorer, photo, None, JobSettings(kernel=trail(), estimated=first.kernel))


def test_the_window_runs_a_photo_again_with_the_blur_it_found(qtbot, tmp_path, denoise_only):
    """Another count of rounds on the same photo skips the estimate (seconds on a big photo) and
    gives what a fresh estimate gives; a new photo is estimated afresh."""
    pytest.importorskip("pytestqt")
    from gui_support import make_window

    from irsde_gui.core.imageio import Photo

    win = make_window(qtbot, tmp_path)
    photo = smooth_image(40, 56)
    win.set_photo(Photo(photo), "test")
    assert win.panel.select_task("deblur")

    def run(rounds: int) -> list[str]:
        win.panel.set_steps(rounds)
        stages = []
        with qtbot.waitSignal(win.run_finished, timeout=30_000):
            win.restore()
            win.run.progress.connect(lambda p: stages.append(p.stage))
        return [s for s in stages if s]

    assert any(s.startswith("Estimating the blur") for s in run(2))
    found = win.outcome.kernel
    assert run(3) == [], "the blur found in this photo is used again"
    np.testing.assert_array_equal(win.outcome.kernel, found)
    assert not win.outcome.report.blur_kernel_given and "blur found" in win.progress_label.text()
    prior = load_task_restorer("deblur", device="cpu")
    expected = create_job(get_task("deblur"), prior, photo, settings=JobSettings(steps=3)).run()
    np.testing.assert_allclose(win.result, expected, atol=1e-5)
    win.panel.set_known_kernel(trail(), "k.npy")  # a known blur on the same photo: that one is used
    assert run(2) == [] and win.outcome.report.blur_kernel_given
    np.testing.assert_allclose(win.outcome.kernel, trail() / trail().sum(), atol=1e-6)
    win.panel.blur_source.setCurrentIndex(win.panel.blur_source.findData("estimate"))
    win.panel.blur_source.activated.emit(win.panel.blur_source.currentIndex())
    assert run(2) == [] and not win.outcome.report.blur_kernel_given, "and back to the blur found"
    np.testing.assert_array_equal(win.outcome.kernel, found)
    win.set_photo(Photo(photo.copy()), "another")
    assert win.panel.select_task("deblur")
    assert run(2), "a new photo has its blur estimated"

    def stopped_run(when) -> None:
        win.panel.set_steps(8)
        with qtbot.waitSignal(win.run_finished, timeout=30_000):
            win.restore()
            win.run.progress.connect(lambda p: win.stop() if when(p) else None)

    win.set_photo(Photo(photo.copy()), "stopped in its rounds")
    stopped_run(lambda p: p.index == 1 and not p.stage)
    assert run(2) == [], "a run stopped after its estimate leaves the blur it found"
    win.set_photo(Photo(photo.copy()), "stopped in its estimate")
    stopped_run(lambda p: bool(p.stage))
    assert run(2), "stopped before its blur was found: the next run estimates it"


@pytest.fixture
def slow_estimate(monkeypatch):
    """Finding the blur takes 1000 s longer, on a clock that otherwise moves 1 ms a reading (the
    engine times with ``time.perf_counter``): a round's time must not count it, and the test does
    not depend on how fast the machine is."""
    import threading
    import time

    from irsde_gui.core import blind, pipeline

    class SteppingClock:
        def __init__(self) -> None:
            self.now, self.lock = 0.0, threading.Lock()

        def __call__(self) -> float:
            with self.lock:
                self.now += 0.001
                return self.now

        def advance(self, seconds: float) -> None:
            with self.lock:
                self.now += seconds

    clock = SteppingClock()
    real = blind.estimate_photo_kernel

    def slow(*args, **kwargs):
        clock.advance(1000.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(time, "perf_counter", clock)

    monkeypatch.setattr(pipeline, "estimate_photo_kernel", slow)


def test_a_rounds_time_leaves_out_finding_the_blur(denoise_only, slow_estimate):
    restorer = load_task_restorer("deblur", device="cpu")
    job = create_job(get_task("deblur"), restorer, smooth_image(40, 48), settings=JobSettings(steps=2))
    records = list(job.steps_iter())
    assert job.estimate_seconds >= 1000 and records[0].seconds < 1, "the estimate is not round 1's"
    report = RunReport.from_job(job, restorer, [r.seconds for r in records], 2.0)
    assert report.blur_estimate_seconds == round(job.estimate_seconds, 3)
    given = create_job(
        get_task("deblur"), restorer, smooth_image(40, 48), settings=JobSettings(kernel=trail())
    )
    given.run()
    assert given.estimate_seconds is None, "nothing estimated"


def test_the_time_left_counts_rounds_not_the_blur_estimate(
    qtbot, tmp_path, denoise_only, slow_estimate, capsys
):
    """The window's and the command line's time per round (and so the time left) leave out the
    estimate before round 1: counted in, round 1 of 8 would promise 7 more of its length."""
    pytest.importorskip("pytestqt")
    from gui_support import make_window

    from irsde_gui.core.imageio import Photo

    win = make_window(qtbot, tmp_path)
    win.set_photo(Photo(smooth_image(40, 56)), "test")
    assert win.panel.select_task("deblur")
    win.panel.set_steps(2)
    seen = []
    with qtbot.waitSignal(win.run_finished, timeout=30_000):
        win.restore()
        win.run.progress.connect(lambda p: seen.append(p))
    rounds = [p for p in seen if p.index and not p.stage]
    assert rounds and rounds[0].seconds_per_step < 1 and rounds[0].elapsed >= 1000
    src = tmp_path / "blurry.png"
    Image.fromarray((smooth_image(40, 52) * 255 + 0.5).astype(np.uint8)).save(src)
    assert (
        main(["restore", str(src), "-o", str(tmp_path / "out.png"), "--task", "deblur", "--steps", "2"]) == 0
    )
    err = capsys.readouterr().err
    per_round = [float(m) for m in re.findall(r"round \d/2\s+([\d.]+) s/round", err)]
    assert per_round and max(per_round) < 1, err


def test_the_command_lines_report_of_a_deconvolution_names_its_blur(tmp_path, installed_tiny_weights):
    src = tmp_path / "blurry.png"
    Image.fromarray((smooth_image(40, 52) * 255 + 0.5).astype(np.uint8)).save(src)
    out = tmp_path / "sharp.png"
    rc = main(
        ["restore", str(src), "--task", "deblur", "--steps", "2", "-o", str(out), "--blur", "motion:9:30"]
    )
    assert rc == 0 and not out.with_suffix(".json").exists()
    rc = main(
        ["restore", str(src), "--task", "deblur", "-o", str(out), "--blur", "motion:9:30", "--report", "-q"]
    )
    assert rc == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["method"] == "blind" and report["sampler"] is None and report["seed"] is None
    assert report["blur_kernel_given"] and report["blur_kernel_source"] == "motion:9:30"
    assert report["blur_extent_px"] == [9, 5] and report["blur_estimate_seconds"] is None
    assert report["steps_done"] == report["steps"] == 5, "a known blur's rounds by default"


def test_the_command_line_saves_the_blur_it_found_for_other_photos(tmp_path, denoise_only, capsys):
    """``--save-blur`` writes the blur beside the result; ``--kernel`` takes it back for the next
    photo of the same shake, with no estimate."""
    from irsde_gui.core.imageio import read_kernel, read_photo

    src = tmp_path / "blurry.png"
    Image.fromarray((smooth_image(48, 56, seed=4) * 255 + 0.5).astype(np.uint8)).save(src)
    out = tmp_path / "sharp.png"
    assert (
        main(["restore", str(src), "--task", "deblur", "--steps", "2", "-o", str(out), "-q", "--save-blur"])
        == 0
    )
    saved = tmp_path / "sharp.blur.png"
    restorer = load_task_restorer("deblur", device="cpu")
    found = create_job(get_task("deblur"), restorer, read_photo(src).rgb).find_blur()  # as the run found it
    np.testing.assert_allclose(read_kernel(saved), found / found.sum(), atol=1e-6)
    assert (
        main(
            [
                "restore",
                str(src),
                "--task",
                "deblur",
                "-o",
                str(tmp_path / "again.png"),
                "--kernel",
                str(saved),
            ]
        )
        == 0
    )
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "given a" in last and "found" not in last, "told the saved blur: no estimate"
    rc = main(["restore", str(src), "--task", "denoise", "-o", str(tmp_path / "d.png"), "--save-blur", "-q"])
    assert (
        rc == 2
        and "--save-blur saves the blur a deconvolution used: it is for --task deblur"
        in capsys.readouterr().err
    )


def test_the_window_saves_the_blur_it_found_and_deblurs_the_next_photo_with_it(qtbot, tmp_path, denoise_only):
    """The "Save blur…" button beside the blur found writes it where "Known blur from a file…"
    reads it back: the next photo of the same shake deblurs with it, without an estimate."""
    pytest.importorskip("pytestqt")
    from gui_support import make_window, open_photo, restore_and_wait, write_png

    first = write_png(tmp_path / "shot 1.png", smooth_image(40, 56, seed=5))
    win = make_window(qtbot, tmp_path)
    assert open_photo(qtbot, win, first)
    panel = win.panel
    assert panel.select_task("deblur")
    assert win.save_blur() is None and "There is no blur to save yet" in win.message_bar.text
    assert "save_blur" not in win.dialogs.asked
    outcome = restore_and_wait(qtbot, win)
    assert panel.save_blur_button.isVisible() and panel.blur_label.text() == "Blur found"
    win.dialogs.answers["save_blur"] = str(tmp_path / "shake.png")
    with qtbot.waitSignal(win.statusBar().messageChanged):
        panel.save_blur_button.click()
    assert win.dialogs.suggested_blur == str(tmp_path / "shot 1-blur.png"), "beside the photo, named after it"
    assert "Saved the blur shake.png" in win.statusBar().currentMessage()
    np.testing.assert_allclose(
        read_kernel(tmp_path / "shake.png"), outcome.kernel / outcome.kernel.sum(), atol=2e-5
    )
    # the next shot: told the saved blur, no estimate
    second = write_png(tmp_path / "shot 2.png", smooth_image(40, 56, seed=6))
    assert open_photo(qtbot, win, second)
    assert not panel._form.isRowVisible(panel._blur_row) and panel.shown_blur is None
    win.dialogs.answers["open_kernel"] = str(tmp_path / "shake.png")
    with qtbot.waitSignal(win.kernel_loaded):
        panel.blur_source.activated.emit(panel.blur_source.findData("load"))
    assert panel.blur_source.currentText().startswith("Known: shake.png")
    again = restore_and_wait(qtbot, win)
    assert again.report.blur_kernel_given and again.report.blur_estimate_seconds is None
    np.testing.assert_allclose(again.kernel, panel.known_kernel)
    np.testing.assert_allclose(panel.known_kernel, outcome.kernel / outcome.kernel.sum(), atol=2e-5)
    # a file that cannot be written: a message, nothing lost
    (tmp_path / "taken.png").mkdir()
    win.dialogs.answers["save_blur"] = str(tmp_path / "taken.png")
    assert win.save_blur() is None and win.message_bar.text.startswith("Could not save the blur:")
    assert win.result is not None and panel.shown_blur is not None, "the result and its blur stay"


def test_the_window_offers_the_other_blur_and_deblurs_with_it(
    qtbot, tmp_path, with_start_network, monkeypatch
):
    """Where the estimate tried both starts, "Try the other blur" deblurs again with the one not
    kept (no estimate), the result before stays for A/B, and the first blur is offered back."""
    pytest.importorskip("pytestqt")
    from gui_support import make_window

    import irsde_gui.core.blind as blind_module
    from irsde_gui.core.imageio import Photo

    monkeypatch.setattr(blind_module, "SECOND_START_RESIDUAL", -1.0)  # every estimate gets one ...
    monkeypatch.setattr(blind_module, "MAX_RESIDUAL", 2.0)  # ... none doubted for what it leaves
    win = make_window(qtbot, tmp_path)
    win.set_photo(Photo(smooth_image(48, 64)), "test")
    assert win.panel.select_task("deblur") and win.panel.blind
    win.panel.set_steps(2)
    with qtbot.waitSignal(win.run_finished, timeout=60_000):
        win.restore()
    first = win.outcome
    assert first.other_kernel is not None and win.panel.other_blur_button.isVisibleTo(win.panel)

    def blur_in_view() -> bool:
        view = win.panel_scroll.viewport()
        corner = win.panel.blur_view.mapTo(view, win.panel.blur_view.rect().bottomRight())
        return view.rect().contains(corner)

    win.panel_scroll.verticalScrollBar().setValue(0)
    win.resize(1000, 420)  # a panel taller than its dock: the blur found is below the fold ...
    with qtbot.waitSignal(win.run_finished, timeout=60_000):
        win.restore()
    qtbot.waitUntil(blur_in_view, timeout=2000)  # ... and scrolled into view once found
    tip = win.panel.other_blur_button.toolTip()
    assert "Another blur also fits this photo" in tip and "px" in tip
    with qtbot.waitSignal(win.run_finished, timeout=60_000):
        win.panel.other_blur_button.click()
    second = win.outcome
    assert second.report.blur_estimate_seconds is None, "the other blur was not estimated again"
    assert np.allclose(second.kernel, first.other_kernel) and second.report.blur_start == first.other_start
    assert win.session.previous is not None, "the first result stays for A/B"
    assert win.panel.other_blur_button.isVisibleTo(win.panel), "the first blur is offered back"
    assert np.allclose(win.session.other_blur().other, first.kernel)
    assert np.allclose(win.panel.shown_blur, second.kernel)


def deblur_command(tmp_path):
    """``(out, args)``: irsde restore deblurring a small smooth photo in 2 rounds, with its report."""
    src = tmp_path / "shaken.png"
    Image.fromarray((smooth_image(48, 64) * 255).astype(np.uint8)).save(src)
    out = tmp_path / "out.png"
    return out, ["restore", str(src), "-o", str(out), "--task", "deblur", "--steps", "2", "--report"]


def test_the_command_line_keeps_the_start_asked_for_and_names_the_other(tmp_path, with_start_network, capsys):
    out, args = deblur_command(tmp_path)
    assert main([*args, "--blur-start", "network"]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["blur_start"] == "network" and report["blur_other_extent_px"]
    assert "(--blur-start photo finds " in capsys.readouterr().err, "the other start, to compare"
    assert main([*args, "--blur-start", "photo", "--overwrite"]) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["blur_start"] == "photo" and report["blur_other_extent_px"] is None
    capsys.readouterr()
    assert main([*args, "--blur-start", "photo", "--blur", "motion:5:0", "--overwrite"]) != 0
    assert "not one given" in capsys.readouterr().err


def test_a_blur_start_is_refused_where_no_blur_is_estimated(tmp_path, installed_tiny_weights, capsys):
    src = tmp_path / "photo.png"
    Image.fromarray((smooth_image(32, 32) * 255).astype(np.uint8)).save(src)
    out = tmp_path / "out.png"
    refusals = (("deblur", "the deblur model finds the blur its own way"), ("denoise", "--task deblur"))
    for task, why in refusals:
        assert main(["restore", str(src), "-o", str(out), "--task", task, "--blur-start", "network"]) != 0
        assert why in capsys.readouterr().err and not out.exists()


def test_a_network_start_asked_for_without_the_network_says_so(tmp_path, denoise_only, capsys):
    out, args = deblur_command(tmp_path)
    assert main([*args, "--blur-start", "network"]) == 0
    assert "no start from the deblur network to be had" in capsys.readouterr().err
    assert json.loads(out.with_suffix(".json").read_text())["blur_start"] == "photo"
