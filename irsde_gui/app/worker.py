"""Running the engine off the GUI thread: the engine loader and the restore worker.

The restore worker is a ``QObject`` moved to its own ``QThread``. It drives the
run loop, :class:`irsde_gui.core.runner.Runner` (the command line's too), which
stops between steps (and between batches of tiles) when cancelled, and turns its
events into signals that Qt delivers to the GUI thread as queued events:

- ``frame(Frame)``: the newest step as uint8 arrays (copies, never live
  tensors). Frames are *latest wins*: the worker keeps only the newest in a
  one-item slot and nudges the GUI thread only when the slot was empty, so a
  fast device cannot flood the event loop and the GUI never paints stale frames.
  Every step is still kept, downsampled, in the run's
  :class:`~irsde_gui.core.trajectory.Trajectory` for the scrubber;
- ``progress(Progress)``: step N/M, time per step, elapsed, remaining, tiles
  (latest wins too);
- ``finished(RunOutcome)``, ``cancelled(RunOutcome)`` or ``failed(RunFailure)``,
  exactly one of them, last.

Cancelling closes the generator (its ``finally`` clauses free the tensors);
the thread is never terminated. PyTorch is imported in these threads only, so
the GUI thread never waits for it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from ..core.blind import BLIND_ROUNDS, KNOWN_ROUNDS, MAX_BLIND_ROUNDS
from ..core.imageio import ImageReadError, ImageWriteError, read_photo, reporting_stages, write_photo
from ..core.memory import release_free_memory
from ..core.runner import Cancelled, Progress, RunEvents, Runner
from ..core.runs import filled_alpha, mask_for_photo
from ..core.strength import at_strength
from ..core.tasks import TASKS, get_task
from ..core.trajectory import Frame, Trajectory
from ..core.weights import WeightsError, blind_prior, installed_weights, read_card, resolve_weights

log = logging.getLogger(__name__)

FRAME_BUDGET_BYTES = 192 * 2**20  # all stored frames of one run together
MAX_FRAME_SIDE = 768
MIN_FRAME_SIDE = 96


def frame_side(steps: int, budget: int = FRAME_BUDGET_BYTES) -> int:
    """Longer side of stored frames so that ``steps`` pairs (x_t, x0_hat) of uint8 RGB fit ``budget``.

    Each step stores two frames of at most ``side^2 * 3`` bytes, so a run keeps at
    most ``steps * 6 * side^2 <= budget`` bytes of frames (192 MiB by default),
    whatever the size of the photo: 768 px up to 56 steps, 579 px for 100 steps.
    """
    side = int(math.sqrt(budget / (6 * max(1, steps))))
    return max(MIN_FRAME_SIDE, min(MAX_FRAME_SIDE, side))


class LatestSlot:
    """A one-item mailbox between threads: ``put`` replaces, ``take`` empties.

    ``put`` returns True when the slot was empty, i.e. when the consumer must be
    told that something is waiting; while a nudge is pending, newer items just
    replace the waiting one (latest wins).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: Any = None
        self._full = False

    def put(self, item: Any) -> bool:
        with self._lock:
            was_empty = not self._full
            self._item, self._full = item, True
            return was_empty

    def take(self) -> Any:
        with self._lock:
            item, self._item, self._full = self._item, None, False
            return item


