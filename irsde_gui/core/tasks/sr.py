"""×4 super-resolution: ``mu`` is the low-res photo upsampled (bicubic, :meth:`Task.prepare`), so
the result is four times larger than the photo."""

from __future__ import annotations

from ..sdeconfig import SDEConfig
from .base import Task

TASK = Task(
    "sr",
    "Upscale ×4",
    "Four times the resolution, with detail instead of blur",
    "mdi6.resize",
    SDEConfig(T=100, max_sigma=30.0),
    scale=4,
    fixes=("size",),
)
