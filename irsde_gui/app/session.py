"""What the window shows, kept without Qt: the photo, the run, its result and what came of it.

A :class:`Session` holds the state of one window: the photo and its chain of earlier stages,
the run in progress (idle, running, stopping), its trajectory, the result and its run outcome,
the blur a blind run found, the uncertainty map in the making, the result before this one for
A/B, the batch queue (:class:`~.batch_queue.BatchQueue`) and where dropped photos go, and whether
the result is saved. Its methods are the user's and the worker's intents (a photo opened, a run
started, a frame came, the run finished, was stopped or failed, keep x0_hat, compare A/B, queue
photos, saved); they change the state, decide what follows from it, and tell listeners through
:attr:`Session.events`.

The window subscribes to those events and draws; running itself stays in the worker's Qt
threads. Nothing here imports Qt (a test checks it), so all of it is tested with plain pytest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..core.chain import chain_report, next_photo, stage_entry
from ..core.imageio import Photo, is_image_path
from ..core.runs import collect_inputs, filled_alpha, format_duration, plural
from ..core.strength import at_strength, check_strength, offers_strength
from ..core.tasks import TASKS
from ..core.trajectory import Trajectory, concatenate
from .batch_queue import BatchQueue

SPREAD_SEEDS = 4  # restorations behind an uncertainty map

IDLE, RUNNING, STOPPING = "idle", "running", "stopping"
RESULT_VIEWS = ("result", "changes", "spread")


class Event:
    """Listeners called in the order they connected, with the event's arguments."""

    def __init__(self) -> None:
        self._listeners: list[Callable[..., Any]] = []

    def connect(self, listener: Callable[..., Any]) -> Callable[..., Any]:
        self._listeners.append(listener)
        return listener

    def disconnect(self, listener: Callable[..., Any]) -> None:
        self._listeners.remove(listener)

    def emit(self, *args: Any) -> None:
        for listener in list(self._listeners):
            listener(*args)


class SessionEvents:
    """What a :class:`Session` tells its listeners (the window) when it changes."""

    def __init__(self) -> None:
        self.photo_changed = Event()  # a new photo, or a chain's stage, is the photo now
        self.run_state_changed = Event()  # (state): idle, running or stopping
        self.frame_received = Event()  # (frame): the newest step of the run
        self.result_changed = Event()  # the result or its outcome changed
        self.compare_changed = Event()  # (on): A/B with the previous result switched
        self.view_changed = Event()  # (kind): result, changes or spread
        self.batch_changed = Event()  # (running): the batch queue started or ended
        self.saved = Event()  # (path): the result was written


@dataclasses.dataclass
class SpreadRun:
    """An uncertainty map in the making: the same request restored once per seed, one run after
    another through the usual worker; the first seed's restoration stays the result."""

    request: Any  # irsde_gui.app.worker.RunRequest
    seeds: list[int]
    acc: Any  # irsde_gui.core.analysis.SpreadAccumulator

    @property
    def done(self) -> int:
        return self.acc.n

    @property
    def complete(self) -> bool:
        return self.acc.n >= len(self.seeds)


@dataclasses.dataclass(frozen=True)
class FoundBlur:
    """The blur a blind run found in a photo's pixels (``rgb``) and where it was found from
    (``start``: "photo" or "network"); where the estimate tried both starts, the one it did not
    keep too (``other``), which the window offers to compare by eye."""

    rgb: np.ndarray
    kernel: np.ndarray
    start: str | None = None
    other: np.ndarray | None = None
    other_start: str | None = None

    def swapped(self) -> FoundBlur:
        """The other blur kept, this one offered."""
        if self.other is None:
            raise ValueError("no other blur was found in this photo")
        return FoundBlur(self.rgb, self.other, self.other_start, self.kernel, self.start)


@dataclasses.dataclass
class Stage:
    """An earlier stage of a chain of tasks ("Continue from the result"): its photo and what the
    run made of it. Undo goes back to it."""

    photo: Photo
    result: np.ndarray
    outcome: Any  # irsde_gui.app.worker.RunOutcome
    trajectory: Trajectory
    found_blur: FoundBlur | None = None

    @property
    def task(self) -> str:
        return self.outcome.report.task