# ------------------------------------------------------------------ engine info
@dataclass
class TaskInfo:
    """What the GUI needs to know about one task, read once PyTorch is loaded."""

    name: str
    label: str
    description: str
    icon: str
    default_steps: int
    max_steps: int
    scale: int
    uses_mask: bool
    weights: Path | None = None
    problem: str | None = None  # why the task cannot run (no or unusable weights)
    card: Any = None  # irsde_gui.core.weights.ModelCard
    method: str = "sde"  # "blind": deblurring with the denoise model (no seeds, no sampler)
    # Deblur: the denoise model's file, which deconvolves a known blur kernel (with or without a
    # deblur network installed), and the rounds such a run takes by default and at most.
    prior_weights: Path | None = None
    known_default_steps: int = 0
    known_max_steps: int = 0
    # Weight files passed over because they would be refused (a bad hash, a pickle with code…),
    # one line each naming the file: the window says so, rather than hide that they were.
    refused: list[str] = field(default_factory=list)
    # Each step averaged with the photo turned half a turn unless the user says otherwise.
    flip_average: bool = False

    @property
    def available(self) -> bool:
        return self.problem is None

    @property
    def offers_known_blur(self) -> bool:
        """A known blur kernel can be deconvolved (deblur, with the denoise model installed)."""
        return self.available and self.prior_weights is not None

    def in_rounds(self, kernel) -> bool:
        """A run deconvolves in rounds (no seed, no sampler): blind deblurring, or a known blur."""
        return self.method == "blind" or (kernel is not None and self.offers_known_blur)

    def weights_for(self, kernel) -> Path | None:
        """The weight file a run loads: the denoise model's for a known blur, else the task's."""
        return self.prior_weights if kernel is not None and self.offers_known_blur else self.weights


@dataclass
class EngineInfo:
    tasks: dict[str, TaskInfo]
    devices: dict[str, str]  # kind -> description, for the kinds present ("cpu" always)
    torch_version: str = ""
    seconds: float = 0.0  # how long loading took


def scan_tasks(vet: bool = True) -> dict[str, TaskInfo]:
    """Every task with its installed weights and model card, or why it cannot run. A weight file
    in the user's folder that would be refused is passed over for the next location's and noted
    in :attr:`TaskInfo.refused` (that check loads it, with PyTorch); ``vet=False`` takes the first
    file found, reading only model cards (no PyTorch: a first look)."""
    tasks: dict[str, TaskInfo] = {}
    refused: dict = {}
    installed = installed_weights(refused, vet=vet)
    for name, path in installed.items():
        t = TASKS[name]
        info = TaskInfo(
            name, t.label, t.description, t.icon, t.default_steps, t.sde.T, t.scale, t.uses_mask, path
        )
        info.refused = [str(r) for r in refused.get(name, [])]
        info.flip_average = t.flip_average
        prior = blind_prior(name, vet=vet) if path is None else None
        if prior is not None:
            # No deblur network: deblur blind, with the denoise model as the image prior.
            info.method = "blind"
            info.weights = prior
            info.description = "Estimate the blur from the photo, then undo it (no deblur model installed)"
            info.default_steps, info.max_steps = BLIND_ROUNDS, MAX_BLIND_ROUNDS
            info.prior_weights = prior
            try:
                info.card = read_card(prior)
            except WeightsError as exc:
                info.problem = f"blind deblurring needs the denoise model: {exc}"
        elif path is None:
            info.problem = (
                f"No trained weights for {t.label} are installed. "
                f"Add {t.weights_file} (with its model card) to the weights folder."
            )
        else:
            try:
                info.card = read_card(path)
                info.max_steps = int(info.card.sde.T)
                info.default_steps = int(info.card.default_steps or t.default_steps)
                if info.card.task != name:
                    info.problem = f"{path.name} holds weights for '{info.card.task}', not for '{name}'"
            except WeightsError as exc:
                info.problem = str(exc)
            if t.prior_task is not None:  # a known blur still deconvolves with the prior's model
                info.prior_weights = installed.get(t.prior_task)
        if info.prior_weights is not None:
            info.known_default_steps, info.known_max_steps = KNOWN_ROUNDS, MAX_BLIND_ROUNDS
        info.default_steps = max(1, min(info.default_steps, info.max_steps))
        tasks[name] = info
    return tasks


