"""Denoise: grain and sensor noise of any strength, and JPEG artefacts."""

from __future__ import annotations

from ..sdeconfig import SDEConfig
from .base import Task

TASK = Task(
    "denoise",
    "Denoise",
    "Remove grain and sensor noise (any strength)",
    "mdi6.grain",
    SDEConfig(T=100, max_sigma=10.0),
    fixes=("noise", "jpeg"),
)
