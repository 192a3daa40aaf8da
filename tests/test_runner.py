"""The run loop (:mod:`irsde_gui.core.runner`): the order of its events, stopping, and the one
report that the command line and the app's worker both write for the same run."""

from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path

import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image

from irsde_gui.core.model import load_task_restorer
from irsde_gui.core.pipeline import JobSettings, create_job
from irsde_gui.core.runner import Cancelled, Progress, RunEvents, Runner
from irsde_gui.core.tasks import get_task
from irsde_gui.core.trajectory import Trajectory

# What differs between two runs of the same job: the clock, the memory of the process, the file
# written (each driver writes its own).
WALL_CLOCK = {
    "seconds_per_step",
    "elapsed_seconds",
    "step_seconds",
    "blur_estimate_seconds",
    "coarse_seconds",
    "peak_memory_mib",
    "created",
    "output",
}


class Recorder(RunEvents):
    """Every event of a run, in order; ``stop_when(event)`` may stop the runner."""

    def __init__(self, stop_when=None):
        self.events: list[tuple] = []
        self.runner: Runner | None = None
        self.stop_when = stop_when

    def _seen(self, event: tuple) -> None:
        self.events.append(event)
        if self.stop_when is not None and self.stop_when(event):
            self.runner.stop()

    def progress(self, progress: Progress) -> None:
        kind = "stage" if progress.stage else ("tile" if progress.tiles_done else "progress")
        self._seen((kind, progress.index, progress.total, progress.stage))

    def step(self, record, frame) -> None:
        self._seen(("step", record.index, None if frame is None else frame.state.shape))


def runner_for(recorder: Recorder, **kwargs) -> Runner:
    recorder.runner = Runner(recorder, **kwargs)
    return recorder.runner


@pytest.fixture
def denoise_only(installed_tiny_weights):
    """Every tiny model but deblur's: deblurring deconvolves with the denoise model."""
    for f in installed_tiny_weights.glob("deblur.*"):
        f.unlink()
    return installed_tiny_weights


def test_a_run_reports_each_step_then_its_progress_and_ends_with_its_report(installed_tiny_weights):
    recorder = Recorder()
    trajectory = Trajectory()
    runner = runner_for(recorder, trajectory=trajectory, frame_side=lambda steps: 24)
    restorer = load_task_restorer("denoise", device="cpu")
    run = runner.restore(get_task("denoise"), restorer, smooth_image(32, 48), settings=JobSettings(steps=3))
    assert recorder.events == [
        ("step", 1, (16, 24, 3)),
        ("progress", 1, 3, ""),
        ("step", 2, (16, 24, 3)),
        ("progress", 2, 3, ""),
        ("step", 3, (16, 24, 3)),
        ("progress", 3, 3, ""),
    ]
    assert [f.index for f in trajectory.frames] == [1, 2, 3] and trajectory.max_side == 24
    assert not run.stopped and run.image.shape == (32, 48, 3) and run.image is run.job.result
    report = run.report
    assert (report.steps, report.steps_done, report.seed, report.stopped_early) == (3, 3, 0, False)
    assert len(report.step_seconds) == 3 and report.method == "sde" and report.input is None


def test_without_a_trajectory_or_frames_no_frame_is_made(installed_tiny_weights):
    recorder = Recorder()
    restorer = load_task_restorer("denoise", device="cpu")
    runner_for(recorder).restore(
        get_task("denoise"), restorer, smooth_image(16, 16), settings=JobSettings(steps=2)
    )
    assert [e for e in recorder.events if e[0] == "step"] == [("step", 1, None), ("step", 2, None)]


def test_a_finished_run_is_freed_without_waiting_for_the_garbage_collector(installed_tiny_weights):
    """The job's hooks call back into the runner: a runner that kept the job would make a cycle
    holding every photo's arrays until Python's rare full collection (a 60-photo queue grew by
    about 100 KiB a photo)."""
    restorer = load_task_restorer("denoise", device="cpu")
    runner = Runner()
    result = runner.restore(
        get_task("denoise"), restorer, smooth_image(16, 16), settings=JobSettings(steps=2)
    )
    job = weakref.ref(result.job)
    assert runner.job is None and runner.total == 2
    gc.disable()
    try:
        del result, runner
        assert job() is None, "freed as soon as the last reference went"
    finally:
        gc.enable()


def test_stopped_after_a_step_the_run_keeps_that_steps_estimate(installed_tiny_weights):
    recorder = Recorder(stop_when=lambda e: e == ("step", 2, None))
    restorer = load_task_restorer("denoise", device="cpu")
    run = runner_for(recorder).restore(
        get_task("denoise"), restorer, smooth_image(32, 32), settings=JobSettings(steps=6)
    )
    assert [e[1] for e in recorder.events if e[0] == "step"] == [1, 2], "nothing after the step in progress"
    assert run.stopped and run.job.result is None and run.steps_done == 2
    assert run.image is not None and run.image.shape == (32, 32, 3), "x0_hat of the last step is kept"
    assert run.report.stopped_early and run.report.steps_done == 2 and run.report.steps == 6


