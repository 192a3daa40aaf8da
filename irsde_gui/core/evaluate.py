"""``irsde eval``: degrade clean photos with a fixed seed, restore them, and score the results.

For each image three rows are scored against the clean photo: the degraded
input, a classic method, and the model. Classic methods:

- denoise: OpenCV non-local means (strength set from the true sigma);
- deblur: Wiener deconvolution told the true kernel and noise level;
- derain: a median filter;
- sr: bicubic upsampling (which is also ``mu``);
- inpaint: OpenCV's Telea fast marching;
- dehaze: the dark channel prior (He et al. 2009) with a guided-filter refined transmission.

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
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from . import camera, holes, practical, rain
from . import degrade as D
from .blind import psf2otf
from .metrics import SHIFT_RULE, psnr, rgb_to_y, shifted_psnr, ssim
from .model import Restorer
from .pipeline import JobSettings, create_job, is_blind
from .runs import plural
from .tasks import Task

CLASSIC_NAMES = {
    "denoise": "non-local means (OpenCV)",
    "deblur": "Wiener (true kernel)",
    "derain": "median filter 5x5",
    "sr": "bicubic",
    "inpaint": "Telea (OpenCV)",
    "dehaze": "dark channel prior",
}
DEFAULT_SIGMA = {"denoise": 25.0, "deblur": 2.55}


@dataclass
class Degraded:
    """One validation case: what the user would give the app, and what it looks like at output size."""

    model_input: np.ndarray  # float HxWx3 (low-res for sr)
    shown: np.ndarray  # the degraded photo at the output size (bicubic for sr)
    mask: np.ndarray | None = None
    kernel: np.ndarray | None = None
    sigma: float = 0.0
    extra: dict = field(default_factory=dict)


def _t(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None].float()


def _n(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).contiguous().numpy()


# Named evaluation degradations beside each task's default ("" below): what ``irsde eval``'s
# --jpeg, --degradation (and later presets) select. Each is fixed by the case's seed.
PRESETS = {
    # "jpeg" with a quality: a clean photo saved as a poor JPEG, no noise; "camera": a phone's
    # high-ISO photo (camera.camera_noise at ISO 3200-12800 or so, saved as a JPEG)
    "denoise": ("jpeg", "camera"),
    "sr": ("practical",),  # blur, x4 bicubic, noise 3-8, JPEG 40-75 (practical.eval_lowres)
    "derain": (
        "heavy",
        "light",
    ),  # dense streaks at every depth plus their veil (rain.HEAVY); light: the default
    "inpaint": ("objects", "strokes"),  # 1-3 object-shaped blobs over 15-35 %; strokes: the default
}


CAMERA_SHOT = (4e-3, 1.2e-2)  # sensor gains of a phone at high ISO (see camera.SHOT_RANGE)


def degrade_for_eval(
    task: str,
    clean: np.ndarray,
    seed: int,
    sigma: float | None = None,
    kernel: np.ndarray | None = None,
    given: np.ndarray | None = None,
    preset: str | None = None,
    quality: int | None = None,
) -> Degraded:
    """The fixed-seed validation degradation of ``clean`` for ``task``; ``given`` is a degraded
    photo that came with it (sr's low-res image, a real noisy photo) and is used as it is.
    ``preset`` picks one of the task's :data:`PRESETS` (``quality``: the JPEG's)."""
    g = torch.Generator().manual_seed(seed)
    x = _t(clean)
    if preset is not None and preset not in PRESETS.get(task, ()):
        raise ValueError(f"no evaluation degradation {preset!r} for {task}")
    if sigma is None:
        sigma = DEFAULT_SIGMA.get(task, 0.0)
    if given is not None and task != "sr":
        return Degraded(given, given, extra={"real": True})
    if task == "denoise":
        if preset == "jpeg":
            y = _n(camera.jpeg(x, [quality or 20]))
            return Degraded(y, y, extra={"jpeg": quality or 20})
        if preset == "camera":
            y = _n(
                camera.camera_noise(x, g, shot_range=CAMERA_SHOT, p_resize=0, jpeg_range=(70, 92), p_jpeg=1)
            )
            return Degraded(y, y)
        y = _n(D.add_noise(x, sigma / 255.0, g))
        return Degraded(y, y, sigma=sigma)
    if task == "deblur":
        if kernel is None:
            kernel = D.random_kernels(np.random.default_rng(seed), 1)[0]
        y = _n(D.blur_with(x, kernel, sigma / 255.0, g))
        return Degraded(y, y, kernel=np.asarray(kernel, np.float32), sigma=sigma)
    if task == "derain":
        y = _n(rain.rain(x, g, rain.HEAVY)) if preset == "heavy" else _n(D.derain(x, g))
        return Degraded(y, y)
    if task == "sr":
        if preset == "practical":  # from the high-res photo, whatever low-res one came with it
            lr = _n(practical.eval_lowres(x, g))
        elif given is not None:
            lr = given
        else:
            lr = _n(D.downsample(x))
        up = _n(D.upsample(_t(lr)))
        return Degraded(lr, up)
    if task == "inpaint":
        rng = np.random.default_rng(seed)
        if preset == "objects":
            m = holes.object_mask(rng, clean.shape[0], clean.shape[1], 0.15, 0.35, count=(1, 3))
        else:
            m = D.free_form_mask(rng, clean.shape[0], clean.shape[1], 0.10, 0.30)
        shown = _n(D.apply_mask(x, torch.from_numpy(m)[None, None]))
        return Degraded(shown, shown, mask=m)
    if task == "dehaze":
        y = _n(D.dehaze(x, g))
        return Degraded(y, y)
    raise ValueError(f"unknown task {task!r}")


# ------------------------------------------------------------------ classic methods
def _u8(img: np.ndarray) -> np.ndarray:
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def wiener_deconvolve(img: np.ndarray, kernel: np.ndarray, sigma: float) -> np.ndarray:
    """Frequency-domain Wiener filter with a 1/f^2 image prior, on a reflect-padded image."""
    k = kernel / kernel.sum()
    pad = k.shape[0]
    h, w = img.shape[:2]
    big = cv2.copyMakeBorder(img.astype(np.float64), pad, pad, pad, pad, cv2.BORDER_REFLECT)
    H, W = big.shape[:2]
    K = psf2otf(k, (H, W))
    fy = np.fft.fftfreq(H)[:, None]
    fx = np.fft.fftfreq(W)[None, :]
    prior = 1.0 / np.maximum(fx**2 + fy**2, 1.0 / (H * W))
    nsr = max(sigma / 255.0, 1e-3) ** 2 / (prior * 2e-3)
    filt = np.conj(K) / (np.abs(K) ** 2 + nsr)
    out = np.stack([np.real(np.fft.ifft2(np.fft.fft2(big[..., c]) * filt)) for c in range(3)], axis=2)
    return np.clip(out[pad : pad + h, pad : pad + w], 0, 1).astype(np.float32)


def _guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    k = (2 * radius + 1, 2 * radius + 1)

    def box(a):
        return cv2.blur(a, k, borderType=cv2.BORDER_REFLECT)

    mg, ms = box(guide), box(src)
    cov = box(guide * src) - mg * ms
    var = box(guide * guide) - mg * mg
    a = cov / (var + eps)
    b = ms - a * mg
    return box(a) * guide + box(b)


def dark_channel_prior(img: np.ndarray, patch: int = 15, omega: float = 0.95, t0: float = 0.1) -> np.ndarray:
    """He, Sun and Tang's dehazing with a guided-filter refined transmission."""
    img = img.astype(np.float64)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (patch, patch))
    dark = cv2.erode(img.min(axis=2), kernel)
    n = max(1, dark.size // 1000)
    idx = np.argsort(dark.ravel())[-n:]
    airlight = img.reshape(-1, 3)[idx].max(axis=0).clip(0.05, 1)
    t = 1 - omega * cv2.erode((img / airlight).min(axis=2), kernel)
    grey = cv2.cvtColor(img.astype(np.float32), cv2.COLOR_RGB2GRAY).astype(np.float64)
    radius = max(8, min(img.shape[:2]) // 8)
    t = _guided_filter(grey, t, radius, 1e-3)
    out = (img - airlight) / np.maximum(t, t0)[..., None] + airlight
    return np.clip(out, 0, 1).astype(np.float32)


def non_local_means(img: np.ndarray, h: float) -> np.ndarray:
    out = cv2.fastNlMeansDenoisingColored(cv2.cvtColor(_u8(img), cv2.COLOR_RGB2BGR), None, h, h, 7, 21)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


NLM_STRENGTHS = (1.0, 2.0, 3.0, 4.5, 6.0, 8.0, 11.0, 15.0, 20.0, 28.0)


def best_non_local_means(img: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Non-local means at the strength that scores best on this photo (an oracle no user has:
    the fairest classic rival where the noise level is unknown). The score is unimodal in the
    strength, so a coarse search stops after the peak and then tries halfway to each neighbour."""
    scores: dict[float, tuple[float, np.ndarray]] = {}

    def at(h: float) -> float:
        if h not in scores:
            out = non_local_means(img, h)
            scores[h] = (psnr(out, clean), out)
        return scores[h][0]

    best = 0
    for i, h in enumerate(NLM_STRENGTHS):
        if at(h) >= at(NLM_STRENGTHS[best]):
            best = i
        elif i > best + 1:
            break
    for j in (best - 1, best + 1):
        if 0 <= j < len(NLM_STRENGTHS):
            at(round((NLM_STRENGTHS[best] + NLM_STRENGTHS[j]) / 2, 2))
    return max(scores.values(), key=lambda v: v[0])[1]


def navier_stokes(deg: Degraded) -> np.ndarray:
    assert deg.mask is not None
    out = cv2.inpaint(_u8(deg.shown), (deg.mask > 0.5).astype(np.uint8), 5, cv2.INPAINT_NS)
    return out.astype(np.float32) / 255.0


def classic(task: str, deg: Degraded, clean: np.ndarray | None = None) -> np.ndarray:
    """The classic method's result for one degraded image (``clean``: for an oracle's settings)."""
    if task == "denoise":
        if not deg.sigma:  # real noise or JPEG: no sigma to set it from
            assert clean is not None, "non-local means at its best strength needs the clean photo"
            return best_non_local_means(deg.shown, clean)
        return non_local_means(deg.shown, max(3.0, 0.6 * deg.sigma))  # 0.6 sigma: best on CBSD68
    if task == "deblur":
        assert deg.kernel is not None
        return wiener_deconvolve(deg.shown, deg.kernel, deg.sigma)
    if task == "derain":
        return cv2.medianBlur(_u8(deg.shown), 5).astype(np.float32) / 255.0
    if task == "sr":
        return np.clip(deg.shown, 0, 1).astype(np.float32)
    if task == "inpaint":
        assert deg.mask is not None
        out = cv2.inpaint(_u8(deg.shown), (deg.mask > 0.5).astype(np.uint8), 5, cv2.INPAINT_TELEA)
        return out.astype(np.float32) / 255.0
    if task == "dehaze":
        return dark_channel_prior(np.clip(deg.shown, 0, 1))
    raise ValueError(task)


def restore_array(
    task: Task,
    restorer: Restorer,
    model_input: np.ndarray,
    mask: np.ndarray | None,
    steps: int | None,
    seed: int = 0,
    sampler: str = "posterior",
) -> np.ndarray:
    """Run the model on one image exactly as the app does (same preparation, same sampler;
    deblur with the denoise model deblurs blind, as in the app)."""
    job = create_job(task, restorer, model_input, mask, JobSettings(steps=steps, sampler=sampler, seed=seed))
    return job.run()


def blind_deblur_method(
    denoiser: Restorer, rounds: int | None = None
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
    kernel); the labels say how many."""
    from .blind import BLIND_ROUNDS, KNOWN_ROUNDS, placed_as_estimated
    from .pipeline import BlindDeblurJob, JobSettings
    from .tasks import get_task

    task = get_task("deblur")
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
    task: str, folder: str, limit: int | None, crop: int | None, pairs: bool = False
) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(name, clean, given degraded photo or None) for each image of the folder: sr's
    ``*_LR``/``*_HR`` pairs give their low-res photo; with ``pairs`` the folder holds real
    degraded/clean pairs (``noisy/`` or ``degraded/``, and ``clean/``, matched by name)."""
    from .imageio import read_photo
    from .train import list_images, pair_files

    if pairs:
        cases = []
        for deg_file, clean_file in pair_files(folder)[:limit] if limit else pair_files(folder):
            deg, clean = read_photo(deg_file).rgb, read_photo(clean_file).rgb
            if deg.shape != clean.shape:
                raise ValueError(f"{deg_file}: its size differs from its clean photo {clean_file.name}")
            cases.append((deg_file.name, clean, deg))
        return _crop_cases(task, cases, crop, scale=1)
    files = list_images([folder])
    hr = [f for f in files if re.search(r"_HR\.\w+$", f.name)]
    cases = []
    if task == "sr" and hr:
        from .imageio import read_photo

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
    cases = _crop_cases(task, cases, crop, scale=4 if task == "sr" else 1)
    if task == "sr":
        cases = [(n, c[: c.shape[0] // 4 * 4, : c.shape[1] // 4 * 4], lr) for n, c, lr in cases]
    return cases


def _crop_cases(task: str, cases: list, crop: int | None, scale: int) -> list:
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


def score(task: str, out: np.ndarray, clean: np.ndarray) -> dict:
    out = np.clip(out, 0, 1)
    res = {"psnr": psnr(out, clean), "ssim": ssim(out, clean)}
    if task == "sr":
        yo, yc = rgb_to_y(out), rgb_to_y(clean)
        res["psnr_y"] = psnr(yo, yc, border=4)
        res["ssim_y"] = ssim(yo, yc, border=4)
    if task == "deblur":
        res["psnr_shifted"] = shifted_psnr(out, clean)
    return res


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
    and ``quality`` pick a named degradation (:data:`PRESETS`)."""
    methods = dict(methods or {})
    if task.name == "inpaint":  # the other classic fill, a second rival
        methods.setdefault("navier_stokes", ("Navier-Stokes (OpenCV)", navier_stokes))
    cases = load_cases(task.name, folder, limit, crop, pairs=pairs)
    if not cases:
        raise ValueError(f"no images to evaluate in {folder}")
    kernel_list = list(kernels.values()) if kernels else None
    rows: dict[str, list[dict]] = {"input": [], "classic": [], "model": [], **{k: [] for k in methods}}
    per_image = []
    for i, (name, clean, lr) in enumerate(cases):
        kernel = kernel_list[i % len(kernel_list)] if kernel_list else None
        deg = degrade_for_eval(task.name, clean, seed + i, sigma, kernel, lr, preset, quality)
        entry = {"image": name}
        began = time.perf_counter()
        entry["input"] = score(task.name, deg.shown, clean) | {"seconds": 0.0}
        began = time.perf_counter()
        c = classic(task.name, deg, clean)
        entry["classic"] = score(task.name, c, clean) | {"seconds": time.perf_counter() - began}
        if restorer is not None:
            began = time.perf_counter()
            out = restore_array(task, restorer, deg.model_input, deg.mask, steps, seed + i, sampler)
            entry["model"] = score(task.name, out, clean) | {"seconds": time.perf_counter() - began}
        for key, (_, method) in methods.items():
            began = time.perf_counter()
            out = method(deg)
            entry[key] = score(task.name, out, clean) | {"seconds": time.perf_counter() - began}
        for k in rows:
            if k in entry:
                rows[k].append(entry[k])
        per_image.append(entry)
        if progress:
            progress(i + 1, len(cases), entry)
    means = {k: {m: float(np.mean([r[m] for r in v])) for m in v[0]} for k, v in rows.items() if v}
    below = {}
    if task.name == "deblur":  # the photos each row leaves worse than they came, at the best shift
        below = {
            k: [e["image"] for e in per_image if k in e and e[k]["psnr_shifted"] < e["input"]["psnr_shifted"]]
            for k in rows
            if k != "input" and rows[k]
        }
    classic_name = CLASSIC_NAMES[task.name]
    if task.name == "denoise" and (pairs or preset == "jpeg"):
        classic_name = "non-local means (best strength per photo)"
    return {
        "task": task.name,
        "images": len(cases),
        "folder": str(folder),
        "degradation": "real pairs" if pairs else describe_preset(task.name, preset, quality, sigma),
        "mean": means,
        "per_image": per_image,
        "classic_method": classic_name,
        "method_names": {k: name for k, (name, _) in methods.items()},
        "model_method": "blind" if restorer is not None and is_blind(task, restorer) else "sde",
        "below_input": below,
    }


def format_table(result: dict, steps: int | None) -> str:
    task = result["task"]
    cols = ["psnr", "ssim", *{"sr": ["psnr_y", "ssim_y"], "deblur": ["psnr_shifted"]}.get(task, [])]
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
    if task == "deblur":
        lines.append(f"PSNR@SH: at the best shift ({SHIFT_RULE}; a blur hides where the photo sat)")
        for k, photos in result.get("below_input", {}).items():
            shown = ", ".join(photos[:8]) + (", ..." if len(photos) > 8 else "")
            lines.append(
                f"  below input: {names[k]}: {len(photos)} of {result['images']} photos below their input"
                " at PSNR@SH" + (f" ({shown})" if photos else "")
            )
    return "\n".join(lines)


def describe_preset(task: str, preset: str | None, quality: int | None, sigma: float | None) -> str:
    """The degradation scored, in words, for the table's title and the model card."""
    if preset == "jpeg":
        return f"JPEG quality {quality or 20}, no noise"
    if preset == "practical":
        return "practical x4 (blur, bicubic, noise 3-8, JPEG 40-75)"
    if preset == "camera":
        return "camera noise at high ISO, JPEG"
    if preset == "heavy":
        return "heavy rain (dense streaks at every depth, veil)"
    if preset == "objects":
        return "object-sized holes (1-3 blobs, 15-35 %)"
    if task in DEFAULT_SIGMA:
        return f"noise sigma {sigma if sigma is not None else DEFAULT_SIGMA[task]:g}"
    return ""


def command_line() -> str:
    """The `irsde eval` command that reproduces this run, however the CLI was started
    (console script, `python -m irsde_gui.cli`, or the module's path)."""
    return shlex.join(["irsde", *sys.argv[1:]])


def load_kernels(path: str | Path) -> dict[str, np.ndarray]:
    data = np.load(path)
    return {k: np.asarray(data[k], np.float32) for k in sorted(data.files)}
