"""``irsde eval``: degrade clean photos with a fixed seed, restore them, and score the results.

For each image three rows are scored against the clean photo: the degraded
input (:mod:`.validation`), a classic method (:mod:`.classic`), and the model.

Scores are PSNR and SSIM on RGB; for ``sr`` also on the Y channel with a
4-pixel border crop, the field's convention. ``sr`` uses ``*_LR``/``*_HR``
pairs when the folder has them. ``deblur`` also reports PSNR at the best
shift (``psnr_shifted``, :func:`.metrics.best_shift`: within 5 px in 0.25 px
steps, a 15 px border left out), as Levin et al. score blind deblurring: a blur
moves the photo by an amount the blurred photo does not reveal. Each row then
names the photos it leaves below their own blurred input at that score.
``--blind`` adds two deblur rows for :mod:`.blind`: the kernel estimated from the
blurred photo, then deconvolution with the denoise model as the prior; and the
same deconvolution told the true kernel (what the estimate costs).
"""

from __future__ import annotations

import re
import shlex
import sys
import time
from collections.abc import Callable

import numpy as np

from ..core.blind import BLIND_ROUNDS, KNOWN_ROUNDS, placed_as_estimated
from ..core.imageio import read_photo
from ..core.metrics import SHIFT_RULE
from ..core.model import Restorer
from ..core.pipeline import BlindDeblurJob, JobSettings, is_blind
from ..core.runs import plural
from ..core.tasks import TASKS, Degraded, Task
from .validation import describe_preset, list_images, pair_files, restore_array


def blind_deblur_method(
    denoiser: Restorer, rounds: int | None = None, task: Task | None = None
) -> dict[str, tuple[str, Callable[[Degraded], np.ndarray]]]:
    """Three extra deblur rows. ``blind``: the kernel estimated from the blurred photo alone,
    then plug-and-play deconvolution with ``denoiser`` (the denoise model, one step a round)
    as the prior; told neither the kernel nor the noise level. It is the app's own route
    (:class:`~irsde_gui.core.pipeline.BlindDeblurJob`). ``told``: the same deconvolution
    told the true kernel, which puts the photo where it sat; the gap between the two rows
    is what estimating the kernel (its shape, and where it puts the photo) costs.
    ``placed``: told the true kernel's shape, but placed as the app places an estimate
    (:func:`.blind.placed_as_estimated`): what the placement alone costs, the ceiling of
    any estimate placed that way.

    Each row runs ``rounds`` rounds, or by default what the app runs for it
    (:data:`.blind.BLIND_ROUNDS` for an estimate, :data:`.blind.KNOWN_ROUNDS` for a known
    kernel); the labels say how many. ``task``: the task whose deconvolution route runs them
    (by default the first with one: deblur)."""
    task = task or next(t for t in TASKS.values() if t.takes_blur)
    estimated, known = (rounds, rounds) if rounds else (BLIND_ROUNDS, KNOWN_ROUNDS)

    def run(deg: Degraded) -> np.ndarray:
        return BlindDeblurJob(task, denoiser, deg.model_input, settings=JobSettings(steps=estimated)).run()

    def told(deg: Degraded, kernel: np.ndarray | None = None) -> np.ndarray:
        settings = JobSettings(steps=known, kernel=deg.kernel if kernel is None else kernel)
        return BlindDeblurJob(task, denoiser, deg.model_input, settings=settings).run()

    def placed(deg: Degraded) -> np.ndarray:
        assert deg.kernel is not None
        return told(deg, placed_as_estimated(deg.kernel))

    return {
        "blind": (f"kernel estimate + PnP (denoise, {estimated} rounds)", run),
        "told": (f"PnP (denoise, {known} rounds), told the kernel", told),
        "placed": (
            f"PnP (denoise, {known} rounds), told the kernel's shape, placed as estimates are",
            placed,
        ),
    }


