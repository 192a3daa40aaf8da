"""Derain: rain streaks, from drizzle to downpour, and the veil they leave.

Trains on rain at several depths with its veil and splashes (:func:`..degrade.derain_mix`) or
lighter streaks ("light"). The veil a downpour leaves is more than the network lifts on whole
photos: where one remains (:func:`..classic.veil_level`), the dehaze model lifts it after.
Scored on light streaks by default, or heavy rain ("heavy": dense streaks at every depth plus
their veil), against a median filter.
"""

from __future__ import annotations

import numpy as np

from ..sdeconfig import SDEConfig
from .base import Degraded, EvalCase, Task, same_clean, to_batch, to_image

# Where the veil left on a derained photo starts to be lifted, and where it is lifted in full
# (:func:`..classic.veil_level`). Clear photos read 0-0.12 (97 % of 790), heavy rain's veil after
# the network 0.10-0.38; the dehaze model on a clear photo costs it 7-17 dB, so the stage starts
# above nearly every clear photo.
VEIL_FROM, VEIL_FULL = 0.14, 0.20


class Derain(Task):
    def follow_up_strength(self, result: np.ndarray) -> float:
        from .. import classic  # deferred: OpenCV loads slowly

        return float(np.clip((classic.veil_level(result) - VEIL_FROM) / (VEIL_FULL - VEIL_FROM), 0, 1))

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
    "Erase rain streaks, and the veil a downpour leaves",
    "mdi6.weather-pouring",
    SDEConfig(T=100, max_sigma=10.0),
    eval_presets=("heavy", "light"),
    classic_name="median filter 5x5",
    follow_up="dehaze",
    follow_up_label="veil lifted",
)
