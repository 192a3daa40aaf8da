"""Inpainting: fill a painted area (white in the mask, or transparent where there is no mask)
with plausible content. ``mu`` holds :data:`INPAINT_FILL` in the area to fill, and every known
pixel is pasted back into the result."""

from __future__ import annotations

import numpy as np

from ..sdeconfig import SDEConfig
from .base import MaskError, Prepared, Task, normalise_mask

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


TASK = Inpaint(
    "inpaint",
    "Inpaint",
    "Fill a painted area (or transparent pixels) with plausible content",
    "mdi6.brush",
    SDEConfig(T=100, max_sigma=30.0),
    uses_mask=True,
)
