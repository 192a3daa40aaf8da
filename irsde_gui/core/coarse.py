"""Wide holes filled coarse to fine, and on a large photo only around the hole.

The inpainting network sees a limited distance: across a hole wider than that, its fill fades
to a smear of the rim's colours (and, on flat areas, to a wrong colour). The same photo at half
its size puts twice as much of the surroundings within the network's reach. So a hole that
reaches more than :data:`REACH` px from its edge is first filled on the photo at half size
(which in turn does the same, down to where the hole is narrow or the photo small); that fill,
brought back to full size, guides the full-size network's estimate: at the hole's edge the
full-size estimate is kept as it is, and from :data:`BLEND` px inside on, the coarse fill gives
the estimate its broad shapes and colours (its low frequencies) while the full-size network
keeps its fine detail (:class:`GuidedPredictor`), so several steps still add texture.

A large photo with a hole in one part of it (a person removed from a 12 MP photo) is filled
only around the hole (:func:`hole_region`): the hole's box grown on every side by half its
longer side (at least :data:`MARGIN` px). The network's pixels outside the hole are thrown away
anyway, and the coarse passes over that region still see half the hole's width beyond it.

Measured with the shipped network, 1 step, on object-sized holes (`irsde eval --task inpaint
--masks objects`, first 30 photos of ``val/cbsd68``): 22.98 dB filled at full size only,
23.62 with a half-size pass, 23.69-23.72 with a half- and a quarter-size pass (docs/inpainting.md).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from . import classic

REACH = 24  # a hole reaching further than this from its edge (px) gets a coarser pass first
BLEND = 32  # px from the hole's edge at which the coarse fill has taken over the broad shapes
MIN_SIDE = 64  # no coarser pass for a photo whose shorter side would fall below this
# The network's fill of a wide hole carries a faint pattern at the pixel scale of each size it
# runs at; brought up twice at each size it becomes a visible grid in a large photo's hole. The
# coarse fill only gives broad shapes, so it is smoothed first (Gaussian, px at its own size).
SMOOTH = 1.0


MARGIN = 128  # the least context kept on each side of a hole filled only around it, px
REGION_SHARE = 0.5  # filled only around the hole where that region is less of the photo than this


def hole_region(
    mask: np.ndarray, margin: int = MARGIN, share: float = REGION_SHARE
) -> tuple[slice, slice] | None:
    """The rows and columns worth filling for ``mask``: the box around every pixel to fill,
    grown on each side by half the box's longer side (at least ``margin`` px) and kept inside the
    photo. None where that region would be ``share`` of the photo or more (the whole photo is
    filled then) or where there is nothing to fill."""
    hole = np.asarray(mask) > 0.5
    rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
    if rows.size == 0:
        return None
    h, w = hole.shape
    grow = max(margin, int(max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)) // 2)
    y0, y1 = max(0, rows[0] - grow), min(h, rows[-1] + 1 + grow)
    x0, x1 = max(0, cols[0] - grow), min(w, cols[-1] + 1 + grow)
    if (y1 - y0) * (x1 - x0) >= share * h * w:
        return None
    return slice(int(y0), int(y1)), slice(int(x0), int(x1))


def hole_depth(mask: np.ndarray) -> np.ndarray:
    """Each pixel's distance (px) to the nearest known pixel: 0 outside the hole."""
    hole = (np.asarray(mask) > 0.5).astype(np.uint8)
    if not hole.any():
        return np.zeros(hole.shape, np.float32)
    return cv2.distanceTransform(hole, cv2.DIST_L2, 5).astype(np.float32)


# Deep inside a wide hole, beyond what even the coarse passes let the network see, its fill drifts
# towards the grey the hole held (a dark sky or lake comes back as a pale haze), where a classic
# fill carries the rim's colours in. There the broad colour of OpenCV's Telea fill replaces the
# network's: their difference, smoothed, is added where the hole is deep, while the network keeps
# its detail. Depths and smoothing are shares of the photo's shorter side, chosen on held-out
# photos that the benchmark does not use (PolyU's clean photos, McMaster, Set14; docs/inpainting.md).
DEEP_FROM = 0.1  # hole depth at which the correction starts ...
DEEP_FULL = 0.3  # ... and is whole
DEEP_SMOOTH = 0.075  # its Gaussian's sigma
DEEP_SIDE = 384  # worked out on the photo shrunk to at most this shorter side (px)


