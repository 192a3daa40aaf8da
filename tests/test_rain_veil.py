"""Heavy rain's veil: measured on the rainy photo, and lifted by the dehaze model only where
there is one, before the network erases the streaks (derain's first stage)."""

from __future__ import annotations

import numpy as np
import pytest

from irsde_gui.core import classic
from irsde_gui.core.imageio import read_photo
from irsde_gui.core.paths import resources_dir
from irsde_gui.core.pipeline import JobSettings, RestoreJob
from irsde_gui.core.runs import RunReport, describe_pre_stage
from irsde_gui.core.tasks import get_task

DERAIN = get_task("derain")


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    """A clear photo (scikit-image's coffee, shipped with the examples)."""
    return read_photo(resources_dir() / "examples" / "coffee.png").rgb


def veiled(img: np.ndarray, hide: float, light=(0.85, 0.87, 0.9)) -> np.ndarray:
    """``O = t B + (1 - t) A``: a veil hiding ``hide`` of the scene under light ``A``."""
    return (1 - hide) * img + hide * np.asarray(light, np.float32)


def test_veil_level_is_near_zero_on_a_clear_photo_and_reads_the_veil(coffee):
    assert classic.veil_level(coffee) < 0.05
    levels = [classic.veil_level(veiled(coffee, h)) for h in (0.1, 0.3, 0.5)]
    assert levels == sorted(levels)
    assert levels[1] == pytest.approx(0.3, abs=0.06) and levels[2] == pytest.approx(0.5, abs=0.06)


def test_veil_level_reads_a_large_photo_on_a_thumbnail_alike(coffee):
    import cv2

    big = cv2.resize(veiled(coffee, 0.3), (1800, 1200), interpolation=cv2.INTER_CUBIC)
    assert classic.veil_level(big) == pytest.approx(classic.veil_level(veiled(coffee, 0.3)), abs=0.03)


def test_derain_lifts_a_veil_only_where_there_is_one(coffee):
    assert DERAIN.pre_stage == "dehaze"
    assert DERAIN.pre_stage_strength(coffee) == 0.0
    assert DERAIN.pre_stage_strength(veiled(coffee, 0.1)) == 0.0  # within what clear photos read
    assert DERAIN.pre_stage_strength(veiled(coffee, 0.4)) == 1.0
    assert 0 < DERAIN.pre_stage_strength(veiled(coffee, 0.17)) < 1


def _run(photo: np.ndarray, pre_stage: bool = True):
    from irsde_gui.core.model import load_restorer

    settings = JobSettings(pre_stage=pre_stage)
    job = RestoreJob(DERAIN, load_restorer("derain", device="cpu"), photo, None, settings)
    return job, job.run()


def test_a_veiled_photo_is_dehazed_before_the_network_and_its_report_says_so(installed_tiny_weights, coffee):
    photo = veiled(coffee[:96, :128], 0.45)
    job, out = _run(photo)
    alone_job, alone = _run(photo, pre_stage=False)
    assert alone_job.pre is None
    np.testing.assert_array_equal(alone_job.prepared.mu, photo)
    assert job.pre["task"] == "dehaze" and job.pre["strength"] == 1.0
    assert job.pre["model_file"].endswith("dehaze.pt") and job.pre["model_sha256"]
    assert np.abs(job.prepared.mu - photo).mean() > 1e-3  # the network started from the dehazed photo
    assert np.isfinite(out).all() and out.shape == photo.shape
    assert np.abs(out - alone).mean() > 1e-3
    report = RunReport.from_job(job, job.restorer, [0.1], 0.1)
    assert report.to_dict()["pre_stage"] == job.pre
    assert describe_pre_stage(report.pre_stage) == "veil lifted (dehaze model)"
    assert describe_pre_stage({**job.pre, "strength": 0.6}) == "veil lifted 60% (dehaze model)"


def test_a_clear_photo_is_left_to_the_network(installed_tiny_weights, coffee):
    job, _ = _run(coffee[:96, :128])
    assert job.pre is None
    np.testing.assert_array_equal(job.prepared.mu, coffee[:96, :128])
    assert RunReport.from_job(job, job.restorer, [0.1], 0.1).pre_stage is None
    assert describe_pre_stage(None) == ""


def test_without_the_dehaze_model_the_network_runs_alone_and_says_why(installed_tiny_weights, coffee):
    (installed_tiny_weights / "dehaze.pt").unlink()
    photo = veiled(coffee[:96, :128], 0.45)
    job, out = _run(photo)
    _, alone = _run(photo, pre_stage=False)
    assert job.pre["task"] == "dehaze" and "no trained weights" in job.pre["skipped"]
    np.testing.assert_array_equal(out, alone)
    assert describe_pre_stage(job.pre).startswith("dehaze stage skipped: ")


def test_a_broken_dehaze_model_is_skipped_and_the_network_runs_alone(
    installed_tiny_weights, coffee, monkeypatch
):
    """A dehaze result with NaN is no reason to lose the run: the stage is skipped, said why."""
    from irsde_gui.core.model import Restorer

    real = Restorer.__call__

    def broken(self, x_t, mu, t):
        out = real(self, x_t, mu, t)
        return out * float("nan") if self.weights and self.weights.card.task == "dehaze" else out

    monkeypatch.setattr(Restorer, "__call__", broken)
    photo = veiled(coffee[:96, :128], 0.45)
    job, out = _run(photo)
    assert job.pre["task"] == "dehaze" and "not finite" in job.pre["skipped"]
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(job.prepared.mu, photo)


def test_stopping_during_the_dehaze_stage_stops_the_run(installed_tiny_weights, coffee):
    from irsde_gui.core.model import load_restorer
    from irsde_gui.core.pipeline import JobHooks

    class Stop(Exception):
        """What a stop raises from a hook (the runner's Cancelled)."""

    seen = []

    def on_stage(what, done, total):
        seen.append((what, done, total))
        if done == 1:
            raise Stop

    hooks = JobHooks(on_stage=on_stage)
    job = RestoreJob(DERAIN, load_restorer("derain", device="cpu"), veiled(coffee[:96, :128], 0.45), None,
                     JobSettings(), hooks)  # fmt: skip
    with pytest.raises(Stop):
        job.run()
    assert seen[0][1:] == (0, 1) and seen[-1][1] == 1  # reported step by step, stopped at the first
    assert job.result is None and job.pre_seconds is not None


def test_the_window_says_the_veil_was_lifted_and_saves_its_report(
    qtbot, tmp_path, installed_tiny_weights, coffee
):
    pytest.importorskip("pytestqt")
    import json

    from gui_support import make_window, open_photo, restore_and_wait, write_png

    src = write_png(tmp_path / "downpour.png", veiled(coffee[:96, :128], 0.45))
    win = make_window(qtbot, tmp_path)
    assert open_photo(qtbot, win, src)
    win.panel.select_task("derain")
    win.panel.set_steps(1)
    outcome = restore_and_wait(qtbot, win)
    assert outcome.report.pre_stage["task"] == "dehaze"
    assert "veil lifted (dehaze model)" in win.progress_label.text()
    out = tmp_path / "out" / "clear.png"
    win.dialogs.answers["save_image"] = str(out)
    assert win.save() == out
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["pre_stage"]["task"] == "dehaze" and report["pre_stage"]["strength"] == 1.0
