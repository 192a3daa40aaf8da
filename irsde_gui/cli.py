"""The ``irsde`` command line: restore, info, bench, train, eval and export.

No Qt is imported here (a test checks it): the command line must run on
servers without a display and start quickly.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import __version__
from .core.chain import chain_report, next_photo, parse_tasks, stage_entry
from .core.runner import Progress, RunEvents, Runner
from .core.runs import (
    OutputPlan,
    OutputRefused,
    collect_inputs,
    find_mask,
    format_duration,
    mask_for_photo,
    plural,
    printable,
    report_path_for,
)
from .core.tasks import DEFAULT_GROW, MAX_GROW, TASKS, get_task
from .core.weights import (
    Refused,
    WeightsError,
    blind_prior,
    check_weights,
    find_weights,
    installed_weights,
    read_card,
    search_dirs,
)

if TYPE_CHECKING:
    from .core.pipeline import JobSettings
    from .core.runner import RunResult
    from .core.tasks import Task

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


# ---------------------------------------------------------------- progress bar
class ProgressBar(RunEvents):
    """A one-line progress bar on stderr: step N/M, time per step and time left. ``unit``
    names a step ("round" for blind deblurring). It draws a run's :meth:`progress`."""

    open_on = None  # the stream whose last line is a bar still being drawn (no newline yet)

    def __init__(self, label: str, total: int, enabled: bool = True, stream=None, unit: str = "step"):
        self.label = printable(label)  # a name's newline would break the bar's line
        self.total = total
        self.unit = unit
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.tiles = ""

    def tile(self, done: int, total: int) -> None:
        self.tiles = f"  tiles {done}/{total}"

    def stage(self, what: str, done: int, total: int) -> None:
        """A step's preparation (the blur estimate of blind deblurring)."""
        if self.enabled:
            self._draw(f"\r{self.label}  {what} {done}/{total}".ljust(100))

    def progress(self, progress: Progress) -> None:
        """The run loop's progress: the stage a step is prepared in, or step N/M."""
        self.total = progress.total
        if progress.tiles_total:
            self.tile(progress.tiles_done, progress.tiles_total)
        if progress.stage and self.enabled:
            self._draw(f"\r{self.label}  {progress.stage}".ljust(100))
        elif progress.index:
            self.update(progress.index, progress.seconds_per_step)

    def _draw(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
        ProgressBar.open_on = self.stream

    def update(self, done: int, seconds_per_step: float) -> None:
        if not self.enabled:
            return
        width = 24
        filled = int(width * done / max(self.total, 1))
        left = seconds_per_step * (self.total - done)
        line = (
            f"\r{self.label}  [{'#' * filled}{'.' * (width - filled)}] {self.unit} {done}/{self.total}"
            f"  {seconds_per_step:.2f} s/{self.unit}  {format_duration(left)} left{self.tiles}"
        )
        self._draw(line.ljust(100))

    def close(self, message: str = "") -> None:
        if self.enabled:
            self.stream.write("\r" + printable(message).ljust(100) + "\n")
            self.stream.flush()
            ProgressBar.open_on = None


def error(msg: str) -> None:
    """One line on stderr, on a line of its own (a progress bar being drawn keeps its line)."""
    if ProgressBar.open_on is sys.stderr:
        sys.stderr.write("\n")
        ProgressBar.open_on = None
    print(f"irsde: error: {printable(msg)}", file=sys.stderr)


def warning(msg: str) -> None:
    """One line on stderr for what went on although something was wrong (a refused weight file
    passed over), on a line of its own; ``-q`` does not hide it."""
    if ProgressBar.open_on is sys.stderr:
        sys.stderr.write("\n")
        ProgressBar.open_on = None
    print(f"irsde: warning: {printable(msg)}", file=sys.stderr)


def say_passed_over(refused, used=None) -> None:
    """A line for each weight file passed over because it would be refused, naming the one used."""
    for r in refused:
        warning(f"refused: {r}" + (f"; using {used} instead" if used is not None else ""))


# ---------------------------------------------------------------- restore
def trajectory_target(arg: str, photo: Path, several: bool) -> Path:
    p = Path(arg)
    if not several:
        return p
    if p.suffix:
        return p.with_name(f"{p.stem}-{photo.stem}{p.suffix}")
    return p / photo.stem


@contextlib.contextmanager
def stop_signals_interrupt():
    """SIGTERM and SIGHUP (a stopped service, a closed terminal) end a batch the way Ctrl+C does:
    the finished outputs stay, the photo being written leaves no partial file."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            with contextlib.suppress(ValueError):  # not the main thread: leave the handlers alone
                previous[sig] = signal.signal(sig, interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def cmd_restore(args: argparse.Namespace) -> int:
    with stop_signals_interrupt():
        return restore_files(args)


class CommandRefused(Exception):
    """Why a command stops before it begins, and its exit status."""

    def __init__(self, message: str, status: int = EXIT_USAGE):
        super().__init__(message)
        self.status = status


@dataclass
class KnownBlur:
    """A blur given with ``--kernel FILE`` or ``--blur SHAPE``, deconvolved instead of estimated."""

    kernel: Any  # float HxW array
    name: str  # in the words of the first line: the file's name, or the shape
    source: str  # in the run report: the file's full path, or the shape


@dataclass
class Stage:
    """One task of ``irsde restore --task a,b``: the task, the model that runs it, and whether it
    deconvolves (its model is the task's prior: deblur with the denoise model)."""

    task: Task
    restorer: Any  # irsde_gui.core.model.Restorer
    deconvolves: bool

    @property
    def unit(self) -> str:
        return "round" if self.deconvolves else "step"


def restore_files(args: argparse.Namespace) -> int:
    from .core.imageio import ImageReadError, ImageWriteError  # deferred: the image libraries
    from .core.pipeline import JobSettings  # deferred: PyTorch

    try:
        tasks = parse_tasks(args.task)  # one task, or a chain: denoise,sr
    except ValueError as exc:
        error(str(exc))
        return EXIT_USAGE
    try:
        if args.uncertainty is not None and args.uncertainty < 2:
            raise CommandRefused("--uncertainty needs at least 2 seeds")
        blur = known_blur(args, tasks)
        planned, several, failures = plan_photos(args)
        stages = load_stages(args, tasks, blur)
    except CommandRefused as exc:
        if str(exc):  # else the lines before said why
            error(str(exc))
        return exc.status
    settings = JobSettings(
        steps=args.steps, sampler=args.sampler, seed=args.seed, tile=args.tile, tile_overlap=args.tile_overlap
    )
    done = 0
    for path, target in planned:
        try:
            restore_photo(args, stages, settings, blur, path, target, several)
            done += 1
        except (ImageReadError, ImageWriteError, FileNotFoundError, ValueError) as exc:  # a MaskError too
            failures += 1
            error(about(path, target, exc))
        except KeyboardInterrupt:
            error("interrupted; finished outputs are kept, the current one was not written")
            return 130
    if several and not args.quiet:
        print(f"irsde: {done} restored, {failures} failed", file=sys.stderr)
    return EXIT_OK if failures == 0 else EXIT_FAILED


def known_blur(args: argparse.Namespace, tasks: list[Task]) -> KnownBlur | None:
    """The blur ``--kernel`` or ``--blur`` gives (None: none given), for a task that deconvolves."""
    from .core.blind import blur_from_spec  # deferred: OpenCV
    from .core.imageio import ImageReadError, read_kernel  # deferred: the image libraries

    if args.kernel is not None and args.blur is not None:
        raise CommandRefused("give the blur as --kernel FILE or as --blur SHAPE, not both")
    if args.kernel is None and args.blur is None:
        return None
    option = "--kernel" if args.kernel is not None else "--blur"
    if not any(t.takes_blur for t in tasks):
        raise CommandRefused(f"{option} is for --task {blur_takers()}")
    try:
        if args.kernel is not None:
            file = Path(args.kernel)
            return KnownBlur(read_kernel(args.kernel), file.name, str(file.resolve()))
        return KnownBlur(blur_from_spec(args.blur), args.blur, args.blur)
    except (ImageReadError, ValueError) as exc:
        raise CommandRefused(f"--blur {exc}" if args.blur is not None else str(exc)) from None


def blur_takers() -> str:
    """The tasks a known blur is for (those with a deconvolution route), for messages."""
    return ", ".join(name for name, t in TASKS.items() if t.takes_blur)


def plan_photos(args: argparse.Namespace) -> tuple[list[tuple[Path, Path]], bool, int]:
    """Every ``(photo, result)`` to restore, whether there are several, and how many inputs failed
    already (each said on a line of its own)."""
    skipped: list[str] = []
    files, problems, folder = collect_inputs(args.inputs, skipped)
    for p in problems:
        error(p)
    for line in skipped:
        print(f"irsde: {printable(line)}", file=sys.stderr)
    if not files:
        raise CommandRefused("" if problems else "nothing to restore", EXIT_FAILED)  # else said above
    several = folder or len(args.inputs) > 1
    out = Path(args.output)
    why_not = output_problem(args.output, several)
    if why_not:
        raise CommandRefused(f"{out}: {why_not}")
    planned, refused = plan_results(args, files, out, several or output_is_folder(args.output))
    for r in refused:
        error(r)
    if not planned:
        raise CommandRefused("", EXIT_FAILED)
    return planned, several, len(problems) + len(refused)


def load_stages(args: argparse.Namespace, tasks: list[Task], blur: KnownBlur | None) -> list[Stage]:
    """The model of every task (a task named twice shares its model), each said on a line."""
    from .core.device import DeviceError, pick_device  # deferred: PyTorch
    from .core.model import load_task_restorer  # deferred: PyTorch
    from .core.pipeline import is_blind  # deferred: PyTorch

    passed_over: list = []
    loaded: dict[str, object] = {}
    try:
        device = pick_device(args.device)
        for t in tasks:
            model_task = t.model_task(known_blur=blur is not None)  # a known blur: the prior's model
            if model_task not in loaded:
                loaded[model_task] = load_task_restorer(model_task, args.weights, device, refused=passed_over)
                say_passed_over(passed_over, loaded[model_task].weights.path)
                passed_over.clear()
    except (DeviceError, WeightsError) as exc:
        say_passed_over(passed_over)
        raise CommandRefused(str(exc), EXIT_FAILED) from None
    restorers = [loaded[t.model_task(known_blur=blur is not None)] for t in tasks]
    stages = [Stage(t, r, is_blind(t, r)) for t, r in zip(tasks, restorers)]
    if args.save_blur and not any(s.deconvolves for s in stages):
        takes = any(t.takes_blur for t in tasks)
        why = "the deblur model finds no blur to save" if takes else f"it is for --task {blur_takers()}"
        raise CommandRefused(f"--save-blur saves the blur a deconvolution used: {why}")
    if stages[-1].deconvolves and args.uncertainty:
        raise CommandRefused(
            "--uncertainty needs a deblur model: blind deblurring gives the same result for every seed"
        )
    if not args.quiet:
        for i, s in enumerate(stages):
            which = f"stage {i + 1} of {len(stages)}: " if len(stages) > 1 else ""
            how = route_words(s, blur)
            print(f"irsde: {which}{s.task.label} {how} on {device.describe()}", file=sys.stderr)
    return stages


def route_words(stage: Stage, blur: KnownBlur | None) -> str:
    """How a stage restores, in the first lines' words."""
    name = stage.restorer.weights.path.name
    if blur is not None and stage.task.takes_blur:
        h, w = blur.kernel.shape
        return f"with the given blur kernel ({blur.name}, {w}x{h} px; {name} as the prior)"
    if stage.deconvolves:
        return f"blind (blur estimated from the photo, {name} as the prior)"
    return f"with {name}"


def restore_photo(
    args: argparse.Namespace,
    stages: list[Stage],
    settings: JobSettings,
    blur: KnownBlur | None,
    path: Path,
    target: Path,
    several: bool,
) -> None:
    """Restore one photo through every stage, then write the result and what goes with it."""
    from .core.imageio import read_photo, reporting_stages, write_kernel, write_photo  # deferred: images
    from .core.trajectory import Trajectory, concatenate, export_trajectory  # deferred: OpenCV

    bar = ProgressBar(path.name, 0, enabled=not args.quiet)
    with reporting_stages(bar.stage):  # a camera RAW is developed: a moment for a big one
        photo = read_photo(path)
    began = time.perf_counter()
    chained = len(stages) > 1
    current, earlier, trajectories, blur_run = photo, [], [], None
    for i, stage in enumerate(stages):
        task = stage.task
        given_mask = find_mask(args.mask, path) if task.uses_mask else None
        mask, alpha = mask_for_photo(task, current, given_mask, grow=args.grow_mask)
        label = f"{path.name} [{i + 1}/{len(stages)} {task.name}]" if chained else path.name
        bar = ProgressBar(label, 0, enabled=not args.quiet, unit=stage.unit)
        trajectory = Trajectory() if args.trajectory else None  # every step, to export
        given = blur if blur is not None and task.takes_blur else None
        own = replace(settings, kernel=given.kernel, kernel_source=given.source) if given else settings
        run = Runner(bar, trajectory=trajectory).restore(task, stage.restorer, current.rgb, mask, own, path)
        if stage.deconvolves:
            blur_run = run
        if trajectory is not None:
            trajectories.append((f"{i + 1} {task.name}", trajectory))
        if i < len(stages) - 1:  # the next stage restores this one's result
            bar.close(f"{path.name}: {task.name} done ({took(stage, run)})")
            earlier.append(stage_entry(run.report))
            current = next_photo(current, run.image, alpha)
    write_photo(
        target, run.image, like=photo, overwrite_input=args.overwrite, alpha=alpha, quality=args.quality
    )
    if trajectories:
        whole = trajectories[0][1] if not chained else concatenate(trajectories)
        export_trajectory(trajectory_target(args.trajectory, target, several), whole, kind=args.trajectory_of)
    write_analysis(args, stage, current, mask, settings, run, target)
    if args.save_blur and blur_run.job.kernel is not None:  # None: no blur was found
        write_kernel(companion(target, "blur"), blur_run.job.kernel)
    elapsed = time.perf_counter() - began
    if args.report:
        chain_report(earlier, run.report, input_path=str(path.resolve())).write_beside(target)
    if chained:
        names = ", ".join(s.task.name for s in stages)
        words = f"{len(stages)} stages: {names}, {format_duration(elapsed)}"
    else:
        words = took(stage, run, elapsed)
    bar.close(f"{path.name} -> {target}  ({words})")


def took(stage: Stage, run: RunResult, seconds: float | None = None) -> str:
    """``4 steps, 2.1 s, 6 tiles, seed 0``: what a stage's run took (``seconds``, or the run's
    own time), for its finished line."""
    from .core.blind import describe_blur  # deferred: OpenCV

    job = run.job
    if stage.deconvolves:
        which = describe_blur(job.kernel, job.kernel_given, job.kernel_source, job.doubt)
    else:
        which = f"seed {job.seed}"
    tiles = f", {job.tiles} tiles" if job.tile else ""
    spent = run.report.elapsed_seconds if seconds is None else seconds
    return f"{plural(job.steps, stage.unit)}, {format_duration(spent)}{tiles}, {which}"


# imageio.WRITE_EXTENSIONS
OUTPUT_SUFFIXES = (".avif", ".bmp", ".heic", ".heif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")


def output_is_folder(output: str) -> bool:
    """``-o`` names a folder: one that exists, a name without an extension, or one ending in a slash."""
    out = Path(output)
    return out.is_dir() or not out.suffix or output.endswith(("/", os.sep))


def output_problem(output: str, several: bool) -> str | None:
    """Why ``-o`` cannot take the results, or None (a file's extension says its format)."""
    out = Path(output)
    folder = output_is_folder(output)
    if several and out.exists() and not out.is_dir():
        return "with several inputs or a folder, the output is a folder, and this is a file"
    if several and not folder and out.suffix.lower() in OUTPUT_SUFFIXES:
        return "with several inputs or a folder, the output is a folder, not a photo's name"
    if not several and not folder and out.suffix.lower() not in OUTPUT_SUFFIXES:
        return (
            f"cannot tell the format from '{out.suffix}' "
            f"(use {', '.join(OUTPUT_SUFFIXES)}; a name without one is a folder)"
        )
    return None


def plan_results(
    args, files: list[Path], out: Path, into_folder: bool
) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Every photo's result file, named before the first is written: none over an input photo
    (unless ``--overwrite``, and then only its own), none over another result or its maps and
    report (``NAME-2.png``). Returns ``(photo, result)`` pairs and a line per refused photo."""

    def companions(target: Path) -> list[Path]:
        maps = (("changes", args.changes), ("uncertainty", args.uncertainty), ("blur", args.save_blur))
        extra = [companion(target, kind) for kind, wanted in maps if wanted]
        return [*extra, report_path_for(target)] if args.report else extra

    plan = OutputPlan(files, overwrite=args.overwrite, companions=companions)
    planned, refused = [], []
    for path in files:
        target = out / path.name if into_folder else out
        if target.suffix.lower() not in OUTPUT_SUFFIXES:  # a photo named oddly: its result is a PNG
            target = target.with_suffix(".png")
        try:
            planned.append((path, plan.claim(path, target)))
        except OutputRefused as exc:
            refused.append(str(exc))
    return planned, refused


def about(photo: Path, target: Path, exc: Exception) -> str:
    """The one line for a photo that failed, naming it (a model's or a mask's message may not)."""
    text = str(exc)
    return text if text.startswith((f"{photo}:", f"{target}:")) else f"{photo}: {text}"


def companion(target: Path, kind: str) -> Path:
    """Where a map that goes with a result is written: ``NAME.KIND.png`` beside it."""
    return target.with_name(f"{target.stem}.{kind}.png")


def write_analysis(
    args, stage: Stage, photo, mask, settings: JobSettings, run: RunResult, target: Path
) -> None:
    """``--changes`` and ``--uncertainty N``: the maps beside the result (the result itself is the
    first seed's, as without them)."""
    from .core.analysis import SpreadAccumulator, residual, residual_image  # deferred: PyTorch
    from .core.imageio import write_photo  # deferred: the image libraries

    if args.changes:
        diff = residual_image(residual(stage.task, photo.rgb, run.image))
        write_photo(companion(target, "changes"), diff.astype(np.float32) / 255.0)
    if args.uncertainty:
        acc = SpreadAccumulator()
        acc.add(run.image, run.job.seed)
        for k in range(1, args.uncertainty):
            seed = (run.job.seed + k) % 2**31
            bar = ProgressBar(f"{target.name} seed {k + 1}/{args.uncertainty}", 0, enabled=not args.quiet)
            again = replace(settings, seed=seed)
            extra = Runner(bar).restore(stage.task, stage.restorer, photo.rgb, mask, again)
            bar.close(f"{target.name}: seed {seed} done")
            acc.add(extra.image, seed)
        heat = acc.result().heatmap()
        write_photo(companion(target, "uncertainty"), heat.astype(np.float32) / 255.0)


# ---------------------------------------------------------------- info
def cmd_info(args: argparse.Namespace) -> int:
    import torch  # deferred: PyTorch, only for irsde info

    from .core.device import available_devices, pick_device

    print(f"IR-SDE Studio {__version__}")
    print(f"Python {sys.version.split()[0]}, PyTorch {torch.__version__}")
    print("Devices:")
    for kind in available_devices():
        print(f"  {kind:5s} {pick_device(kind).describe()}")
    print("Weights are looked for in: " + ", ".join(str(d) for d in search_dirs()))
    print("Tasks:")
    refused: dict[str, list[Refused]] = {}
    for name, path in installed_weights(refused).items():
        t = TASKS[name]
        # In the order they are looked for: files passed over because they would be refused, then
        # the one used (which may be refused too: then nothing runs the task).
        lines = [f"refused: {r}" for r in refused.get(name, [])]
        prior = blind_prior(name) if path is None else None
        if prior is not None:
            lines.append(f"blind: blur estimated from the photo, {prior.name} as the prior")
        elif path is None:
            lines.append("no trained weights installed")
        elif (why := check_weights(path, name)) is not None:
            lines.append(f"refused: {Refused(path, why)}")
        else:
            card = read_card(path)
            val = card.validation.get("summary", "")
            lines.append(f"{path}  ({card.parameters / 1e6:.2f} M parameters) {val}".rstrip())
        head = f"  {name:8s} {t.label:14s} "
        for i, line in enumerate(lines):
            print(printable((head if i == 0 else " " * len(head)) + line))
    return EXIT_OK


# ---------------------------------------------------------------- bench
def cmd_bench(args: argparse.Namespace) -> int:
    import torch  # deferred: PyTorch and OpenCV, only for irsde bench

    from .core.device import DeviceError, pick_device
    from .evaluation.bench import bench, rows_to_json

    try:
        device = pick_device(args.device)
    except DeviceError as exc:
        error(str(exc))
        return EXIT_FAILED
    if args.threads:
        torch.set_num_threads(args.threads)
    tasks = args.tasks.split(",") if args.tasks else list(TASKS)
    for t in tasks:
        if t not in TASKS:
            error(f"unknown task {t!r}")
            return EXIT_USAGE
    sizes = args.sizes
    rows = []
    if not args.json:
        print(f"device: {device.describe()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
        print(
            f"{'task':8s} {'params':>9s} {'size':>6s} {'ms/step':>9s} {'target':>7s} {'peak MB':>8s}  weights"
        )
    if args.blind:
        for prior in {t.prior_task for t in TASKS.values() if t.prior_task}:
            try:
                find_weights(prior)
            except WeightsError as exc:
                error(f"--blind needs the {prior} model: {exc}")
                return EXIT_FAILED
    for row in bench(device, sizes, tasks, repeats=args.repeats, blind=args.blind):
        rows.append(row)
        if not args.json:
            peak = "-" if row.peak_mb is None else f"{row.peak_mb:.0f}"
            target = "-" if row.target_ms is None else f"≤{row.target_ms:.0f}"
            setup = (
                f"  (+{row.setup_ms / 1000:.1f} s to estimate the blur; ms/step: a round)"
                if row.setup_ms
                else ""
            )
            print(
                f"{row.task:8s} {row.parameters / 1e6:8.2f}M {row.size:6d} {row.ms_per_step:9.1f} "
                f"{target:>7s} {peak:>8s}  {Path(row.weights).name}{setup}",
                flush=True,
            )
    gaps = _bench_event_loop(tasks[0], sizes[0], device.kind, quiet=args.json) if args.gui else None
    if args.json:
        print(json.dumps(rows_to_json(rows, device, gaps), indent=2))
    return EXIT_OK


def _bench_event_loop(task: str, size: int, device: str, quiet: bool) -> list:
    """``bench --gui``: the app's event loop, the largest gap between its timer ticks while a run
    restores and while a photo opens from a slow drive."""
    from .ui.loop_bench import TICK_MS, event_loop_gaps  # deferred: Qt, only for --gui

    gaps = event_loop_gaps(task, size, device=device)
    if not quiet:
        print(f"event loop (a {TICK_MS} ms timer on the GUI thread): the largest gap between its ticks")
        for g in gaps:
            print(
                f"  {g.largest_gap_ms:6.0f} ms (target ≤{g.target_ms:.0f})  over {g.ticks} ticks in "
                f"{g.seconds:.1f} s, {g.what}",
                flush=True,
            )
    return gaps


# ---------------------------------------------------------------- train
def train_config(args: argparse.Namespace):
    """The run's config from the options given, and those of them a resumed run may change."""
    from .training.train import RESUME_OVERRIDABLE, TrainConfig  # deferred: PyTorch

    given = {
        "iters": args.iters,
        "batch": args.batch,
        "patch": args.patch,
        "lr": args.lr,
        "loss": args.loss,
        "seed": args.seed,
        "data": args.data,
        "val_data": args.val,
        "val_every": args.val_every,
        "val_limit": args.val_limit,
        "val_crop": args.val_crop,
        "val_steps": args.val_steps,
        "val_kernels": str(Path(args.val_kernels).resolve()) if args.val_kernels else None,
        "ckpt_every": args.ckpt_every,
        "ckpt_minutes": args.ckpt_minutes,
        "log_every": args.log_every,
        "t_focus": args.t_focus,
        "degradation": args.degradation,
        "val_pairs": str(Path(args.val_pairs).resolve()) if args.val_pairs else None,
        "val_preset": args.val_degradation,
    }
    given = {k: v for k, v in given.items() if v is not None}
    cfg = TrainConfig(task=args.task, **{"data": [], **given})
    if args.network:
        cfg.network = json.loads(args.network)
    overrides = {k: v for k, v in given.items() if k in RESUME_OVERRIDABLE}
    return cfg, overrides


def train_logger(args: argparse.Namespace):
    """What ``irsde train`` shows as it trains: a progress line, validations and notes (rank 0 only)."""

    def log(d: dict) -> None:
        if int(os.environ.get("RANK", "0")) != 0:
            return
        if d["kind"] == "note":  # shown even with --quiet: it changes how the run trains
            sys.stderr.write(f"\nirsde: {d['text']}\n")
            return
        if args.quiet:
            return
        if d["kind"] == "train":
            left = (d["iters"] - d["step"]) / max(d["it_per_s"], 1e-9)
            msg = (
                f"\r{args.task} step {d['step']}/{d['iters']}  loss {d['loss']:.4f}  "
                f"{d['it_per_s']:.2f} it/s  {d['patches_per_s']:.0f} patches/s  "
                f"lr {d['lr']:.2e}  {format_duration(left)} left"
            )
            sys.stderr.write(msg.ljust(110))
            sys.stderr.flush()
        else:
            sys.stderr.write(
                f"\n{args.task} validation at step {d['step']}: input {d['psnr_input']:.2f} dB"
                f" -> {d['psnr']:.2f} dB, SSIM {d['ssim']:.3f}"
                f" ({plural(d['steps'], 'step')}, {d['protocol']})"
                + "".join(
                    f"; {k[: -len('_psnr')].replace('_', ' ')} {d[k + '_input']:.2f} dB -> {d[k]:.2f} dB"
                    for k in d
                    if k.endswith("_psnr") and k + "_input" in d
                )
                + "\n"
            )

    return log


def cmd_train(args: argparse.Namespace) -> int:
    import torch  # deferred: PyTorch and OpenCV, only for irsde train

    from .training.train import Trainer

    if args.anneal and not args.minutes:
        print("error: --anneal needs --minutes (the time over which the rate decays)", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg, overrides = train_config(args)
    log = train_logger(args)
    try:
        trainer = Trainer(
            cfg,
            args.out,
            device=args.device,
            resume=args.resume,
            compile=args.compile,
            log=log,
            overrides=overrides,
            init_from=args.init,
        )
    except (FileExistsError, FileNotFoundError, ValueError, WeightsError) as exc:
        error(str(exc))
        return EXIT_USAGE
    if trainer.dist.main and not args.quiet:
        from .core.nets import count_parameters  # deferred: PyTorch

        print(
            f"irsde: training {args.task} ({count_parameters(trainer.net) / 1e6:.2f} M parameters) "
            f"on {trainer.device.describe()} x{trainer.dist.world}, {len(trainer.data)} photos, "
            f"from step {trainer.state.step}",
            file=sys.stderr,
        )
    final = trainer.run(max_seconds=args.minutes * 60 if args.minutes else None, anneal=args.anneal)
    if trainer.dist.main and not args.quiet:
        print(
            f"\nirsde: stopped at step {final.step}; {final.seconds / 60:.1f} min of compute in all; "
            f"checkpoint in {args.out}",
            file=sys.stderr,
        )
    if trainer.dist.enabled:
        import torch.distributed as dist  # deferred: PyTorch

        # No rank tears its connections down while another is still finishing the last
        # checkpoint's collectives.
        dist.barrier()
        dist.destroy_process_group()
    return EXIT_OK


# ---------------------------------------------------------------- eval
def eval_preset(args: argparse.Namespace, task: str) -> str | None:
    """The evaluation degradation that --jpeg and --degradation name; ValueError if they do not
    fit the task. --pairs takes the folder's own degraded photos instead."""
    if args.pairs and (args.jpeg or args.degradation or args.sigma is not None or args.data):
        raise ValueError(
            "--pairs scores the folder's own degraded photos: no --data, --jpeg, "
            "--degradation or --sigma with it"
        )
    presets = get_task(task).eval_presets
    if args.jpeg is not None:
        if "jpeg" not in presets or args.degradation:
            raise ValueError(f"--jpeg is for --task {tasks_with('jpeg')} (JPEG artefacts, no noise)")
        return "jpeg"
    named = [(flag, value) for flag, value in (("--rain", args.rain), ("--masks", args.masks)) if value]
    if named:
        flag, value = named[0]
        if value not in presets or args.degradation or len(named) > 1:
            raise ValueError(f"{flag} is for --task {tasks_with(value)}")
        return value
    if args.degradation:
        if args.degradation not in presets:
            raise ValueError(
                f"no evaluation degradation {args.degradation!r} for {task} ({eval_presets_by_task()})"
            )
        return args.degradation
    return None


def eval_presets_by_task() -> str:
    """``denoise: jpeg, camera; sr: practical; ...``: each task's named evaluation degradations."""
    return "; ".join(f"{t.name}: {', '.join(t.eval_presets)}" for t in TASKS.values() if t.eval_presets)


def tasks_with(preset: str) -> str:
    """The tasks that have the evaluation degradation ``preset``, as an error message names them."""
    return " or ".join(t.name for t in TASKS.values() if preset in t.eval_presets)


def cmd_eval(args: argparse.Namespace) -> int:
    from .core.blind import BLIND_ROUNDS  # deferred: PyTorch and OpenCV, only for irsde eval
    from .core.device import DeviceError, pick_device
    from .core.model import load_task_restorer
    from .core.pipeline import is_blind
    from .evaluation.evaluate import evaluate, format_table
    from .evaluation.validation import load_kernels

    task = get_task(args.task)
    passed_over: list = []
    try:
        restorer = load_task_restorer(task.name, args.weights, pick_device(args.device), refused=passed_over)
    except (DeviceError, WeightsError) as exc:
        say_passed_over(passed_over)
        error(str(exc))
        return EXIT_FAILED
    say_passed_over(passed_over, restorer.weights.path)
    card = restorer.weights.card if restorer.weights else None
    blind = is_blind(task, restorer)  # deblur with no deblur model: the model row is the blind route
    steps = args.steps or (
        BLIND_ROUNDS if blind else card.default_steps if card and card.default_steps else task.default_steps
    )
    kernels = load_kernels(args.kernels) if args.kernels else None
    try:
        preset = eval_preset(args, task.name)
        methods = eval_blind_methods(args, task, restorer, blind)
    except ValueError as exc:
        error(str(exc))
        return EXIT_FAILED
    folder = args.pairs or args.data
    if not folder:
        error("give --data (clean photos) or --pairs (degraded/clean pairs)")
        return EXIT_FAILED
    try:
        result = evaluate(
            task,
            restorer,
            folder,
            steps,
            args.sigma,
            kernels,
            args.limit,
            args.crop,
            args.seed,
            args.sampler,
            eval_progress(args, task.name),
            methods,
            pairs=bool(args.pairs),
            preset=preset,
            quality=args.jpeg,
        )
    except (ValueError, FileNotFoundError) as exc:
        error(str(exc))
        return EXIT_FAILED
    if not args.quiet:
        sys.stderr.write("\n")
    print(format_table(result, steps))
    if args.json:
        write_eval_json(args, result, steps, restorer, folder)
    return EXIT_OK


def eval_blind_methods(args: argparse.Namespace, task, restorer, blind: bool) -> dict | None:
    """The rows ``--blind`` adds (None without it); ValueError says why they cannot be scored.

    ``blind``: the model row already is the blind route, so only the told-the-kernel row is added.
    """
    from .core.model import load_restorer  # deferred: PyTorch
    from .evaluation.evaluate import blind_deblur_method  # deferred: PyTorch

    if args.rounds is not None and not args.blind:
        raise ValueError("--rounds is for the rows --blind adds")
    if not args.blind:
        return None
    if not task.takes_blur:
        raise ValueError(
            f"--blind is for --task {' or '.join(t.name for t in TASKS.values() if t.takes_blur)}"
        )
    try:
        prior = load_restorer(task.prior_task, None, restorer.device)
        methods = blind_deblur_method(prior, args.rounds, task)
    except WeightsError as exc:
        raise ValueError(f"--blind needs the {task.prior_task} model: {exc}") from exc
    if blind:
        del methods["blind"]
    return methods


def eval_progress(args: argparse.Namespace, task_name: str):
    """``irsde eval``'s progress line: the photo being scored and the model's PSNR on it."""

    def progress(i, n, entry):
        if not args.quiet:
            m = entry.get("model", {})
            sys.stderr.write(
                f"\r{task_name}: {i}/{n} {entry['image']}  model {m.get('psnr', 0):.2f} dB".ljust(90)
            )
            sys.stderr.flush()

    return progress


def write_eval_json(args: argparse.Namespace, result: dict, steps: int, restorer, folder: str) -> None:
    """``--json``: the full results, with what reproduces them (settings, weights, command)."""
    from .evaluation.evaluate import command_line  # deferred: PyTorch

    card = restorer.weights.card if restorer.weights else None
    result.update(
        steps=steps,
        sampler=args.sampler,
        seed=args.seed,
        sigma=args.sigma,
        kernels=args.kernels,
        crop=args.crop,
        limit=args.limit,
        weights=str(restorer.weights.path),
        sha256=card.sha256 if card else None,
        device=restorer.device.describe(),
        command=command_line(),
        name=args.name or f"{Path(folder).name}",
    )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


# ---------------------------------------------------------------- export
def cmd_export(args: argparse.Namespace) -> int:
    from .training.train import export_run  # deferred: PyTorch, only for irsde export

    evals = [json.loads(Path(p).read_text()) for p in args.eval or []]
    for ev in evals:
        ev.pop("per_image", None)
    try:
        path = export_run(args.run_dir, args.out, evals, args.default_steps)
    except (FileNotFoundError, ValueError) as exc:
        error(str(exc))
        return EXIT_FAILED
    print(f"irsde: wrote {path} and {path.with_suffix('.json')}")
    return EXIT_OK


# ---------------------------------------------------------------- pack / unpack
def cmd_pack(args: argparse.Namespace) -> int:
    from .training.train import pack_run, unpack_run  # deferred: PyTorch, only for irsde pack and unpack

    try:
        if args.command == "pack":
            path = pack_run(args.source, args.out, ema_only=args.ema_only)
        else:
            path = unpack_run(args.source, args.out)
    except (FileNotFoundError, ValueError) as exc:
        error(str(exc))
        return EXIT_FAILED
    print(f"irsde: wrote {path} ({path.stat().st_size / 2**20:.1f} MB)")
    return EXIT_OK


# ---------------------------------------------------------------- degrade
def cmd_degrade(args: argparse.Namespace) -> int:
    # deferred: the image libraries and PyTorch, only for irsde degrade
    from .core.imageio import ImageReadError, ImageWriteError, encode_photo, read_photo, write_photo
    from .evaluation.validation import degrade_for_eval

    try:
        photo = read_photo(args.input)
        deg = degrade_for_eval(
            args.task, photo.rgb, args.seed, args.sigma, preset=args.degradation, quality=args.quality
        )
        write_photo(
            args.output,
            np.clip(deg.model_input, 0, 1),
            like=photo,
            alpha=photo.alpha if get_task(args.task).scale == 1 else None,  # no alpha fits a low-res photo
        )
        if deg.mask is not None:
            mask_path = Path(args.output).with_name(Path(args.output).stem + "_mask.png")
            from .core.imageio import atomic_write_bytes  # deferred: the image libraries

            atomic_write_bytes(
                mask_path, encode_photo(np.repeat(deg.mask[..., None], 3, 2), "PNG", grey=True)
            )
            print(f"irsde: mask written to {mask_path}")
    except (ImageReadError, ImageWriteError, ValueError) as exc:
        error(str(exc))
        return EXIT_FAILED
    return EXIT_OK


# ---------------------------------------------------------------- suggest
def cmd_suggest(args: argparse.Namespace) -> int:
    """One line per photo: what it looks like it needs (or nothing), with the measurements; a
    photo that cannot be read gets one error line and the others are still measured."""
    from .core.imageio import ImageReadError, read_photo  # deferred: OpenCV, only for irsde suggest
    from .core.suggest import suggest

    files, problems, _folder = collect_inputs(args.photos)
    for p in problems:
        error(p)
    results, failed = [], len(problems)
    for f in files:
        try:
            s = suggest(read_photo(f).rgb)
        except (ImageReadError, ValueError) as exc:
            failed += 1
            text = str(exc) if str(f) in str(exc) else f"{f}: {exc}"
            error(text)
            results.append({"path": str(f), "error": text})
            continue
        results.append({"path": str(f), **s.to_dict()})
        if not args.json:
            print(f"{printable(str(f))}: {s.text or 'nothing to fix found'} ({s.summary()})", flush=True)
    if args.json:
        print(json.dumps(results, indent=1))  # ASCII: any file name, any terminal
    return EXIT_FAILED if failed else EXIT_OK


# ---------------------------------------------------------------- parser
def int_in(lo: int, hi: int | None, what: str, unit: str = ""):
    """An argparse type: a whole number from ``lo`` to ``hi`` (no upper bound if None)."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if n < lo or (hi is not None and n > hi):
            bound = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
            raise argparse.ArgumentTypeError(f"{what} is {bound}{f' {unit}' if unit else ''}, got {n}")
        return n

    return parse


MAX_SEED = 2**63 - 1  # PyTorch's generators take 64-bit seeds
MIN_TILE, MAX_TILE = 64, 16384  # px; MIN_TILE is core.tiling's, which imports PyTorch (a test compares)


def _tile(text: str) -> int:
    """``--tile``: 0 (never tile) or a tile side the tiler runs."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n != 0 and not MIN_TILE <= n <= MAX_TILE:
        raise argparse.ArgumentTypeError(f"a tile is 0 (never tile) or {MIN_TILE} to {MAX_TILE} px, got {n}")
    return n


def _sizes(text: str) -> list[int]:
    """``bench --sizes``: photo sides in px, comma-separated."""
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or not all(16 <= s <= MAX_TILE for s in sizes):
        raise argparse.ArgumentTypeError(
            f"sizes are whole numbers of px from 16 to {MAX_TILE}, comma-separated, got {text!r}"
        )
    return sizes


def _rounds(text: str) -> int:
    """``--rounds``: a count of deconvolution rounds, as a blind deblur run takes them."""
    from .core.blind import MAX_BLIND_ROUNDS  # deferred: OpenCV; the parser is built without it

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= n <= MAX_BLIND_ROUNDS:
        raise argparse.ArgumentTypeError(f"deconvolution takes 1 to {MAX_BLIND_ROUNDS} rounds, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    """The ``irsde`` parser: one subparser per command, each filled by its own function."""
    from .core.sampler import SAMPLERS  # deferred: imports PyTorch

    p = argparse.ArgumentParser(
        prog="irsde",
        description="Restore photos with a mean-reverting SDE (IR-SDE): denoise, deblur, "
        "derain, x4 super-resolution, inpaint, dehaze.",
    )
    p.add_argument("--version", action="version", version=f"IR-SDE Studio {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_restore_command(sub, SAMPLERS)
    add_info_command(sub)
    add_bench_command(sub)
    add_train_command(sub)
    add_eval_command(sub, SAMPLERS)
    add_run_file_commands(sub)
    add_degrade_command(sub)
    add_suggest_command(sub)
    return p


def add_restore_command(sub, samplers) -> None:
    r = sub.add_parser("restore", help="restore photos (files or folders)")
    r.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders of images")
    r.add_argument("-o", "--output", required=True, help="output file, or folder for several inputs")
    r.add_argument(
        "--task",
        required=True,
        metavar="TASK[,TASK...]",
        help=f"{', '.join(TASKS)}; or several in order, e.g. denoise,sr: each restores the one before's "
        "result (the run report lists every stage, --trajectory shows them one after another)",
    )
    r.add_argument(
        "--steps", type=int_in(1, None, "a step count"), help="network calls (default: the task's), per task"
    )
    r.add_argument("--sampler", default="posterior", choices=samplers)
    r.add_argument("--seed", type=int_in(0, MAX_SEED, "a seed"), default=0, help="random seed (default 0)")
    r.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    r.add_argument("--mask", help="inpaint: mask file (white = fill) or folder of masks with matching names")
    r.add_argument(
        "--grow-mask",
        type=int_in(0, MAX_GROW, "a mask's margin in px"),
        default=0,
        metavar="PX",
        help="inpaint: fill PX beyond the mask too (shadows, halos; the app grows painted masks by "
        f"{DEFAULT_GROW} px); default 0, the mask as given",
    )
    r.add_argument(
        "--kernel",
        help="deblur: the blur kernel, if known (an image whose brightness is the weight, a .npy array, "
        "or a .txt/.csv grid); deconvolved with the denoise model instead of estimating the blur",
    )
    r.add_argument(
        "--blur",
        metavar="SHAPE",
        help="deblur: the blur, if known, by its shape: motion:LENGTH:ANGLE (a straight shake, px and "
        "degrees counter-clockwise), defocus:RADIUS or gaussian:SIGMA (px); used as --kernel is",
    )
    r.add_argument("--tile", type=_tile, help="tile size in px (default: automatic; 0 = never tile)")
    r.add_argument(
        "--tile-overlap",
        type=int_in(0, 256, "a tile overlap", "px"),
        default=32,
        help="tile overlap in px (default 32)",
    )
    r.add_argument("--weights", help="weights file (.pt with its .json card) or folder")
    add_restore_outputs(r)
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_restore)


def add_restore_outputs(r: argparse.ArgumentParser) -> None:
    """What ``irsde restore`` writes besides the result, and how."""
    r.add_argument("--trajectory", help="also write the steps: folder of PNGs, .gif, .mp4 or .png sheet")
    r.add_argument(
        "--trajectory-of",
        choices=("state", "estimate"),
        default="state",
        help="frames show the noisy state x_t or the clean estimate x0_hat",
    )
    r.add_argument(
        "--changes",
        action="store_true",
        help="also write NAME.changes.png: what the model removed, amplified around grey",
    )
    r.add_argument(
        "--uncertainty",
        type=int,
        metavar="N",
        help="also restore with N-1 more seeds and write NAME.uncertainty.png: bright where they disagree",
    )
    r.add_argument(
        "--save-blur",
        action="store_true",
        help="deblur: also write NAME.blur.png, the blur found (or given) as --kernel takes it back",
    )
    r.add_argument(
        "--report",
        action="store_true",
        help="also write NAME.json: the run report (settings, model sha256, timings), as the app saves it",
    )
    r.add_argument(
        "--quality",
        type=int_in(1, 100, "a JPEG/WebP quality"),
        default=95,
        help="JPEG/WebP quality (default 95)",
    )
    r.add_argument("--overwrite", action="store_true", help="allow replacing the input file")


def add_info_command(sub) -> None:
    i = sub.add_parser("info", help="version, devices, tasks and installed weights")
    i.set_defaults(func=cmd_info)


def add_bench_command(sub) -> None:
    b = sub.add_parser("bench", help="time per step and peak memory of each task's network")
    b.add_argument("--device", default="auto")
    b.add_argument("--sizes", type=_sizes, default="256,512,1024", help="photo sides in px, comma-separated")
    b.add_argument("--tasks", help="comma-separated tasks (default: all)")
    b.add_argument("--repeats", type=int_in(1, None, "a repeat count"), default=5)
    b.add_argument(
        "--threads", type=int_in(1, None, "a thread count"), help="CPU threads (default: PyTorch's choice)"
    )
    b.add_argument("--json", action="store_true", help="print JSON instead of a table")
    b.add_argument(
        "--blind",
        action="store_true",
        help="also time blind deblurring (the blur estimate, then a round) at each size",
    )
    b.add_argument(
        "--gui",
        action="store_true",
        help="also measure the app's event loop: its largest wait while a run restores (the first "
        "task, the first size) and while a photo opens from a slow drive",
    )
    b.set_defaults(func=cmd_bench)


def add_train_command(sub) -> None:
    t = sub.add_parser("train", help="train a task's network (resumable; runs under torchrun too)")
    t.add_argument("--task", required=True, choices=list(TASKS))
    t.add_argument("--data", nargs="+", help="folders of clean training photos")
    t.add_argument("--out", required=True, help="run folder (checkpoint, logs)")
    t.add_argument("--iters", type=int, help="total iterations of the run (default 100000)")
    t.add_argument("--batch", type=int, help="patches per iteration, per process (default 16)")
    t.add_argument("--patch", type=int, help="patch size in px (default 128)")
    t.add_argument("--lr", type=float)
    t.add_argument("--loss", choices=("x0", "ml", "ml_x0"), help="training loss (default x0)")
    t.add_argument("--network", help="network config as JSON (default: the task's)")
    t.add_argument("--seed", type=int)
    t.add_argument("--val", nargs="+", help="folders of clean validation photos")
    t.add_argument(
        "--val-pairs",
        metavar="DIR",
        help="also validate on real pairs: DIR/noisy (or DIR/degraded) and DIR/clean, matched by name",
    )
    t.add_argument(
        "--val-degradation",
        metavar="NAME",
        help="also validate under this evaluation degradation (as irsde eval --degradation), e.g. sr "
        "'practical'",
    )
    t.add_argument("--val-every", type=int)
    t.add_argument("--val-limit", type=int)
    t.add_argument("--val-crop", type=int, help="validate on center crops of this size; 0: whole photos")
    t.add_argument("--val-steps", type=int, help="sampler steps in validation (default: the task's)")
    t.add_argument(
        "--val-kernels", help="deblur: validate with these blur kernels (.npz), as irsde eval --kernels does"
    )
    t.add_argument("--ckpt-every", type=int)
    t.add_argument("--ckpt-minutes", type=float)
    t.add_argument("--log-every", type=int)
    t.add_argument(
        "--t-focus",
        type=float,
        metavar="SHARE",
        help="share of samples drawn late in the process (t >= 0.75 T), where 1-2 step restorations "
        "call the network (default 0: uniform over 1..T)",
    )
    t.add_argument(
        "--degradation",
        metavar="MIX",
        help="what the network learns to undo: denoise 'camera' (camera noise, JPEG and Gaussian "
        "noise; the default) or 'gaussian'; sr 'bicubic'; the other tasks 'standard'",
    )
    t.add_argument("--minutes", type=float, help="stop (with a checkpoint) after this many minutes")
    t.add_argument("--resume", action="store_true", help="continue the run in --out")
    t.add_argument(
        "--init",
        metavar="WEIGHTS",
        help="start a new run from these weights (the same network, e.g. weights/denoise.pt for deblur)",
    )
    t.add_argument("--compile", action="store_true", help="torch.compile the network (GPUs)")
    t.add_argument(
        "--anneal",
        action="store_true",
        help="with --minutes: decay the learning rate to its floor by the end of this start",
    )
    t.add_argument("--device", default="auto")
    t.add_argument("--threads", type=int, help="CPU threads")
    t.add_argument("-q", "--quiet", action="store_true")
    t.set_defaults(func=cmd_train)


def add_eval_command(sub, samplers) -> None:
    e = sub.add_parser(
        "eval",
        help="score a task's model against the degraded input and a classic method",
        description="Score a task's model against the degraded input and a classic method (PSNR, SSIM). "
        "Deblur adds PSNR@SH, as Levin et al. (2009) score blind deblurring: PSNR at the best shift "
        "within 5 px each way in 0.25 px steps (bilinear), a 15 px border left out, and counts the "
        "photos each method leaves below their own blurred input at that score.",
    )
    e.add_argument("--task", required=True, choices=list(TASKS))
    e.add_argument(
        "--data",
        help="folder of clean photos (or *_LR/*_HR pairs for sr); with --pairs, of degraded/clean pairs",
    )
    e.add_argument(
        "--pairs",
        metavar="DIR",
        help="score real pairs instead of degrading clean photos: DIR/noisy (or DIR/degraded) and "
        "DIR/clean, matched by file name; the classic row is non-local means at its best strength",
    )
    e.add_argument(
        "--jpeg",
        type=int_in(1, 100, "a JPEG quality"),
        metavar="Q",
        help="denoise: score JPEG-artefact removal, clean photos saved at quality Q (1-100), no noise",
    )
    e.add_argument(
        "--rain",
        choices=("heavy", "light"),
        help="derain: 'heavy' (dense streaks at every depth and the veil they leave, fixed seeds) or "
        "'light' (the default)",
    )
    e.add_argument(
        "--masks",
        choices=("objects", "strokes"),
        help="inpaint: 'objects' (1-3 object-shaped blobs over 15-35 %% of the photo, fixed seeds) or "
        "'strokes' (free-form strokes and boxes over 10-30 %%, the default)",
    )
    e.add_argument(
        "--degradation",
        metavar="NAME",
        help=f"a named evaluation degradation, fixed by the seed: {eval_presets_by_task()}",
    )
    e.add_argument("--steps", type=int)
    e.add_argument("--sampler", default="posterior", choices=samplers)
    e.add_argument("--sigma", type=float, help="noise sigma on the 0-255 scale (denoise 25, deblur 2.55)")
    e.add_argument("--kernels", help="deblur: .npz of blur kernels, used in turn")
    e.add_argument("--limit", type=int, help="only the first K images")
    e.add_argument("--crop", type=int, help="center crop of at most PX x PX")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--weights")
    e.add_argument("--device", default="auto")
    e.add_argument(
        "--blind",
        action="store_true",
        help="deblur: also score kernel estimation + plug-and-play deconvolution with the denoise model "
        "(unless that is the model scored), the same deconvolution told the true kernel, and told its "
        "shape but placed as an estimate is",
    )
    e.add_argument(
        "--rounds",
        type=_rounds,
        help="with --blind: deconvolution rounds for the rows it adds (default: what the app runs, "
        "8 for an estimated kernel and 5 for a known one; --steps sets the model's)",
    )
    e.add_argument("--json", help="also write the full results as JSON")
    e.add_argument("--name", help="name of this validation in the model card")
    e.add_argument("-q", "--quiet", action="store_true")
    e.set_defaults(func=cmd_eval)


def add_run_file_commands(sub) -> None:
    """export, pack and unpack: the commands that turn a training run into files."""
    x = sub.add_parser("export", help="write a run's EMA weights and model card")
    x.add_argument("run_dir")
    x.add_argument("--out", required=True, help="weights file, e.g. weights/denoise.pt")
    x.add_argument("--eval", nargs="+", help="irsde eval --json results to put in the model card")
    x.add_argument("--default-steps", type=int, help="the step count the app uses by default")
    x.set_defaults(func=cmd_export)

    pk = sub.add_parser("pack", help="a small copy of a training run, to carry to another machine")
    pk.add_argument("source", metavar="RUN_DIR")
    pk.add_argument("--out", required=True, help="packed file (.pt)")
    pk.add_argument("--ema-only", action="store_true", help="half the size: continue from the EMA")
    pk.set_defaults(func=cmd_pack)
    up = sub.add_parser("unpack", help="continue a packed run here (then: irsde train --resume)")
    up.add_argument("source", metavar="PACKED")
    up.add_argument("--out", required=True, help="run folder")
    up.set_defaults(func=cmd_pack)


def add_degrade_command(sub) -> None:
    d = sub.add_parser("degrade", help="make a degraded copy of a clean photo (demos, tests)")
    d.add_argument("input")
    d.add_argument("-o", "--output", required=True)
    d.add_argument("--task", required=True, choices=list(TASKS))
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--sigma", type=float)
    d.add_argument(
        "--degradation",
        metavar="NAME",
        help=f"one of irsde eval's named degradations: {eval_presets_by_task()} ('jpeg' with --quality)",
    )
    d.add_argument("--quality", type=int_in(1, 100, "a JPEG quality"), help="with --degradation jpeg")
    d.set_defaults(func=cmd_degrade)


def add_suggest_command(sub) -> None:
    sg = sub.add_parser(
        "suggest",
        help="what photos look like they need (noise, JPEG blocks, blur, haze, size): one line each",
    )
    sg.add_argument("photos", nargs="+", metavar="PHOTO", help="image files or folders of images")
    sg.add_argument("--json", action="store_true", help="print the findings as JSON (a list, one per photo)")
    sg.set_defaults(func=cmd_suggest)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except BrokenPipeError:  # the reader went away (`irsde suggest ... | head`): stop quietly
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141


if __name__ == "__main__":
    sys.exit(main())
