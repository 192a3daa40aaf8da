"""The run loop: one job driven step by step to its result, or until stopped.

The command line and the app's worker both restore through :class:`Runner`; neither walks a
job's steps itself. A run tells its driver what happens through :class:`RunEvents`:

- ``progress(Progress)``: after every step, every batch of tiles, and while a step is prepared
  (``stage``, e.g. "Estimating the blur 12/30" before blind deblurring's first round);
- ``step(record, frame)``: each step's :class:`~.sampler.StepRecord`, with its display
  :class:`~.trajectory.Frame` when frames are wanted;
- ``shrunk(tile)``: out of memory, the step goes on in tiles of this size.

:meth:`Runner.stop` (from any thread) ends the run after the step in progress, or between
tiles, or during the blur estimate; the result is then the last step's estimate ``x0_hat``.
Every run, finished or stopped, ends with a :class:`~.runs.RunReport` whose step times leave
out what came before the first step (finding the blur).

Importing this module is cheap (no PyTorch, no image libraries): the app and the command line
import it at start-up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .runs import RunReport

if TYPE_CHECKING:
    import numpy as np

    from .model import Restorer
    from .pipeline import BlindDeblurJob, JobHooks, JobSettings, RestoreJob
    from .sampler import StepRecord
    from .tasks import Task
    from .trajectory import Frame, Trajectory

    Job = RestoreJob | BlindDeblurJob


@dataclass
class Progress:
    """Where a run stands: step ``index`` of ``total``, time per step and time left."""

    index: int
    total: int
    seconds_per_step: float
    elapsed: float
    remaining: float
    tiles_done: int = 0
    tiles_total: int = 0
    stage: str = ""  # a step's preparation, e.g. "Estimating the blur 12/30"


class Cancelled(Exception):
    """The run was stopped before it began (raised between tiles and stages to stop at once)."""


class RunEvents:
    """What a run reports as it goes; each method does nothing unless a driver overrides it."""

    def progress(self, progress: Progress) -> None:
        """Step N of M, time per step and left, tiles, or the stage a step is being prepared in."""

    def step(self, record: StepRecord, frame: Frame | None) -> None:
        """One step done: its record, and its display frame when the runner makes frames."""

    def shrunk(self, tile: int) -> None:
        """Out of memory: the step is retried in tiles of ``tile`` px."""


@dataclass
class RunResult:
    """A run that ended: the job, its image and its report."""

    job: Job
    image: np.ndarray | None  # the result; a stopped run's: the last step's x0_hat (None: no step)
    report: RunReport
    stopped: bool

    @property
    def steps_done(self) -> int:
        return self.report.steps_done


class Runner:
    """Drives jobs (:func:`~.pipeline.create_job`) and reports through ``events``.

    Frames are made when a ``trajectory`` keeps them (every step, downsampled) or ``frames``
    asks for them to be shown; their longer side is ``frame_side(steps)``, or the trajectory's
    ``max_side``.
    """

    def __init__(
        self,
        events: RunEvents | None = None,
        *,
        trajectory: Trajectory | None = None,
        frames: bool = False,
        frame_side: Callable[[int], int] | None = None,
    ):
        self.events = events or RunEvents()
        self.trajectory = trajectory
        self.frames = frames or trajectory is not None
        self.frame_side = frame_side
        self._stop = threading.Event()
        self.job: Job | None = None  # the job running (None between runs)
        self.index = 0  # the last step done
        self._steps = 0  # the last job's step count
        self._began = 0.0
        self._tiles = (0, 0)

    # -- control, from any thread
    def stop(self) -> None:
        """Stop after the step in progress (or its current batch of tiles, or the blur estimate)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def total(self) -> int:
        return self._steps

    # -- the job
    @property
    def hooks(self) -> JobHooks:
        """What a job calls during a step: tiles, shrinking tiles, stages. Each may stop the run."""
        from .pipeline import JobHooks  # deferred: PyTorch loads on the run's thread, not at start-up

        return JobHooks(on_tile=self._on_tile, on_shrink=self.events.shrunk, on_stage=self._on_stage)

    def restore(
        self,
        task: Task,
        restorer: Restorer,
        rgb: np.ndarray,
        mask: np.ndarray | None = None,
        settings: JobSettings | None = None,
        input_path: Path | str | None = None,
    ) -> RunResult:
        """Make the job for ``task`` (:func:`~.pipeline.create_job`, reporting to this runner),
        then :meth:`run` it."""
        from .pipeline import create_job  # deferred: PyTorch loads on the run's thread, not at start-up

        return self.run(create_job(task, restorer, rgb, mask, settings, self.hooks), input_path)

    def run(self, job: Job, input_path: Path | str | None = None) -> RunResult:
        """Every step of ``job`` (made with :attr:`hooks`), until it ends or is stopped. Raises
        :class:`Cancelled` if stopped before it began; ``input_path`` (the photo's file) goes
        into the report."""
        from .pipeline import to_uint8  # deferred: PyTorch loads on the run's thread, not at start-up
        from .trajectory import Frame  # deferred: OpenCV, for the same reason

        self.job, self.index, self._steps = job, 0, job.steps
        side = self._side(job.steps)
        self._tiles = (0, job.tiles if job.tile else 0)
        self._began = time.perf_counter()
        if self._stop.is_set():
            self.job = None
            raise Cancelled
        seconds: list[float] = []
        last = None
        steps = job.steps_iter()
        try:
            for last in steps:
                seconds.append(last.seconds)
                self.index = last.index
                frame = None
                if side:
                    state, estimate = to_uint8(last.x_t, side), to_uint8(last.x0_hat, side)
                    frame = Frame(last.index, last.t, state, estimate, last.seconds)
                    if self.trajectory is not None:
                        self.trajectory.add(frame)
                self.events.step(last, frame)
                self._progress()
                if self._stop.is_set() and last.index < job.steps:
                    break
        except Cancelled:
            pass  # stopped between tiles or stages: keep what the last whole step gave
        finally:
            steps.close()
            # The job's hooks call back into this runner: holding the job too would make a cycle
            # that keeps every photo's arrays alive until the garbage collector's rare full pass.
            self.job = None
        return self._result(job, last, seconds, time.perf_counter() - self._began, input_path)

    # -- inside
    def _side(self, steps: int) -> int | None:
        from .trajectory import DEFAULT_MAX_SIDE  # deferred: OpenCV, loaded with the engine

        if not self.frames:
            return None
        if self.frame_side is not None:
            side = self.frame_side(steps)
        else:
            side = self.trajectory.max_side if self.trajectory is not None else DEFAULT_MAX_SIDE
        if self.trajectory is not None:
            self.trajectory.max_side = side
        return side

    def _result(self, job: Job, last: StepRecord | None, seconds: list[float], elapsed: float, input_path):
        stopped = job.result is None
        if stopped:  # the estimate offered instead of a result: never NaN shown as a photo
            image = job.checked(job.finish(last.x0_hat)) if last is not None else None
        else:
            image = job.result
        where = Path(input_path).resolve() if input_path else None
        report = RunReport.from_job(
            job, job.restorer, seconds, elapsed, input_path=where, stopped_early=stopped
        )
        return RunResult(job, image, report, stopped)

    def _on_tile(self, done: int, total: int) -> None:
        self._tiles = (done, total)
        if self._stop.is_set():
            raise Cancelled
        self._progress()

    def _on_stage(self, what: str, done: int, total: int) -> None:
        if self._stop.is_set():
            raise Cancelled
        self._progress(f"{what} {done}/{total}")

    def _progress(self, stage: str = "") -> None:
        elapsed = time.perf_counter() - self._began
        index, total = self.index, self.total
        # What came before the first step (finding the blur, a first stage such as derain's veil,
        # a wide hole's coarse fill) is no step's time: counted in, it would swell every step's
        # share and the time left.
        job = self.job
        before = 0.0
        if job is not None:
            before = (job.estimate_seconds or 0.0) + (job.pre_seconds or 0.0) + (job.coarse_seconds or 0.0)
        per = (elapsed - before) / index if index else 0.0
        p = Progress(index, total, per, elapsed, per * (total - index), *self._tiles, stage=stage)
        self.events.progress(p)
