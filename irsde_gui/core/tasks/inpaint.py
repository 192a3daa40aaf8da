"""Inpainting: fill a painted area (white in the mask, or transparent where there is no mask)
with plausible content. ``mu`` holds :data:`INPAINT_FILL` in the area to fill, and every known
pixel is pasted back into the result.

Trains on holes as people paint them to remove things (:func:`..degrade.inpaint_removal`), the
same with object blobs for most of them ("objects"), or free-form strokes ("strokes"); scored on
strokes over 10-30 % of the photo by default, or on 1-3 object-shaped holes over 15-35 %
("objects"), against OpenCV's Telea fast marching and Navier-Stokes fills.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ..sdeconfig import SDEConfig
from .base import (
    Degraded,
    EvalCase,
    MaskError,
    Prepared,
    Task,
    normalise_mask,
    same_clean,
    to_batch,
    to_image,
)

INPAINT_FILL = 0.5  # the constant the hole holds in mu, in training and in use


class Inpaint(Task):
    def prepare(self, rgb: np.ndarray, mask: np.ndarray | None = None) -> Prepared:
        """``mu``: the photo with the area to fill set to :data:`INPAINT_FILL`; MaskError without
        a mask or with an empty one."""
        rgb = np.ascontiguousarray(rgb, dtype=np.float32)
        if mask is None:
            raise MaskError(
                "inpainting needs a mask: white where the photo should be filled "
                "(or a photo with transparent areas)"
            )
        m = normalise_mask(mask, rgb.shape[:2])
        if not m.any():
            raise MaskError("the mask is empty: paint (white) the area to fill")
        mu = rgb.copy()
        mu[m > 0.5] = INPAINT_FILL
        return Prepared(mu, known=rgb, mask=(m > 0.5).astype(np.float32))

    def finish(self, restored: np.ndarray, prepared: Prepared) -> np.ndarray:
        """Clipped to [0, 1], with every known pixel exactly as it was."""
        out = np.clip(restored, 0.0, 1.0)
        if prepared.mask is not None and prepared.known is not None:
            m = prepared.mask[..., None]
            out = m * out + (1.0 - m) * prepared.known
        return out.astype(np.float32)

    def finish_whole(self, result: np.ndarray, prepared: Prepared) -> np.ndarray:
        """Deep inside a wide hole, the broad colour of a classic fill (:func:`..coarse.deep_colour`)."""
        if prepared.mask is None:
            return result
        from .. import coarse  # deferred: PyTorch, which the coarse module loads

        return coarse.deep_colour(result, prepared.mask)

    def training_mixes(self):
        from .. import degrade as D  # deferred: PyTorch loads after the app's window shows

        return {
            "removal": partial(D.inpaint_removal, fill=INPAINT_FILL),
            "strokes": same_clean(partial(D.inpaint, fill=INPAINT_FILL)),
            "objects": partial(D.inpaint_removal, fill=INPAINT_FILL, objects=0.8),
        }

    def eval_degradation(self, clean, g, case: EvalCase, given) -> Degraded:
        import torch  # deferred: PyTorch, as above

        from .. import degrade as D
        from .. import holes

        rng = np.random.default_rng(case.seed)
        h, w = clean.shape[:2]
        if case.preset == "objects":
            m = holes.object_mask(rng, h, w, 0.15, 0.35, count=(1, 3))
        else:
            m = holes.free_form_mask(rng, h, w, 0.10, 0.30)
        shown = to_image(D.apply_mask(to_batch(clean), torch.from_numpy(m)[None, None], INPAINT_FILL))
        return Degraded(shown, shown, mask=m)

    def describe_degradation(self, preset, quality, sigma) -> str:
        if preset == "objects":
            return "object-sized holes (1-3 blobs, 15-35 %)"
        return super().describe_degradation(preset, quality, sigma)

    def classic(self, deg: Degraded, clean: np.ndarray | None = None) -> np.ndarray:
        from .. import classic  # deferred: OpenCV loads slowly

        assert deg.mask is not None
        return classic.fast_marching(deg.shown, deg.mask)

    def rivals(self):
        from .. import classic  # deferred: OpenCV loads slowly

        def navier_stokes(deg: Degraded) -> np.ndarray:
            assert deg.mask is not None
            return classic.navier_stokes(deg.shown, deg.mask)

        return {"navier_stokes": ("Navier-Stokes (OpenCV)", navier_stokes)}


TASK = Inpaint(
    "inpaint",
    "Inpaint",
    "Fill a painted area (or transparent pixels) with plausible content",
    "mdi6.brush",
    SDEConfig(T=100, max_sigma=30.0),
    uses_mask=True,
    coarse_to_fine=True,
    eval_presets=("objects", "strokes"),
    classic_name="Telea (OpenCV)",
)
