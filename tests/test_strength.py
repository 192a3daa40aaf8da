"""Strength: how much of a restoration the result keeps, blended back towards the photo, in the
engine, the session (the window's slider), the command line and the batch."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image
from test_cli import write_png
from test_session import outcome

from irsde_gui.app.session import Session
from irsde_gui.cli import main
from irsde_gui.core.imageio import Photo
from irsde_gui.core.strength import apply_strength, check_strength, offers_strength
from irsde_gui.core.tasks import get_task


@pytest.fixture
def session():
    s = Session()
    s.open_photo(Photo(np.full((8, 8, 3), 0.2, np.float32)), "cat.png")
    return s


def test_full_strength_is_the_result_and_none_is_the_photo():
    rng = np.random.default_rng(0)
    photo, result = rng.random((6, 7, 3), np.float32), rng.random((6, 7, 3), np.float32)
    assert apply_strength(photo, result, 1.0) is result
    np.testing.assert_allclose(apply_strength(photo, result, 0.0), photo, atol=1e-7)
    half = apply_strength(photo, result, 0.5)
    np.testing.assert_allclose(half, (photo + result) / 2, atol=1e-6)
    assert half.dtype == np.float32 and half.shape == result.shape


def test_an_upscaled_result_blends_with_the_photo_enlarged():
    """x4: at strength 0 the photo comes back at the result's size (bicubic), not a crash."""
    photo = np.full((5, 6, 3), 0.25, np.float32)
    result = np.full((20, 24, 3), 0.75, np.float32)
    out = apply_strength(photo, result, 0.0)
    assert out.shape == (20, 24, 3)
    np.testing.assert_allclose(out, 0.25, atol=1e-5)
    np.testing.assert_allclose(apply_strength(photo, result, 0.4), 0.45, atol=1e-5)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "lots"])
def test_a_strength_outside_zero_to_one_is_refused(bad):
    with pytest.raises(ValueError, match="share from 0 to 1"):
        check_strength(bad)


def test_inpainting_offers_no_strength():
    assert not offers_strength(get_task("inpaint"))
    assert all(offers_strength(get_task(t)) for t in ("denoise", "sr", "deblur", "derain", "dehaze"))


def test_the_session_blends_the_result_and_its_next_ones(session):
    """The slider: the result shown and saved follows it at once, its report says it, and the
    next run's result comes at the same strength; back at 100 % it is the run's own result."""
    session.run_started("Denoise")
    done = outcome(0.6)
    session.run_finished(done)
    session.run_ended()
    session.unsaved = False
    assert session.set_strength(0.5)
    np.testing.assert_allclose(session.result, 0.4, atol=1e-6)
    assert session.full_result is done.image and session.unsaved
    assert session.outcome.report.strength == 0.5 and "50 % strength" in session.result_label()
    session.run_started("Denoise")
    session.run_finished(outcome(1.0))
    np.testing.assert_allclose(session.result, 0.6, atol=1e-6)
    np.testing.assert_allclose(session.previous.image, 0.4, atol=1e-6)  # A/B: as it was shown
    assert session.set_strength(1.0)
    np.testing.assert_allclose(session.result, 1.0)
    assert session.outcome.report.strength is None and session.result_label() == "Result"


def test_an_inpainted_result_keeps_its_fill_whatever_the_strength(session):
    session.set_strength(0.3)
    session.run_started("Inpaint")
    session.run_finished(outcome(0.7, task="inpaint"))
    np.testing.assert_allclose(session.result, 0.7)
    assert not session.set_strength(0.5) and session.outcome.report.strength is None


def test_the_command_line_writes_the_result_at_its_strength(tmp_path, installed_tiny_weights, capsys):
    """``--strength 0.5`` writes halfway between the photo and the whole restoration, and its
    report says so; an x4 chain blends with the photo enlarged; inpaint refuses it."""
    src = write_png(tmp_path / "photo.png", smooth_image(24, 32))
    full, half = tmp_path / "full.png", tmp_path / "half.png"
    args = ["restore", str(src), "--task", "denoise", "--steps", "2", "--seed", "3", "-q"]
    assert main([*args, "-o", str(full)]) == 0
    assert main([*args, "-o", str(half), "--strength", "0.5", "--report"]) == 0
    photo, whole, blended = (read(p) for p in (src, full, half))
    assert np.abs(whole - photo).mean() > 2  # the restoration changed the photo ...
    assert np.abs(blended - (photo + whole) / 2).max() <= 1.0  # ... and half of it is kept
    assert json.loads((tmp_path / "half.json").read_text())["strength"] == 0.5
    big = tmp_path / "big.png"
    assert (
        main(
            [
                "restore",
                str(src),
                "-o",
                str(big),
                "--task",
                "denoise,sr",
                "--steps",
                "1",
                "-q",
                "--strength",
                "0",
            ]
        )
        == 0
    )
    assert Image.open(big).size == (128, 96)
    rc = main(["restore", str(src), "-o", str(tmp_path / "i.png"), "--task", "inpaint", "--strength", "0.5"])
    assert rc != 0 and "--strength is not for inpaint" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args, "-o", str(half), "--strength", "2"])
    assert "share from 0 to 1" in capsys.readouterr().err


def read(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), np.float64)