# ------------------------------------------------------------------ the harness
def load_cases(
    task: Task, folder: str, limit: int | None, crop: int | None, pairs: bool = False
) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(name, clean, given degraded photo or None) for each image of the folder: for a task with
    a :attr:`~.tasks.Task.scale` (sr), ``*_LR``/``*_HR`` pairs give their low-res photo, and
    clean photos are cropped to a multiple of the scale; with ``pairs`` the folder holds real
    degraded/clean pairs (``noisy/`` or ``degraded/``, and ``clean/``, matched by name)."""
    if pairs:
        cases = []
        for deg_file, clean_file in pair_files(folder)[:limit] if limit else pair_files(folder):
            deg, clean = read_photo(deg_file).rgb, read_photo(clean_file).rgb
            if deg.shape != clean.shape:
                raise ValueError(f"{deg_file}: its size differs from its clean photo {clean_file.name}")
            cases.append((deg_file.name, clean, deg))
        return _crop_cases(cases, crop, scale=1)
    files = list_images([folder])
    hr = [f for f in files if re.search(r"_HR\.\w+$", f.name)]
    cases = []
    scale = task.scale
    if scale > 1 and hr:
        for f in hr:
            lr_path = next(iter(f.parent.glob(re.sub(r"_HR(\.\w+)$", r"_LR.*", f.name))), None)
            if lr_path is None:
                continue
            cases.append((f.name, read_photo(f).rgb, read_photo(lr_path).rgb))
    else:
        for f in files:
            if re.search(r"_LR\.\w+$", f.name):
                continue
            cases.append((f.name, read_photo(f).rgb, None))
    cases = cases[:limit] if limit else cases
    cases = _crop_cases(cases, crop, scale)
    if scale > 1:
        cases = [
            (n, c[: c.shape[0] // scale * scale, : c.shape[1] // scale * scale], lr) for n, c, lr in cases
        ]
    return cases


def _crop_cases(cases: list, crop: int | None, scale: int) -> list:
    """Centre crops of at most ``crop`` px; a given degraded photo is cropped alike (at 1/scale)."""
    if not crop:
        return cases
    out = []
    for name, clean, given in cases:
        h, w = clean.shape[:2]
        ch, cw = min(h, crop) // scale * scale, min(w, crop) // scale * scale
        y, x = ((h - ch) // 2) // scale * scale, ((w - cw) // 2) // scale * scale
        c = clean[y : y + ch, x : x + cw]
        low = (
            given[y // scale : (y + ch) // scale, x // scale : (x + cw) // scale]
            if given is not None
            else None
        )
        out.append((name, c, low))
    return out


def evaluate(
    task: Task,
    restorer: Restorer | None,
    folder: str,
    steps: int | None = None,
    sigma: float | None = None,
    kernels: dict[str, np.ndarray] | None = None,
    limit: int | None = None,
    crop: int | None = None,
    seed: int = 0,
    sampler: str = "posterior",
    progress=None,
    methods: dict[str, tuple[str, Callable[[Degraded], np.ndarray]]] | None = None,
    *,
    pairs: bool = False,
    preset: str | None = None,
    quality: int | None = None,
) -> dict:
    """Score input, classic method and model on every image; returns per-image and mean rows.

    ``methods`` adds rows: key -> (name shown in the table, restore function of a case).
    ``pairs``: ``folder`` holds real degraded/clean pairs (see :func:`load_cases`); ``preset``
    and ``quality`` pick a named degradation (``Task.eval_presets``). The task's
    :meth:`~.tasks.Task.rivals` add their rows too."""
    methods = task.rivals() | dict(methods or {})
    cases = load_cases(task, folder, limit, crop, pairs=pairs)
    if not cases:
        raise ValueError(f"no images to evaluate in {folder}")
    kernel_list = list(kernels.values()) if kernels else None
    rows: dict[str, list[dict]] = {"input": [], "classic": [], "model": [], **{k: [] for k in methods}}
    per_image = []
    for i, (name, clean, lr) in enumerate(cases):
        kernel = kernel_list[i % len(kernel_list)] if kernel_list else None
        deg = task.degrade_for_eval(clean, seed + i, sigma, kernel, lr, preset, quality)
        entry = {"image": name}
        began = time.perf_counter()
        entry["input"] = task.score(deg.shown, clean) | {"seconds": 0.0}
        began = time.perf_counter()
        c = task.classic(deg, clean)
        entry["classic"] = task.score(c, clean) | {"seconds": time.perf_counter() - began}
        if restorer is not None:
            began = time.perf_counter()
            out = restore_array(task, restorer, deg.model_input, deg.mask, steps, seed + i, sampler)
            entry["model"] = task.score(out, clean) | {"seconds": time.perf_counter() - began}
        for key, (_, method) in methods.items():
            began = time.perf_counter()
            out = method(deg)
            entry[key] = task.score(out, clean) | {"seconds": time.perf_counter() - began}
        for k in rows:
            if k in entry:
                rows[k].append(entry[k])
        per_image.append(entry)
        if progress:
            progress(i + 1, len(cases), entry)
    means = {k: {m: float(np.mean([r[m] for r in v])) for m in v[0]} for k, v in rows.items() if v}
    below = {}
    if "psnr_shifted" in task.extra_metrics:  # the photos each row leaves worse than they came
        below = {
            k: [e["image"] for e in per_image if k in e and e[k]["psnr_shifted"] < e["input"]["psnr_shifted"]]
            for k in rows
            if k != "input" and rows[k]
        }
    return {
        "task": task.name,
        "images": len(cases),
        "folder": str(folder),
        "degradation": "real pairs" if pairs else describe_preset(task, preset, quality, sigma),
        "mean": means,
        "per_image": per_image,
        "classic_method": task.classic_label(pairs, preset),
        "method_names": {k: name for k, (name, _) in methods.items()},
        "model_method": "blind" if restorer is not None and is_blind(task, restorer) else "sde",
        "below_input": below,
    }


def format_table(result: dict, steps: int | None) -> str:
    task = result["task"]
    scored = TASKS.get(task)  # a saved result may be of a task no longer offered
    cols = ["psnr", "ssim", *(scored.extra_metrics if scored else ())]
    label = {"psnr_shifted": "PSNR@SH"}
    names = {
        "input": "degraded input",
        "classic": result["classic_method"],
        "model": f"blind deblur ({plural(steps, 'round')})"
        if result.get("model_method") == "blind"
        else f"IR-SDE ({plural(steps, 'step')})",
        **result.get("method_names", {}),
    }
    width = max(34, *(len(names[k]) + 2 for k in result["mean"]))  # the longest method's name
    values = "".join(f"{label.get(c, c.upper()):>9s}" for c in cols)
    head = f"{'method':{width}s}{values}{'s/image':>9s}"
    what = f", {result['degradation']}" if result.get("degradation") else ""
    lines = [f"{task}: {result['images']} images from {result['folder']}{what}", head, "-" * len(head)]
    for k, m in result["mean"].items():
        lines.append(
            f"{names[k]:{width}s}"
            + "".join(f"{m[c]:9.3f}" if "ssim" in c else f"{m[c]:9.2f}" for c in cols)
            + f"{m['seconds']:9.2f}"
        )
    if "psnr_shifted" in cols:
        lines.append(f"PSNR@SH: at the best shift ({SHIFT_RULE}; a blur hides where the photo sat)")
        for k, photos in result.get("below_input", {}).items():
            shown = ", ".join(photos[:8]) + (", ..." if len(photos) > 8 else "")
            lines.append(
                f"  below input: {names[k]}: {len(photos)} of {result['images']} photos below their input"
                " at PSNR@SH" + (f" ({shown})" if photos else "")
            )
    return "\n".join(lines)


def command_line() -> str:
    """The `irsde eval` command that reproduces this run, however the CLI was started
    (console script, `python -m irsde_gui.cli`, or the module's path)."""
    return shlex.join(["irsde", *sys.argv[1:]])
