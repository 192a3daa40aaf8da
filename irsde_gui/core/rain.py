"""Rain as it falls, for training and evaluating ``derain``: drizzle to downpour.

A rainy photo holds streaks at many depths: near drops are long, wide, out of focus and bright;
far ones thin and faint. Within one layer the wind bends them only slightly. Each streak is a
drop smeared along its fall during the exposure (motion blur). Heavy rain also scatters light,
which veils the scene like haze: ``O = t (B + S) + (1 - t) A``, with the photo ``B``, the
streaks ``S``, the veil's transmission ``t`` and its light ``A``. Splashes and a duller exposure
come with it, and the photo is usually saved as a JPEG.

:func:`rain` draws all of that per photo from a ``torch.Generator`` (on the CPU): a seed gives
the same rain. :data:`HEAVY` and :data:`LIGHT` are the evaluation presets' ranges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from . import camera

Tensor = torch.Tensor


@dataclass(frozen=True)
class RainRange:
    """What a rainy photo may hold; every value is drawn per photo within its range."""

    density: tuple[float, float] = (800.0, 14000.0)  # streaks per megapixel, all layers together
    layers: tuple[int, int] = (1, 4)  # depths
    veil: tuple[float, float] = (0.0, 0.55)  # 1 - t: how much of the scene the veil hides
    p_veil: float = 0.6
    p_splash: float = 0.3
    p_jpeg: float = 0.5
    jpeg: tuple[int, int] = (60, 95)
    exposure: tuple[float, float] = (0.85, 1.05)


MIXED = RainRange()
HEAVY = RainRange(
    density=(6000.0, 12000.0), layers=(3, 4), veil=(0.3, 0.5), p_veil=1.0, p_splash=0.5, p_jpeg=0.0
)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def streak_layer(
    rng: np.random.Generator,
    h: int,
    w: int,
    count: int,
    near: float,
    angle: float,
    scale: float | None = None,
) -> np.ndarray:
    """One depth's streaks (float32 HxW in [0, 1]); ``near`` 0 (far: short, thin, faint, sharp)
    to 1 (near: long, wide, bright, out of focus). Sizes are as on a 512 px photo times
    ``scale`` (default: this image's size / 512; a training patch passes its photo's)."""
    canvas = np.zeros((h, w), np.float32)
    scale = scale if scale is not None else max(h, w) / 512
    length_mean = (6 + 74 * near**1.5) * scale
    thickness = 1 if near < 0.6 else 2 if near < 0.9 else 3
    brightness = 0.35 + 0.6 * near
    margin = int(length_mean) + 2
    for _ in range(count):
        a = angle + rng.normal(0, 0.05)  # the wind bends a layer only slightly
        length = max(2.0, length_mean * rng.uniform(0.6, 1.4))
        y0, x0 = rng.uniform(-margin, h + margin), rng.uniform(-margin, w + margin)
        dy, dx = math.cos(a) * length / 2, math.sin(a) * length / 2
        # Drawn as three segments, brightest in the middle: a drop moving through the exposure
        # is fainter where the shutter opened and closed.
        v = brightness * rng.uniform(0.6, 1.0)
        pts = [(x0 - dx, y0 - dy), (x0 - dx / 3, y0 - dy / 3), (x0 + dx / 3, y0 + dy / 3), (x0 + dx, y0 + dy)]
        for (xa, ya), (xb, yb), f in zip(pts[:-1], pts[1:], (0.55, 1.0, 0.55)):
            p1 = (round(xa * 16), round(ya * 16))
            p2 = (round(xb * 16), round(yb * 16))
            cv2.line(canvas, p1, p2, v * f, thickness, cv2.LINE_AA, shift=4)
    blur = 0.3 + 1.7 * near**2  # out of focus near the lens
    k = 2 * math.ceil(3 * blur) + 1
    canvas = cv2.GaussianBlur(canvas, (k, k), blur * scale if scale > 1 else blur)
    return np.clip(canvas, 0, 1)


def streaks(
    rng: np.random.Generator, h: int, w: int, rr: RainRange, scale: float | None = None
) -> np.ndarray:
    """Every layer of one photo's rain, combined as light adds (screen blend)."""
    total = math.exp(_u(rng, math.log(rr.density[0]), math.log(rr.density[1]))) * h * w / 1e6
    layers = int(rng.integers(rr.layers[0], rr.layers[1] + 1))
    angle = rng.normal(0, 0.25)  # from vertical; wind
    shares = rng.dirichlet(np.ones(layers)) if layers > 1 else np.ones(1)
    s = np.zeros((h, w), np.float32)
    for i, share in enumerate(shares):
        near = (i + rng.uniform(0, 1)) / layers
        # Far layers hold many small drops, near ones few big ones.
        count = round(total * share * (1.6 - near))
        layer = streak_layer(rng, h, w, count, near, angle + rng.normal(0, 0.08), scale)
        s = 1 - (1 - s) * (1 - layer)
    return s