def load_engine_info() -> EngineInfo:
    """Import the engine (PyTorch), scan tasks and weights and find the devices. Runs off the GUI thread."""
    began = time.perf_counter()
    import torch  # deferred: PyTorch loads here, off the GUI thread, after the window shows

    from ..core import pipeline  # noqa: F401  # deferred: as above; loaded now so the first run need not wait
    from ..core.device import available_devices, pick_device  # deferred: PyTorch, as above

    tasks = scan_tasks()
    devices = {}
    for kind in available_devices():
        try:
            devices[kind] = pick_device(kind).describe()
        except Exception as exc:  # a broken driver must not stop the app from starting
            log.warning("device %s unusable: %s", kind, exc)
    devices.setdefault("cpu", pick_device("cpu").describe())
    return EngineInfo(tasks, devices, torch.__version__, time.perf_counter() - began)


class EngineLoader(QObject):
    """Loads :class:`EngineInfo` in a thread; emits ``ready(EngineInfo)`` or ``failed(str)``."""

    ready = Signal(object)
    failed = Signal(str)
    done = Signal()

    @Slot()
    def run(self) -> None:
        try:
            self.ready.emit(load_engine_info())
        except Exception as exc:
            log.exception("loading the engine failed")
            self.failed.emit(f"The restoration engine could not be loaded: {exc}")
        finally:
            self.done.emit()


# ------------------------------------------------------------------ reading files
class FileReader(QObject):
    """Reads one file with ``read(path)`` on a thread of its own (:class:`FileRead`): a photo
    on a slow network drive must never freeze the window. Emits ``succeeded(value)`` or
    ``failed(message)``, then ``done``; meanwhile ``progress(what, done, total)`` for the slow
    stages of a read (developing a camera RAW: :func:`~irsde_gui.core.imageio.reporting_stages`)."""

    succeeded = Signal(object)
    failed = Signal(str)
    progress = Signal(str, int, int)
    done = Signal()

    def __init__(self, read: Callable[[Path], Any], path: Path):
        super().__init__()
        self.read = read
        self.path = path

    @Slot()
    def run(self) -> None:
        try:
            with reporting_stages(self.progress.emit):
                value = self.read(self.path)
            self.succeeded.emit(value)
        except (OSError, ValueError) as exc:  # ImageReadError and the like: one line naming the file
            self.failed.emit(str(exc))
        except Exception as exc:
            log.exception("reading %s failed", self.path)
            self.failed.emit(f"{self.path}: cannot be read ({type(exc).__name__}: {exc})")
        finally:
            self.done.emit()


