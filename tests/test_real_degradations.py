"""Camera noise, JPEG and practical ×4 photos: deterministic under a seed, with the statistics of
the photos they imitate, degrading a photo visibly without destroying it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import smooth_image

from irsde_gui.core import camera, practical
from irsde_gui.core import degrade as D
from irsde_gui.core.metrics import psnr
from irsde_gui.core.tasks import get_task
from irsde_gui.training.train import TrainConfig


def photos(b=4, h=64, w=64, seed=0):
    imgs = [smooth_image(h, w, seed=seed + i).transpose(2, 0, 1) for i in range(b)]
    return torch.from_numpy(np.stack(imgs)).float()


def g(seed):
    return torch.Generator().manual_seed(seed)


def mean_psnr(a, b):
    return float(
        np.mean([psnr(x.permute(1, 2, 0).numpy(), y.permute(1, 2, 0).numpy()) for x, y in zip(a, b)])
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda x, gen: camera.camera_noise(x, gen),
        lambda x, gen: camera.jpeg_only(x, gen),
        lambda x, gen: practical.practical_lowres(x, gen),
        lambda x, gen: practical.eval_lowres(x, gen),
        lambda x, gen: practical.saved_once_lowres(x, gen),
        lambda x, gen: D.denoise_camera_mix(x, gen)[1],
        lambda x, gen: D.denoise_colour_nr_mix(x, gen)[1],
        lambda x, gen: D.denoise_sharpened_mix(x, gen)[1],
        lambda x, gen: D.denoise_faded_colour_mix(x, gen)[1],
        lambda x, gen: D.denoise_tone_shaped_mix(x, gen)[1],
        lambda x, gen: D.sr_practical_mix(x, gen)[1],
        lambda x, gen: D.sr_photos_mix(x, gen)[1],
    ],
    ids=[
        "camera",
        "jpeg",
        "practical",
        "eval-practical",
        "saved-once",
        "denoise-mix",
        "colour-nr-mix",
        "sharpened-mix",
        "faded-colour-mix",
        "tone-shaped-mix",
        "sr-mix",
        "sr-photos-mix",
    ],
)
def test_each_chain_is_deterministic_under_a_seed(make):
    x = photos()
    a, b, c = make(x, g(1)), make(x, g(1)), make(x, g(2))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert torch.isfinite(a).all()
    assert a.shape[:2] == x.shape[:2]


@pytest.mark.parametrize("make", [camera.camera_noise, camera.jpeg_only, practical.practical_lowres])
def test_photos_stay_within_the_range_a_file_holds(make):
    y = make(photos(), g(0))
    assert float(y.min()) >= 0 and float(y.max()) <= 1


def test_tone_curve_inverts():
    y = torch.rand(10_000)
    for gamma, contrast in [(0.8, 0.0), (1.0, 0.0), (1.25, 0.6)]:
        back = camera.tone(camera.inverse_tone(y, gamma, contrast), gamma, contrast)
        assert float((back - y).abs().max()) < 1e-3


def test_shot_noise_grows_with_the_signal():
    levels = torch.tensor([0.05, 0.2, 0.8]).view(3, 1, 1, 1).expand(3, 1, 128, 128)
    noisy = camera.poisson_gaussian(levels, shot=0.01, read=1e-5, g=g(0))
    var = (noisy - levels).flatten(1).var(dim=1)
    expected = 0.01 * torch.tensor([0.05, 0.2, 0.8]) + 1e-5
    assert torch.allclose(var, expected, rtol=0.1)
    assert var[0] < var[1] < var[2]


def test_demosaicing_correlates_neighbouring_noise():
    phase = 0
    noise = torch.randn(1, 1, 256, 256, generator=g(0)) * 0.01 + 0.5
    for demosaic in (camera.demosaic_bilinear, camera.demosaic_edge_aware):
        rgb = demosaic(noise, phase) - 0.5
        r = rgb[0, 1]  # green: half its pixels are interpolated from their neighbours
        corr = float(torch.corrcoef(torch.stack([r[:, :-1].flatten(), r[:, 1:].flatten()]))[0, 1])
        assert corr > 0.2, demosaic.__name__
    white = torch.randn(256, 256, generator=g(1))
    corr = float(torch.corrcoef(torch.stack([white[:, :-1].flatten(), white[:, 1:].flatten()]))[0, 1])
    assert abs(corr) < 0.05


def test_colour_noise_reduction_leaves_colour_blotches_wider_than_the_grain():
    """Cameras smooth colour noise far more than brightness noise: what is left of the colour is
    correlated over several pixels, the grain over fewer."""

    def neighbour_corr(a, step):
        return float(torch.corrcoef(torch.stack([a[:, :-step].flatten(), a[:, step:].flatten()]))[0, 1])

    noise = torch.randn(1, 3, 128, 128, generator=g(0))
    for seed in range(1, 6):
        out = camera.colour_noise_reduction(noise, g(seed))
        assert out.shape == noise.shape
        luma = out.mean(dim=1)[0]
        chroma = (out - out.mean(dim=1, keepdim=True))[0, 0]
        assert neighbour_corr(chroma, 1) > 0.7
        assert neighbour_corr(chroma, 2) > neighbour_corr(luma, 2) + 0.1
        assert torch.equal(out, camera.colour_noise_reduction(noise, g(seed)))


def test_bilinear_demosaicing_keeps_a_flat_colour():
    rgb = torch.tensor([0.2, 0.5, 0.7]).view(1, 3, 1, 1).expand(1, 3, 32, 32)
    for phase in range(4):
        back = camera.demosaic_bilinear(camera.mosaic(rgb, phase), phase)
        assert torch.allclose(back, rgb, atol=1e-5)


def test_mosaic_takes_one_channel_per_photosite():
    rgb = torch.stack([torch.full((4, 4), float(c)) for c in range(3)])[None]
    assert camera.mosaic(rgb, 0)[0, 0, :2, :2].tolist() == [[0, 1], [1, 2]]  # RGGB
    assert camera.mosaic(rgb, 3)[0, 0, :2, :2].tolist() == [[2, 1], [1, 0]]  # BGGR


def test_camera_noise_is_stronger_in_the_shadows_than_white_noise_would_be():
    dark = torch.full((8, 3, 64, 64), 0.1)
    bright = torch.full((8, 3, 64, 64), 0.7)
    shots = (4e-3, 4e-3)
    a = camera.camera_noise(dark, g(0), shot_range=shots, p_resize=0, p_jpeg=0)
    b = camera.camera_noise(bright, g(0), shot_range=shots, p_resize=0, p_jpeg=0)
    # Shot noise is weaker in the dark, but the tone curve lifts it there: sRGB noise is not flat.
    ratio = float((a - dark).std() / (b - bright).std())
    assert ratio > 1.2 or ratio < 0.8


def test_jpeg_quality_is_drawn_within_its_range(monkeypatch):
    seen = []
    real = camera.jpeg

    def spy(x, qualities):
        seen.extend(qualities)
        return real(x, qualities)

    monkeypatch.setattr(camera, "jpeg", spy)
    camera.camera_noise(photos(16, 32, 32), g(0), p_jpeg=1.0)
    assert len(seen) == 16 and all(camera.JPEG_RANGE[0] <= q <= camera.JPEG_RANGE[1] for q in seen)
    seen.clear()
    camera.jpeg_only(photos(16, 32, 32), g(1), quality_range=(10, 20))
    assert len(seen) == 16 and all(10 <= q <= 20 for q in seen)


def test_jpeg_loses_more_at_lower_quality_and_keeps_grey_grey():
    x = photos(1, 96, 96)
    assert psnr(camera.jpeg(x, [20])[0].permute(1, 2, 0).numpy(), x[0].permute(1, 2, 0).numpy()) < psnr(
        camera.jpeg(x, [90])[0].permute(1, 2, 0).numpy(), x[0].permute(1, 2, 0).numpy()
    )
    grey = camera.greyscale(x)
    out = camera.jpeg(grey, [50])
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])


def test_camera_photos_are_degraded_but_not_destroyed():
    x = photos(8, 96, 96)
    y = camera.camera_noise(x, g(3))
    p = mean_psnr(y, x)
    assert 20 < p < 45
    assert all(mean_psnr(y[i : i + 1], x[i : i + 1]) > 12 for i in range(8))


def test_practical_lowres_has_the_quarter_size_and_resembles_the_photo():
    x = photos(6, 128, 96)
    lr = practical.practical_lowres(x, g(0))
    assert lr.shape == (6, 3, 32, 24)
    clean_lr = D.downsample(x)
    assert 18 < mean_psnr(lr, clean_lr) < 45
    ev = practical.eval_lowres(x, g(0))
    assert ev.shape == (6, 3, 32, 24)
    assert 20 < mean_psnr(ev, clean_lr) < 40


def test_a_photo_saved_once_has_the_quarter_size_and_resembles_the_photo():
    x = photos(8, 128, 96)
    once = practical.saved_once_lowres(x, g(3))
    assert once.shape == (8, 3, 32, 24)
    assert 18 < mean_psnr(once, D.downsample(x)) < 45


# photos: a third each saved once, two rounds, clean; web: half saved once, a sixth clean
@pytest.mark.parametrize("mix, few, many", [("sr_photos_mix", 8, 24), ("sr_web_mix", 3, 15)])
def test_the_x4_photo_mixes_keep_their_share_of_clean_shrinks_and_repeat_under_a_seed(mix, few, many):
    make = getattr(D, mix)
    x = photos(48, 32, 32)
    mu = make(x, g(4))[1]  # (seed 4: the batch's own draw in sr_lowres leaves its shrinks clean)
    clean = D.upsample(D.downsample(x))
    exact = sum((mu[i] - clean[i]).abs().max().item() < 1e-5 for i in range(48))
    assert few <= exact <= many  # untouched bicubic shrinks: 16 and 8 expected
    assert torch.equal(mu, make(x, g(4))[1])


def test_photos_saved_once_are_milder_than_photos_saved_twice(monkeypatch):
    x = photos(8, 128, 128)
    clean_lr = D.downsample(x)
    monkeypatch.setattr(practical, "P_ONE_ROUND", 1.0)
    once = mean_psnr(practical.practical_lowres(x, g(5)), clean_lr)
    monkeypatch.setattr(practical, "P_ONE_ROUND", 0.0)
    twice = mean_psnr(practical.practical_lowres(x, g(5)), clean_lr)
    assert once > twice + 0.5


def test_the_shipped_share_of_photos_saved_once_is_a_share():
    assert 0 < practical.P_ONE_ROUND < 1


@pytest.mark.parametrize("maker", ["gaussian", "generalized", "plateau"])
def test_blur_kernels_sum_to_one_and_are_centred(maker):
    size = 15
    k = {
        "gaussian": lambda: practical.gaussian_kernel(size, 2.0, 1.0, 0.5),
        "generalized": lambda: practical.generalized_gaussian_kernel(size, 2.0, 1.0, 0.5, 0.7),
        "plateau": lambda: practical.plateau_kernel(size, 2.0, 1.0, 0.5, 1.5),
    }[maker]()
    assert k.shape == (size, size)
    assert k.sum() == pytest.approx(1.0, abs=1e-5)
    ys, xs = np.mgrid[:size, :size]
    assert (k * ys).sum() == pytest.approx(7, abs=1e-4) and (k * xs).sum() == pytest.approx(7, abs=1e-4)


def test_sinc_kernel_rings():
    k = practical.sinc_kernel(21, np.pi / 3)
    assert k.sum() == pytest.approx(1.0, abs=1e-5)
    assert k.min() < 0  # the negative lobes are what ring around edges
    assert k[10, 10] == k.max()


def test_denoise_mix_turns_some_photos_black_and_white():
    x = photos(64, 16, 16)
    clean, noisy = D.denoise_camera_mix(x, g(0))
    grey = (clean[:, 0] == clean[:, 1]).flatten(1).all(1) & (clean[:, 1] == clean[:, 2]).flatten(1).all(1)
    assert 0 < int(grey.sum()) < 20
    assert not torch.equal(noisy, clean)


def test_training_pair_names_its_mixes():
    x = photos(2, 32, 32)
    denoise = get_task("denoise")
    a = denoise.training_pair(x, g(0))
    b = denoise.training_pair(x, g(0), "camera")
    assert torch.equal(a[1], b[1])
    _, gauss = denoise.training_pair(x, g(0), "gaussian")
    _, nr = denoise.training_pair(x, g(0), "colour_nr")
    assert nr.shape == x.shape and not torch.equal(nr, a[1])
    assert gauss.shape == x.shape
    with pytest.raises(ValueError, match="unknown degradation 'rain'"):
        denoise.training_pair(x, g(0), "rain")
    assert get_task("sr").mix_names() == ["practical", "photos", "web", "bicubic"]


def test_training_config_checks_the_degradation():
    cfg = TrainConfig(task="denoise", data=["x"]).resolved()
    assert cfg.degradation == "camera"
    assert (
        TrainConfig(task="sr", data=["x"], patch=64, degradation="bicubic").resolved().degradation
        == "bicubic"
    )
    with pytest.raises(
        ValueError, match="choose one of camera, colour_nr, sharpened, faded_colour, tone_shaped, gaussian"
    ):
        TrainConfig(task="denoise", data=["x"], degradation="practical").resolved()


def test_sharpened_grain_is_stronger_and_crisper():
    """In-camera sharpening boosts the fine grain: more of it, and less alike from one pixel to
    the next, while a flat clean photo stays the target."""

    def neighbour_corr(a):
        return float(torch.corrcoef(torch.stack([a[..., :-1].flatten(), a[..., 1:].flatten()]))[0, 1])

    grain = camera.gaussian_blur(torch.randn(1, 3, 128, 128, generator=g(0)) * 0.01, 0.5)
    for seed in range(1, 6):
        out = camera.sharpen_grain(grain, g(seed))
        assert torch.equal(out, camera.sharpen_grain(grain, g(seed)))
        assert float(out.std()) > 1.1 * float(grain.std())
        assert neighbour_corr(out.mean(1)) < neighbour_corr(grain.mean(1)) - 0.05
    x = photos(8, 32, 32)
    _, noisy = D.denoise_sharpened_mix(x, g(0))
    assert noisy.shape == x.shape and torch.isfinite(noisy).all()
    assert not torch.equal(noisy, D.denoise_camera_mix(x, g(0))[1])


def test_faded_colour_noise_keeps_the_grain_and_weakens_the_colour():
    """Cameras' colour noise reduction: the colour part of the noise weaker (a tenth to seven
    tenths), the brightness part exactly as it was."""
    noise = torch.randn(1, 3, 64, 64, generator=g(0)) * 0.01
    luma = noise.mean(dim=1, keepdim=True)
    for seed in range(1, 6):
        out = camera.fade_colour(noise, g(seed))
        assert torch.equal(out, camera.fade_colour(noise, g(seed)))
        assert torch.allclose(out.mean(dim=1, keepdim=True), luma, atol=1e-7)
        ratio = float((out - luma).std() / (noise - luma).std())
        assert 0.1 - 1e-4 <= ratio <= 0.7 + 1e-4
    x = photos(8, 32, 32)
    _, noisy = D.denoise_faded_colour_mix(x, g(0))
    assert noisy.shape == x.shape and torch.isfinite(noisy).all()
    assert not torch.equal(noisy, D.denoise_camera_mix(x, g(0))[1])


def test_tone_shaped_noise_is_full_in_the_mid_tones_and_weaker_at_the_ends():
    """A camera's tone curve and noise reduction: the noise near black kept at 0.4-0.8, near white
    at 0.1-0.6, untouched at mid-grey; the same under a seed."""
    ramp = torch.linspace(0, 1, 101).view(1, 1, 1, -1).expand(1, 3, 8, 101)
    noise = torch.full_like(ramp, 0.01)
    for seed in range(1, 8):
        out = camera.shape_by_tone(noise, ramp, g(seed))
        assert torch.equal(out, camera.shape_by_tone(noise, ramp, g(seed)))
        gain = out[0, 0, 0] / 0.01
        assert abs(float(gain[50]) - 1) < 1e-4
        assert 0.4 - 1e-4 <= float(gain[0]) <= 0.8 + 1e-4
        assert 0.1 - 1e-4 <= float(gain[100]) <= 0.6 + 1e-4
        assert float(gain.max()) <= 1 + 1e-4
    x = photos(8, 32, 32)
    _, noisy = D.denoise_tone_shaped_mix(x, g(0))
    assert noisy.shape == x.shape and torch.isfinite(noisy).all()
    assert not torch.equal(noisy, D.denoise_faded_colour_mix(x, g(0))[1])