@dataclasses.dataclass
class Previous:
    """The result before this one, for A/B, and the line that tells it apart."""

    image: np.ndarray
    label: str


@dataclasses.dataclass
class Dropped:
    """What paths dropped on the window (or chosen, or given at start) hold: one photo to open,
    or photos for the batch queue and a line for each problem and each folder's other files."""

    single: Path | None = None
    files: list[Path] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Route:
    """Where dropped paths go: a photo to open (``quiet``: keep the message shown), photos for
    the batch queue, or an error to show."""

    open: Path | None = None
    quiet: bool = False
    queue: list[Path] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None


def list_dropped(paths: list[Path]) -> Dropped:
    """Sort out dropped paths. This lists folders, so the window runs it on a thread of its own:
    a folder on a slow drive must not freeze it."""
    if len(paths) == 1 and not paths[0].is_dir():
        return Dropped(single=paths[0])
    skipped: list[str] = []
    files, problems, _folder = collect_inputs([str(p) for p in paths], skipped)
    return Dropped(files=[f for f in files if is_image_path(f)], notes=problems + skipped)


def settings_text(report) -> str:
    """``posterior, 3 steps, seed 7``: what tells two runs of a photo apart."""
    if report.method == "blind":
        return f"blind, {plural(report.steps_done, 'round')}"
    return f"{report.sampler}, {plural(report.steps_done, 'step')}, seed {report.seed}"


def photo_info(photo: Photo, earlier: list[str] = ()) -> str:
    """``4000 × 3000 px · 16-bit RGB · developed RAW (Nikon D750)``; in a chain, the tasks whose
    result the photo is (``· stage 2, after denoise``)."""
    alpha = " + alpha" if photo.alpha is not None else ""
    parts = [
        f"{photo.width} × {photo.height} px",
        f"{photo.bit_depth}-bit {'grey' if photo.grey else 'RGB'}{alpha}",
    ]
    if photo.format == "RAW":
        camera = photo.info.get("raw")
        parts.append(f"developed RAW ({f'{camera}, ' if camera else ''}camera white balance)")
    if earlier:
        parts.append(f"stage {len(earlier) + 1}, after {' + '.join(earlier)}")
    return " · ".join(parts)


def batch_message(done: int, failed: int, folder: object) -> tuple[str, str]:
    """The message kind and line for a finished batch queue."""
    kind = "success" if not failed else "warning"
    text = (
        f"Batch finished: {done} restored"
        + (f", {failed} failed (see the queue)" if failed else "")
        + (f". Saved in {folder}." if done else ".")
    )
    return kind, text


