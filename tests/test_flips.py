"""Flip averaging (:mod:`irsde_gui.core.flips`): the mean of the network's estimate and its
estimate of the half-turned photo, on the JPEG grid, in one batch; on for denoise by default, off
where the network alone is scored and for the denoiser inside a deconvolution."""

from __future__ import annotations

import numpy as np
import torch

from irsde_gui.core.flips import FlipAveraged
from irsde_gui.core.model import Restorer
from irsde_gui.core.pipeline import JobSettings, create_job
from irsde_gui.core.runner import RunEvents, Runner
from irsde_gui.core.sde import MeanRevertingSDE
from irsde_gui.core.tasks import get_task
from irsde_gui.evaluation.validation import restore_array


class Leaning(torch.nn.Module):
    """A stand-in network that is not symmetric: it brightens the photo towards its left edge
    (0.2 at the first column, nothing at the last), and counts what it is called with."""

    predict = "x0"

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[int, ...]] = []

    def forward(self, x_t, mu, t):
        self.calls.append(tuple(x_t.shape))
        w = mu.shape[-1]
        lean = 0.2 * (1 - torch.arange(w, dtype=mu.dtype) / max(w - 1, 1))
        return lean.expand_as(mu)


def leaning_restorer() -> tuple[Restorer, Leaning]:
    net = Leaning()
    return Restorer(net, MeanRevertingSDE(get_task("denoise").sde)), net


def test_the_mean_of_the_two_estimates_in_one_batch():
    restorer, net = leaning_restorer()
    x = torch.full((1, 3, 40, 64), 0.5)
    out = FlipAveraged(restorer)(x, x, 50)
    assert net.calls == [(2, 3, 40, 64)]  # one call, the photo and its half-turned copy
    # Leaning left on the photo and (turned back) right on the copy: 0.1 everywhere on average.
    assert torch.allclose(out, torch.full_like(x, 0.6), atol=1e-5)
    assert torch.allclose(restorer(x, x, 50)[..., 0], torch.full((1, 3, 40), 0.7), atol=1e-5)


def test_the_half_turned_copy_keeps_the_jpeg_grid_of_an_odd_sized_photo():
    """Blocks sit on an 8 px grid from the photo's corner; turned as it is, a 203x331 photo would
    put them 5 and 3 px off it. Padded to multiples of 8 first, both copies keep every block whole."""
    h, w = 203, 331
    yy, xx = np.mgrid[0:h, 0:w]
    blocks = torch.from_numpy(((yy // 8 * 7 + xx // 8 * 3) % 11 / 10.0).astype(np.float32))
    photo = blocks.expand(1, 3, h, w).contiguous()
    whole = []

    def check(x_t, mu, t):
        for img in x_t:
            hh, ww = img.shape[-2:]
            b = img[0].reshape(hh // 8, 8, ww // 8, 8)
            spread = b.amax(dim=(1, 3)) - b.amin(dim=(1, 3))
            whole.append(bool((spread[1:-1, 1:-1] == 0).all()))  # (edge blocks hold the padding)
        return x_t

    out = FlipAveraged(check)(photo, photo, 5)
    assert whole == [True, True]
    assert out.shape == photo.shape and torch.equal(out, photo)


def test_denoise_averages_by_default_and_says_so():
    restorer, net = leaning_restorer()
    photo = np.full((48, 64, 3), 0.5, np.float32)
    result = Runner(RunEvents()).restore(get_task("denoise"), restorer, photo, None, JobSettings(steps=1))
    assert result.report.flip_average is True
    assert all(shape[0] == 2 for shape in net.calls)
    assert np.allclose(result.image, 0.6, atol=2e-3)
    off = Runner(RunEvents()).restore(
        get_task("denoise"), restorer, photo, None, JobSettings(steps=1, flip_average=False)
    )
    assert off.report.flip_average is False and off.image[:, 0].mean() > 0.65


def test_other_tasks_and_the_network_alone_do_not_average():
    restorer, net = leaning_restorer()
    photo = np.full((48, 64, 3), 0.5, np.float32)
    create_job(get_task("dehaze"), restorer, photo, None, JobSettings(steps=1)).run()
    restore_array(get_task("denoise"), restorer, photo, None, 1, pre_stage=False)  # training's check
    assert net.calls and all(shape[0] == 1 for shape in net.calls)


def test_the_denoiser_inside_a_deconvolution_runs_once_a_round(tiny_weights):
    """The deblur route's rounds were tuned and timed with one estimate each."""
    from irsde_gui.core.model import load_restorer

    restorer = load_restorer("denoise", tiny_weights / "denoise.pt", "cpu")
    calls = []
    forward = restorer.net.forward
    restorer.net.forward = lambda x_t, mu, t: calls.append(x_t.shape[0]) or forward(x_t, mu, t)
    rng = np.random.default_rng(0)
    photo = np.clip(0.5 + 0.1 * rng.standard_normal((64, 64, 3)), 0, 1).astype(np.float32)
    kernel = np.zeros((5, 5), np.float32)
    kernel[2, :] = 0.2
    create_job(get_task("deblur"), restorer, photo, None, JobSettings(steps=2, kernel=kernel)).run()
    assert calls and set(calls) == {1}
    create_job(get_task("denoise"), restorer, photo, None, JobSettings(steps=1)).run()
    assert calls[-1] == 2  # the same network, run as the denoise task


def test_upscaling_keeps_the_grid_of_the_small_photo_s_blocks():
    """x4 runs on the photo upsampled, where a JPEG's 8 px blocks are 32 px: tiles start on that
    grid, and a flip-averaged run pads to it."""
    restorer, net = leaning_restorer()
    restorer.multiple = 16
    photo = np.full((45, 53, 3), 0.5, np.float32)
    job = create_job(get_task("sr"), restorer, photo, None, JobSettings(steps=1, tile=64, flip_average=True))
    assert job.predict.align == 32 and job.predict.predict.align == 32
    out = job.run()
    assert out.shape == (180, 212, 3) and np.isfinite(out).all()
    assert net.calls and all(shape[0] % 2 == 0 for shape in net.calls)  # each tile with its turned copy
