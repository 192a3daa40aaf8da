"""Which noise a denoiser leaves on real noisy/clean pairs: brightness and colour, fine to coarse.

The error against the clean photo (input, and the model's result) is split into luma and chroma
(YCbCr) and into three bands of scale: fine (under about 2 px), mid (2-8 px) and coarse; each
band's mean square (x 1e5) is printed, with the share the model leaves. ``--worst N`` also
prints the N photos the model gains least on, where what it leaves matters most.

    python tools/noise_bands.py --pairs DATA/val/polyu_real_noise [--weights W] [--worst 12]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch

from irsde_gui.core.model import load_restorer
from irsde_gui.core.tasks import get_task
from irsde_gui.evaluation.evaluate import load_cases
from irsde_gui.evaluation.validation import restore_array

YCC = np.array([[0.299, 0.587, 0.114], [-0.169, -0.331, 0.5], [0.5, -0.419, -0.081]], np.float32)
BANDS = ("luma fine", "luma mid", "luma coarse", "chroma fine", "chroma mid", "chroma coarse")


def band_energy(err: np.ndarray) -> np.ndarray:
    """Mean squares (x 1e5) of ``err`` (HxWx3) in the six bands of :data:`BANDS`."""
    ycc = err.astype(np.float32) @ YCC.T
    out = []
    for part in (ycc[..., 0], ycc[..., 1:]):
        fine_cut = cv2.GaussianBlur(part, (0, 0), 1.0)
        coarse = cv2.GaussianBlur(part, (0, 0), 4.0)
        out += [np.mean((part - fine_cut) ** 2), np.mean((fine_cut - coarse) ** 2), np.mean(coarse**2)]
    return np.array(out) * 1e5


def table(label: str, before: np.ndarray, after: np.ndarray) -> None:
    print(f"{label}")
    print("  " + " ".join(f"{b:>13s}" for b in ("", *BANDS)))
    print("  " + f"{'input':>13s}" + " ".join(f"{v:13.2f}" for v in before))
    print("  " + f"{'model':>13s}" + " ".join(f"{v:13.2f}" for v in after))
    left = (f"{100 * a / max(b, 1e-9):13.0f}" for a, b in zip(after, before))
    print("  " + f"{'left %':>13s}" + " ".join(left))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", required=True, help="DIR/noisy (or DIR/degraded) and DIR/clean")
    ap.add_argument("--weights", default=None, help="a denoise weights file (default: the installed one)")
    ap.add_argument("--worst", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    task = get_task("denoise")
    restorer = load_restorer("denoise", args.weights, "cpu")
    rows = []
    for i, (_name, clean, noisy) in enumerate(load_cases(task, args.pairs, args.limit, None, pairs=True)):
        out = restore_array(task, restorer, noisy, None, 1, i)
        gain = task.score(out, clean)["psnr"] - task.score(noisy, clean)["psnr"]
        rows.append((gain, band_energy(noisy - clean), band_energy(out - clean)))
    table(f"all {len(rows)} pairs", np.mean([r[1] for r in rows], 0), np.mean([r[2] for r in rows], 0))
    if args.worst:
        worst = sorted(rows, key=lambda r: r[0])[: args.worst]
        label = f"the {len(worst)} the model gains least on"
        table(label, np.mean([r[1] for r in worst], 0), np.mean([r[2] for r in worst], 0))


if __name__ == "__main__":
    main()
