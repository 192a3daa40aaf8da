"""Deblur: camera shake and focus blur. Its second route deconvolves with the denoise model as the
image prior: blind (the blur estimated from the photo) when no deblur model is installed, and
for every known blur.

Trains on shake, tremor, Gaussian and defocus kernels with light noise; scored on random or
given (``--kernels``) blurs with noise sigma 2.55, against Wiener deconvolution told the true
kernel, and also at the best shift (``psnr_shifted``): a blur moves the photo by an amount the
blurred photo does not reveal.
"""

from __future__ import annotations

import numpy as np

from ..sdeconfig import SDEConfig
from .base import Degraded, EvalCase, Task, same_clean, to_batch, to_image


class Deblur(Task):
    def training_mixes(self):
        from .. import degrade as D  # deferred: PyTorch loads after the app's window shows

        return {"standard": same_clean(D.deblur)}

    def eval_degradation(self, clean, g, case: EvalCase, given) -> Degraded:
        """The given kernel, or one drawn from the training mix by the case's seed, plus noise."""
        from .. import degrade as D  # deferred: PyTorch, as above

        kernel = case.kernel
        if kernel is None:
            kernel = D.random_kernels(np.random.default_rng(case.seed), 1)[0]
        y = to_image(D.blur_with(to_batch(clean), kernel, case.sigma / 255.0, g))
        return Degraded(y, y, kernel=np.asarray(kernel, np.float32), sigma=case.sigma)

    def classic(self, deg: Degraded, clean: np.ndarray | None = None) -> np.ndarray:
        from .. import classic  # deferred: OpenCV loads slowly

        assert deg.kernel is not None
        return classic.wiener_deconvolve(deg.shown, deg.kernel, deg.sigma)

    def score(self, out: np.ndarray, clean: np.ndarray) -> dict[str, float]:
        from ..metrics import shifted_psnr  # deferred: OpenCV, as above

        return super().score(out, clean) | {"psnr_shifted": shifted_psnr(np.clip(out, 0, 1), clean)}


TASK = Deblur(
    "deblur",
    "Deblur",
    "Sharpen photos blurred by camera shake or focus",
    "mdi6.blur-off",
    SDEConfig(T=100, max_sigma=10.0),
    prior_task="denoise",
    fixes=("blur",),
    eval_sigma=2.55,
    classic_name="Wiener (true kernel)",
    extra_metrics=("psnr_shifted",),
)
