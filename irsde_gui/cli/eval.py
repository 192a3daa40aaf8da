"""``irsde eval``: score a model against the classic methods on a folder of photos."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.tasks import TASKS, get_task
from ..core.weights import WeightsError
from .common import EXIT_FAILED, EXIT_OK, error, int_in, round_count, say_passed_over


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
    from ..core.blind import BLIND_ROUNDS  # deferred: PyTorch and OpenCV, only for irsde eval
    from ..core.device import DeviceError, pick_device
    from ..core.model import load_task_restorer
    from ..core.pipeline import is_blind
    from ..evaluation.evaluate import evaluate, format_table
    from ..evaluation.validation import load_kernels

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
    from ..core.model import load_restorer  # deferred: PyTorch
    from ..evaluation.evaluate import blind_deblur_method  # deferred: PyTorch

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
    from ..evaluation.evaluate import command_line  # deferred: PyTorch

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
        type=round_count,
        help="with --blind: deconvolution rounds for the rows it adds (default: what the app runs, "
        "8 for an estimated kernel and 5 for a known one; --steps sets the model's)",
    )
    e.add_argument("--json", help="also write the full results as JSON")
    e.add_argument("--name", help="name of this validation in the model card")
    e.add_argument("-q", "--quiet", action="store_true")
    e.set_defaults(func=cmd_eval)
