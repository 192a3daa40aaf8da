"""Denoise: grain and sensor noise of any strength, and JPEG artefacts.

Trains on camera noise, white Gaussian noise and poor JPEGs (:func:`..degrade.denoise_camera_mix`);
scored by default on white Gaussian noise of sigma 25, or a phone's high-ISO photo ("camera"), or
a clean photo saved as a poor JPEG ("jpeg"), against OpenCV's non-local means.
"""

from __future__ import annotations

import numpy as np

from ..sdeconfig import SDEConfig
from .base import Degraded, EvalCase, Task, same_clean, to_batch, to_image

CAMERA_SHOT = (4e-3, 1.2e-2)  # sensor gains of a phone at high ISO (see camera.SHOT_RANGE)
JPEG_QUALITY = 20  # the "jpeg" preset's quality unless one is given


class Denoise(Task):
    def training_mixes(self):
        from .. import degrade as D  # deferred: PyTorch loads after the app's window shows

        return {
            "camera": D.denoise_camera_mix,
            "colour_nr": D.denoise_colour_nr_mix,
            "sharpened": D.denoise_sharpened_mix,
            "faded_colour": D.denoise_faded_colour_mix,
            "tone_shaped": D.denoise_tone_shaped_mix,
            "gaussian": same_clean(D.denoise),
        }

    def eval_degradation(self, clean, g, case: EvalCase, given) -> Degraded:
        """ "jpeg": a clean photo saved as a poor JPEG, no noise; "camera": a phone's high-ISO
        photo (camera noise at ISO 3200-12800 or so, saved as a JPEG); else Gaussian noise."""
        from .. import camera  # deferred: PyTorch, as above
        from .. import degrade as D

        x = to_batch(clean)
        if case.preset == "jpeg":
            y = to_image(camera.jpeg(x, [case.quality or JPEG_QUALITY]))
            return Degraded(y, y, extra={"jpeg": case.quality or JPEG_QUALITY})
        if case.preset == "camera":
            noisy = camera.camera_noise(
                x, g, shot_range=CAMERA_SHOT, p_resize=0, jpeg_range=(70, 92), p_jpeg=1
            )
            y = to_image(noisy)
            return Degraded(y, y)
        y = to_image(D.add_noise(x, case.sigma / 255.0, g))
        return Degraded(y, y, sigma=case.sigma)

    def describe_degradation(self, preset, quality, sigma) -> str:
        if preset == "jpeg":
            return f"JPEG quality {quality or JPEG_QUALITY}, no noise"
        if preset == "camera":
            return "camera noise at high ISO, JPEG"
        return super().describe_degradation(preset, quality, sigma)

    def classic(self, deg: Degraded, clean: np.ndarray | None = None) -> np.ndarray:
        """Non-local means at 0.6 sigma (best on CBSD68); where the noise has no sigma (real
        noise, JPEG), at the strength that scores best on the photo (an oracle no user has)."""
        from .. import classic  # deferred: OpenCV loads slowly

        if not deg.sigma:
            assert clean is not None, "non-local means at its best strength needs the clean photo"
            return classic.best_non_local_means(deg.shown, clean)
        return classic.non_local_means(deg.shown, max(3.0, 0.6 * deg.sigma))

    def classic_label(self, real: bool, preset: str | None) -> str:
        if real or preset == "jpeg":
            return "non-local means (best strength per photo)"
        return self.classic_name


TASK = Denoise(
    "denoise",
    "Denoise",
    "Camera noise, grain and JPEG artefacts",
    "mdi6.grain",
    SDEConfig(T=100, max_sigma=10.0),
    fixes=("noise", "jpeg"),
    eval_presets=("jpeg", "camera"),
    eval_sigma=25.0,
    classic_name="non-local means (OpenCV)",
    flip_average=True,
    jpeg_grid=True,
)
