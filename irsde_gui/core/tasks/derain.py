"""Derain: rain streaks, from drizzle to downpour, and the veil they leave.

Heavy rain is ``O = t (B + S) + (1 - t) A``: streaks ``S`` on the scene ``B``, under a veil of
scattered light. Where the photo reads a veil (:func:`..classic.veil_level`), the dehaze model
lifts it first, leaving ``B + S``; then the network erases the streaks. The shipped network is an
ensemble (:class:`..nets.EnsembleNet`) of one network trained on light streaks and one on
downpours (:func:`..degrade.derain_mix`: streaks at several depths, veil, splashes, JPEG); the
more veil, the more the downpour network has its say. Scored on light streaks by default, or on
heavy rain ("heavy": dense streaks at every depth plus their veil), against a median filter.
"""

from __future__ import annotations

import numpy as np

from ..sdeconfig import SDEConfig
from .base import Degraded, EvalCase, Task, same_clean, to_batch, to_image

# Where the veil on a rainy photo starts to be lifted before the streaks are erased, and where
# it is lifted in full (:func:`..classic.veil_level`). Clear photos read 0-0.12 (97 % of 790),
# heavy rain 0.13-0.39; the dehaze model on a clear photo costs it 7-17 dB, so the stage starts
# above nearly every clear photo.
VEIL_FROM, VEIL_FULL = 0.14, 0.20


class Derain(Task):
    def pre_stage_strength(self, rgb: np.ndarray) -> float:
        from .. import classic  # deferred: OpenCV loads slowly

        return float(np.clip((classic.veil_level(rgb) - VEIL_FROM) / (VEIL_FULL - VEIL_FROM), 0, 1))

    def ensemble_mix(self, strength: float) -> float:
        """Half each on a photo without a veil (light rain, or dense streaks alone: the mean kept
        light rain within 0.2 dB of the light-rain network and gained 1.2-1.3 dB on dense streaks),
        all the downpour network's under a full veil."""
        return 0.5 + 0.5 * float(np.clip(strength, 0.0, 1.0))

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
    pre_stage="dehaze",
    pre_stage_label="veil lifted",
)
