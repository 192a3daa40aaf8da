"""JPEG blocks found where a crop left them, and the network run with them back on its grid."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import smooth_image

from irsde_gui.core import camera
from irsde_gui.core.jpeggrid import GridShifted, block_start, grid_padding
from irsde_gui.core.metrics import psnr
from irsde_gui.core.tasks import TASKS

EXAMPLE = Path(__file__).resolve().parents[1] / "resources" / "examples" / "chelsea.png"


def textured(h: int = 96, w: int = 120, seed: int = 0) -> np.ndarray:
    """A photo-like image with detail at every scale (float HxWx3)."""
    rng = np.random.default_rng(seed)
    base = smooth_image(h, w, seed)
    detail = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), 1.2)
    return np.clip(0.7 * base + 0.6 * (detail - 0.5), 0, 1).astype(np.float32)


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]
    return camera.jpeg(x, [quality])[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("quality", [20, 40])
@pytest.mark.parametrize("dy,dx", [(0, 0), (3, 5), (7, 1), (0, 6)])
def test_blocks_found_where_the_crop_left_them(quality, dy, dx):
    saved = jpeg(textured(seed=dy * 8 + dx), quality)
    cropped = saved[dy:, dx:]
    assert block_start(cropped) == ((-dy) % 8, (-dx) % 8)
    top, left = grid_padding(block_start(cropped))
    assert (top, left) == (dy, dx)  # padded back by what the crop took: the blocks on the grid
    assert grid_padding(block_start(cropped), scale=4) == (4 * top, 4 * left)


def test_no_blocks_no_shift():
    assert block_start(textured()[3:, 5:]) == (0, 0)  # never saved as a JPEG
    assert block_start(np.full((64, 64, 3), 0.5, np.float32)) == (0, 0)  # flat
    assert block_start(jpeg(textured(), 20)[3:27, 5:29]) == (0, 0)  # too small to tell
    assert block_start(jpeg(textured(), 20)[:, :, 0][3:, 5:]) == (5, 3)  # greyscale works too


def test_grid_shifted_pads_top_left_and_crops_back():
    seen = []

    def predict(x_t, mu, t):
        seen.append(tuple(x_t.shape[-2:]))
        return mu * 2

    x = torch.rand(1, 3, 20, 30)
    out = GridShifted(predict, 5, 3)(x, x, 10)
    assert seen == [(25, 33)] and out.shape == x.shape
    assert torch.allclose(out, x * 2)


@pytest.mark.parametrize("task_name", ["denoise", "sr"])
def test_tasks_that_learned_jpeg_blocks_say_so(task_name):
    assert TASKS[task_name].jpeg_grid


def test_denoiser_cleans_a_cropped_jpeg_as_well_as_one_on_its_grid():
    """Before: a JPEG cropped 2 px off its grid kept far more of its artefacts."""
    import dataclasses

    from irsde_gui.core.model import load_restorer
    from irsde_gui.core.pipeline import JobSettings, RestoreJob

    clean = cv2.imread(str(EXAMPLE))[..., ::-1].astype(np.float32)[:160, :160] / 255
    task = TASKS["denoise"]
    restorer = load_restorer("denoise", device="cpu")
    saved = jpeg(clean, 20)
    d, c = saved[2:, 2:], clean[2:, 2:]

    def gain(t):
        job = RestoreJob(t, restorer, d, None, JobSettings(steps=1))
        return psnr(job.run(), c) - psnr(d, c), job

    shifted, job = gain(task)
    off_grid, _ = gain(dataclasses.replace(task, jpeg_grid=False))
    assert job.blocks_at == (6, 6)
    assert shifted > off_grid + 0.2, (shifted, off_grid)


def test_run_report_says_where_the_blocks_were():
    from irsde_gui.core.model import load_restorer
    from irsde_gui.core.pipeline import JobSettings
    from irsde_gui.core.runner import RunEvents, Runner

    restorer = load_restorer("denoise", device="cpu")
    saved = jpeg(textured(), 20)
    run = Runner(RunEvents())
    on_grid = run.restore(TASKS["denoise"], restorer, saved, None, JobSettings(steps=1))
    cropped = run.restore(TASKS["denoise"], restorer, saved[3:, 1:], None, JobSettings(steps=1))
    assert on_grid.report.jpeg_blocks_at is None
    assert cropped.report.jpeg_blocks_at == [5, 7]
    assert cropped.report.to_dict()["jpeg_blocks_at"] == [5, 7]


def test_settings_can_say_where_the_blocks_are():
    """A photo that is not a file's pixels (a deconvolution's estimate between rounds) is not
    searched for blocks: its settings say (0, 0)."""
    from irsde_gui.core.model import load_restorer
    from irsde_gui.core.pipeline import JobSettings, RestoreJob

    restorer = load_restorer("denoise", device="cpu")
    cropped = jpeg(textured(), 20)[3:, 1:]
    assert RestoreJob(TASKS["denoise"], restorer, cropped, None, JobSettings(steps=1)).blocks_at == (5, 7)
    told = JobSettings(steps=1, blocks_at=(0, 0))
    assert RestoreJob(TASKS["denoise"], restorer, cropped, None, told).blocks_at == (0, 0)
