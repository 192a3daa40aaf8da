"""The fixed-seed degradations a model is scored on: ``irsde eval`` and training's
validation both draw their cases here, so a training curve and an eval table measure
the same thing.

Each task has a default degradation and may have named presets (:data:`PRESETS`);
the same seed always gives the same degraded photo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import camera, holes, practical, rain
from . import degrade as D
from .model import Restorer
from .pipeline import JobSettings, create_job
from .tasks import Task

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


def load_kernels(path: str | Path) -> dict[str, np.ndarray]:
    data = np.load(path)
    return {k: np.asarray(data[k], np.float32) for k in sorted(data.files)}
