"""Tiles: coverage, blending weights, agreement with whole-image runs, out-of-memory retry."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from irsde_gui.core.sampler import restore
from irsde_gui.core.sde import MeanRevertingSDE, SDEConfig
from irsde_gui.core.tiling import TiledPredictor, auto_tile_size, blend_window, tile_starts

RADIUS = 2  # receptive-field radius of the stub network


def conv_stub():
    """A translation-equivariant stand-in for a network: a fixed 5x5 filter mixing x_t and mu,
    reflecting the photo at its edges as the networks pad it."""
    g = torch.Generator().manual_seed(0)
    k = torch.rand(3, 6, 5, 5, generator=g)
    k = k / k.sum(dim=(1, 2, 3), keepdim=True)

    def predict(x_t, mu, t):
        inp = torch.cat([x_t, mu], dim=1)
        return F.conv2d(F.pad(inp, (RADIUS,) * 4, mode="reflect"), k.to(x_t.dtype))

    return predict


@pytest.mark.parametrize("length,tile,overlap", [(100, 32, 8), (64, 64, 8), (65, 64, 16), (10, 64, 8)])
def test_tile_starts_cover(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    covered = set()
    for s in starts:
        covered.update(range(s, min(s + tile, length)))
    assert covered == set(range(length))
    assert all(0 <= s <= max(0, length - tile) for s in starts)


def test_blend_window_is_smooth_and_positive():
    w = blend_window(16, 64, 200, 16)
    assert w.min() > 0 and w.max() == 1
    assert torch.all(w[:16][1:] >= w[:16][:-1])
    assert torch.all(blend_window(0, 64, 200, 16)[:16] == 1)  # image border keeps full weight


def test_tiled_prediction_matches_whole_image():
    pred = conv_stub()
    x = torch.rand(1, 3, 150, 190)
    mu = torch.rand(1, 3, 150, 190)
    whole = pred(x, mu, 5)
    tiled = TiledPredictor(pred, tile=64, overlap=24, batch=3, multiple=1)(x, mu, 5)
    # Away from tile borders the stub is exact; near them the blend weight is tiny.
    assert (tiled - whole).abs().max() < 0.02
    assert (tiled - whole).abs().mean() < 1e-3


def test_tiled_sampling_has_no_seams():
    """Whole runs with and without tiles agree: the noise field is shared, so no seams."""
    sde = MeanRevertingSDE(SDEConfig(T=100, max_sigma=10))
    pred = conv_stub()
    mu = torch.rand(1, 3, 96, 130)
    a = restore(pred, sde, mu, 8, "posterior", seed=5)
    tiled = TiledPredictor(pred, tile=64, overlap=32, batch=2, multiple=1)
    b = restore(tiled, sde, mu, 8, "posterior", seed=5)
    diff = (a - b).abs()
    assert diff.max() < 0.02, "seam larger than 0.02 (about 5 levels of 255)"
    # a seam would show as a line of larger error along tile borders
    col_err = diff.mean(dim=(0, 1, 2))
    assert col_err.max() < 5 * col_err.mean() + 1e-3


def test_out_of_memory_retries_with_smaller_tiles():
    pred = conv_stub()
    seen = []

    def picky(x_t, mu, t):
        seen.append(x_t.shape[-1])
        if x_t.shape[-1] > 64:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return pred(x_t, mu, t)

    tp = TiledPredictor(picky, tile=256, overlap=16, multiple=16)
    out = tp(torch.rand(1, 3, 200, 200), torch.rand(1, 3, 200, 200), 3)
    assert out.shape == (1, 3, 200, 200)
    assert tp.tile == 64
    assert 200 in seen and 128 in seen


def test_other_errors_are_not_retried():
    def broken(x_t, mu, t):
        raise ValueError("bad")

    with pytest.raises(ValueError):
        TiledPredictor(broken, tile=64)(torch.rand(1, 3, 100, 100), torch.rand(1, 3, 100, 100), 1)


def test_auto_tile_size():
    assert auto_tile_size(512, 512, 1000, available_bytes=8 * 2**30) is None
    t = auto_tile_size(8000, 8000, 1000, available_bytes=2 * 2**30)
    assert t is not None and t % 64 == 0 and t * t * 1000 <= 2**30


def test_whole_photo_run_retries_in_tiles_when_memory_runs_out(tiny_weights):
    """A photo that was to run whole falls back to tiles on out-of-memory instead of failing."""
    from conftest import smooth_image

    from irsde_gui.core.model import Restorer, load_restorer
    from irsde_gui.core.pipeline import JobSettings, RestoreJob
    from irsde_gui.core.tasks import TASKS

    class SmallMemory(Restorer):
        def __call__(self, x_t, mu, t):
            if x_t.shape[-1] * x_t.shape[-2] > 96 * 96:
                raise torch.OutOfMemoryError("simulated: out of memory")
            return super().__call__(x_t, mu, t)

    base = load_restorer("denoise", tiny_weights / "denoise.pt", "cpu")
    r = SmallMemory(base.net, base.sde, base.device, weights=base.weights)
    job = RestoreJob(TASKS["denoise"], r, smooth_image(150, 200), settings=JobSettings(steps=2))
    assert job.tile is None
    out = job.run()
    assert out.shape == (150, 200, 3)
    assert job.tile is not None and job.tile <= 96
    never = RestoreJob(TASKS["denoise"], r, smooth_image(150, 200), settings=JobSettings(steps=2, tile=0))
    with pytest.raises(torch.OutOfMemoryError):
        never.run()


@pytest.mark.parametrize(
    "length,tile,overlap", [(100, 32, 8), (65, 64, 16), (1000, 256, 32), (1003, 256, 0), (517, 64, 3)]
)
def test_tile_starts_on_the_jpeg_grid_cover_without_gaps(length, tile, overlap):
    starts = tile_starts(length, tile, overlap, align=8)
    assert all(s % 8 == 0 for s in starts)
    assert starts[-1] + tile >= length and starts[-1] < length - tile + 8  # past the end by < 8 px
    assert all(b - a <= tile - max(min(overlap, tile // 2), 1) for a, b in zip(starts, starts[1:]))


def test_every_tile_sees_the_jpeg_grid_where_the_photo_has_it():
    """A JPEG's blocks start at multiples of 8 from the photo's corner, where the networks learned
    them: no tile may show them shifted (the last one used to start wherever it fitted), and the
    tiles still put the photo back together exactly."""
    h, w = 203, 331
    grid = torch.zeros(1, 3, h, w)
    grid[:, :, ::8, :] = 1.0
    grid[:, :, :, ::8] = 1.0
    seen = []

    def check(x_t, mu, t):
        for tile in x_t:  # (the last 7 rows and columns may be a last tile's padding)
            rows = (tile[0, :-7, :-7] == 1.0).all(dim=1).nonzero().flatten().tolist()
            cols = (tile[0, :-7, :-7] == 1.0).all(dim=0).nonzero().flatten().tolist()
            seen.append(all(r % 8 == 0 for r in rows) and all(c % 8 == 0 for c in cols))
        return x_t

    out = TiledPredictor(check, tile=64, overlap=20, batch=4, multiple=16)(grid, grid, 5)
    assert len(seen) > 4 and all(seen)
    assert torch.allclose(out, grid, atol=1e-6)
