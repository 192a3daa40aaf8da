"""Dehaze: haze and fog, lifted with the contrast and colour they took.

Trains on haze as it lies on photos up to 4 times larger than a patch
(:func:`..degrade.dehaze_patches`); scored on haze over whole photos against the dark channel
prior.
"""

from __future__ import annotations

import numpy as np

from ..sdeconfig import SDEConfig
from .base import Degraded, EvalCase, Task, same_clean, to_batch, to_image


class Dehaze(Task):
    def training_mixes(self):
        from .. import degrade as D  # deferred: PyTorch loads after the app's window shows

        return {"standard": same_clean(D.dehaze_patches)}

    def eval_degradation(self, clean, g, case: EvalCase, given) -> Degraded:
        from .. import degrade as D  # deferred: PyTorch, as above

        y = to_image(D.dehaze(to_batch(clean), g))
        return Degraded(y, y)

    def classic(self, deg: Degraded, clean: np.ndarray | None = None) -> np.ndarray:
        from .. import classic  # deferred: OpenCV loads slowly

        return classic.dark_channel_prior(np.clip(deg.shown, 0, 1))


TASK = Dehaze(
    "dehaze",
    "Dehaze",
    "Lift haze and fog, bringing back contrast and colour",
    "mdi6.weather-fog",
    SDEConfig(T=100, max_sigma=30.0),
    fixes=("haze",),
    classic_name="dark channel prior",
)