def splashes(rng: np.random.Generator, h: int, w: int, scale: float | None = None) -> np.ndarray:
    """Small bright bursts where drops hit, mostly in the lower half of the frame."""
    canvas = np.zeros((h, w), np.float32)
    scale = scale if scale is not None else max(h, w) / 512
    for _ in range(int(rng.integers(5, 40) * h * w / 512**2) + 1):
        y = int(h * (0.4 + 0.6 * rng.random() ** 0.5))
        x = int(rng.integers(0, w))
        axes = (max(1, int(rng.uniform(1, 4) * scale)), max(1, int(rng.uniform(0.5, 2) * scale)))
        cv2.ellipse(canvas, (x, y), axes, 0, 0, 360, float(rng.uniform(0.3, 0.8)), -1, cv2.LINE_AA)
    return cv2.GaussianBlur(canvas, (3, 3), 0.8)


def rain(
    x0: Tensor, g: torch.Generator, rr: RainRange = MIXED, photo_size: tuple[float, float] | None = None
) -> Tensor:
    """Each photo of ``x0`` (B x 3 x H x W, sRGB in [0, 1]) in the rain ``rr`` describes.

    Training patches are windows of larger photos: ``photo_size`` (lo, hi) draws the size of the
    photo each one is cut from, so that its streaks are as long as on that photo, not shrunk to
    the patch. By default each image is a whole photo."""
    b, _, h, w = x0.shape
    rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=g)))
    out = []
    for img in x0.detach().float().cpu().numpy():
        scale = _u(rng, *photo_size) / 512 if photo_size else None
        s = streaks(rng, h, w, rr, scale)
        if rng.random() < rr.p_splash:
            s = 1 - (1 - s) * (1 - splashes(rng, h, w, scale))
        tint = 1 + rng.uniform(-0.04, 0.04, 3).astype(np.float32)  # streaks take the sky's colour
        wet = img * _u(rng, *rr.exposure)
        o = 1 - (1 - wet) * (1 - s[None] * tint[:, None, None])
        if rng.random() < rr.p_veil:
            hide = _u(rng, *rr.veil)
            # Thicker towards the top (farther away) and uneven, as rain's veil is.
            yy = np.linspace(1.0, 0.6, h, dtype=np.float32)[:, None]
            field = cv2.resize(rng.uniform(0.8, 1.2, (4, 4)).astype(np.float32), (w, h))
            t = np.clip(1 - hide * yy * field, 0.3, 1)[None]
            airlight = _u(rng, 0.65, 0.95) * (1 + rng.uniform(-0.03, 0.03, 3)).astype(np.float32)
            o = t * o + (1 - t) * airlight[:, None, None]
        out.append(np.clip(o, 0, 1))
    y = torch.from_numpy(np.stack(out)).to(x0.device, x0.dtype)
    if rr.p_jpeg > 0:
        keep = [i for i in range(b) if rng.random() < rr.p_jpeg]
        if keep:
            y[keep] = camera.jpeg(y[keep], [int(rng.integers(rr.jpeg[0], rr.jpeg[1] + 1)) for _ in keep])
    return y