def deep_colour(out: np.ndarray, mask: np.ndarray, side_max: int = DEEP_SIDE) -> np.ndarray:
    """``out`` (a filled photo, float HxWx3 in [0, 1], known pixels in place) with the broad colour
    deep inside the hole ``mask`` taken from a Telea fill; ``out`` itself where no part of the hole
    is deep enough."""
    hole = np.asarray(mask) > 0.5
    h, w = hole.shape
    f = min(1.0, side_max / min(h, w))
    small, small_hole = out, hole
    if f < 1.0:
        size = (max(1, round(w * f)), max(1, round(h * f)))
        small = cv2.resize(np.asarray(out, np.float32), size, interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
    side = min(small_hole.shape)
    depth = hole_depth(small_hole)
    weight = np.clip((depth - DEEP_FROM * side) / ((DEEP_FULL - DEEP_FROM) * side), 0.0, 1.0)
    if not weight.any():
        return out
    telea = classic.fast_marching(small, small_hole)
    correction = cv2.GaussianBlur(telea - small, (0, 0), DEEP_SMOOTH * side) * weight[..., None]
    if f < 1.0:
        correction = cv2.resize(correction, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(out + correction * hole[..., None], 0.0, 1.0).astype(np.float32)


def needs_coarse_pass(mask: np.ndarray, reach: float = REACH, min_side: int = MIN_SIDE) -> bool:
    """Whether the hole reaches beyond ``reach`` px from its edge, and the photo is large enough
    to be halved."""
    h, w = np.asarray(mask).shape[:2]
    if min(h, w) // 2 < min_side:
        return False
    return float(hole_depth(mask).max(initial=0.0)) > reach


def half_size(rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The photo and its mask at half size (rounded up). A small pixel is part of the hole if
    any of the pixels it covers is, so nothing of what the user painted out leaks into the rim."""
    h, w = mask.shape[:2]
    hs, ws = (h + 1) // 2, (w + 1) // 2
    hole = (np.asarray(mask) > 0.5).astype(np.float32)
    small_mask = (cv2.resize(hole, (ws, hs), interpolation=cv2.INTER_AREA) > 0).astype(np.float32)
    small = cv2.resize(np.ascontiguousarray(rgb, np.float32), (ws, hs), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small, np.float32), small_mask


def guide_weight(mask: np.ndarray, blend: float = BLEND) -> np.ndarray:
    """How much of the coarse fill's broad shapes each pixel takes: 0 outside the hole and at
    its edge, rising to 1 at ``blend`` px inside."""
    return np.clip(hole_depth(mask) / float(blend), 0.0, 1.0).astype(np.float32)


def low_pass(x: torch.Tensor) -> torch.Tensor:
    """``x`` halved (2x2 means) and brought back (bicubic): what a half-size fill can hold. An odd
    side is padded by its last row or column first (``F.interpolate(mode="area")`` to a size that
    does not divide refuses to run on Apple GPUs)."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (0, w % 2, 0, h % 2), mode="replicate") if (h % 2 or w % 2) else x
    small = F.avg_pool2d(padded, 2)
    up = F.interpolate(small, size=padded.shape[-2:], mode="bicubic", align_corners=False)
    return up[..., :h, :w]


def upsample(rgb: np.ndarray, height: int, width: int, smooth: float = SMOOTH) -> np.ndarray:
    """A half-size fill (HxWx3), smoothed by ``smooth`` px, brought up to ``height`` x ``width``
    (bicubic)."""
    if smooth > 0:
        rgb = cv2.GaussianBlur(rgb, (0, 0), smooth)
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32)


class GuidedPredictor:
    """Wrap a predictor (``(x_t, mu, t) -> x0_hat``) so that inside the hole its estimate takes
    its broad shapes from a coarse fill: ``x0 + w * (guide - low_pass(x0))``, with ``w`` from
    :func:`guide_weight` (NCHW tensors of the photo's size). The fine detail stays the network's."""

    def __init__(self, predict, guide: torch.Tensor, weight: torch.Tensor):
        self.predict = predict
        self.guide = guide
        self.weight = weight

    def __call__(self, x_t: torch.Tensor, mu: torch.Tensor, t: int) -> torch.Tensor:
        x0 = self.predict(x_t, mu, t)
        guide = self.guide.to(x0.dtype)
        return (x0 + self.weight.to(x0.dtype) * (guide - low_pass(x0))).clamp_(0.0, 1.0)
