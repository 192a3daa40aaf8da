"""Derain: rain streaks, from drizzle to downpour, and the veil they leave."""

from __future__ import annotations

from ..sdeconfig import SDEConfig
from .base import Task

TASK = Task(
    "derain",
    "Remove rain",
    "Erase rain streaks from photos taken in the rain",
    "mdi6.weather-pouring",
    SDEConfig(T=100, max_sigma=10.0),
)
