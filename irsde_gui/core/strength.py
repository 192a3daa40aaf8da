"""How much of a restoration to keep: the result blended back towards the photo.

People often want less than the whole of a restoration: some grain left so a portrait does not
look plastic, a dehazed landscape kept a little hazy. ``amount`` 1 keeps the result as it is, 0
gives the photo back (enlarged to the result's size where the task upscales it), and between
them each pixel is ``photo + amount * (result - photo)``. Inpainting has no strength: the photo
under a hole is the object being removed.
"""

from __future__ import annotations

import math

import numpy as np

STRENGTH_HELP = (
    "how much of the restoration to keep, from 0 (the photo as it was) to 1 (all of it, the "
    "default): lower keeps some of the photo's grain and texture"
)


def check_strength(amount: float) -> float:
    """``amount`` as a float from 0 to 1, or a ValueError that says what is wrong."""
    try:
        a = float(amount)
    except (TypeError, ValueError):
        raise ValueError(f"the strength is a share from 0 to 1, got {amount!r}") from None
    if not math.isfinite(a) or not 0.0 <= a <= 1.0:
        raise ValueError(f"the strength is a share from 0 to 1, got {amount}")
    return a


def offers_strength(task) -> bool:
    """Whether a result of ``task`` can be blended back towards its photo (not inpainting)."""
    return not getattr(task, "uses_mask", False)


def at_strength(task, photo: np.ndarray, result: np.ndarray, amount: float, report=None) -> np.ndarray:
    """``task``'s ``result`` with ``amount`` of its restoration kept (as it is where the task
    offers no strength), and ``report.strength`` (a :class:`~.runs.RunReport`) saying so."""
    if not offers_strength(task):
        return result
    if report is not None:
        report.strength = amount if amount < 1 else None
    return apply_strength(photo, result, amount)


def apply_strength(photo: np.ndarray, result: np.ndarray, amount: float) -> np.ndarray:
    """``result`` (HxWx3 float32 in [0, 1]) with ``amount`` of its change from ``photo`` kept;
    ``photo`` of another size (an upscaled result) is first resized to the result's (bicubic).
    At 1 the result itself is returned."""
    a = check_strength(amount)
    if a == 1.0:
        return result
    base = np.asarray(photo, np.float32)
    h, w = result.shape[:2]
    if base.shape[:2] != (h, w):
        import cv2  # deferred: OpenCV loads only where a result was upscaled

        base = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
        base = base.reshape(h, w, -1)
    out = base + a * (np.asarray(result, np.float32) - base)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
