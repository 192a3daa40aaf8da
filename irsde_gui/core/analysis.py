"""Looking into a result: how sure the model is, and what it changed.

- :func:`uncertainty` restores the same photo with several seeds; the per-pixel
  spread of the results shows where the model is guessing (inpainted holes,
  fine texture) and where every seed agrees.
- :func:`residual` shows what the model removed (denoise, derain, deblur,
  dehaze: input minus result) or, for ×4 super-resolution, how far the result
  downscaled again is from the low-res input (a consistency check).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .model import Restorer
from .pipeline import JobSettings, RestoreJob
from .resize import downsample
from .tasks import Task


@dataclass
class Uncertainty:
    mean: np.ndarray  # float32 HxWx3: the average of the restorations
    std: np.ndarray  # float32 HxW: per-pixel standard deviation, averaged over channels
    seeds: list[int]

    def heatmap(self, scale: float | None = None) -> np.ndarray:
        """The spread as a uint8 RGB heat map (inferno: black where all seeds agree)."""
        top = scale or max(float(np.percentile(self.std, 99.5)), 1e-6)
        grey = (np.clip(self.std / top, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
        return cv2.cvtColor(cv2.applyColorMap(grey, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


def uncertainty_runs(
    task: Task,
    restorer: Restorer,
    rgb: np.ndarray,
    mask: np.ndarray | None,
    settings: JobSettings,
    seeds: list[int],
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Restore once per seed; yields ``(done, total, result)``. Closing the iterator cancels."""
    if len(seeds) < 2:
        raise ValueError("an uncertainty map needs at least two seeds")
    for i, seed in enumerate(seeds, start=1):
        job = RestoreJob(
            task,
            restorer,
            rgb,
            mask,
            settings.for_sub_job(steps=settings.steps, seed=seed),
        )
        yield i, len(seeds), job.run()


def uncertainty(
    task: Task,
    restorer: Restorer,
    rgb: np.ndarray,
    mask: np.ndarray | None = None,
    settings: JobSettings | None = None,
    seeds: list[int] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Uncertainty:
    """Mean and per-pixel spread of restorations with different seeds."""
    settings = settings or JobSettings()
    seeds = seeds or [0, 1, 2, 3]
    acc = SpreadAccumulator()
    for done, total, out in uncertainty_runs(task, restorer, rgb, mask, settings, seeds):
        acc.add(out, seeds[done - 1])
        if on_progress:
            on_progress(done, total)
    return acc.result()


class SpreadAccumulator:
    """Running mean and per-pixel spread of restorations as they arrive (Welford's method),
    so a caller that runs the seeds itself (the app, one run at a time) needs no list of images."""

    def __init__(self) -> None:
        self.n = 0
        self.seeds: list[int] = []
        self._mean: np.ndarray | None = None
        self._m2: np.ndarray | None = None

    def add(self, image: np.ndarray, seed: int) -> None:
        out = np.asarray(image, np.float64)
        self.n += 1
        self.seeds.append(int(seed))
        if self._mean is None:
            self._mean, self._m2 = out.copy(), np.zeros_like(out)
            return
        if out.shape != self._mean.shape:
            raise ValueError(f"restorations differ in size: {out.shape} vs {self._mean.shape}")
        delta = out - self._mean
        self._mean += delta / self.n
        self._m2 += delta * (out - self._mean)

    def result(self) -> Uncertainty:
        if self.n < 2 or self._mean is None or self._m2 is None:
            raise ValueError("an uncertainty map needs at least two restorations")
        std = np.sqrt(self._m2 / (self.n - 1)).mean(axis=2)
        return Uncertainty(self._mean.astype(np.float32), std.astype(np.float32), list(self.seeds))


def residual(task: Task, photo_rgb: np.ndarray, result: np.ndarray) -> np.ndarray:
    """What changed, as a signed float32 HxWx3 image (see the module docstring)."""
    if task.scale != 1:
        res = torch.from_numpy(np.ascontiguousarray(result.transpose(2, 0, 1)))[None]
        down = downsample(res, task.scale)[0].permute(1, 2, 0).numpy()
        h, w = min(down.shape[0], photo_rgb.shape[0]), min(down.shape[1], photo_rgb.shape[1])
        return (down[:h, :w] - photo_rgb[:h, :w]).astype(np.float32)
    return (photo_rgb - result).astype(np.float32)


def residual_image(diff: np.ndarray, gain: float | None = None) -> np.ndarray:
    """A signed difference shown around mid-grey (uint8 RGB), amplified to be visible."""
    g = gain or 0.5 / max(float(np.percentile(np.abs(diff), 99.5)), 1e-6)
    return (np.clip(0.5 + g * diff, 0, 1) * 255 + 0.5).astype(np.uint8)
