"""Derain: rain streaks, from drizzle to downpour, and the veil they leave.

Trains on rain at several depths with its veil and splashes (:func:`..degrade.derain_mix`) or
lighter streaks ("light"); scored on light streaks by default, or heavy rain ("heavy": dense
streaks at every depth plus their veil), against a median filter.
"""

from __future__ import annotations

import numpy as np

from ..sdeconfig import SDEConfig
from .base import Degraded, EvalCase, Task, same_clean, to_batch, to_image


class Derain(Task):
    def training_mixes(self):
        from .. import degrade as D  # deferred: PyTorch loads after the app's window shows

        return {"rain": D.derain_mix, "light": same_clean(D.derain)}

    def eval_degradation(self, clean, g, case: EvalCase, given) -> Degraded:
        from .. import degrade as D  # deferred: PyTorch, as above
        from .. import rain

        x = to_batch(clean)
        y = to_image(rain.rain(x, g, rain.HEAVY) if case.preset == "heavy" else D.derain(x, g))
        return Degraded(y, y)

    def describe_degradation(self, preset, quality, sigma) -> str:
        if preset == "heavy":
            return "heavy rain (dense streaks at every depth, veil)"
        return super().describe_degradation(preset, quality, sigma)

    def classic(self, deg: Degraded, clean: np.ndarray | None = None) -> np.ndarray:
        from .. import classic  # deferred: OpenCV loads slowly

        return classic.median_filter(deg.shown, 5)


TASK = Derain(
    "derain",
    "Remove rain",
    "Erase rain streaks from photos taken in the rain",
    "mdi6.weather-pouring",
    SDEConfig(T=100, max_sigma=10.0),
    eval_presets=("heavy", "light"),
    classic_name="median filter 5x5",
)