class FileRead(QObject):
    """One file read on its own thread, seen from the GUI thread: ``progress(what, done, total)``
    while a slow read goes on, ``succeeded(value)`` or ``failed(message)``, then ``stopped()``
    once the thread has ended (all on the GUI thread)."""

    succeeded = Signal(object)
    failed = Signal(str)
    progress = Signal(str, int, int)
    stopped = Signal()

    def __init__(self, read: Callable[[Path], Any], path: Path, parent: QObject | None = None):
        super().__init__(parent)
        self.path = path
        self.thread = QThread()
        self.thread.setObjectName(f"read-{path.name}")
        self.reader = FileReader(read, path)
        self.reader.moveToThread(self.thread)
        self.thread.started.connect(self.reader.run)
        self.reader.succeeded.connect(self.succeeded)
        self.reader.failed.connect(self.failed)
        self.reader.progress.connect(self.progress)
        # Direct: quit from the reader's own thread, so wait() on the GUI thread cannot deadlock.
        self.reader.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.thread.finished.connect(self.stopped)

    def start(self) -> None:
        self.thread.start()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the thread has ended (True) or ``msecs`` passed (False)."""
        return self.thread.wait(msecs)


# ------------------------------------------------------------------ restoring
@dataclass
class RunRequest:
    """One restoration: a photo in memory (``rgb``) or on disk (``source``), and the settings."""

    task: str
    rgb: np.ndarray | None = None  # float32 HxWx3 in [0, 1]
    mask: np.ndarray | None = None  # inpaint: HxW, white (> 0.5) = fill
    steps: int | None = None
    sampler: str = "posterior"
    seed: int = 0
    device: str = "auto"
    tile: int | None = None  # None: automatic
    weights: Path | None = None
    kernel: np.ndarray | None = None  # blind deblurring: a known blur, used instead of estimating one
    kernel_source: str | None = None  # where that blur came from (its file, or its shape), for the report
    estimated_kernel: np.ndarray | None = None  # the blur an earlier blind run found in this photo
    estimated_start: str | None = None  # where that blur was found from ("photo", "network")
    source: Path | None = None  # batch: read this file in the worker
    output: Path | None = None  # batch: write the result here (never over ``source``)
    write_report: bool = False  # batch: also write the JSON run report beside ``output``
    jpeg_quality: int = 95
    keep_frames: bool = True
    flip_average: bool | None = None  # None: the task's choice (JobSettings.flip_average)
    # Batch: the share of the restoration written (irsde_gui.core.strength). The window's own
    # runs keep the whole result, and the window blends it as the slider moves.
    strength: float = 1.0


@dataclass
class RunOutcome:
    """A finished (or stopped) run: the image, the frames and the report."""

    image: np.ndarray | None  # float32 HxWx3; stopped runs: the finished x0_hat of the last step
    report: Any  # irsde_gui.core.runs.RunReport
    steps_done: int
    total: int
    stopped: bool = False
    output: Path | None = None  # batch: where it was written
    kernel: np.ndarray | None = None  # blind deblurring: the blur estimated from the photo
    # Blind deblurring where both starts were tried: the blur not kept, and where it was found from.
    other_kernel: np.ndarray | None = None
    other_start: str | None = None
    mask: np.ndarray | None = None  # inpainting: the pixels filled (their alpha is saved opaque)


@dataclass
class RunFailure:
    """Why a run failed, for people: ``kind`` picks the remedy the GUI offers."""

    kind: str  # "oom", "device", "weights", "input", "error"
    message: str
    device: str = ""
    details: str = ""


class _Signals(RunEvents):
    """The run loop's events, as the worker's signals: frames and progress latest wins."""

    def __init__(self, worker: RestoreWorker):
        self.worker = worker

    def progress(self, progress: Progress) -> None:
        if self.worker.progress.put(progress):
            self.worker.progress_waiting.emit()

    def step(self, record, frame: Frame | None) -> None:
        if frame is not None and self.worker.frames.put(frame):
            self.worker.frame_waiting.emit()

    def shrunk(self, tile: int) -> None:
        self.worker.notice.emit(f"Out of memory: continuing in smaller tiles ({tile} px)")
        log.warning("out of memory; continuing with %d px tiles", tile)


class RestoreWorker(QObject):
    """Runs one :class:`RunRequest`; lives on a ``QThread`` (see :class:`RestoreRun`)."""

    frame_waiting = Signal()
    progress_waiting = Signal()
    device_chosen = Signal(str)
    notice = Signal(str)
    finished = Signal(object)
    cancelled = Signal(object)
    failed = Signal(object)
    done = Signal()

    def __init__(self, request: RunRequest, trajectory: Trajectory, cache: RestorerCache | None = None):
        super().__init__()
        self.request = request
        self.trajectory = trajectory
        self.cache = cache or RestorerCache()
        self.frames = LatestSlot()
        self.progress = LatestSlot()
        kept = trajectory if request.keep_frames else None  # every step, for the scrubber
        self.runner = Runner(_Signals(self), trajectory=kept, frames=True, frame_side=frame_side)

    def cancel(self) -> None:
        """Ask the run to stop; it does so after the current step (or batch of tiles)."""
        self.runner.stop()

    @property
    def cancel_requested(self) -> bool:
        return self.runner.stop_requested

    # -- the thread body
    @Slot()
    def run(self) -> None:
        try:
            self._run()
        except Cancelled:
            self.cancelled.emit(RunOutcome(None, None, self.runner.index, self.runner.total, stopped=True))
        except Exception as exc:
            self.failed.emit(self._explain(exc))
        finally:
            self.done.emit()

    def _run(self) -> None:
        from ..core.device import DeviceError, is_out_of_memory, pick_device  # deferred: PyTorch
        from ..core.tiling import MIN_TILE  # deferred: PyTorch

        req = self.request
        task = get_task(req.task)
        photo = None
        rgb, mask, alpha = req.rgb, req.mask, None
        if req.source is not None:
            with reporting_stages(self._on_read_stage):  # developing a camera RAW takes a moment
                photo = read_photo(req.source)
            rgb = photo.rgb
            if mask is None:
                mask, alpha = mask_for_photo(task, photo)
            else:
                alpha = filled_alpha(photo.alpha, mask)
        if rgb is None:
            raise ValueError("nothing to restore: no photo was given")
        try:
            device = pick_device(req.device)
        except DeviceError as exc:
            raise _Failure("device", str(exc)) from None
        restorer = self.cache.get(req.task, req.weights, device)
        self.device_chosen.emit(restorer.device.describe())
        if restorer.device.kind == "cuda":
            import torch  # deferred: PyTorch, loaded on this thread (by the restorer already)

            torch.cuda.reset_peak_memory_stats()
        try:
            # Out of memory inside a step is retried by the engine in smaller tiles
            # (``_on_shrink`` says so); it only ends up here below the smallest tile.
            outcome = self._sample(task, restorer, rgb, mask, req.tile)
        except Cancelled:
            raise
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            self.trajectory.clear()
            raise _Failure(
                "oom",
                f"Not enough memory on {restorer.device.name}, even in {MIN_TILE} px tiles.",
                device=restorer.device.kind,
            ) from exc
        # A batch writes only finished photos: a stopped run's estimate is not a result to leave behind.
        if photo is not None and req.output is not None and outcome.image is not None and not outcome.stopped:
            self._write(photo, alpha, outcome, req)
        if outcome.stopped:
            self.cancelled.emit(outcome)
        else:
            self.finished.emit(outcome)

    def _sample(self, task, restorer, rgb, mask, tile) -> RunOutcome:
        from ..core.pipeline import JobSettings  # deferred: PyTorch

        req = self.request
        settings = JobSettings(
            steps=req.steps,
            sampler=req.sampler,
            seed=req.seed,
            tile=tile,
            kernel=req.kernel,
            kernel_source=req.kernel_source,
            estimated=req.estimated_kernel,
            estimated_start=req.estimated_start,
            flip_average=req.flip_average,
        )
        run = self.runner.restore(task, restorer, rgb, mask, settings, input_path=req.source)
        job = run.job
        return RunOutcome(
            run.image,
            run.report,
            run.steps_done,
            job.steps,
            run.stopped,
            kernel=job.kernel,
            other_kernel=job.other_blur,
            other_start=job.other_start,
            mask=mask,
        )

    def _write(self, photo, alpha, outcome: RunOutcome, req: RunRequest) -> None:
        image = at_strength(get_task(req.task), photo.rgb, outcome.image, req.strength, outcome.report)
        out = write_photo(req.output, image, like=photo, alpha=alpha, quality=req.jpeg_quality)
        outcome.output = out
        if req.write_report and outcome.report is not None:
            outcome.report.write_beside(out)

    def _on_read_stage(self, stage: str, done: int, total: int) -> None:
        if self.progress.put(Progress(0, 0, 0.0, 0.0, 0.0, stage=f"{stage} {done}/{total}")):
            self.progress_waiting.emit()

    def _explain(self, exc: BaseException) -> RunFailure:
        from ..core.device import DeviceError, is_out_of_memory  # deferred: PyTorch

        if isinstance(exc, _Failure):
            return RunFailure(exc.kind, str(exc), device=exc.device)
        if isinstance(exc, WeightsError):
            return RunFailure("weights", str(exc))
        if isinstance(exc, DeviceError):
            return RunFailure("device", str(exc))
        if is_out_of_memory(exc):
            return RunFailure("oom", f"Out of memory: {exc}", device=self.request.device)
        if isinstance(exc, ImageReadError | ImageWriteError | ValueError | FileNotFoundError):
            return RunFailure("input", str(exc))
        log.exception("restoration failed")
        return RunFailure(
            "error",
            f"The restoration failed unexpectedly ({type(exc).__name__}: {exc}).",
            details=traceback.format_exc(),
        )


class _Failure(Exception):
    def __init__(self, kind: str, message: str, device: str = ""):
        super().__init__(message)
        self.kind = kind
        self.device = device


class RestorerCache:
    """Keeps the last loaded network, so that a second run of the same task starts at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._restorer: Any = None

    def get(self, task: str, weights: Path | None, device) -> Any:
        from ..core.model import load_restorer  # deferred: PyTorch

        model_task, path = resolve_weights(task, weights)
        stat = path.stat()
        key = (model_task, str(path), stat.st_mtime_ns, stat.st_size, str(device.device))
        with self._lock:
            if self._key != key:
                self._restorer = None  # free the previous network before loading the next
                self._restorer = load_restorer(model_task, path, device)
                self._key = key
            return self._restorer

    def clear(self) -> None:
        with self._lock:
            self._key, self._restorer = None, None


