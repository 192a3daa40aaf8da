"""Deblurring scored as Levin et al. score it: PSNR at the best shift in quarter-pixel steps,
a border left out, and each photo held against its own blurred input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image

from irsde_gui.cli import main
from irsde_gui.core.metrics import SHIFT_BORDER, SHIFT_REACH, SHIFT_STEP, best_shift, psnr, shifted_psnr


def moved(img: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """``img`` resampled at ``(y + dy, x + dx)``, bilinear (edges repeated)."""
    h, w = img.shape[:2]
    ys = np.clip(np.arange(h) + dy, 0, h - 1)
    xs = np.clip(np.arange(w) + dx, 0, w - 1)
    y0, x0 = np.minimum(np.floor(ys).astype(int), h - 2), np.minimum(np.floor(xs).astype(int), w - 2)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    a, b = img[y0][:, x0], img[y0][:, x0 + 1]
    c, d = img[y0 + 1][:, x0], img[y0 + 1][:, x0 + 1]
    return (1 - fy) * ((1 - fx) * a + fx * b) + fy * ((1 - fx) * c + fx * d)


def brute_force(a: np.ndarray, b: np.ndarray, reach: int, step: float, border: int) -> float:
    """Every shift on the grid, one bilinear resampling each: the definition, slowly."""
    h, w = b.shape[:2]
    ref = b[border : h - border, border : w - border]
    best = np.inf
    for dy in np.arange(-reach, reach + step / 2, step):
        for dx in np.arange(-reach, reach + step / 2, step):
            err = np.mean((moved(a, dy, dx)[border : h - border, border : w - border] - ref) ** 2)
            best = min(best, err)
    return 10 * np.log10(1 / best)


def test_the_shift_rule_is_levins():
    assert (SHIFT_REACH, SHIFT_STEP, SHIFT_BORDER) == (5, 0.25, 15)


def test_psnr_at_the_best_shift_finds_a_quarter_pixel_shift():
    photo = smooth_image(64, 72, seed=4).astype(np.float64)
    sharp = moved(photo, -1.25, 2.5)  # the sharp photo sat a quarter-pixel multiple away
    score, where = best_shift(photo, sharp)
    assert where == (-1.25, 2.5)
    assert score > 60
    assert psnr(photo[15:-15, 15:-15], sharp[15:-15, 15:-15]) < 30
    # between grid points, the nearest grid point is best
    assert best_shift(photo, moved(photo, 0.3, 0.0))[1] == (0.25, 0.0)


def test_psnr_at_the_best_shift_is_the_search_over_every_shift():
    rng = np.random.default_rng(1)
    sharp = smooth_image(40, 44, seed=2).astype(np.float64)
    photo = np.clip(moved(sharp, 0.6, -1.1) + 0.02 * rng.standard_normal(sharp.shape), 0, 1)
    for reach, step, border in ((2, 0.25, 6), (3, 0.5, 4)):
        fast = shifted_psnr(photo, sharp, reach, step, border)
        assert fast == pytest.approx(brute_force(photo, sharp, reach, step, border), abs=1e-4)


def test_a_small_photo_is_scored_with_a_narrower_border_and_bad_input_is_refused():
    sharp = smooth_image(30, 34, seed=1).astype(np.float64)
    assert shifted_psnr(moved(sharp, 1.0, 0.0), sharp) > 60  # a 15 px border would leave nothing
    with pytest.raises(ValueError, match="differ in size"):
        shifted_psnr(sharp, sharp[:-1])
    with pytest.raises(ValueError, match="divide a pixel"):
        shifted_psnr(sharp, sharp, step=0.3)


def test_eval_help_states_the_shift_range_and_step(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    rule = (
        f"within {SHIFT_REACH} px each way in {SHIFT_STEP:g} px steps (bilinear), a {SHIFT_BORDER} px border"
    )
    assert rule in text and "PSNR@SH" in text and "--crop" in text


@pytest.fixture
def denoise_only(installed_tiny_weights):
    for f in installed_tiny_weights.glob("deblur.*"):
        f.unlink()
    return installed_tiny_weights


def test_deblur_eval_counts_the_photos_left_below_their_input(tmp_path, denoise_only, capsys):
    data = tmp_path / "clean"
    data.mkdir()
    for i in range(2):
        Image.fromarray((smooth_image(64, 72, seed=i) * 255 + 0.5).astype(np.uint8)).save(data / f"{i}.png")
    out_json = tmp_path / "ev.json"
    args = ["eval", "--task", "deblur", "--data", str(data), "--steps", "2", "--crop", "56"]
    assert main([*args, "--json", str(out_json), "-q"]) == 0
    table = capsys.readouterr().out
    result = json.loads(out_json.read_text())
    below = result["below_input"]
    assert set(below) == {"classic", "model"}
    for row, photos in below.items():
        worse = [
            e["image"] for e in result["per_image"] if e[row]["psnr_shifted"] < e["input"]["psnr_shifted"]
        ]
        assert photos == worse
    model_line = next(
        line for line in table.splitlines() if line.startswith("  below input: blind deblur (2 rounds):")
    )
    assert f"{len(below['model'])} of 2 photos below their input at PSNR@SH" in model_line
    assert "within 5 px each way in 0.25 px steps, a 15 px border left out" in table
    assert result["crop"] == 56 and all(
        e["input"]["psnr_shifted"] != e["input"]["psnr"] for e in result["per_image"]
    )
