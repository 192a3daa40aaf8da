"""Before/after crops of the bundled example photos, restored with the shipped models, for the README.

    python tools/readme_examples.py [--out docs/examples]

Each task's degraded example (made by ``irsde degrade``, see resources/examples/degraded.json)
is restored at the model's default step count with seed 0 (the same as ``irsde restore``;
deblur without a deblur model is deblurred blind, as the app does);
the crop shows the degraded photo, the result and the clean original side by side.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from irsde_gui.core import get_task, read_photo
from irsde_gui.core.imageio import atomic_write_bytes, encode_photo
from irsde_gui.core.model import load_task_restorer
from irsde_gui.core.pipeline import create_job, is_blind
from irsde_gui.core.weights import WeightsError

EXAMPLES = {
    "denoise": ("chelsea_noisy.png", None, "chelsea.png", (40, 150, 220, 220)),
    "deblur": ("chelsea_blurry.png", None, "chelsea.png", (40, 150, 220, 220)),
    "derain": ("coffee_rainy.png", None, "coffee.png", (60, 200, 220, 220)),
    "sr": ("astronaut_small.png", None, "astronaut.png", (60, 160, 220, 220)),
    "inpaint": ("astronaut_holes.png", "astronaut_holes_mask.png", "astronaut.png", (0, 0, 220, 300)),
    "dehaze": ("coffee_hazy.png", None, "coffee.png", (40, 120, 300, 300)),
}


def label(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.rectangle(out, (0, 0), (8 + 9 * len(text), 22), (20, 20, 20), -1)
    cv2.putText(out, text, (5, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (240, 240, 240), 1, cv2.LINE_AA)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default="docs/examples")
    ap.add_argument("--examples", default="resources/examples")
    ap.add_argument("--readme", default="README.md")
    args = ap.parse_args()
    ex, out = Path(args.examples), Path(args.out)
    for name, (degraded, mask_file, clean, (y, x, h, w)) in EXAMPLES.items():
        task = get_task(name)
        try:
            restorer = load_task_restorer(name, device="cpu")
        except WeightsError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        photo = read_photo(ex / degraded)
        mask = read_photo(ex / mask_file).rgb.max(axis=2) if mask_file else None
        result = create_job(task, restorer, photo.rgb, mask).run()
        ours = "blind deblur" if is_blind(task, restorer) else "IR-SDE Studio"
        truth = read_photo(ex / clean).rgb
        before = cv2.resize(photo.rgb, (truth.shape[1], truth.shape[0]), interpolation=cv2.INTER_NEAREST)
        crops = [a[y : y + h, x : x + w] for a in (before, result, truth)]
        tiles = [
            label((np.clip(c, 0, 1) * 255 + 0.5).astype(np.uint8), t)
            for c, t in zip(crops, ("degraded", ours, "original"))
        ]
        gap = np.full((h, 6, 3), 255, np.uint8)
        strip = np.hstack([tiles[0], gap, tiles[1], gap, tiles[2]])
        path = atomic_write_bytes(out / f"{name}.jpg", encode_photo(strip / 255.0, "JPEG", quality=90))
        print(f"{name}: {path}")
    update_readme(Path(args.readme), out)


LABELS = {"denoise": "Denoise", "deblur": "Deblur", "derain": "Remove rain", "sr": "Upscale ×4",
          "inpaint": "Inpaint", "dehaze": "Dehaze"}  # fmt: skip


def update_readme(readme: Path, folder: Path) -> None:
    """List the crops that exist between the README's examples markers."""
    begin, end = "<!-- examples:begin -->", "<!-- examples:end -->"
    text = readme.read_text()
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    rows = [
        f"**{label}**\n\n![{label}: degraded, restored, original]({folder.as_posix()}/{task}.jpg)\n"
        for task, label in LABELS.items()
        if (folder / f"{task}.jpg").is_file()
    ]
    readme.write_text(head + begin + "\n" + "\n".join(rows) + end + tail)


if __name__ == "__main__":
    main()
