"""Degradations: deterministic under a seed, with the statistics they promise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import smooth_image

from irsde_gui.core import degrade as D
from irsde_gui.core.tasks import INPAINT_FILL, TASKS, get_task


def batch(b=4, h=64, w=64):
    return torch.stack([torch.from_numpy(smooth_image(h, w, seed=i).transpose(2, 0, 1)) for i in range(b)])


@pytest.mark.parametrize("task", list(TASKS))
def test_deterministic_under_seed(task):
    """Each task's plainest training degradation (its last mix), under a seed."""
    x = batch()
    t = TASKS[task]

    def degrade(seed):
        return t.training_pair(x, torch.Generator().manual_seed(seed), t.mix_names()[-1])[1]

    a, b, c = degrade(5), degrade(5), degrade(6)
    assert a.shape == x.shape
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, x)


def test_noise_has_the_requested_sigma():
    x = torch.full((1, 3, 256, 256), 0.5)
    y = D.add_noise(x, 25 / 255, torch.Generator().manual_seed(0))
    assert float((y - x).std()) == pytest.approx(25 / 255, rel=0.02)
    assert abs(float((y - x).mean())) < 1e-3


def test_blind_noise_spans_zero_to_fifty():
    x = torch.full((400, 3, 8, 8), 0.5)
    y = D.denoise(x, torch.Generator().manual_seed(0))
    s = (y - x).flatten(1).std(dim=1) * 255
    assert s.min() < 5 and s.max() > 45 and s.max() < 60


def test_kernels_sum_to_one_and_fit():
    rng = np.random.default_rng(0)
    ks = D.random_kernels(rng, 40)
    assert ks.shape == (40, 31, 31)
    np.testing.assert_allclose(ks.sum(axis=(1, 2)), 1.0, atol=1e-5)
    assert (ks >= 0).all()
    for k in (D.gaussian_kernel(rng), D.disk_kernel(rng), D.motion_kernels(rng, 1)[0]):
        assert k.sum() == pytest.approx(1.0, abs=1e-5)


def test_hand_tremor_trails_fill_their_share_of_the_kernel():
    ks = D.shake_kernels(np.random.default_rng(3), 64)
    again = D.shake_kernels(np.random.default_rng(3), 64)
    np.testing.assert_array_equal(ks, again)
    np.testing.assert_allclose(ks.sum(axis=(1, 2)), 1.0, atol=1e-5)
    assert (ks >= 0).all()
    # Nothing touches the kernel's edge, and each trail's larger extent is 30-100 % of it.
    assert ks[:, 0].max() == 0 and ks[:, -1].max() == 0 and ks[:, :, 0].max() == 0 and ks[:, :, -1].max() == 0
    spans = []
    for k in ks:
        ys, xs = np.nonzero(k > 1e-6)
        spans.append(max(np.ptp(ys), np.ptp(xs)))
    assert min(spans) >= 0.3 * 27 - 1 and max(spans) <= 29
    assert np.ptp(spans) > 10  # short and long trails both occur


def test_hand_tremor_trails_linger_and_rush_as_recorded_shakes_do():
    """Recorded shakes hold up to a third of their mass in faint stretches (under 15 % of
    the peak: the camera rushing between points it lingers on); trails all of one brightness
    teach the deblur network, and the route's settings, blurs that real shakes are not."""
    ks = D.shake_kernels(np.random.default_rng(11), 300)
    faint = np.array([k[k < 0.15 * k.max()].sum() for k in ks])
    assert np.median(faint) > 0.1 and np.quantile(faint, 0.9) > 0.2
    assert np.quantile(faint, 0.1) < 0.08  # and evenly moved trails still occur


@pytest.mark.parametrize("make", [D.shake_kernels, D.motion_kernels])
def test_camera_shake_trails_are_centred_by_their_centre_of_mass(make):
    """The deblur network trains on blurs that move no photo's mean position, so its results
    line up with the sharp photo at the best shift of zero and it never guesses a shift."""
    ks = make(np.random.default_rng(7), 64).astype(np.float64)
    c = (31 - 1) / 2
    yy, xx = np.mgrid[0:31, 0:31]
    for k in ks:
        assert (k * yy).sum() / k.sum() == pytest.approx(c, abs=0.02)
        assert (k * xx).sum() / k.sum() == pytest.approx(c, abs=0.02)
        # and every trail stays clear of the kernel's edge
        assert k[0].max() == 0 and k[-1].max() == 0 and k[:, 0].max() == 0 and k[:, -1].max() == 0
    # lopsided trails exist: centring by centre of mass differs from centring by extent
    offsets = []
    for k in ks:
        ys, xs = np.nonzero(k > 1e-3 * k.max())
        offsets.append(max(abs((ys.min() + ys.max()) / 2 - c), abs((xs.min() + xs.max()) / 2 - c)))
    assert max(offsets) > 2


