"""Overlapping tiles with smooth blending, for photos larger than memory allows.

Only the network call is tiled: the sampler keeps the whole-image state and
draws one noise field for the whole image, so the stochastic part of every
step is identical with or without tiles and cannot create seams. Tiles are
cut with an overlap, run through the network in batches and blended with a
separable weight that rises smoothly from the tile edge, so that each output
pixel is mostly decided by the tile that sees the most context around it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .device import is_out_of_memory

log = logging.getLogger(__name__)

Predictor = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
MIN_TILE = 64


# A JPEG's 8x8 blocks sit on a grid anchored at the photo's corner, and the networks learned them
# there: shifted off that grid by 1, 2 or 4 px (padded at its top left), JPEG-20 photos came out
# 0.28, 0.83 and 0.07 dB worse (the denoiser, 6 CBSD68 photos; 8 px: no loss). So every tile
# starts on the grid, and a last tile that would end past the photo is padded (reflected) instead.
JPEG_BLOCK = 8


def tile_starts(length: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Start offsets covering ``[0, length)`` with tiles of ``tile`` px overlapping by at least
    ``overlap``. With ``align`` > 1 every start is a multiple of it: the last tile may then reach
    up to ``align - 1`` px past the end (its caller pads it)."""
    if tile >= length:
        return [0]
    if align <= 1:
        stride = max(tile - overlap, 1)
        n = math.ceil((length - tile) / stride) + 1
        starts = [min(i * stride, length - tile) for i in range(n)]
        return sorted(set(starts))
    # A stride on the grid that leaves the tiles at least ``align`` px of overlap, so that the
    # last start, rounded up onto the grid, still leaves no gap.
    stride = max(align, (tile - max(overlap, align)) // align * align)
    last = -(-(length - tile) // align) * align
    n = math.ceil(last / stride) + 1
    return sorted({min(i * stride, last) for i in range(n)})


def blend_window(
    start: int, size: int, length: int, overlap: int, device=None, dtype=torch.float32
) -> torch.Tensor:
    """1-D blending weight of a tile covering ``[start, start + size)`` of ``length`` px.

    A raised-cosine ramp over ``overlap`` px on each side that has a neighbour,
    flat 1 elsewhere (so image borders, seen by one tile only, keep full weight).
    The ramp never reaches 0.
    """
    w = torch.ones(size, dtype=torch.float64)
    ramp = min(overlap, size // 2)
    if ramp > 0:
        x = (torch.arange(ramp, dtype=torch.float64) + 0.5) / ramp
        r = 0.5 - 0.5 * torch.cos(math.pi * x)
        if start > 0:
            w[:ramp] = r
        if start + size < length:
            w[size - ramp :] = r.flip(0)
    return w.to(device=device, dtype=dtype)


class TiledPredictor:
    """Wrap a predictor so it runs on overlapping tiles, batched, and blends the results.

    On out-of-memory the tile size is halved and the call retried (down to
    ``MIN_TILE``), and the smaller size is kept for later steps; ``on_shrink(tile)`` is
    told. ``on_tile(done, total)`` is called after each batch of tiles.
    """

    def __init__(
        self,
        predict: Predictor,
        tile: int,
        overlap: int = 32,
        batch: int = 4,
        multiple: int = 16,
        on_tile: Callable[[int, int], None] | None = None,
        on_shrink: Callable[[int], None] | None = None,
        align: int = JPEG_BLOCK,
    ):
        if tile < MIN_TILE:
            raise ValueError(f"tile size must be at least {MIN_TILE} px, got {tile}")
        self.predict = predict
        self.multiple = multiple
        self.tile = self._round(tile)
        self.overlap = overlap
        self.batch = max(1, batch)
        self.on_tile = on_tile
        self.on_shrink = on_shrink
        self.align = align

    def _round(self, tile: int) -> int:
        return max(MIN_TILE, tile // self.multiple * self.multiple)

    def count(self, height: int, width: int) -> int:
        """How many tiles an image of this size needs."""
        ov = min(self.overlap, self.tile // 2)
        a = self.align
        return len(tile_starts(height, self.tile, ov, a)) * len(tile_starts(width, self.tile, ov, a))

    def __call__(self, x_t: torch.Tensor, mu: torch.Tensor, t: int) -> torch.Tensor:
        while True:
            try:
                return self._run(x_t, mu, t)
            except Exception as exc:
                if not is_out_of_memory(exc) or self.tile <= MIN_TILE:
                    raise
                if x_t.device.type == "cuda":
                    torch.cuda.empty_cache()
                smaller = self._round(self.tile // 2)
                log.warning("out of memory with %d px tiles; retrying with %d px", self.tile, smaller)
                self.tile = smaller
                self.batch = 1
                if self.on_shrink is not None:
                    self.on_shrink(smaller)

    def _run(self, x_t: torch.Tensor, mu: torch.Tensor, t: int) -> torch.Tensor:
        n, _c, h, w = x_t.shape
        tile = self.tile
        if h <= tile and w <= tile:
            return self.predict(x_t, mu, t)
        ov = min(self.overlap, tile // 2)
        th, tw = min(tile, h), min(tile, w)
        ys, xs = tile_starts(h, th, ov, self.align), tile_starts(w, tw, ov, self.align)
        boxes = [(y, x) for y in ys for x in xs]
        out = torch.zeros_like(x_t)
        norm = torch.zeros((1, 1, h, w), device=x_t.device, dtype=x_t.dtype)

        def cut(img: torch.Tensor, y: int, x: int) -> torch.Tensor:
            part = img[:, :, y : y + th, x : x + tw]
            ph, pw = th - part.shape[-2], tw - part.shape[-1]  # a last tile past the end
            return F.pad(part, (0, pw, 0, ph), mode="reflect") if ph or pw else part

        for k in range(0, len(boxes), self.batch):
            chunk = boxes[k : k + self.batch]
            xb = torch.cat([cut(x_t, y, x) for y, x in chunk])
            mb = torch.cat([cut(mu, y, x) for y, x in chunk])
            pred = self.predict(xb, mb, t)
            for j, (y, x) in enumerate(chunk):
                eh, ew = min(th, h - y), min(tw, w - x)
                wgt = (
                    blend_window(y, eh, h, ov, x_t.device, x_t.dtype)[:, None]
                    * blend_window(x, ew, w, ov, x_t.device, x_t.dtype)[None, :]
                )
                out[:, :, y : y + eh, x : x + ew] += pred[j * n : (j + 1) * n, :, :eh, :ew] * wgt
                norm[:, :, y : y + eh, x : x + ew] += wgt
            if self.on_tile is not None:
                self.on_tile(min(k + self.batch, len(boxes)), len(boxes))
        return out / norm


def auto_tile_size(
    height: int,
    width: int,
    bytes_per_pixel: float,
    available_bytes: int | None,
    batch: int = 1,
    max_tile: int = 2048,
) -> int | None:
    """The largest tile (multiple of 64) whose batch fits in half the available memory.

    Returns ``None`` when the whole image fits, i.e. no tiling is needed.
    """
    if available_bytes is None:
        return None if height * width <= 1024 * 1024 else 1024
    budget = 0.5 * available_bytes
    if height * width * bytes_per_pixel <= budget:
        return None
    side = int(math.sqrt(budget / (bytes_per_pixel * batch)))
    return max(MIN_TILE, min(max_tile, side // 64 * 64))
