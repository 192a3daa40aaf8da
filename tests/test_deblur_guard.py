"""Blind deblurring never makes a photo worse than it came: an estimate that gives itself away
is not trusted (a gentler result is shown, and the app and the command line say so), and a
clipped highlight is left out of the data term instead of ringing."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from irsde_gui.cli import main
from irsde_gui.core import blind
from irsde_gui.core import degrade as D
from irsde_gui.core.model import load_task_restorer
from irsde_gui.core.pipeline import BlindDeblurJob, JobSettings
from irsde_gui.core.runs import RunReport
from irsde_gui.core.tasks import get_task


@pytest.fixture
def denoise_only(installed_tiny_weights):
    for f in installed_tiny_weights.glob("deblur.*"):
        f.unlink()
    return installed_tiny_weights


def night_street(h: int = 160, w: int = 200, seed: int = 0) -> np.ndarray:
    """A dark street with three street lights far brighter than the sensor's range, shaken by a
    9 px trail and clipped: nothing but the lights' clipped streaks to estimate a blur from."""
    rng = np.random.default_rng(seed)
    scene = np.full((h, w, 3), 0.04, np.float32) + 0.01 * rng.standard_normal((h, w, 3)).astype(np.float32)
    lights = np.zeros((h, w), np.float32)
    for x, y in ((w // 4, h // 3), (3 * w // 5, h // 2), (4 * w // 5, h // 4)):
        cv2.circle(lights, (x, y), 3, 1.0, -1)
    scene += 10.0 * lights[..., None]
    k = blind.motion_kernel(9, 30)
    return np.clip(np.stack([cv2.filter2D(scene[..., c], -1, k) for c in range(3)], 2), 0, 1)


def photo_made_to_fail(kind: str) -> np.ndarray:
    rng = np.random.default_rng(1)
    if kind == "flat":
        return np.full((120, 160, 3), 0.4, np.float32)
    if kind == "noise":
        return rng.random((120, 160, 3)).astype(np.float32)
    return night_street()


@pytest.mark.parametrize("kind", ["flat", "noise", "night"])
def test_a_photo_made_to_fail_gets_a_gentler_result_and_says_so(denoise_only, kind):
    photo = photo_made_to_fail(kind)
    restorer = load_task_restorer("deblur", device="cpu")
    job = BlindDeblurJob(get_task("deblur"), restorer, photo, settings=JobSettings(steps=3))
    records = list(job.steps_iter())
    assert len(records) == 3 and job.result.shape == photo.shape and np.isfinite(job.result).all()
    assert job.doubt, "the estimate gave itself away"
    report = RunReport.from_job(job, restorer, [r.seconds for r in records], 1.0)
    assert report.blur_doubt == job.doubt
    assert blind.describe_blur(job.kernel, False, None, job.doubt) == blind.GENTLER
    if kind in ("flat", "noise"):  # no blur at all: the photo, only denoised
        np.testing.assert_array_equal(job.result, np.clip(job._denoise(photo), 0, 1))


def test_a_trusted_estimate_is_deconvolved_as_before(denoise_only):
    """A photo blurred by a shake, with edges to show it: no doubt, the usual strength."""
    from test_blind import a_shake, blurred, shapes

    photo = blurred(shapes(160), a_shake(), 0.01)
    info: dict = {}
    estimate = blind.estimate_photo_kernel(photo, info=info)
    assert blind.kernel_doubts(estimate, info) == []
    restorer = load_task_restorer("deblur", device="cpu")
    job = BlindDeblurJob(get_task("deblur"), restorer, photo, settings=JobSettings(steps=2))
    out = job.run()
    assert job.doubt is None and "blur found" in blind.describe_blur(job.kernel, False, None, job.doubt)
    expected = blind.deconvolve(job.prepared.mu, job.kernel, job._denoise, iters=2)
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_an_implausible_kernel_is_doubted_saying_why():
    spread = np.ones((31, 31))
    assert any("too spread" in why for why in blind.kernel_doubts(spread))
    pieces = np.zeros((31, 31))
    pieces[2:29:6, 2:29:6] = 1.0  # 25 separate dots
    assert any("25 pieces" in why for why in blind.kernel_doubts(pieces))
    point = np.zeros((31, 31))
    point[15, 15] = 1.0
    assert any("no blur" in why for why in blind.kernel_doubts(point))
    trail = blind.motion_kernel(15, 30)
    assert blind.kernel_doubts(np.pad(trail, 7)) == []
    assert blind.kernel_doubts(np.pad(trail, 7), {"residual": 0.99})  # explains nothing of the photo


def test_the_photo_s_own_fit_does_not_doubt_the_network_s_blur():
    """The estimate's residual measures the blur found from the photo's edges; where the
    network's start was kept instead, it says nothing of that blur."""
    trail = np.pad(blind.motion_kernel(15, 30), 7)
    assert blind.kernel_doubts(trail, {"residual": 0.99, "start": "photo"})
    assert blind.kernel_doubts(trail, {"residual": 0.99, "start": "network"}) == []


def test_the_command_line_says_when_it_shows_a_gentler_result(tmp_path, denoise_only, capsys):
    src = tmp_path / "flat.png"
    Image.fromarray(np.full((60, 80, 3), 100, np.uint8)).save(src)
    out = tmp_path / "out.png"
    args = ["restore", str(src), "-o", str(out), "--task", "deblur", "--steps", "2"]
    assert main([*args, "--report", "--save-blur"]) == 0
    err = capsys.readouterr().err
    assert "2 rounds, " in err and blind.GENTLER in err
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["blur_doubt"].startswith("no blur")
    assert not (tmp_path / "out.blur.png").exists(), "no blur was found to save"


def test_the_window_says_when_it_shows_a_gentler_result(qtbot, tmp_path, denoise_only):
    pytest.importorskip("pytestqt")
    from gui_support import make_window, restore_and_wait

    from irsde_gui.core.imageio import Photo

    win = make_window(qtbot, tmp_path)
    win.set_photo(Photo(np.full((60, 80, 3), 0.4, np.float32)), "test")
    assert win.panel.select_task("deblur") and win.panel.blind
    win.panel.set_steps(2)
    restore_and_wait(qtbot, win)
    assert win.result is not None and win.result.shape == (60, 80, 3)
    assert blind.GENTLER in win.progress_label.text()
    assert win.outcome.report.blur_doubt and win.session.found_blur is None, "a doubted blur is not kept"


# ---------------------------------------------------------------- clipped highlights
def lit_scene(n: int = 160, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Flat shapes on a dim background, and in the middle a light 8 times brighter than the
    sensor's range: (the scene, HxW 1 on the light)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n] / n
    img = np.stack([0.15 + 0.1 * xx, 0.12 + 0.05 * yy, 0.2 + 0 * xx], 2).astype(np.float32)
    for _ in range(6):
        x, y = rng.integers(0, n, 2)
        w, h = rng.integers(8, 30, 2)
        colour = tuple(float(v) for v in rng.uniform(0.05, 0.5, 3))
        cv2.rectangle(img, (int(x), int(y)), (int(x + w), int(y + h)), colour, -1)
    light = np.zeros((n, n), np.float32)
    cv2.circle(light, (n // 2, n // 2), 4, 1.0, -1)
    return img * (1 - light[..., None]) + 8.0 * light[..., None], light


def test_a_clipped_highlight_does_not_ring():
    """Deconvolved by its true blur, a photo with a clipped light rang around it (a dark halo:
    a mean error of 0.0057 near the light, against 0.0080 for the blurred photo itself). With
    the light's reach left out of the data term it stays below 0.003."""
    scene, light = lit_scene()
    from test_blind import a_shake

    k = a_shake()
    x = torch.from_numpy(scene.transpose(2, 0, 1).copy())[None]
    photo = np.clip(
        D.blur_with(x, k, 0.01, torch.Generator().manual_seed(0))[0].permute(1, 2, 0).numpy(), 0, 1
    )
    assert blind.clipped_mask(photo).sum() > 50

    def smooth(a):
        return cv2.bilateralFilter(a, 5, 0.1, 2)

    out = blind.deconvolve(photo, k, smooth, sigma=0.01, strength=blind.KNOWN_STRENGTH, iters=5)
    near = (cv2.dilate(light, np.ones((41, 41))) > 0) & ~(cv2.dilate(light, np.ones((9, 9))) > 0)
    truth = np.clip(scene, 0, 1)
    assert np.abs(photo - truth)[near].mean() > 0.007
    assert np.abs(out - truth)[near].mean() < 0.003


def test_only_a_patch_at_the_top_of_the_range_counts_as_clipped():
    img = np.full((40, 40, 3), 0.5, np.float32)
    img[5, 5] = 1.0  # a lone bright pixel: noise
    img[20:26, 20:26, 0] = 1.0  # a red light, clipped in one channel
    img[30:36, 5:11] = 1.2  # above 1: a photo computed in floating point, never clipped
    mask = blind.clipped_mask(img)
    assert mask[20:26, 20:26].all() and mask.sum() == 36
    reach = blind.reach_of_clipped(mask, 10)
    assert reach[23, 23] == 1.0 and reach[23, 29] == 1.0 and reach[23, 38] == 0.0
    assert 0.0 < reach[23, 34] < 1.0, "it fades out rather than stopping at an edge"
    assert not blind.clipped_mask(np.full((8, 8, 3), 0.3)).any()
