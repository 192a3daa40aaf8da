"""Holes as people paint them to remove something, for training and evaluating ``inpaint``.

People paint over a person, a sign or a dog: one to three object-shaped blobs, wide brush
strokes and boxes, covering up to half of the photo, rarely a thin scratch. Masks are float32
HxW arrays, 1 where the model fills; all randomness comes from a numpy generator.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def free_form_mask(
    rng: np.random.Generator, h: int, w: int, lo: float = 0.05, hi: float = 0.40
) -> np.ndarray:
    """Brush strokes and boxes covering a random fraction in ``[lo, hi]`` of the image (1 = hole)."""
    target = rng.uniform(lo, hi)
    m = np.zeros((h, w), np.uint8)
    scale = max(h, w) / 256
    for _ in range(200):
        cover = m.mean()
        if cover >= target:
            break
        if rng.random() < 0.25:
            bh = int(rng.uniform(0.1, 0.4) * h)
            bw = int(rng.uniform(0.1, 0.4) * w)
            y, x = int(rng.integers(0, max(1, h - bh))), int(rng.integers(0, max(1, w - bw)))
            m[y : y + bh, x : x + bw] = 1
            continue
        y, x = float(rng.integers(0, h)), float(rng.integers(0, w))
        width = int(max(3, rng.uniform(8, 28) * scale))
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(2, 7))):
            angle += rng.uniform(-1.2, 1.2)
            length = rng.uniform(10, 60) * scale
            ny = float(np.clip(y + length * np.sin(angle), 0, h - 1))
            nx = float(np.clip(x + length * np.cos(angle), 0, w - 1))
            cv2.line(m, (int(x), int(y)), (int(nx), int(ny)), 1, width)
            cv2.circle(m, (int(nx), int(ny)), width // 2, 1, -1)
            y, x = ny, nx
    # Overshoot is trimmed away stroke-free: erode until under the upper bound.
    while m.mean() > hi:
        m = cv2.erode(m, np.ones((3, 3), np.uint8))
    return m.astype(np.float32)


def _polygon(rng: np.random.Generator, cy: float, cx: float, radius: float) -> np.ndarray:
    """A random star-shaped outline around (cy, cx): an object's silhouette, lumpy and concave."""
    n = int(rng.integers(6, 16))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    # Smooth radial variation (a few harmonics) plus per-vertex jitter.
    phase = rng.uniform(0, 2 * np.pi, 3)
    amp = rng.uniform(0, 0.35, 3)
    r = 1 + sum(a * np.sin((k + 2) * angles + p) for k, (a, p) in enumerate(zip(amp, phase)))
    r = radius * np.clip(r * rng.uniform(0.75, 1.25, n), 0.3, 2.0)
    elong = rng.uniform(0.5, 1.6)  # people and poles are tall, cars wide
    pts = np.stack(
        [cx + r * np.cos(angles) / math.sqrt(elong), cy + r * np.sin(angles) * math.sqrt(elong)], 1
    )
    return np.round(pts).astype(np.int32)


def blob(rng: np.random.Generator, h: int, w: int, area: float) -> np.ndarray:
    """One object-shaped hole (uint8 HxW) of about ``area`` pixels: a polygon, an ellipse, or a
    union of a few, with its outline softened the way a brush follows a shape."""
    m = np.zeros((h, w), np.uint8)
    radius = math.sqrt(area / math.pi)
    cy, cx = rng.uniform(0.15, 0.85) * h, rng.uniform(0.15, 0.85) * w
    for _ in range(int(rng.integers(1, 4))):
        oy, ox = rng.normal(0, 0.4 * radius, 2)
        part = radius * rng.uniform(0.5, 1.0)
        if rng.random() < 0.35:
            axes = (max(2, int(part * rng.uniform(0.6, 1.4))), max(2, int(part * rng.uniform(0.6, 1.4))))
            centre = (int(cx + ox), int(cy + oy))
            cv2.ellipse(m, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        else:
            cv2.fillPoly(m, [_polygon(rng, cy + oy, cx + ox, part)], 1)
    k = max(3, int(radius * 0.15) | 1)
    return cv2.morphologyEx(m, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))


