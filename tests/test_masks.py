"""Inpainting masks as the engine takes them: normalised from any format, grown by a margin."""

from __future__ import annotations

import numpy as np
import pytest

from irsde_gui.core.tasks import MAX_GROW, MaskError, grow_mask, normalise_mask


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, bool])
def test_grow_mask_widens_by_exactly_the_margin_and_keeps_the_dtype(dtype):
    m = np.zeros((41, 41), dtype)
    m[20, 20] = 255 if dtype == np.uint8 else 1
    g = grow_mask(m, 5)
    assert g.dtype == m.dtype
    yy, xx = np.mgrid[:41, :41]
    r = np.hypot(yy - 20, xx - 20)
    assert g[r <= 4.9].all() and not g[r > 5.5].any()
    assert g.max() == m.max()


def test_grow_mask_of_zero_or_an_empty_mask_changes_nothing():
    m = np.zeros((8, 8), np.uint8)
    assert np.array_equal(grow_mask(m, 4), m)
    m[2, 2] = 255
    assert np.array_equal(grow_mask(m, 0), m)
    with pytest.raises(MaskError, match=f"at most {MAX_GROW} px"):
        grow_mask(m, MAX_GROW + 1)


def test_normalise_mask_reads_any_depth():
    assert normalise_mask(np.array([[0, 65535]], np.uint16), (1, 2)).tolist() == [[0.0, 1.0]]
    with pytest.raises(MaskError, match="the mask is 2x1 but the photo is 3x1"):
        normalise_mask(np.zeros((1, 2), np.uint8), (1, 3))


def test_restore_grows_a_given_mask_only_when_asked(tmp_path, tiny_weights):
    from conftest import smooth_image
    from PIL import Image

    from irsde_gui.cli import main
    from irsde_gui.core.imageio import read_photo

    photo = smooth_image(48, 48, seed=2)
    Image.fromarray((photo * 255 + 0.5).astype(np.uint8)).save(tmp_path / "p.png")
    m = np.zeros((48, 48), np.uint8)
    m[20:28, 20:28] = 255
    Image.fromarray(m).save(tmp_path / "m.png")
    src = read_photo(tmp_path / "p.png").rgb
    args = ["restore", str(tmp_path / "p.png"), "--task", "inpaint", "--mask", str(tmp_path / "m.png")]
    args += ["--weights", str(tiny_weights / "inpaint.pt"), "--steps", "1", "-q"]
    assert main([*args, "-o", str(tmp_path / "plain.png")]) == 0
    assert main([*args, "-o", str(tmp_path / "grown.png"), "--grow-mask", "4"]) == 0
    plain, grown = read_photo(tmp_path / "plain.png").rgb, read_photo(tmp_path / "grown.png").rgb
    ring = (grow_mask(m, 4) > 0) & (m == 0)
    assert np.array_equal(plain[ring], src[ring]), "without --grow-mask the mask is used as given"
    assert np.abs(grown[ring] - src[ring]).mean() > 0.005, "the margin is filled"
    assert np.array_equal(grown[grow_mask(m, 4) == 0], src[grow_mask(m, 4) == 0])
