"""``irsde restore``: photos in, restored photos out, through the engine's one run loop."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.chain import chain_report, next_photo, parse_tasks, stage_entry
from ..core.runner import Runner
from ..core.runs import (
    OutputPlan,
    OutputRefused,
    collect_inputs,
    describe_pre_stage,
    find_mask,
    format_duration,
    mask_for_photo,
    plural,
    printable,
    report_path_for,
)
from ..core.strength import STRENGTH_HELP, at_strength, check_strength, offers_strength
from ..core.tasks import DEFAULT_GROW, MAX_GROW, TASKS
from ..core.weights import WeightsError
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    MAX_SEED,
    CommandRefused,
    ProgressBar,
    error,
    int_in,
    say_passed_over,
    stop_signals_interrupt,
    tile_side,
)

if TYPE_CHECKING:
    from ..core.pipeline import JobSettings
    from ..core.runner import RunResult
    from ..core.tasks import Task


def trajectory_target(arg: str, photo: Path, several: bool) -> Path:
    p = Path(arg)
    if not several:
        return p
    if p.suffix:
        return p.with_name(f"{p.stem}-{photo.stem}{p.suffix}")
    return p / photo.stem


def cmd_restore(args: argparse.Namespace) -> int:
    with stop_signals_interrupt():
        return restore_files(args)


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
    from ..core.imageio import ImageReadError, ImageWriteError  # deferred: the image libraries
    from ..core.pipeline import JobSettings  # deferred: PyTorch

    try:
        tasks = parse_tasks(args.task)  # one task, or a chain: denoise,sr
    except ValueError as exc:
        error(str(exc))
        return EXIT_USAGE
    try:
        if args.uncertainty is not None and args.uncertainty < 2:
            raise CommandRefused("--uncertainty needs at least 2 seeds")
        if args.strength < 1 and not all(offers_strength(t) for t in tasks):
            raise CommandRefused("--strength is not for inpaint: under a hole is what it removes")
        blur = known_blur(args, tasks)
        planned, several, failures = plan_photos(args)
        stages = load_stages(args, tasks, blur)
    except CommandRefused as exc:
        if str(exc):  # else the lines before said why
            error(str(exc))
        return exc.status
    settings = JobSettings(
        steps=args.steps,
        sampler=args.sampler,
        seed=args.seed,
        tile=args.tile,
        tile_overlap=args.tile_overlap,
        flip_average=args.flip_average,
        keep_start=args.blur_start,
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
    from ..core.blind import blur_from_spec  # deferred: OpenCV
    from ..core.imageio import ImageReadError, read_kernel  # deferred: the image libraries

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
    from ..core.device import DeviceError, pick_device  # deferred: PyTorch
    from ..core.model import load_task_restorer  # deferred: PyTorch
    from ..core.pipeline import is_blind  # deferred: PyTorch

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
    if args.blur_start and not any(s.deconvolves for s in stages):
        takes = any(t.takes_blur for t in tasks)
        why = "the deblur model finds the blur its own way" if takes else f"it is for --task {blur_takers()}"
        raise CommandRefused(f"--blur-start chooses where a blur estimate starts: {why}")
    if args.blur_start and blur is not None:
        raise CommandRefused("--blur-start is for a blur estimated from the photo, not one given")
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
    from ..core.imageio import read_photo, reporting_stages, write_kernel, write_photo  # deferred: images
    from ..core.trajectory import Trajectory, concatenate, export_trajectory  # deferred: OpenCV

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
    # The whole chain's restoration, blended back towards the photo (refused above with inpaint).
    image = at_strength(stage.task, photo.rgb, run.image, args.strength, run.report)
    write_photo(target, image, like=photo, overwrite_input=args.overwrite, alpha=alpha, quality=args.quality)
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
    from ..core.blind import describe_blur, describe_blur_extent  # deferred: OpenCV

    job = run.job
    if stage.deconvolves:
        which = describe_blur(job.kernel, job.kernel_given, job.kernel_source, job.doubt)
        if job.other_blur is not None:  # both starts were tried: the one not kept, to compare
            which += f" (--blur-start {job.other_start} finds {describe_blur_extent(job.other_blur)})"
        elif job.settings.keep_start == "network" and job.blur_start == "photo":
            which += " (no start from the deblur network to be had: the photo's own)"
    else:
        which = f"seed {job.seed}"
    if job.pre:
        which += f", {describe_pre_stage(job.pre)}"
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
    from ..core.analysis import SpreadAccumulator, residual, residual_image  # deferred: PyTorch
    from ..core.imageio import write_photo  # deferred: the image libraries

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
    r.add_argument(
        "--blur-start",
        choices=("photo", "network"),
        help="deblur with no deblur model: where the blur estimate starts. 'photo': its own edges only; "
        "'network': the deblur network's sharp guess, always tried and kept. By default the second is "
        "tried where the first explains the photo poorly, and the better of the two kept (the finished "
        "line then names the other, to compare)",
    )
    r.add_argument("--tile", type=tile_side, help="tile size in px (default: automatic; 0 = never tile)")
    r.add_argument("--strength", type=strength_share, default=1.0, metavar="SHARE", help=STRENGTH_HELP)
    r.add_argument(
        "--flip-average",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="average each step's estimate with that of the photo turned half a turn: a little "
        "cleaner, for twice the network's work (default: on for denoise, off for the others)",
    )
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


def strength_share(text: str) -> float:
    """An argparse type: a share of the restoration to keep, from 0 to 1."""
    try:
        return check_strength(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
