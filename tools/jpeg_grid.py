"""Measure what finding a cropped JPEG's blocks buys (:mod:`irsde_gui.core.jpeggrid`).

Each photo is saved as a JPEG, then cropped by a random 1-7 px at its top and left (fixed seed),
as a screenshot or a crop kept as PNG would be; the installed model restores it with its blocks
found and moved back onto the grid, and with that turned off (seen off the grid).

    python tools/jpeg_grid.py --task denoise --data DATA/val/cbsd68 --quality 20 --limit 16
    python tools/jpeg_grid.py --task sr --data DATA/val/set14_x4 --quality 40 --limit 10

For ``sr``, ``--data`` holds ``*_LR`` / ``*_HR`` pairs (as ``irsde eval`` reads them): the small
photo is saved as the JPEG, and scored in Y against the large one cropped alike (4x the crop).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import cv2
import numpy as np
import torch

from irsde_gui.core import camera
from irsde_gui.core.jpeggrid import block_start
from irsde_gui.core.metrics import psnr, rgb_to_y
from irsde_gui.core.model import load_restorer
from irsde_gui.core.tasks import get_task
from irsde_gui.evaluation.evaluate import load_cases
from irsde_gui.evaluation.validation import restore_array


def saved_as_jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """``rgb`` saved as a JPEG at ``quality`` and read back (:func:`irsde_gui.core.camera.jpeg`)."""
    x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
    return camera.jpeg(x, [quality])[0].permute(1, 2, 0).numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=("denoise", "sr"), default="denoise")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--quality", type=int, default=20)
    ap.add_argument("--limit", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    task = get_task(args.task)
    off_grid = dataclasses.replace(task, jpeg_grid=False)
    restorer = load_restorer(args.task, device="cpu")
    scale = task.scale
    rng = np.random.default_rng(args.seed)
    rows = []
    print(f"{'photo':28s} crop  found   input  off grid  on grid")
    # (name, clean photo, the small photo x4 is given): the photo to save is the small one for x4.
    for i, (name, clean, small) in enumerate(load_cases(task, str(args.data), args.limit, None)):
        photo = small if scale > 1 else clean
        dy, dx = (int(v) for v in rng.integers(1, 8, 2))
        degraded = np.ascontiguousarray(saved_as_jpeg(photo, args.quality)[dy:, dx:])
        target = clean[scale * dy :, scale * dx :]

        def score(img: np.ndarray, target: np.ndarray = target) -> float:
            if scale == 1:
                return psnr(img, target)
            return psnr(rgb_to_y(img), rgb_to_y(target), border=scale)

        if scale == 1:
            shown = degraded
        else:
            size = (degraded.shape[1] * scale, degraded.shape[0] * scale)
            shown = cv2.resize(degraded, size, interpolation=cv2.INTER_CUBIC)
        row = (
            score(shown),
            score(restore_array(off_grid, restorer, degraded, None, 1, i)),
            score(restore_array(task, restorer, degraded, None, 1, i)),
        )
        rows.append(row)
        found = block_start(degraded)
        print(f"{name[:28]:28s} {dy},{dx}   {found[0]},{found[1]}   " + "  ".join(f"{v:7.3f}" for v in row))
    mean = np.mean(rows, axis=0)
    what = "bicubic" if scale > 1 else "input"
    print(f"mean over {len(rows)}: {what} {mean[0]:.3f}, off the grid {mean[1]:.3f}, ", end="")
    print(f"on the grid {mean[2]:.3f} dB")


if __name__ == "__main__":
    main()
