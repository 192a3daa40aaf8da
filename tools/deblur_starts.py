"""Measure the blind deblur route's two starts for the blur: its own estimate, and the deblur network.

The route estimates the blur from the photo alone (a sparse-edged cartoon of it), then refines it
with the denoiser as the prior. On small crops that estimate can come out several times too
large, and the result falls below the blurred photo. The deblur network's sharp guess gives
another start: a kernel fitted to it, refined the same way. The app runs that second start where
the refined estimate leaves much of the photo unexplained, and keeps whichever start explains the
photo better (``blind.second_start``). This tool scores, on each photo, the route with its first
start only, with the network's start only, the network alone (one step), and the route as the app
runs it, at the best shift (PSNR@SH), with a summary.

    python tools/deblur_starts.py --train DATA/train/bsds500_train --count 40
    python tools/deblur_starts.py --eval DATA/val/cbsd68 --kernels DATA/kernels/levin09.npz --crop 256

``--network`` defaults to the shipped helper (``weights/deblur_start.pt``). Blurs for training
photos come from our own blur mix (seeded), never from the benchmark.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from irsde_gui.core import blind as B
from irsde_gui.core import degrade as D
from irsde_gui.core.imageio import read_photo
from irsde_gui.core.metrics import best_shift
from irsde_gui.core.model import load_task_restorer
from irsde_gui.core.pipeline import JobSettings, create_job
from irsde_gui.core.tasks import TASKS
from irsde_gui.core.weights import find_weights
from irsde_gui.evaluation.evaluate import load_cases
from irsde_gui.evaluation.validation import load_kernels, restore_array

SIGMA = 2.55 / 255.0


def cases(args) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, clean, blurred) for each photo."""
    task = TASKS["deblur"]
    if args.eval:
        kernels = list(load_kernels(args.kernels).values())
        out = []
        for i, (name, clean, _) in enumerate(load_cases(task, args.eval, args.count, args.crop or None)):
            deg = task.degrade_for_eval(clean, i, 2.55, kernels[i % len(kernels)], None)
            out.append((name, clean, deg.model_input))
        return out
    files = sorted(p for p in Path(args.train).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    out = []
    for j in range(args.count):
        rng = np.random.default_rng(1000 + j)
        f = files[rng.integers(len(files))]
        clean = read_photo(f).rgb
        h, w = clean.shape[:2]
        if args.crop:
            y, x = rng.integers(0, h - args.crop + 1), rng.integers(0, w - args.crop + 1)
            clean = clean[y : y + args.crop, x : x + args.crop]
        k = D.random_kernels(rng, 1)[0].astype(np.float32)
        blurred = cv2.filter2D(clean, -1, k, borderType=cv2.BORDER_REFLECT)
        blurred = np.clip(blurred + rng.normal(0, SIGMA, blurred.shape).astype(np.float32), 0, 1)
        out.append((f"{f.name}#{j}", clean, blurred))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--network", help="the deblur network's weights (default: the shipped helper)")
    ap.add_argument("--train", help="a folder of sharp photos, blurred by our own blur mix")
    ap.add_argument("--eval", help="a benchmark folder, degraded as irsde eval does")
    ap.add_argument("--kernels", help="the benchmark's kernels (.npz), with --eval")
    ap.add_argument("--count", type=int, default=None, help="photos (default: all of --eval, 40 of --train)")
    ap.add_argument("--crop", type=int, default=256, help="crop side in px (0: whole photos)")
    args = ap.parse_args()
    if bool(args.train) == bool(args.eval) or (args.eval and not args.kernels):
        ap.error("give --train, or --eval with --kernels")
    if args.train and args.count is None:
        args.count = 40
    task = TASKS["deblur"]
    prior = load_task_restorer("deblur")  # no deblur model installed: the denoiser, as the app
    network = load_task_restorer("deblur", args.network or find_weights("deblur_start"))
    rows = []
    for name, clean, y in cases(args):
        base = best_shift(y, clean)[0]
        own = create_job(task, prior, y, None, JobSettings(seed=0, second_start=False))
        first = own.run()  # the route with its own start only, its doubts and all
        app = create_job(task, prior, y, None, JobSettings(seed=0))
        shipped = app.run()
        sharp = restore_array(task, network, y, None, 1, 0)
        ks = own.kernel.shape[0] if own.kernel is not None else min(31, (min(y.shape[:2]) // 2) | 1)
        k_net = B.refine_kernel(y, B.kernel_fitted_to(y, sharp, ks), own._denoise)
        started = create_job(task, prior, y, None, JobSettings(seed=0, estimated=k_net)).run()
        gains = [best_shift(np.clip(a, 0, 1), clean)[0] - base for a in (first, started, sharp, shipped)]
        row = dict(zip(COLUMNS, gains), photo=name, start=app.blur_start)
        rows.append(row)
        print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    print(f"\n{len(rows)} photos, gain over the blurred input at the best shift (PSNR@SH):")
    for key in COLUMNS:
        v = np.array([r[key] for r in rows])
        print(f"  {key:14s} mean {v.mean():+.2f} dB, {(v < 0).sum()} below their input, worst {v.min():+.2f}")
    print(f"  the app took the network's start on {sum(r['start'] == 'network' for r in rows)} photos")


COLUMNS = ("route's start", "network start", "network alone", "the app")


if __name__ == "__main__":
    main()
