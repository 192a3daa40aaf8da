"""Dehaze: haze and fog, lifted with the contrast and colour they took."""

from __future__ import annotations

from ..sdeconfig import SDEConfig
from .base import Task

TASK = Task(
    "dehaze",
    "Dehaze",
    "Lift haze and fog, bringing back contrast and colour",
    "mdi6.weather-fog",
    SDEConfig(T=100, max_sigma=30.0),
    fixes=("haze",),
)
