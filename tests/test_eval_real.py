"""irsde eval on what people bring: real noisy/clean pairs, JPEG artefacts, practical ×4 photos."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image

from irsde_gui.cli import main
from irsde_gui.core.classic import best_non_local_means, non_local_means
from irsde_gui.core.metrics import psnr
from irsde_gui.core.tasks import get_task


def save(img, path, **kw):
    Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)).save(path, **kw)


@pytest.fixture
def pairs(tmp_path):
    d = tmp_path / "pairs"
    (d / "noisy").mkdir(parents=True)
    (d / "clean").mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        clean = smooth_image(48, 48, seed=i)
        save(clean, d / "clean" / f"p{i}.png")
        save(clean + rng.normal(0, 0.04, clean.shape), d / "noisy" / f"p{i}.png")
    return d


def test_eval_scores_real_pairs_against_the_best_non_local_means(pairs, tiny_weights, capsys, tmp_path):
    out = tmp_path / "ev.json"
    args = ["eval", "--task", "denoise", "--pairs", str(pairs), "--weights", str(tiny_weights / "denoise.pt")]
    assert main([*args, "--steps", "1", "--json", str(out), "-q"]) == 0
    table = capsys.readouterr().out
    assert "real pairs" in table and "non-local means (best strength per photo)" in table
    res = json.loads(out.read_text())
    assert res["images"] == 2 and res["degradation"] == "real pairs"
    # The input row is the given noisy photo scored against its clean one (noise 0.04: ~28 dB).
    assert 26 < res["mean"]["input"]["psnr"] < 30


def test_eval_pairs_refuses_a_synthetic_degradation_too(pairs, tiny_weights, capsys):
    args = ["eval", "--task", "denoise", "--pairs", str(pairs), "--jpeg", "20"]
    assert main([*args, "--weights", str(tiny_weights / "denoise.pt"), "-q"]) != 0
    assert "--pairs scores the folder's own degraded photos" in capsys.readouterr().err


def test_eval_jpeg_scores_compression_without_noise(tmp_path, tiny_weights, capsys):
    data = tmp_path / "clean"
    data.mkdir()
    save(smooth_image(64, 64, seed=3), data / "a.png")
    args = ["eval", "--task", "denoise", "--data", str(data), "--jpeg", "15", "--steps", "1", "-q"]
    assert main([*args, "--weights", str(tiny_weights / "denoise.pt")]) == 0
    assert "JPEG quality 15, no noise" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # argparse: out of range, named
        main([*args[:-3], "--jpeg", "0", "-q"])
    assert "a JPEG quality is from 1 to 100, got 0" in capsys.readouterr().err


def test_eval_practical_sr_degrades_the_high_res_photo(tmp_path, tiny_weights, capsys):
    data = tmp_path / "set"
    data.mkdir()
    hr = smooth_image(64, 64, seed=1)
    save(hr, data / "a_HR.png")
    save(hr[::4, ::4], data / "a_LR.png")  # ignored by the practical chain
    args = ["eval", "--task", "sr", "--data", str(data), "--degradation", "practical", "--steps", "1", "-q"]
    assert main([*args, "--weights", str(tiny_weights / "sr.pt")]) == 0
    assert "practical x4" in capsys.readouterr().out
    assert main([*args[:5], "--degradation", "heavy", "-q"]) != 0
    assert "no evaluation degradation 'heavy' for sr" in capsys.readouterr().err


def test_practical_eval_degradation_is_fixed_by_its_seed():
    clean = smooth_image(64, 64, seed=2)
    a = get_task("sr").degrade_for_eval(clean, seed=4, preset="practical")
    b = get_task("sr").degrade_for_eval(clean, seed=4, preset="practical")
    c = get_task("sr").degrade_for_eval(clean, seed=5, preset="practical")
    assert a.model_input.shape == (16, 16, 3)
    assert np.array_equal(a.model_input, b.model_input) and not np.array_equal(a.model_input, c.model_input)


def test_best_non_local_means_is_at_least_as_good_as_every_strength_it_tries():
    clean = smooth_image(48, 48, seed=5)
    noisy = np.clip(clean + np.random.default_rng(1).normal(0, 0.05, clean.shape), 0, 1).astype(np.float32)
    best = psnr(best_non_local_means(noisy, clean), clean)
    for h in (2.0, 8.0, 20.0):
        assert best >= psnr(non_local_means(noisy, h), clean) - 1e-6


@pytest.mark.parametrize(
    ("task", "flag", "value", "title"),
    [
        ("derain", "--rain", "heavy", "heavy rain"),
        ("derain", "--rain", "light", "derain: 2 images"),
        ("inpaint", "--masks", "objects", "object-sized holes"),
        ("inpaint", "--masks", "strokes", "inpaint: 2 images"),
    ],
)
def test_eval_runs_the_removal_and_rain_presets_on_two_tiny_photos(
    tmp_path, tiny_weights, capsys, task, flag, value, title
):
    data = tmp_path / "clean"
    data.mkdir()
    for i in range(2):
        save(smooth_image(48, 48, seed=i), data / f"c{i}.png")
    args = ["eval", "--task", task, "--data", str(data), flag, value, "--steps", "1", "-q"]
    assert main([*args, "--weights", str(tiny_weights / f"{task}.pt")]) == 0
    table = capsys.readouterr().out
    assert title in table
    if task == "inpaint":
        assert "Telea (OpenCV)" in table and "Navier-Stokes (OpenCV)" in table


def test_eval_refuses_a_preset_of_another_task(tmp_path, tiny_weights, capsys):
    args = ["eval", "--task", "denoise", "--data", str(tmp_path), "--rain", "heavy", "-q"]
    assert main([*args, "--weights", str(tiny_weights / "denoise.pt")]) != 0
    assert "--rain is for --task derain" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("task", "name", "shape"),
    [("denoise", "camera", (48, 48, 3)), ("sr", "practical", (12, 12, 3)), ("derain", "heavy", (48, 48, 3))],
)
def test_degrade_makes_a_realistic_copy_for_demos(tmp_path, task, name, shape):
    from irsde_gui.core.imageio import read_photo

    src = tmp_path / "clean.png"
    save(smooth_image(48, 48, seed=1), src)
    out = tmp_path / "out.png"
    args = ["degrade", str(src), "-o", str(out), "--task", task, "--degradation", name, "--seed", "3"]
    assert main(args) == 0
    deg = read_photo(out).rgb
    assert deg.shape == shape
    if task != "sr":
        assert np.abs(deg - read_photo(src).rgb).mean() > 0.005
