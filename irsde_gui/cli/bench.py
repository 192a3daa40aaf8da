"""``irsde bench``: speed and memory of a task's model, and the app's event loop (``--gui``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.tasks import TASKS
from ..core.weights import WeightsError, find_weights
from .common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error, int_in, photo_sides


def cmd_bench(args: argparse.Namespace) -> int:
    import torch  # deferred: PyTorch and OpenCV, only for irsde bench

    from ..core.device import DeviceError, pick_device
    from ..evaluation.bench import bench, rows_to_json

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
    from ..app.ui.loop_bench import TICK_MS, event_loop_gaps  # deferred: Qt, only for --gui

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


def add_bench_command(sub) -> None:
    b = sub.add_parser("bench", help="time per step and peak memory of each task's network")
    b.add_argument("--device", default="auto")
    b.add_argument(
        "--sizes", type=photo_sides, default="256,512,1024", help="photo sides in px, comma-separated"
    )
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