class Session:
    """The state of one window, changed through intents; see the module's docstring."""

    def __init__(self) -> None:
        self.events = SessionEvents()
        self.photo: Photo | None = None
        self.photo_name = ""
        self.stages: list[Stage] = []  # a chain's earlier stages, oldest first
        self.result: np.ndarray | None = None  # as shown and saved: at the strength chosen
        self.full_result: np.ndarray | None = None  # the run's own result, all of the restoration
        self.strength = 1.0  # the share of the restoration kept (irsde_gui.core.strength)
        self.outcome: Any = None  # irsde_gui.app.worker.RunOutcome of the result
        self.trajectory = Trajectory()
        self.run_state = IDLE
        self.run_task_label = ""  # the task of the run in progress, as people read it
        # The blur a blind run found in the photo shown: it depends on the photo alone, so the
        # next run of that photo starts at its rounds.
        self.found_blur: FoundBlur | None = None
        self.spread_run: SpreadRun | None = None
        self.uncertainty: Any = None  # irsde_gui.core.analysis.Uncertainty of the result
        self.result_view = "result"  # what the result side shows: result, changes or spread
        self.previous: Previous | None = None  # the result before this one, for A/B
        self.comparing = False  # A/B: the previous result is shown instead of the photo
        self.stopped_outcome: Any = None  # a stopped run's outcome whose x0_hat waits to be kept or not
        self.batch = BatchQueue()  # the photos of the batch queue and what became of each
        self.batch_running = False
        self.last_saved: Path | None = None
        self.unsaved = False  # a result that was not saved since it was made
        self.task_labels: dict[str, str] = {}  # task name -> its label, once the engine is known
        self.run_when_ready = False  # Restore was pressed while the engine was loading

    # ------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        """A run (of this window, not the batch's) is in progress or stopping."""
        return self.run_state != IDLE

    @property
    def busy(self) -> bool:
        """A run or the batch queue is in progress: no other run may start."""
        return self.running or self.batch_running

    def defer_run(self) -> None:
        """Restore was pressed while the engine loads: the run starts when it is ready."""
        self.run_when_ready = True

    def take_deferred_run(self) -> bool:
        """The engine is ready: True (once) when a run waits for it."""
        wanted, self.run_when_ready = self.run_when_ready, False
        return wanted

    def _set_run_state(self, state: str) -> None:
        if state != self.run_state:
            self.run_state = state
            self.events.run_state_changed.emit(state)

    # ------------------------------------------------------------ the photo
    def open_photo(self, photo: Photo, name: str, stages: list[Stage] | None = None) -> None:
        """``photo`` is the photo now: its result, trajectory, blur, A/B and map start afresh
        (a run in progress must have been abandoned by the caller); ``stages`` continue a chain."""
        self.photo, self.photo_name = photo, name
        self.stages = list(stages or [])
        self.result = self.full_result = self.outcome = self.previous = self.stopped_outcome = None
        self.found_blur = None
        self.spread_run = None
        self.comparing = False
        self.trajectory = Trajectory()
        self.last_saved = None
        self.unsaved = False
        self._forget_analysis()
        self.events.photo_changed.emit()

    def photo_info(self) -> str:
        """The status bar's line about the photo ("" without one)."""
        return photo_info(self.photo, [s.task for s in self.stages]) if self.photo is not None else ""

    # ------------------------------------------------------------ running
    def run_started(self, task_label: str, fresh: bool = True) -> Trajectory:
        """A run started; the trajectory it fills is returned. ``fresh=False`` (the later seeds
        of an uncertainty map) keeps the trajectory and the result of the run before it."""
        if fresh:
            self.trajectory = Trajectory()
            self._forget_analysis()
        self.run_task_label = task_label
        self.stopped_outcome = None
        self._set_run_state(RUNNING)
        return self.trajectory

    def frame_received(self, frame) -> None:
        self.events.frame_received.emit(frame)

    def stop_requested(self) -> bool:
        """The user stopped the run (it ends after the current step); False when none runs."""
        if self.run_state != RUNNING:
            return False
        self._set_run_state(STOPPING)
        return True

    def run_abandoned(self) -> None:
        """A new photo replaces the one being restored: what the run still sends is ignored,
        and no later seed follows it."""
        self.spread_run = None
        if self.running:
            self._set_run_state(STOPPING)

    def run_finished(self, outcome) -> str:
        """A run ended with its result: ``"result"`` (it is the result now), ``"seed"`` (a later
        seed of an uncertainty map) or ``"map"`` (the map's last seed: the map is ready)."""
        self._remember_blur(outcome)
        sr = self.spread_run
        if sr is not None:
            sr.acc.add(outcome.image, outcome.report.seed)
            if sr.done > 1:
                if not sr.complete:
                    return "seed"
                self.spread_run = None
                self.uncertainty = sr.acc.result()
                self.set_result_view("spread")
                return "map"
        self._take_result(outcome)
        return "result"

    def run_stopped(self, outcome) -> str:
        """A run was stopped: ``"spread"`` (a later seed: the first seed's result stands, and no
        map is made from fewer seeds), ``"nothing"`` (stopped before its first step), or
        ``"offer"``: its clean estimate x0_hat waits in :attr:`stopped_outcome` for :meth:`keep_stopped`
        or :meth:`discard_stopped`."""
        self._remember_blur(outcome)
        sr, self.spread_run = self.spread_run, None
        if sr is not None and sr.done >= 1:
            return "spread"
        if outcome.image is None:
            return "nothing"
        self.stopped_outcome = outcome
        return "offer"

    def keep_stopped(self) -> bool:
        """Keep a stopped run's x0_hat as the result (the result before it goes to A/B)."""
        outcome, self.stopped_outcome = self.stopped_outcome, None
        if outcome is None:
            return False
        self._take_result(outcome)
        return True

    def discard_stopped(self) -> None:
        """Leave the result as it was before the stopped run."""
        self.stopped_outcome = None
        self.events.result_changed.emit()

    def run_failed(self, failure) -> tuple[str, str | None]:
        """A run failed (an uncertainty map ends with it): the line that says why and what to
        try, and the device to retry on (``"cpu"`` when a GPU ran out of memory, ``"auto"`` when
        the device chosen is unusable), or None."""
        self.spread_run = None
        retry = None
        if failure.kind == "oom" and failure.device not in ("", "cpu"):
            retry = "cpu"
        elif failure.kind == "device":
            retry = "auto"
        text = failure.message
        if failure.kind == "oom":
            text += " Try a smaller photo" + (
                ", or run on the CPU (slower, but it has more memory)." if retry else "."
            )
        return text, retry

    def run_ended(self) -> bool:
        """The run's thread has ended; True when an uncertainty map's next seed is due."""
        self._set_run_state(IDLE)
        return self.spread_run is not None

    def _take_result(self, outcome) -> None:
        self._keep_previous()
        self.full_result, self.outcome = outcome.image, self._chained(outcome)
        self.result = self._at_strength()
        self.unsaved = True
        self.events.result_changed.emit()

    # ------------------------------------------------------------ strength
    def strength_applies(self) -> bool:
        """Whether the result can be blended back towards the photo (not an inpainted one)."""
        r = self.outcome.report if self.outcome is not None else None
        return r is not None and r.task in TASKS and offers_strength(TASKS[r.task])

    def _at_strength(self) -> np.ndarray | None:
        """The run's result at the strength chosen; its report says the strength it was saved at."""
        if self.full_result is None or self.photo is None or not self.strength_applies():
            return self.full_result
        task = TASKS[self.outcome.report.task]
        return at_strength(task, self.photo.rgb, self.full_result, self.strength, self.outcome.report)

    def set_strength(self, amount: float) -> bool:
        """Keep ``amount`` (0-1) of the restoration in this result and the next ones; True when
        the result shown changed (there is one, and it is not an inpainted one)."""
        self.strength = check_strength(amount)
        if self.full_result is None or not self.strength_applies():
            return False
        self.result = self._at_strength()
        self.unsaved = True
        self.events.result_changed.emit()
        return True

    def _chained(self, outcome):
        """The result of a chain's later stage: its run report lists every stage, and names the
        photo the chain began with."""
        if self.stages and outcome.report is not None and not outcome.report.stages:
            source = self.photo.path if self.photo is not None else None
            earlier = [stage_entry(s.outcome.report) for s in self.stages]
            chain_report(earlier, outcome.report, input_path=str(source) if source is not None else None)
        return outcome

    # ------------------------------------------------------------ the blur found
    def _remember_blur(self, outcome) -> None:
        """Keep the blur a blind run estimated (stopped runs too, once it was found); a blur in
        doubt is not kept: it is found again next time, and judged with all its evidence."""
        r = outcome.report
        estimated = r is not None and r.method == "blind" and not r.blur_kernel_given
        if estimated and r.blur_doubt is None and outcome.kernel is not None and self.photo is not None:
            other, other_start = outcome.other_kernel, outcome.other_start
            before = self._found_here()
            if other is None and before is not None:  # run again with a blur found before: the
                other, other_start = before.other, before.other_start  # other one still stands
            self.found_blur = FoundBlur(self.photo.rgb, outcome.kernel, r.blur_start, other, other_start)

    def _found_here(self) -> FoundBlur | None:
        found = self.found_blur
        return found if found is not None and self.photo is not None and found.rgb is self.photo.rgb else None

    def blur_found_before(self, in_rounds: bool, known_kernel=None) -> FoundBlur | None:
        """For a run that would estimate its blur (in rounds, none given): the blur a blind run
        already found in these very pixels, else None."""
        found = self._found_here()
        return found if in_rounds and known_kernel is None else None

    def other_blur(self) -> FoundBlur | None:
        """The blur found in the photo shown, if the estimate also found another that fits it
        nearly as well (its other start), else None."""
        found = self._found_here()
        return found if found is not None and found.other is not None else None

    def take_other_blur(self) -> bool:
        """Keep the other blur found in this photo for the next run (the one kept so far is then
        the other); False when there is none, or a run is in progress."""
        found = self.other_blur()
        if found is None or self.busy:
            return False
        self.found_blur = found.swapped()
        return True

    # ------------------------------------------------------------ uncertainty map
    def begin_spread(self, request, accumulator, seeds: int = SPREAD_SEEDS) -> None:
        """Restore ``request`` with ``seeds`` seeds from its own, one run after another, into
        ``accumulator`` (a :class:`~irsde_gui.core.analysis.SpreadAccumulator`)."""
        self.spread_run = SpreadRun(request, [(request.seed + i) % 2**31 for i in range(seeds)], accumulator)

    def next_spread_request(self):
        """``(request, fresh)`` for the uncertainty map's next seed, or None when none is due.
        Later seeds stream their steps to the canvas but keep the first seed's trajectory."""
        sr = self.spread_run
        if sr is None or sr.complete or self.running or self.photo is None:
            return None
        first = sr.done == 0
        return dataclasses.replace(sr.request, seed=sr.seeds[sr.done], keep_frames=first), first

    def cancel_spread(self) -> None:
        self.spread_run = None

    def progress_text(self, p, rounds: bool) -> str:
        """The progress row's line for a run's progress ``p``."""
        parts = [p.stage or f"{'Round' if rounds else 'Step'} {p.index} / {p.total}"]
        if self.spread_run is not None:
            parts.insert(0, f"Seed {self.spread_run.done + 1} of {len(self.spread_run.seeds)}")
        if p.index and not p.stage:
            parts.append(f"{p.seconds_per_step:.2f} s/{'round' if rounds else 'step'}")
        parts.append(f"{format_duration(p.elapsed)} elapsed")
        if p.index and not p.stage:
            parts.append(f"about {format_duration(p.remaining)} left")
        if p.tiles_total:
            parts.append(f"tiles {p.tiles_done}/{p.tiles_total}")
        return "   ·   ".join(parts)

    # ------------------------------------------------------------ what the result side shows
    def set_result_view(self, kind: str) -> str:
        """Show the result, what changed, or the uncertainty map; choosing the shown one again
        goes back to the result. Returns the view now shown."""
        if kind not in RESULT_VIEWS:
            raise ValueError(f"unknown result view {kind!r}")
        if kind == self.result_view or (kind == "spread" and self.uncertainty is None):
            kind = "result"
        self.result_view = kind
        self.events.view_changed.emit(kind)
        return kind

    def _forget_analysis(self) -> None:
        """A new result (or photo): the old uncertainty map no longer applies."""
        self.uncertainty = None
        if self.result_view == "spread":
            self.result_view = "result"
        self.events.view_changed.emit(self.result_view)

    def result_label(self) -> str:
        """The caption over the result."""
        kept = ""
        if self.strength < 1 and self.strength_applies():
            kept = f" at {round(self.strength * 100)} % strength"
        if self.outcome is not None and self.outcome.stopped:
            return f"Result (x0_hat, step {self.outcome.steps_done}){kept}"
        if self.outcome is not None and self.comparing:
            return f"Result: {settings_text(self.outcome.report)}{kept}"  # beside the previous run's
        return f"Result{kept}"

    # ------------------------------------------------------------ A/B
    def _keep_previous(self) -> None:
        """A new result replaces the current one: keep the current one for A/B."""
        if self.result is None or self.outcome is None:
            return
        r = self.outcome.report
        label = self.task_labels.get(r.task)
        task = f"{label.lower()}, " if label else ""
        self.previous = Previous(self.result, f"Previous: {task}{settings_text(r)}")
        self.events.compare_changed.emit(self.comparing)

    def compare(self, on: bool) -> bool:
        """Show the previous result on the photo's side (A/B); returns whether it is shown."""
        self.comparing = bool(on) and self.previous is not None
        self.events.compare_changed.emit(self.comparing)
        return self.comparing

    def before(self) -> Previous | None:
        """What the photo's side shows instead of the photo: the previous result while A/B is on."""
        return self.previous if self.comparing else None

    # ------------------------------------------------------------ chaining
    def continue_from_result(self) -> bool:
        """The result becomes the photo, to restore it with another task (denoise, then upscale
        x4); False when there is no result, or a run is in progress."""
        if self.result is None or self.outcome is None or self.photo is None or self.busy:
            return False
        # Inpainting: the pixels the run filled are opaque from now on, whatever their alpha was.
        alpha = filled_alpha(self.photo.alpha, self.outcome.mask)
        stage = Stage(self.photo, self.result, self.outcome, self.trajectory, self.found_blur)
        self.open_photo(next_photo(self.photo, self.result, alpha), self.photo_name, [*self.stages, stage])
        return True

    def back_one_stage(self) -> Stage | None:
        """Undo the last "Continue from the result": its photo and its result come back (the
        run after it, if any, is dropped). Returns that stage, or None when there is none."""
        if not self.stages or self.busy:
            return None
        *chain, stage = self.stages
        self.open_photo(stage.photo, self.photo_name, chain)
        self.result, self.outcome = stage.result, stage.outcome  # as it was continued from
        whole = getattr(stage.outcome, "image", None)
        self.full_result = whole if whole is not None else stage.result
        self.found_blur = stage.found_blur
        self.trajectory = stage.trajectory
        self.events.result_changed.emit()
        return stage

    def whole_trajectory(self) -> Trajectory:
        """The frames an export writes: the run's, or in a chain every stage's, one after another."""
        if not self.stages:
            return self.trajectory
        parts = [(f"{i + 1} {s.task}", s.trajectory) for i, s in enumerate(self.stages)]
        if len(self.trajectory) and self.outcome is not None:
            parts.append((f"{len(self.stages) + 1} {self.outcome.report.task}", self.trajectory))
        return concatenate(parts)

    # ------------------------------------------------------------ the batch queue
    def queue_batch(self, dropped: Dropped, photo_coming: bool = False) -> Route:
        """Where dropped paths go: one photo opens; several photos (or a folder's) join the batch
        queue, and the first of them opens as well when no photo is shown nor ``photo_coming``."""
        if dropped.single is not None:
            return Route(open=dropped.single)
        if not dropped.files:
            return Route(error="Nothing to open: " + ("; ".join(dropped.notes) or "no photos found."))
        first = dropped.files[0] if self.photo is None and not photo_coming else None
        return Route(open=first, quiet=True, queue=list(dropped.files), notes=list(dropped.notes))

    def queued_message(self, added: int, notes: list[str]) -> str:
        """What to do next with photos just queued: choose a folder only when none is set."""
        extra = f" ({'; '.join(notes)})" if notes else ""
        folder = self.batch.output_folder
        then = (
            f"Press Start to restore them into {folder} with the current settings."
            if folder is not None
            else "Choose the output folder and press Start to restore them with the current settings."
        )
        return f"{plural(added, 'photo')} added to the batch queue{extra}. {then}"

    def batch_started(self) -> None:
        self.batch_running = True
        self.events.batch_changed.emit(True)

    def batch_finished(self) -> None:
        self.batch_running = False
        self.events.batch_changed.emit(False)

    # ------------------------------------------------------------ saving
    def result_alpha(self) -> np.ndarray | None:
        """The alpha to write with the result: the photo's, opaque where inpainting filled."""
        if self.photo is None:
            return None
        return filled_alpha(self.photo.alpha, self.outcome.mask if self.outcome else None)

    def suggested_path(self, suffix: str, ext: str, folder: str | Path) -> str:
        """Where to offer saving something of the result: beside the photo (else in ``folder``),
        named after it."""
        folder = Path(folder)
        if self.photo is not None and self.photo.path is not None:
            folder = Path(self.photo.path).parent
        stem = Path(self.photo_name).stem if self.photo_name else "photo"
        if self.photo is not None and self.photo.path is None:  # pasted: "Pasted image"
            stem = stem.replace(" ", "-").lower()
        return str(folder / f"{stem}{suffix}{ext}")

    def is_the_photo(self, path: Path) -> bool:
        """``path`` is the file the photo was opened from (saving there replaces the original)."""
        if self.photo is None or self.photo.path is None or not Path(path).exists():
            return False
        try:
            return Path(path).resolve() == Path(self.photo.path).resolve()
        except OSError:
            return False

    def saved(self, path: Path) -> None:
        """The result was written to ``path``."""
        self.last_saved = Path(path)
        self.unsaved = False
        self.events.saved.emit(self.last_saved)
