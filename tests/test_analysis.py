"""Uncertainty maps and residuals."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import smooth_image

from irsde_gui.core import degrade as D
from irsde_gui.core.analysis import SpreadAccumulator, residual, residual_image, uncertainty
from irsde_gui.core.model import load_restorer
from irsde_gui.core.pipeline import JobSettings
from irsde_gui.core.tasks import TASKS


def test_uncertainty_is_zero_where_seeds_agree_and_positive_in_holes(tiny_weights):
    img = smooth_image(32, 32)
    mask = np.zeros((32, 32), np.float32)
    mask[8:20, 8:20] = 1
    r = load_restorer("inpaint", tiny_weights / "inpaint.pt", "cpu")
    u = uncertainty(TASKS["inpaint"], r, img, mask, JobSettings(steps=3), seeds=[0, 1, 2])
    assert u.mean.shape == img.shape and u.std.shape == (32, 32)
    assert np.all(u.std[mask == 0] == 0)  # known pixels are pasted back: identical for every seed
    assert u.std[mask == 1].mean() > 0
    heat = u.heatmap()
    assert heat.dtype == np.uint8 and heat.shape == (32, 32, 3)
    with pytest.raises(ValueError):
        uncertainty(TASKS["inpaint"], r, img, mask, JobSettings(steps=1), seeds=[0])


def test_residual_of_denoise_is_input_minus_result():
    a = smooth_image(16, 16)
    b = np.clip(a * 0.9, 0, 1)
    np.testing.assert_allclose(residual(TASKS["denoise"], a, b), a - b)
    diff = np.zeros((4, 4, 3), np.float32)
    diff[0, 0] = 0.1
    diff[1, 1] = -0.1
    img = residual_image(diff)
    assert img.dtype == np.uint8 and img[2, 2, 0] == 128
    assert img[0, 0, 0] > 200 and img[1, 1, 0] < 55


def test_residual_of_sr_compares_at_low_resolution():
    hr = smooth_image(64, 64)
    lr = D.downsample(torch.from_numpy(hr.transpose(2, 0, 1))[None])[0].permute(1, 2, 0).numpy()
    d = residual(TASKS["sr"], lr, hr)
    assert d.shape == lr.shape and np.abs(d).max() < 1e-5


def test_running_spread_matches_numpy():
    rng = np.random.default_rng(0)
    images = [rng.random((5, 7, 3)).astype(np.float32) for _ in range(4)]
    acc = SpreadAccumulator()
    with pytest.raises(ValueError):
        acc.result()  # nothing yet
    for seed, im in enumerate(images):
        acc.add(im, seed)
    u = acc.result()
    stack = np.stack(images).astype(np.float64)
    np.testing.assert_allclose(u.mean, stack.mean(0), atol=1e-6)
    np.testing.assert_allclose(u.std, stack.std(0, ddof=1).mean(2), atol=1e-6)
    assert u.seeds == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        acc.add(np.zeros((2, 2, 3), np.float32), 9)


def test_sub_jobs_carry_every_setting_but_the_photos_blur():
    """A stage, a coarse pass or one seed of an uncertainty map restores as the user asked (tiles,
    averaging, no first stage...), without the blur or step count that belong to the main job."""
    s = JobSettings(
        steps=7,
        sampler="euler",
        seed=3,
        tile=128,
        tile_overlap=16,
        kernel=np.ones((3, 3)) / 9,
        kernel_source="motion:3:0",
        estimated=np.ones((3, 3)) / 9,
        second_start=False,
        pre_stage=False,
        coarse_to_fine=False,
        hole_region=False,
        flip_average=True,
    )
    sub = s.for_sub_job(seed=5)
    assert sub.steps is None and sub.kernel is None and sub.kernel_source is None and sub.estimated is None
    assert sub.seed == 5
    carried = {f.name for f in dataclasses.fields(JobSettings)} - {
        "steps",
        "kernel",
        "kernel_source",
        "estimated",
        "seed",
    }
    assert all(getattr(sub, k) == getattr(s, k) for k in carried)
    assert s.for_sub_job(steps=2).steps == 2
