"""Rain from drizzle to downpour, and holes as people paint them: deterministic under a seed,
with the statistics they promise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import smooth_image

from irsde_gui.core import holes, rain
from irsde_gui.core.tasks import get_task


def photos(b=3, h=96, w=96):
    return torch.from_numpy(
        np.stack([smooth_image(h, w, seed=i).transpose(2, 0, 1) for i in range(b)])
    ).float()


def g(seed):
    return torch.Generator().manual_seed(seed)


def test_rain_is_deterministic_under_a_seed():
    x = photos()
    a, b, c = rain.rain(x, g(1)), rain.rain(x, g(1)), rain.rain(x, g(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == x.shape and float(a.min()) >= 0 and float(a.max()) <= 1


def test_streak_density_follows_the_requested_count():
    rng = np.random.default_rng(0)
    sparse = rain.streak_layer(rng, 256, 256, 20, near=0.2, angle=0.0)
    dense = rain.streak_layer(rng, 256, 256, 400, near=0.2, angle=0.0)
    assert 5 * (sparse > 0.05).mean() < (dense > 0.05).mean()


def test_near_streaks_are_longer_wider_and_brighter_than_far_ones():
    far = rain.streak_layer(np.random.default_rng(0), 256, 256, 30, near=0.0, angle=0.0)
    near = rain.streak_layer(np.random.default_rng(0), 256, 256, 30, near=1.0, angle=0.0)
    assert near.max() > far.max()
    assert (near > 0.02).sum() > 4 * (far > 0.02).sum()


@pytest.mark.parametrize("angle", [0.0, np.pi / 2])
def test_streaks_fall_along_their_angle(angle):
    layer = rain.streak_layer(np.random.default_rng(1), 256, 256, 40, near=0.8, angle=angle)
    across = np.abs(np.diff(layer, axis=1)).sum()  # vertical streaks change most from left to right
    along = np.abs(np.diff(layer, axis=0)).sum()
    assert (across > 2 * along) if angle == 0.0 else (along > 2 * across)


def test_heavy_rain_hides_the_photo_behind_its_veil():
    x = torch.full((4, 3, 128, 128), 0.1)  # a dark scene shows the veil's light
    heavy = rain.rain(x, g(0), rain.HEAVY)
    veil_only = rain.rain(
        x,
        g(0),
        rain.RainRange(
            density=(1.0, 1.0),
            layers=(1, 1),
            veil=(0.3, 0.5),
            p_veil=1.0,
            p_splash=0.0,
            p_jpeg=0.0,
            exposure=(1.0, 1.0),
        ),
    )
    lifted = veil_only.mean(dim=(1, 2, 3))
    # With a veil hiding 30-50 % (thinner lower down), airlight 0.65-0.95 lifts 0.1 by at least 0.08.
    assert bool((lifted > 0.18).all()) and bool((lifted < 0.6).all())
    assert float(heavy.mean()) > float(veil_only.mean())  # the streaks add light on top


def test_heavy_preset_is_denser_than_the_light_one():
    clean = smooth_image(128, 128, seed=3)
    heavy = get_task("derain").degrade_for_eval(clean, seed=7, preset="heavy").shown
    light = get_task("derain").degrade_for_eval(clean, seed=7).shown
    assert np.abs(heavy - clean).mean() > np.abs(light - clean).mean()
    again = get_task("derain").degrade_for_eval(clean, seed=7, preset="heavy").shown
    assert np.array_equal(heavy, again)


@pytest.mark.parametrize("seed", range(6))
def test_object_masks_cover_their_share_in_one_to_three_blobs(seed):
    m = holes.object_mask(np.random.default_rng(seed), 200, 240)
    assert m.dtype == np.float32 and m.shape == (200, 240)
    assert 0.15 <= m.mean() <= 0.35
    import cv2

    n, _ = cv2.connectedComponents(m.astype(np.uint8))
    assert 1 <= n - 1 <= 6  # 1-3 blobs; a blob's parts may stand apart


def test_object_masks_are_fixed_by_their_seed():
    a = holes.object_mask(np.random.default_rng(4), 64, 64)
    assert np.array_equal(a, holes.object_mask(np.random.default_rng(4), 64, 64))
    assert not np.array_equal(a, holes.object_mask(np.random.default_rng(5), 64, 64))


def test_removal_masks_stay_under_half_the_patch_and_are_never_empty():
    rng = np.random.default_rng(0)
    cover = np.array([holes.removal_mask(rng, 128, 128).mean() for _ in range(200)])
    assert cover.max() <= 0.5 and cover.min() > 0
    assert (cover > 0.25).mean() > 0.1  # large holes are common, not rare


def test_removal_masks_take_the_object_share_asked_for(monkeypatch):
    calls = []
    real = holes.object_mask
    monkeypatch.setattr(holes, "object_mask", lambda *a, **k: calls.append(1) or real(*a, **k))

    def object_share(objects: float) -> float:
        calls.clear()
        rng = np.random.default_rng(3)
        for _ in range(300):
            holes.removal_mask(rng, 48, 48, objects=objects)
        return len(calls) / 300

    # Objects alone, plus the union of a blob and strokes that a share of the rest draws.
    assert object_share(0.8) > 0.78
    assert 0.5 < object_share(holes.REMOVAL_OBJECTS) < 0.7
    # The default is unchanged by the parameter: the same draws give the same masks.
    a = [holes.removal_mask(np.random.default_rng(s), 64, 64) for s in range(20)]
    b = [
        holes.removal_mask(np.random.default_rng(s), 64, 64, objects=holes.REMOVAL_OBJECTS) for s in range(20)
    ]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_objects_preset_masks_object_sized_holes():
    clean = smooth_image(96, 96, seed=1)
    deg = get_task("inpaint").degrade_for_eval(clean, seed=2, preset="objects")
    assert 0.15 <= deg.mask.mean() <= 0.35


@pytest.mark.parametrize("task", ["derain", "inpaint"])
def test_new_training_mixes_are_the_default_and_deterministic(task):
    x = photos(4, 64, 64)
    t = get_task(task)
    a = t.training_pair(x, g(0))[1]
    assert torch.equal(a, t.training_pair(x, g(0))[1])
    assert torch.equal(a, t.training_pair(x, g(0), t.mix_names()[0])[1])
    old = t.training_pair(x, g(0), t.mix_names()[1])[1]
    assert not torch.equal(a, old)


def test_photo_editor_streaks_draw_their_layers_and_more_layers_cover_more():
    """The light preset's streaks keep their draw (1-3 layers); training also draws up to six."""
    from irsde_gui.core import degrade as D

    x = photos(b=2, h=64, w=64) * 0.5  # mid-grey photos: streaks brighten them
    assert torch.equal(D.derain(x, g(3)), D.derain(x, g(3), layers=(1, 3)))
    assert torch.equal(D.derain(x, g(3), layers=(1, 6)), D.derain(x, g(3), layers=(1, 6)))
    light = np.mean([float((D.derain(x, g(s), layers=(1, 1)) - x).mean()) for s in range(12)])
    dense = np.mean([float((D.derain(x, g(s), layers=(6, 6)) - x).mean()) for s in range(12)])
    assert dense > 2.5 * light > 0