def wide_strokes(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A few wide brush strokes (uint8 HxW), as when painting over a wire, a branch or a person."""
    m = np.zeros((h, w), np.uint8)
    scale = max(h, w) / 256
    for _ in range(int(rng.integers(1, 4))):
        y, x = rng.uniform(0, h), rng.uniform(0, w)
        width = int(max(4, rng.uniform(24, 64) * scale))
        angle = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(1, 5))):
            angle += rng.uniform(-0.8, 0.8)
            length = rng.uniform(30, 120) * scale
            ny, nx = (
                np.clip(y + length * math.sin(angle), 0, h - 1),
                np.clip(x + length * math.cos(angle), 0, w - 1),
            )
            cv2.line(m, (int(x), int(y)), (int(nx), int(ny)), 1, width)
            cv2.circle(m, (int(nx), int(ny)), width // 2, 1, -1)
            y, x = ny, nx
    return m


def box(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    bh, bw = int(rng.uniform(0.15, 0.5) * h), int(rng.uniform(0.15, 0.5) * w)
    y, x = int(rng.integers(0, max(1, h - bh))), int(rng.integers(0, max(1, w - bw)))
    m[y : y + bh, x : x + bw] = 1
    return m


def _fit(m: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Shrink an over-large hole under ``hi`` by eroding it (its shape stays)."""
    kernel = np.ones((3, 3), np.uint8)
    while m.mean() > hi and m.any():
        m = cv2.erode(m, kernel)
    return m


def object_mask(
    rng: np.random.Generator,
    h: int,
    w: int,
    lo: float = 0.15,
    hi: float = 0.35,
    count: tuple[int, int] = (1, 3),
) -> np.ndarray:
    """One to three object-sized blobs covering ``lo``..``hi`` of the photo (float32, 1 = hole)."""
    target = rng.uniform(lo, hi)
    n = int(rng.integers(count[0], count[1] + 1))
    shares = rng.dirichlet(np.full(n, 2.0)) if n > 1 else np.ones(1)
    m = np.zeros((h, w), np.uint8)
    for share in shares:
        m |= blob(rng, h, w, target * share * h * w)
    # Blobs overlap or lose area at the borders: grow or shrink toward the target coverage.
    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    for _ in range(60):
        if m.mean() >= lo:
            break
        m = cv2.dilate(m, grow)
    return _fit(m, lo, hi).astype(np.float32)


REMOVAL_OBJECTS = 0.45  # the share of :func:`removal_mask`'s holes that are object blobs


def removal_mask(
    rng: np.random.Generator, h: int, w: int, hi: float = 0.5, objects: float = REMOVAL_OBJECTS
) -> np.ndarray:
    """A training hole as people paint them: objects (``objects`` of them), wide strokes, boxes,
    the thin strokes of :func:`free_form_mask`, or a union, covering up to ``hi`` of the patch.
    The other kinds keep their shares relative to one another whatever ``objects`` is."""
    kind = rng.random()
    if objects != REMOVAL_OBJECTS:  # stretch the draw: [0, objects) to the objects' share
        o = REMOVAL_OBJECTS
        kind = o * kind / objects if kind < objects else o + (kind - objects) * (1 - o) / (1 - objects)
    if kind < REMOVAL_OBJECTS:
        m = object_mask(rng, h, w, 0.05, hi).astype(np.uint8)
    elif kind < 0.65:
        m = wide_strokes(rng, h, w)
    elif kind < 0.75:
        m = box(rng, h, w)
    elif kind < 0.85:
        m = free_form_mask(rng, h, w, 0.05, 0.4).astype(np.uint8)
    else:
        m = object_mask(rng, h, w, 0.05, hi / 2).astype(np.uint8) | wide_strokes(rng, h, w)
    if not m.any():  # a stroke that fell off the patch: fall back to a blob
        m = object_mask(rng, h, w, 0.05, hi).astype(np.uint8)
    return _fit(m, 0.0, hi).astype(np.float32)