def test_stopped_on_the_last_step_the_run_finishes(installed_tiny_weights):
    recorder = Recorder(stop_when=lambda e: e[:2] == ("step", 2))
    restorer = load_task_restorer("denoise", device="cpu")
    run = runner_for(recorder).restore(
        get_task("denoise"), restorer, smooth_image(16, 16), settings=JobSettings(steps=2)
    )
    assert not run.stopped and run.image is run.job.result and not run.report.stopped_early


def test_stopped_before_it_began_a_run_raises_cancelled(installed_tiny_weights):
    runner = Runner()
    restorer = load_task_restorer("denoise", device="cpu")
    job = create_job(
        get_task("denoise"), restorer, smooth_image(16, 16), settings=JobSettings(steps=2), hooks=runner.hooks
    )
    runner.stop()
    with pytest.raises(Cancelled):
        runner.run(job)
    assert runner.stop_requested and runner.index == 0 and runner.total == 2


def test_stopped_between_tiles_the_run_ends_within_the_step(installed_tiny_weights):
    recorder = Recorder(stop_when=lambda e: e[0] == "tile")
    restorer = load_task_restorer("denoise", device="cpu")
    run = runner_for(recorder).restore(
        get_task("denoise"), restorer, smooth_image(64, 200), settings=JobSettings(steps=3, tile=64)
    )
    assert recorder.events[0][:2] == ("tile", 0), "tiles are reported while the first step runs"
    assert not any(e[0] == "step" for e in recorder.events), "stopped inside step 1"
    assert run.stopped and run.image is None and run.steps_done == 0 and run.report.tile == 64


def test_the_blur_estimate_comes_first_as_a_stage(denoise_only):
    recorder = Recorder()
    restorer = load_task_restorer("deblur", device="cpu")
    run = runner_for(recorder).restore(
        get_task("deblur"), restorer, smooth_image(48, 64), settings=JobSettings(steps=2)
    )
    kinds = [e[0] for e in recorder.events]
    first_step = kinds.index("step")
    assert first_step > 0 and set(kinds[:first_step]) == {"stage"}, "the estimate, before round 1"
    assert all(e[3].startswith("Estimating the blur") for e in recorder.events[:first_step])
    assert "stage" not in kinds[first_step:]
    report = run.report
    assert report.method == "blind" and report.sampler is None and report.seed is None
    assert report.blur_estimate_seconds is not None and len(report.step_seconds) == 2
    # (that a round's time leaves the estimate out: test_blind_deblur's time-left tests)


def test_stopped_while_the_blur_is_estimated_there_is_no_image(denoise_only):
    recorder = Recorder(stop_when=lambda e: e[0] == "stage")
    restorer = load_task_restorer("deblur", device="cpu")
    run = runner_for(recorder).restore(
        get_task("deblur"), restorer, smooth_image(48, 64), settings=JobSettings(steps=2)
    )
    assert [e[0] for e in recorder.events] == ["stage"], "stopped at the estimate's first report"
    assert run.stopped and run.image is None and run.report.stopped_early and run.report.steps_done == 0


# ---------------------------------------------------------------- one loop, two drivers
def restore_both_ways(qtbot, tmp_path, task: str, steps: int, seed: int) -> tuple[dict, dict, Path, Path]:
    """The same photo, task, steps and seed through ``irsde restore --report`` and through the
    app's worker (a batch run writing its report): both reports, and both results."""
    from irsde_gui.app.worker import RestoreRun, RunRequest
    from irsde_gui.cli import main

    src = tmp_path / "photo.png"
    Image.fromarray((smooth_image(40, 52) * 255 + 0.5).astype(np.uint8)).save(src)
    by_cli, by_app = tmp_path / "cli" / "out.png", tmp_path / "app" / "out.png"
    by_cli.parent.mkdir()
    by_app.parent.mkdir()
    args = ["restore", str(src), "-o", str(by_cli), "--task", task, "--steps", str(steps)]
    assert main([*args, "--seed", str(seed), "--device", "cpu", "--report", "-q"]) == 0
    request = RunRequest(
        task, steps=steps, seed=seed, device="cpu", source=src, output=by_app, write_report=True
    )
    run = RestoreRun(request)
    with qtbot.waitSignal(run.stopped, timeout=60_000):
        run.start()
    assert run.result is not None and not run.result.stopped, run.result
    cli = json.loads(by_cli.with_suffix(".json").read_text())
    app = json.loads(by_app.with_suffix(".json").read_text())
    return cli, app, by_cli, by_app


