"""How real camera noise differs from the training's: its grain and colour, real against synthetic.

For real noisy/clean pairs, the noise (noisy - clean, its coarse part taken out: the shots a clean
photo is averaged from differ in brightness and framing) is described by the grain's strength
(std of the brightness, of 255), how alike neighbouring grain is (correlation at 1 and 2 px), the
colour noise's strength and its neighbour correlation, and the grain near black and near white
against the mid-tones' (how the camera's tone curve and noise reduction shape it). The same
clean photos then go through the camera chain (:func:`irsde_gui.core.camera.camera_noise`, at a
moderate ISO, saved as a good JPEG) as it is and with each of its camera processings, and the
medians are printed side by side: a processing that brings the synthetic numbers towards the
real ones aims at the real noise.

    python tools/noise_stats.py --pairs DATA/val/polyu_real_noise [--limit 40]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch

from irsde_gui.core import camera
from irsde_gui.core.imageio import read_photo
from irsde_gui.core.tasks.base import to_batch, to_image
from irsde_gui.evaluation.validation import pair_files

COARSE = 3.0  # px: the Gaussian whose blur of the noise is taken out as the shots' differences
VARIANTS = {
    "sensor chain": {},
    "grain sharpened": {"sharpen": 1.0},
    "colour faded": {"fade": 1.0},
    "colour noise reduced": {"colour_nr": True},
    "shaped by tone": {"shape": 1.0},
    "faded and shaped": {"fade": 1.0, "shape": 1.0},
}
# Clean brightness ranges for the grain's profile: near black, the mid-tones, near white.
DARK, MID, BRIGHT = (0.0, 0.125), (0.25, 0.625), (0.875, 1.0)


def _corr(a: np.ndarray, lag: int) -> float:
    return float(np.corrcoef(a[:, :-lag].ravel(), a[:, lag:].ravel())[0, 1])


def _grain_in(luma: np.ndarray, bright: np.ndarray, band: tuple[float, float]) -> float:
    m = (bright >= band[0]) & (bright < band[1])
    return float(luma[m].std()) if m.sum() >= 500 else float("nan")


def noise_stats(noise: np.ndarray, clean: np.ndarray) -> dict[str, float]:
    """The grain's and the colour noise's numbers for one photo's noise (HxWx3, 0-1), and the
    grain near black and near white against the mid-tones' (its clean photo's brightness)."""
    noise = noise.astype(np.float32)
    noise = noise - cv2.GaussianBlur(noise, (0, 0), COARSE)
    luma = noise.mean(axis=2)
    colour = noise - luma[..., None]
    bright = clean.mean(axis=2)
    mid = _grain_in(luma, bright, MID)
    return {
        "dark/mid": _grain_in(luma, bright, DARK) / mid,
        "bright/mid": _grain_in(luma, bright, BRIGHT) / mid,
        "grain": float(luma.std() * 255),
        "grain corr 1px": _corr(luma, 1),
        "grain corr 2px": _corr(luma, 2),
        "colour": float(colour.std() * 255),
        "colour corr 1px": _corr(colour[..., 0], 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", required=True, help="folder of noisy/ (or degraded/) and clean/ photos")
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--shot", type=float, nargs=2, default=(5e-4, 3e-3), help="sensor gains drawn")
    ap.add_argument("--jpeg", type=int, nargs=2, default=(85, 95), help="JPEG qualities drawn")
    args = ap.parse_args()
    torch.set_num_threads(1)
    shot, quality = tuple(args.shot), tuple(args.jpeg)
    rows: dict[str, list[dict[str, float]]] = {"real": [], **{k: [] for k in VARIANTS}}
    for i, (noisy_file, clean_file) in enumerate(pair_files(args.pairs)[: args.limit]):
        noisy, clean = read_photo(noisy_file).rgb, read_photo(clean_file).rgb
        rows["real"].append(noise_stats(noisy - clean, clean))
        x = to_batch(clean)
        for name, options in VARIANTS.items():
            g = torch.Generator().manual_seed(i)  # the same noise for every variant of a photo
            y = camera.camera_noise(x, g, shot, p_resize=0, jpeg_range=quality, p_jpeg=1, **options)
            rows[name].append(noise_stats(to_image(y) - clean, clean))
    keys = list(rows["real"][0])
    print(f"{'median of ' + str(len(rows['real'])) + ' photos':24}" + "".join(f"{k:>17}" for k in keys))
    for name, stats in rows.items():
        print(f"{name:24}" + "".join(f"{np.nanmedian([s[k] for s in stats]):17.3f}" for k in keys))


if __name__ == "__main__":
    main()
