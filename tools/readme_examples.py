"""Before/after crops of the bundled example photos, restored with the shipped models, for the
README (the photos people bring: camera noise, a small photo from the web, a downpour, an object
removed) and docs/models.md (every example).

    python tools/readme_examples.py [--out docs/examples] [--listing-only]

``--listing-only`` restores nothing: it lists the crops already made on both pages.

Each task's degraded example (made by ``irsde degrade``, see resources/examples/degraded.json)
is restored at the model's default step count with seed 0 (the same as ``irsde restore``;
deblur without a deblur model is deblurred blind, as the app does);
the crop shows the degraded photo, the result and the clean original side by side.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import numpy as np

from irsde_gui.core import get_task, read_photo
from irsde_gui.core.imageio import atomic_write_bytes, encode_photo
from irsde_gui.core.model import load_task_restorer
from irsde_gui.core.pipeline import create_job, is_blind
from irsde_gui.core.tasks import DEFAULT_GROW, grow_mask
from irsde_gui.core.weights import WeightsError

# name -> (degraded photo, mask, clean original or None, crop (y, x, h, w)); the name's task is
# the part before any "-".
EXAMPLES = {
    "denoise": ("chelsea_noisy.png", None, "chelsea.png", (40, 150, 220, 220)),
    "denoise-camera": ("chelsea_camera.png", None, "chelsea.png", (40, 150, 220, 220)),
    "deblur": ("chelsea_blurry.png", None, "chelsea.png", (40, 150, 220, 220)),
    "derain": ("coffee_rainy.png", None, "coffee.png", (60, 200, 220, 220)),
    "derain-heavy": ("coffee_downpour.png", None, "coffee.png", (60, 200, 220, 220)),
    "sr": ("astronaut_small.png", None, "astronaut.png", (60, 160, 220, 220)),
    "sr-practical": ("astronaut_practical.png", None, "astronaut.png", (60, 160, 220, 220)),
    "inpaint": ("astronaut_holes.png", "astronaut_holes_mask.png", "astronaut.png", (0, 0, 220, 300)),
    # An object removed: nothing to compare with, so the photo is shown with the painted mask.
    "inpaint-object": ("coffee.png", "coffee_spoon_mask.png", None, (40, 250, 320, 240)),
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
    ap.add_argument("--docs", default="docs/models.md")
    ap.add_argument("--listing-only", action="store_true", help="restore nothing; list the crops made")
    args = ap.parse_args()
    ex, out = Path(args.examples), Path(args.out)
    if not args.listing_only:
        make_crops(ex, out)
    update_listing(Path(args.readme), out, README_EXAMPLES)
    update_listing(Path(args.docs), out, list(LABELS))


def make_crops(ex: Path, out: Path) -> None:
    """Restore every example as ``irsde restore`` would, and write its crop into ``out``."""
    for name, (degraded, mask_file, clean, (y, x, h, w)) in EXAMPLES.items():
        task = get_task(name.split("-")[0])
        try:
            restorer = load_task_restorer(task.name, device="cpu")
        except WeightsError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        photo = read_photo(ex / degraded)
        mask = read_photo(ex / mask_file).rgb.max(axis=2) if mask_file else None
        if mask is not None and clean is None:  # painted by hand, as the app grows it
            mask = grow_mask((mask > 0.5).astype(np.uint8) * 255, DEFAULT_GROW)
        result = create_job(task, restorer, photo.rgb, mask).run()
        ours = "blind deblur" if is_blind(task, restorer) else "IR-SDE Studio"
        truth = read_photo(ex / clean).rgb if clean else None
        size = result.shape[:2]
        before = cv2.resize(photo.rgb, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
        if truth is None:
            shown = before.copy()
            shown[mask > 127] = 0.5 * shown[mask > 127] + 0.5 * np.array([1.0, 0.2, 0.6])
            panels = ((shown, "painted"), (result, ours))
        else:
            panels = ((before, "degraded"), (result, ours), (truth, "original"))
        tiles = [
            label((np.clip(a[y : y + h, x : x + w], 0, 1) * 255 + 0.5).astype(np.uint8), t) for a, t in panels
        ]
        gap = np.full((h, 6, 3), 255, np.uint8)
        strip = np.hstack([t for tile in tiles for t in (tile, gap)][:-1])
        path = atomic_write_bytes(out / f"{name}.jpg", encode_photo(strip / 255.0, "JPEG", quality=90))
        print(f"{name}: {path}")


LABELS = {"denoise": "Denoise", "denoise-camera": "Denoise: a phone photo at high ISO (camera noise, JPEG)",
          "deblur": "Deblur", "derain": "Remove rain",
          "derain-heavy": "Remove rain: a downpour (streaks and veil)", "sr": "Upscale ×4",
          "sr-practical": "Upscale ×4: a small photo from the web (blur, noise, JPEG)",
          "inpaint": "Inpaint", "inpaint-object": "Inpaint: remove an object (the spoon, painted by hand)",
          "dehaze": "Dehaze"}  # fmt: skip


# The README shows the photos people bring; docs/models.md shows every example.
README_EXAMPLES = ["denoise-camera", "sr-practical", "derain-heavy", "inpaint-object"]
BEGIN, END = "<!-- examples:begin -->", "<!-- examples:end -->"


def listing(names: list[str], folder: Path, page: Path) -> str:
    """Markdown for the crops of ``names`` that exist in ``folder``, linked relative to ``page``."""
    where = Path(os.path.relpath(folder, page.parent)).as_posix()
    return "\n".join(
        f"**{LABELS[name]}**\\\n![{LABELS[name]}: before and after]({where}/{name}.jpg)\n"
        for name in names
        if (folder / f"{name}.jpg").is_file()
    )


def update_listing(page: Path, folder: Path, names: list[str]) -> None:
    """Write the listing of ``names`` between ``page``'s examples markers."""
    text = page.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{page} has no {BEGIN} ... {END} section")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    page.write_text(head + BEGIN + "\n" + listing(names, folder, page) + END + tail, encoding="utf-8")


if __name__ == "__main__":
    main()