@pytest.mark.parametrize("task", ["denoise", "sr"])
def test_the_command_line_and_the_app_report_a_run_alike(qtbot, tmp_path, installed_tiny_weights, task):
    pytest.importorskip("pytestqt")
    cli, app, by_cli, by_app = restore_both_ways(qtbot, tmp_path, task, steps=3, seed=7)
    assert cli.keys() == app.keys()
    assert {k: v for k, v in cli.items() if k not in WALL_CLOCK} == {
        k: v for k, v in app.items() if k not in WALL_CLOCK
    }
    assert (
        cli["seed"] == 7
        and cli["steps_done"] == 3
        and cli["input"] == str((tmp_path / "photo.png").resolve())
    )
    assert cli["output"] == str(by_cli.resolve()) and app["output"] == str(by_app.resolve())
    np.testing.assert_array_equal(np.asarray(Image.open(by_cli)), np.asarray(Image.open(by_app)))


def test_the_command_line_and_the_app_report_a_blind_deblur_alike(qtbot, tmp_path, denoise_only):
    pytest.importorskip("pytestqt")
    cli, app, by_cli, by_app = restore_both_ways(qtbot, tmp_path, "deblur", steps=2, seed=0)
    assert {k: v for k, v in cli.items() if k not in WALL_CLOCK} == {
        k: v for k, v in app.items() if k not in WALL_CLOCK
    }
    assert cli["method"] == "blind" and cli["model_file"].endswith("denoise.pt")
    assert cli["blur_estimate_seconds"] is not None and app["blur_estimate_seconds"] is not None
    np.testing.assert_array_equal(np.asarray(Image.open(by_cli)), np.asarray(Image.open(by_app)))


# ---------------------------------------------------------------- a task no other file knows
@pytest.fixture
def toy_task(installed_tiny_weights):
    """A task made here: registered, with tiny weights of its own in the user's folder. No
    module of the package names it."""
    import torch
    from conftest import TINY_NET

    from irsde_gui.core.nets import build_model
    from irsde_gui.core.sdeconfig import SDEConfig
    from irsde_gui.core.tasks import TASKS, Task, register
    from irsde_gui.core.weights import ModelCard, save_weights

    toy = register(Task("toy", "Toy", "A task made in a test", "mdi6.star", SDEConfig(T=20, max_sigma=5.0)))
    torch.manual_seed(1)
    net = build_model(TINY_NET)
    card = ModelCard(task="toy", network=dict(TINY_NET), sde=toy.sde, default_steps=3)
    save_weights(net, card, installed_tiny_weights / "toy.pt")
    yield toy
    TASKS.pop("toy")


def test_a_registered_task_restores_through_the_command_line_and_the_app(qtbot, tmp_path, toy_task):
    pytest.importorskip("pytestqt")
    from irsde_gui.app.worker import RestoreRun, RunRequest, scan_tasks

    info = scan_tasks()["toy"]
    assert info.available and info.default_steps == 3 and info.max_steps == 20, info.problem
    cli, app, by_cli, by_app = restore_both_ways(qtbot, tmp_path, "toy", steps=2, seed=4)
    assert cli["task"] == app["task"] == "toy" and cli["model_file"].endswith("toy.pt")
    assert {k: v for k, v in cli.items() if k not in WALL_CLOCK} == {
        k: v for k, v in app.items() if k not in WALL_CLOCK
    }
    np.testing.assert_array_equal(np.asarray(Image.open(by_cli)), np.asarray(Image.open(by_app)))
    run = RestoreRun(RunRequest("toy", rgb=smooth_image(24, 32), device="cpu"))
    with qtbot.waitSignal(run.finished, timeout=30_000):
        run.start()
    assert run.result.report.steps == 3 and run.result.image.shape == (24, 32, 3), "its card's steps"
    run.wait()


def test_the_command_lines_bar_draws_a_runs_progress():
    import io

    from irsde_gui.cli.common import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar("p.png", 0, stream=stream, unit="round")
    bar.progress(Progress(0, 8, 0.0, 0.5, 0.0, stage="Estimating the blur 3/30"))
    bar.progress(Progress(0, 8, 0.0, 0.6, 0.0, tiles_done=1, tiles_total=4))  # no round done: no bar yet
    bar.progress(Progress(2, 8, 0.5, 1.5, 3.0, tiles_done=4, tiles_total=4))
    lines = stream.getvalue().split("\r")[1:]
    assert [line.strip() for line in lines[:1]] == ["p.png  Estimating the blur 3/30"]
    assert len(lines) == 2 and bar.total == 8
    assert "round 2/8" in lines[1] and "0.50 s/round" in lines[1] and "tiles 4/4" in lines[1]
