"""Measure the blind deblur route from two starts: its own blur estimate, and the deblur network.

The shipped route estimates the blur from the photo alone (a sparse-edged cartoon of it), then
refines it with the denoiser as the prior. On small crops that estimate can come out several
times too large, and the result falls below the blurred photo. The deblur network (not shipped:
alone it scores far under the route) gives another start: a kernel fitted to the network's
output, refined the same way. This tool runs both on each photo, and the rule "keep the one whose
refined kernel explains the photo's strongest edges better" (the lower fit residual; also with the
route's gentle result kept wherever the route doubts its own estimate), and prints each photo's
gains at the best shift (PSNR@SH) and a summary.

    irsde unpack training/deblur.pt --out /tmp/deblur_run
    irsde export /tmp/deblur_run --out /tmp/deblur_net.pt
    python tools/deblur_starts.py --network /tmp/deblur_net.pt --train DATA/train/bsds500_train --count 40
    python tools/deblur_starts.py --network /tmp/deblur_net.pt --eval DATA/val/cbsd68 \\
        --kernels DATA/kernels/levin09.npz --crop 256

Blurs for training photos come from our own blur mix (seeded), never from the benchmark.
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
from irsde_gui.evaluation.evaluate import load_cases
from irsde_gui.evaluation.validation import load_kernels, restore_array

SIGMA = 2.55 / 255.0


def kernel_fitted_to(y: np.ndarray, sharp: np.ndarray, ks: int = 31) -> np.ndarray:
    """The ``ks`` px kernel that maps ``sharp``'s strongest edges onto the blurred photo's, from
    a point, by the refinement's least squares."""
    _, blurred, inner = B.refine_window(y, ks)
    grads = B.strongest_in_window(B._middle(sharp, B.REFINE_SIDE), blurred.shape, inner, ks)
    k = B.kernel_least_squares(grads, B._grads(blurred), inner, ks, 20.0, start=B._delta(ks))
    return B.centre_kernel(B._prune(k))


def fit_residual(y: np.ndarray, kernel: np.ndarray, result: np.ndarray) -> float:
    """How much of the photo's strongest edges the kernel over the result leaves unexplained."""
    ks = kernel.shape[0]
    _, blurred, inner = B.refine_window(y, ks)
    grads = B.strongest_in_window(B._middle(result, B.REFINE_SIDE), blurred.shape, inner, ks)
    return B._fit_residual(grads, B._grads(blurred), inner, np.asarray(kernel, np.float64))


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
    ap.add_argument("--network", required=True, help="the deblur network's weights (irsde export)")
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
    prior = load_task_restorer("deblur")  # no deblur network installed: the denoiser, as the app
    network = load_task_restorer("deblur", args.network)
    rows = []
    for name, clean, y in cases(args):
        base = best_shift(y, clean)[0]
        job = create_job(task, prior, y, None, JobSettings(seed=0))
        own = job.run()  # the shipped route, its doubts and all
        sharp = restore_array(task, network, y, None, 1, 0)
        k_net = B.refine_kernel(y, kernel_fitted_to(y, sharp), job._denoise)
        started = create_job(task, prior, y, None, JobSettings(seed=0, estimated=k_net)).run()
        fit_own = fit_residual(y, job.kernel, own) if job.kernel is not None else 1.0
        gains = [best_shift(np.clip(a, 0, 1), clean)[0] - base for a in (own, started, sharp)]
        row = {"photo": name, "route": gains[0], "network start": gains[1], "network alone": gains[2]}
        row["lower fit"] = gains[1] if fit_residual(y, k_net, started) < fit_own else gains[0]
        # A photo whose own estimate the route doubts (too few edges) keeps the route's gentle result.
        row["lower fit, undoubted"] = gains[0] if job.doubt else row["lower fit"]
        rows.append(row)
        print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    print(f"\n{len(rows)} photos, gain over the blurred input at the best shift (PSNR@SH):")
    for key in ("route", "network start", "network alone", "lower fit", "lower fit, undoubted"):
        v = np.array([r[key] for r in rows])
        print(f"  {key:20s} mean {v.mean():+.2f} dB, {(v < 0).sum()} below their input, worst {v.min():+.2f}")


if __name__ == "__main__":
    main()
