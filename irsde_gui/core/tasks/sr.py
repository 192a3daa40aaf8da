"""×4 super-resolution: ``mu`` is the low-res photo upsampled (bicubic, :meth:`Task.prepare`), so
the result is four times larger than the photo.

Trains on small photos as people have them (:func:`..degrade.sr_practical_mix`) or clean bicubic
shrinks ("bicubic"); scored on bicubic shrinks (or a folder's ``*_LR`` photos), or "practical"
ones (slight blur, x4 bicubic, noise 3-8, JPEG 40-75), against bicubic upsampling, also on the
Y channel with a 4-pixel border left out, the field's convention. The shipped network is an
ensemble (:class:`..nets.EnsembleNet`; its card gives the mix) of the clean-bicubic network and a
network trained on small photos as people have them, which works at the small photo's own size:
better on the latter than either alone, and holding the clean floor on clean shrinks.
"""

from __future__ import annotations

import numpy as np

from ..sdeconfig import SDEConfig
from .base import Degraded, EvalCase, Task, same_clean, to_batch, to_image


class Upscale(Task):
    def training_mixes(self):
        from .. import degrade as D  # deferred: PyTorch loads after the app's window shows

        return {
            "practical": D.sr_practical_mix,
            "photos": D.sr_photos_mix,
            "web": D.sr_web_mix,
            "bicubic": same_clean(D.sr),
        }

    def eval_degradation(self, clean, g, case: EvalCase, given) -> Degraded:
        """The low-res photo (a given one unless the preset makes its own) and its bicubic
        upsampling, which is what the table shows as the input."""
        from .. import practical  # deferred: PyTorch, as above
        from ..resize import downsample, upsample

        x = to_batch(clean)
        if case.preset == "practical":  # from the high-res photo, whatever low-res one came with it
            lr = to_image(practical.eval_lowres(x, g))
        elif given is not None:
            lr = given
        else:
            lr = to_image(downsample(x, self.scale))
        return Degraded(lr, to_image(upsample(to_batch(lr), self.scale)))

    def describe_degradation(self, preset, quality, sigma) -> str:
        if preset == "practical":
            return "practical x4 (blur, bicubic, noise 3-8, JPEG 40-75)"
        return super().describe_degradation(preset, quality, sigma)

    def classic(self, deg: Degraded, clean: np.ndarray | None = None) -> np.ndarray:
        """Bicubic upsampling: the input as the table shows it."""
        return np.clip(deg.shown, 0, 1).astype(np.float32)

    def score(self, out: np.ndarray, clean: np.ndarray) -> dict[str, float]:
        from ..metrics import psnr, rgb_to_y, ssim  # deferred: OpenCV loads slowly

        yo, yc = rgb_to_y(np.clip(out, 0, 1)), rgb_to_y(clean)
        return super().score(out, clean) | {
            "psnr_y": psnr(yo, yc, border=self.scale),
            "ssim_y": ssim(yo, yc, border=self.scale),
        }


TASK = Upscale(
    "sr",
    "Upscale ×4",
    "Four times the resolution, for clean images and small photos from phones or the web",
    "mdi6.resize",
    SDEConfig(T=100, max_sigma=30.0),
    scale=4,
    fixes=("size",),
    eval_presets=("practical",),
    classic_name="bicubic",
    extra_metrics=("psnr_y", "ssim_y"),
    jpeg_grid=True,
)