class RestoreRun(QObject):
    """One run on its own thread, seen from the GUI thread.

    Signals (all delivered on the GUI thread): ``frame(Frame)``,
    ``progress(Progress)``, ``device_chosen(str)``, ``notice(str)`` and then
    exactly one of ``finished(RunOutcome)``, ``cancelled(RunOutcome)``,
    ``failed(RunFailure)``; ``stopped()`` comes after the thread has ended.
    """

    frame = Signal(object)
    progress = Signal(object)
    device_chosen = Signal(str)
    notice = Signal(str)
    finished = Signal(object)
    cancelled = Signal(object)
    failed = Signal(object)
    stopped = Signal()

    def __init__(
        self,
        request: RunRequest,
        trajectory: Trajectory | None = None,
        cache: RestorerCache | None = None,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.request = request
        self.trajectory = trajectory if trajectory is not None else Trajectory()
        self.thread = QThread()
        self.thread.setObjectName(f"restore-{request.task}")
        self.worker = RestoreWorker(request, self.trajectory, cache)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        w = self.worker
        w.frame_waiting.connect(self._deliver_frame)
        w.progress_waiting.connect(self._deliver_progress)
        w.device_chosen.connect(self.device_chosen)
        w.notice.connect(self.notice)
        w.finished.connect(self._on_finished)
        w.cancelled.connect(self._on_cancelled)
        w.failed.connect(self._on_failed)
        # Direct: quit from the worker's own thread, so wait() on the GUI thread cannot deadlock.
        w.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.thread.finished.connect(self._on_thread_finished)
        self.result: RunOutcome | RunFailure | None = None

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self.worker.cancel()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until the thread has ended (True) or ``msecs`` passed (False)."""
        return self.thread.wait(msecs)

    # -- delivered on the GUI thread
    @Slot()
    def _deliver_frame(self) -> None:
        f = self.worker.frames.take()
        if f is not None:
            self.frame.emit(f)

    @Slot()
    def _deliver_progress(self) -> None:
        p = self.worker.progress.take()
        if p is not None:
            self.progress.emit(p)

    def _flush(self) -> None:
        self._deliver_frame()
        self._deliver_progress()

    @Slot(object)
    def _on_finished(self, outcome: RunOutcome) -> None:
        self._flush()
        self.result = outcome
        self.finished.emit(outcome)

    @Slot(object)
    def _on_cancelled(self, outcome: RunOutcome) -> None:
        self._flush()
        self.result = outcome
        self.cancelled.emit(outcome)

    @Slot(object)
    def _on_failed(self, failure: RunFailure) -> None:
        self._flush()
        self.result = failure
        self.failed.emit(failure)

    @Slot()
    def _on_thread_finished(self) -> None:
        # The run's tensors are gone with its thread: hand their pages back to the system.
        release_free_memory()
        self.stopped.emit()
