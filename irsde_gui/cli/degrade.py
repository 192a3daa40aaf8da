"""``irsde degrade``: a photo degraded as ``irsde eval`` degrades it."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..core.tasks import TASKS, get_task
from .common import EXIT_FAILED, EXIT_OK, error, int_in
from .eval import eval_presets_by_task


def cmd_degrade(args: argparse.Namespace) -> int:
    # deferred: the image libraries and PyTorch, only for irsde degrade
    from ..core.imageio import ImageReadError, ImageWriteError, encode_photo, read_photo, write_photo

    try:
        photo = read_photo(args.input)
        deg = get_task(args.task).degrade_for_eval(
            photo.rgb, args.seed, args.sigma, preset=args.degradation, quality=args.quality
        )
        write_photo(
            args.output,
            np.clip(deg.model_input, 0, 1),
            like=photo,
            alpha=photo.alpha if get_task(args.task).scale == 1 else None,  # no alpha fits a low-res photo
        )
        if deg.mask is not None:
            mask_path = Path(args.output).with_name(Path(args.output).stem + "_mask.png")
            from ..core.imageio import atomic_write_bytes  # deferred: the image libraries

            atomic_write_bytes(
                mask_path, encode_photo(np.repeat(deg.mask[..., None], 3, 2), "PNG", grey=True)
            )
            print(f"irsde: mask written to {mask_path}")
    except (ImageReadError, ImageWriteError, ValueError) as exc:
        error(str(exc))
        return EXIT_FAILED
    return EXIT_OK


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
