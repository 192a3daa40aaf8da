"""The cases a model is scored on: ``irsde eval`` and training's validation both list their
photos and restore them here, so a training curve and an eval table measure the same thing.

Each case is degraded by its task (:meth:`~irsde_gui.core.tasks.Task.degrade_for_eval`, a
default degradation or a named preset); the same seed always gives the same degraded photo.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..core.model import Restorer
from ..core.pipeline import JobSettings, create_job
from ..core.tasks import Task, get_task


def describe_preset(task: str | Task, preset: str | None, quality: int | None, sigma: float | None) -> str:
    """The degradation scored, in words, for the table's title and the model card."""
    t = get_task(task) if isinstance(task, str) else task
    return t.describe_degradation(preset, quality, sigma)


def restore_array(
    task: Task,
    restorer: Restorer,
    model_input: np.ndarray,
    mask: np.ndarray | None,
    steps: int | None,
    seed: int = 0,
    sampler: str = "posterior",
    pre_stage: bool = True,
) -> np.ndarray:
    """Run the model on one image exactly as the app does (same preparation, same sampler;
    deblur with the denoise model deblurs blind, as in the app); ``pre_stage=False`` scores the
    network alone, without the task's first stage, a wide hole's coarse passes or its region, or
    flip averaging."""
    alone = not pre_stage
    settings = JobSettings(
        steps=steps,
        sampler=sampler,
        seed=seed,
        pre_stage=not alone,
        coarse_to_fine=not alone,
        flip_average=False if alone else None,
        hole_region=not alone,
    )
    job = create_job(task, restorer, model_input, mask, settings)
    return job.run()


def load_kernels(path: str | Path) -> dict[str, np.ndarray]:
    data = np.load(path)
    return {k: np.asarray(data[k], np.float32) for k in sorted(data.files)}


# ------------------------------------------------------------------ photos and pairs on disk
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def list_images(folders: list[str]) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        p = Path(folder)
        if p.is_file():
            files.append(p)
            continue
        if not p.is_dir():
            raise FileNotFoundError(f"training data folder not found: {p}")
        files.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES))
    return files


def pair_files(folder: str | os.PathLike) -> list[tuple[Path, Path]]:
    """Degraded/clean pairs in ``folder``: ``noisy/`` (or ``degraded/``) and ``clean/``, matched by
    file name (extensions may differ)."""
    root = Path(folder)
    clean_dir = root / "clean"
    deg_dir = next((root / n for n in ("noisy", "degraded") if (root / n).is_dir()), None)
    if deg_dir is None or not clean_dir.is_dir():
        raise FileNotFoundError(f"{root}: expected the folders noisy/ (or degraded/) and clean/")
    clean = {f.stem: f for f in list_images([str(clean_dir)])}
    pairs = [(f, clean[f.stem]) for f in list_images([str(deg_dir)]) if f.stem in clean]
    if not pairs:
        raise FileNotFoundError(f"{root}: no file in {deg_dir.name}/ has a namesake in clean/")
    return pairs
