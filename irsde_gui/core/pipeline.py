"""One restoration of one photo, step by step: shared by the CLI, the app and the library.

:class:`RestoreJob` prepares ``mu`` for the task, chooses tiling, runs the
sampler generator and turns its tensors back into images. Iterating
:meth:`RestoreJob.steps` gives one :class:`~irsde_gui.core.sampler.StepRecord`
per network call; closing that iterator cancels the run.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .device import available_memory
from .model import Restorer
from .sampler import StepRecord, sample
from .tasks import Prepared, Task
from .tiling import MIN_TILE, TiledPredictor, auto_tile_size


def to_tensor(rgb: np.ndarray, device: torch.device) -> torch.Tensor:
    """HxWx3 float array -> 1x3xHxW float32 tensor on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None].to(device)


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """1x3xHxW tensor -> HxWx3 float32 array (a copy, on the CPU)."""
    return x[0].detach().float().cpu().permute(1, 2, 0).contiguous().numpy()


def to_uint8(x: torch.Tensor, max_side: int | None = None) -> np.ndarray:
    """A display frame: HxWx3 uint8, optionally shrunk so its longer side is ``max_side``."""
    img = to_numpy(x.clamp(0, 1))
    h, w = img.shape[:2]
    if max_side and max(h, w) > max_side:
        s = max_side / max(h, w)
        img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return (img * 255.0 + 0.5).astype(np.uint8)


@dataclass
class JobSettings:
    steps: int | None = None  # None: the task's (or model card's) default
    sampler: str = "posterior"
    seed: int | None = 0
    tile: int | None = None  # None: automatic from free memory; 0: never tile
    tile_overlap: int = 32


class RestoreJob:
    """Restore one photo (float32 HxWx3 in [0, 1]) with one task and one restorer."""

    def __init__(
        self,
        task: Task,
        restorer: Restorer,
        rgb: np.ndarray,
        mask: np.ndarray | None = None,
        settings: JobSettings | None = None,
        on_tile: Callable[[int, int], None] | None = None,
        on_shrink: Callable[[int], None] | None = None,
    ):
        self.task = task
        self.restorer = restorer
        self.settings = settings or JobSettings()
        card = restorer.weights.card if restorer.weights else None
        default = (card.default_steps if card and card.default_steps else None) or task.default_steps
        self.steps = int(self.settings.steps or default)
        if not 1 <= self.steps <= restorer.sde.T:
            raise ValueError(f"steps must be between 1 and {restorer.sde.T}, got {self.steps}")
        self.prepared: Prepared = task.prepare(rgb, mask)
        h, w = self.prepared.mu.shape[:2]
        self.height, self.width = h, w
        tile = self.settings.tile
        if tile is None:
            tile = auto_tile_size(h, w, restorer.bytes_per_pixel, available_memory(restorer.device.device))
        self.predict = restorer
        if tile != 0 or self.settings.tile is None:
            # Even a photo that fits whole goes through the tiler, so that running out of
            # memory retries the step with smaller tiles instead of failing the run.
            whole = -(-max(h, w) // 16) * 16
            self.predict = TiledPredictor(
                restorer,
                max(tile or whole, MIN_TILE),
                self.settings.tile_overlap,
                multiple=restorer.multiple,
                on_tile=on_tile,
                on_shrink=on_shrink,
            )
        self.result: np.ndarray | None = None
        seed = self.settings.seed
        self.seed = int(seed) if seed is not None else secrets.randbelow(2**31)

    @property
    def tile(self) -> int | None:
        """The tile size in use, or None while the photo is processed whole."""
        p = self.predict
        if isinstance(p, TiledPredictor) and p.count(self.height, self.width) > 1:
            return p.tile
        return None

    @property
    def tiles(self) -> int:
        return self.predict.count(self.height, self.width) if isinstance(self.predict, TiledPredictor) else 1

    def steps_iter(self) -> Iterator[StepRecord]:
        """The sampler generator; sets :attr:`result` when it runs to the end."""
        mu = to_tensor(self.prepared.mu, self.restorer.device.device)
        gen = sample(self.predict, self.restorer.sde, mu, self.steps, self.settings.sampler, self.seed)
        try:
            last = None
            for last in gen:
                yield last
            if last is not None:
                self.result = self.finish(last.x_t)
        finally:
            gen.close()
            del mu

    def finish(self, x: torch.Tensor) -> np.ndarray:
        """The final image from a state or an estimate (clipped; inpaint keeps known pixels)."""
        return self.task.finish(to_numpy(x), self.prepared)

    def run(self) -> np.ndarray:
        for _ in self.steps_iter():
            pass
        assert self.result is not None
        return self.result