def test_blur_mixture_draws_every_kind_of_kernel():
    rng = np.random.default_rng(5)
    ks = D.random_kernels(rng, 200)
    # Gaussian and defocus kernels are symmetric under a half turn, camera-shake trails are not;
    # a defocus disk has a flat top, a Gaussian a single peak.
    symmetric = np.abs(ks - ks[:, ::-1, ::-1]).max(axis=(1, 2)) < 1e-6
    flat_top = (ks >= 0.999 * ks.max(axis=(1, 2), keepdims=True)).sum(axis=(1, 2)) > 1
    gaussian, disk = symmetric & ~flat_top, symmetric & flat_top
    assert 0.01 < gaussian.mean() < 0.1 and 0.05 < disk.mean() < 0.17 and 0.77 < (~symmetric).mean() < 0.93


def test_blur_with_delta_kernel_is_identity():
    x = batch(2)
    k = np.zeros((5, 5), np.float32)
    k[2, 2] = 1
    y = D.blur_with(x, k, 0.0, torch.Generator())
    assert torch.allclose(y, x, atol=1e-6)


def test_blur_preserves_mean_of_constant():
    x = torch.full((2, 3, 40, 40), 0.3)
    y = D.deblur(x, torch.Generator().manual_seed(1), max_noise=0.0)
    assert torch.allclose(y, x, atol=1e-5)


def test_sr_sizes_and_downsample():
    x = batch(2, 64, 48)
    lr = D.downsample(x)
    assert lr.shape == (2, 3, 16, 12)
    assert D.upsample(lr).shape == x.shape
    assert D.sr(x, torch.Generator().manual_seed(0)).shape == x.shape
    with pytest.raises(ValueError):
        D.sr(batch(1, 30, 30), torch.Generator())


def test_mask_coverage_in_range():
    rng = np.random.default_rng(0)
    cover = [D.free_form_mask(rng, 128, 128).mean() for _ in range(60)]
    assert min(cover) >= 0.04 and max(cover) <= 0.40
    assert np.std(cover) > 0.05  # the coverage really varies
    val = [D.free_form_mask(rng, 96, 96, 0.10, 0.30).mean() for _ in range(30)]
    assert min(val) >= 0.09 and max(val) <= 0.30


def test_inpaint_fills_holes_with_constant():
    x = batch(2)
    g = torch.Generator().manual_seed(0)
    m = D.masks(x.shape, g)
    y = D.apply_mask(x, m, INPAINT_FILL)
    assert torch.all(y[m.expand_as(y) > 0.5] == INPAINT_FILL)
    assert torch.equal(y[m.expand_as(y) < 0.5], x[m.expand_as(x) < 0.5])


def test_haze_brightens_and_lowers_contrast():
    x = batch(4)
    y = D.dehaze(x, torch.Generator().manual_seed(0))
    assert float(y.mean()) > float(x.mean())
    assert float(y.std()) < float(x.std())
    depth = D.depth_maps(x.shape, torch.Generator().manual_seed(0), "cpu")
    assert float(depth.min()) == pytest.approx(0, abs=1e-6) and float(depth.max()) == pytest.approx(
        1, abs=1e-6
    )
    # farther (larger depth) towards the top on average
    assert float(depth[..., :16, :].mean()) > float(depth[..., -16:, :].mean())


def test_rain_adds_bright_streaks():
    x = batch(3) * 0.5
    y = D.derain(x, torch.Generator().manual_seed(0))
    assert torch.all(y >= x - 1e-6)
    assert float((y - x).mean()) > 0.005


@pytest.mark.parametrize("task", list(TASKS))
def test_eval_degradation_is_fixed_by_seed(task):
    clean = smooth_image(64, 64)
    a = get_task(task).degrade_for_eval(clean, seed=3)
    b = get_task(task).degrade_for_eval(clean, seed=3)
    np.testing.assert_array_equal(a.model_input, b.model_input)
    scale = TASKS[task].scale
    expect = (64 // scale, 64 // scale, 3)
    assert a.model_input.shape == expect and a.shown.shape == clean.shape


def test_training_haze_is_a_window_of_a_larger_photos_haze():
    """Zoomed depth maps: windows of a bigger map, so a patch's depth often spans less than [0, 1];
    with no zoom the maps (and the fixed-seed validation haze) are exactly as before."""
    shape = (16, 3, 32, 32)
    plain = D.depth_maps(shape, torch.Generator().manual_seed(0), "cpu")
    again = D.depth_maps(shape, torch.Generator().manual_seed(0), "cpu", max_zoom=1.0)
    assert torch.equal(plain, again)
    zoomed = D.depth_maps(shape, torch.Generator().manual_seed(0), "cpu", max_zoom=4.0)
    assert zoomed.shape == (16, 1, 32, 32) and float(zoomed.min()) >= 0 and float(zoomed.max()) <= 1
    spans = (zoomed.amax(dim=(2, 3)) - zoomed.amin(dim=(2, 3))).flatten()
    assert float(spans.mean()) < 0.8 and float(spans.max()) > 0.3
    assert torch.equal(zoomed, D.depth_maps(shape, torch.Generator().manual_seed(0), "cpu", max_zoom=4.0))
    y = D.dehaze_patches(batch(4), torch.Generator().manual_seed(1))
    assert y.shape == (4, 3, 64, 64)
