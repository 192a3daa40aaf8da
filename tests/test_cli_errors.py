"""One clear line instead of a traceback or a silent change (issue 24, items 6 to 14)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image

from irsde_gui.cli import main


def write_png(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def usage_error(capsys, *argv: str) -> str:
    """Run ``irsde`` expecting argparse to refuse it (exit 2); return its error line."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    assert info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    return lines[-1]


# ------------------------------------------------------------------ 7: options checked when parsed
@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--steps", "0", "argument --steps: a step count is at least 1, got 0"),
        ("--steps", "x", "argument --steps: not a whole number: 'x'"),
        ("--tile", "-1", "argument --tile: a tile is 0 (never tile) or 64 to 16384 px, got -1"),
        ("--tile", "10", "argument --tile: a tile is 0 (never tile) or 64 to 16384 px, got 10"),
        ("--tile-overlap", "-5", "argument --tile-overlap: a tile overlap is from 0 to 256 px, got -5"),
        ("--quality", "1000", "argument --quality: a JPEG/WebP quality is from 1 to 100, got 1000"),
        ("--quality", "-5", "argument --quality: a JPEG/WebP quality is from 1 to 100, got -5"),
        ("--seed", str(2**70), f"argument --seed: a seed is from 0 to {2**63 - 1}, got {2**70}"),
        ("--seed", "-1", f"argument --seed: a seed is from 0 to {2**63 - 1}, got -1"),
    ],
)
def test_restore_options_are_checked_when_parsed(tmp_path, capsys, option, value, says):
    src = write_png(tmp_path / "p.png", smooth_image())
    line = usage_error(
        capsys, "restore", str(src), "-o", str(tmp_path / "o.png"), "--task", "denoise", option, value
    )
    assert line == f"irsde restore: error: {says}"
    assert not (tmp_path / "o.png").exists()


def test_the_command_line_s_copies_of_engine_constants_agree():
    """The command line parses without PyTorch or OpenCV, so it keeps its own copies."""
    from irsde_gui.cli import common, restore
    from irsde_gui.core.imageio import WRITE_EXTENSIONS
    from irsde_gui.core.tiling import MIN_TILE

    assert common.MIN_TILE == MIN_TILE
    assert set(restore.OUTPUT_SUFFIXES) == set(WRITE_EXTENSIONS)


def test_bench_options_are_checked_when_parsed(capsys):
    assert "argument --repeats: a repeat count is at least 1, got 0" in usage_error(
        capsys, "bench", "--repeats", "0"
    )
    assert "argument --threads: a thread count is at least 1, got -2" in usage_error(
        capsys, "bench", "--threads", "-2"
    )
    assert (
        "argument --sizes: sizes are whole numbers of px from 16 to 16384, comma-separated, got '256,x'"
        in (usage_error(capsys, "bench", "--sizes", "256,x"))
    )


# ------------------------------------------------------------------ 8: the output's format
def test_an_unknown_output_extension_is_refused(tmp_path, capsys):
    src = write_png(tmp_path / "p.png", smooth_image())
    assert main(["restore", str(src), "-o", str(tmp_path / "out.xyz"), "--task", "denoise", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"irsde: error: {tmp_path / 'out.xyz'}: cannot tell the format from '.xyz' "
        "(use .avif, .bmp, .heic, .heif, .jpeg, .jpg, .png, .tif, .tiff, .webp; "
        "a name without one is a folder)"
    )
    assert not any(p.name.startswith("out") for p in tmp_path.iterdir())


def test_an_output_without_an_extension_is_a_folder(tmp_path, installed_tiny_weights):
    src = write_png(tmp_path / "p.png", smooth_image())
    out = tmp_path / "out"
    assert main(["restore", str(src), "-o", str(out), "--task", "denoise", "--steps", "1", "-q"]) == 0
    assert (out / "p.png").is_file()


def test_several_inputs_into_a_file_name_are_refused(tmp_path, capsys):
    a = write_png(tmp_path / "a.png", smooth_image())
    b = write_png(tmp_path / "b.png", smooth_image(seed=2))
    assert main(["restore", str(a), str(b), "-o", str(tmp_path / "out.png"), "--task", "denoise"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'out.png'}: with several inputs or a folder, the output is a folder" in err
    assert not (tmp_path / "out.png").exists()


# ------------------------------------------------------------------ 9: which photo, which mask
def test_mask_errors_name_the_photo_and_the_mask(tmp_path, installed_tiny_weights, capsys):
    photos, masks = tmp_path / "photos", tmp_path / "masks"
    for name in ("small", "broken", "empty", "good"):
        write_png(photos / f"{name}.png", smooth_image(32, 32))
    write_png(masks / "small.png", np.ones((10, 10, 3)))
    (masks / "broken.png").write_bytes(b"not a mask")
    write_png(masks / "empty.png", np.zeros((32, 32, 3)))
    hole = np.zeros((32, 32, 3))
    hole[8:16, 8:16] = 1
    write_png(masks / "good.png", hole)
    out = tmp_path / "out"
    rc = main(
        ["restore", str(photos), "-o", str(out), "--task", "inpaint", "--mask", str(masks), "--steps", "1"]
    )
    assert rc == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("irsde: error:")]
    p, m = photos, masks
    assert err == [
        f"irsde: error: {p / 'broken.png'}: its mask {m / 'broken.png'}: not an image file, "
        "or not a format this app can read",
        f"irsde: error: {p / 'empty.png'}: its mask {m / 'empty.png'} is empty: "
        "paint (white) the area to fill",
        f"irsde: error: {p / 'small.png'}: its mask {m / 'small.png'} is 10x10 but the photo is 32x32",
    ]
    assert sorted(f.name for f in out.iterdir()) == ["good.png"]


# ------------------------------------------------------------------ 10: float colour TIFFs
@pytest.mark.parametrize("channels", [3, 4])
def test_a_float32_colour_tiff_is_read(tmp_path, capfd, channels):
    import cv2

    from irsde_gui.core.imageio import read_photo

    rgb = smooth_image(12, 20)
    pixels = np.dstack([rgb, np.full((12, 20), 0.5, np.float32)]) if channels == 4 else rgb
    bgr = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA if channels == 4 else cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(tmp_path / "float.tif"), bgr)
    capfd.readouterr()
    photo = read_photo(tmp_path / "float.tif")
    assert photo.format == "TIFF" and photo.bit_depth == 16 and not photo.grey
    np.testing.assert_allclose(photo.rgb, rgb, atol=1e-6)
    assert (photo.alpha is not None) == (channels == 4)
    assert capfd.readouterr().err == "", "no library notes on the terminal"


def test_a_float32_colour_tiff_with_nan_is_refused(tmp_path):
    import cv2

    from irsde_gui.core.imageio import ImageReadError, read_photo

    pixels = smooth_image(12, 20)
    pixels[3, 4, 1] = np.nan
    assert cv2.imwrite(str(tmp_path / "float.tif"), pixels)
    with pytest.raises(ImageReadError, match="1 pixel is not a finite number"):
        read_photo(tmp_path / "float.tif")


# ------------------------------------------------------------------ 11, 13: weights files
def weights_error(capsys, tmp_path, weights) -> list[str]:
    src = write_png(tmp_path / "p.png", smooth_image())
    rc = main(
        ["restore", str(src), "-o", str(tmp_path / "o.png"), "--task", "denoise", "--weights", str(weights)]
    )
    assert rc == 1 and not (tmp_path / "o.png").exists()
    return capsys.readouterr().err.strip().splitlines()


def test_weights_given_as_their_card_say_to_give_the_pt_file(tmp_path, installed_tiny_weights, capsys):
    card = installed_tiny_weights / "denoise.json"
    assert weights_error(capsys, tmp_path, card) == [
        f"irsde: error: {card}: this is the model card of denoise.pt; give --weights the .pt file"
    ]


def test_an_empty_weights_file_says_it_is_empty(tmp_path, installed_tiny_weights, capsys):
    import json

    from irsde_gui.core.weights import sha256_of

    pt = installed_tiny_weights / "denoise.pt"
    pt.write_bytes(b"")
    card = pt.with_suffix(".json")
    card.write_text(json.dumps({**json.loads(card.read_text()), "sha256": sha256_of(pt)}))
    assert weights_error(capsys, tmp_path, pt) == [
        f"irsde: error: {pt} cannot be read as a weights file: it is empty"
    ]


def test_weights_with_code_are_refused_in_one_line(tmp_path, installed_tiny_weights, capsys, recwarn):
    import json
    import os
    import pickle

    from irsde_gui.core.weights import sha256_of

    class Code:
        def __reduce__(self):
            return (os.getcwd, ())

    pt = installed_tiny_weights / "denoise.pt"
    pt.write_bytes(pickle.dumps({"w": Code()}, protocol=4))
    card = pt.with_suffix(".json")
    card.write_text(json.dumps({**json.loads(card.read_text()), "sha256": sha256_of(pt)}))
    lines = weights_error(capsys, tmp_path, pt)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"irsde: error: {pt} is not a plain weights file; refusing to load it")
    assert "Weights only load failed" not in lines[0] and "https://" not in lines[0]
    assert not [w for w in recwarn if "pickle protocol" in str(w.message)]


# ------------------------------------------------------------------ 6: model cards checked
@pytest.mark.parametrize(
    ("section", "field", "value", "says"),
    [
        ("sde", "T", 0, "sde.T is a number of steps from 1 to 10000, got 0"),
        ("network", "width", -4, "network.width is a whole number from 1 to 512, got -4"),
        ("network", "width", 10**6, "network.width is a whole number from 1 to 512, got 1000000"),
        ("network", "width", 8.5, "network.width is a whole number from 1 to 512, got 8.5"),
        ("network", "mid_blocks", -1, "network.mid_blocks is a whole number from 0 to 64, got -1"),
        (
            "network",
            "enc_blocks",
            [1, 200],
            "network.enc_blocks is a list of 1 to 8 whole numbers from 0 to 64",
        ),
        (
            "network",
            "dec_blocks",
            [1],
            "network.enc_blocks and network.dec_blocks have one count per level each",
        ),
        (None, "default_steps", 0, "default_steps is a whole number from 1 to 100, got 0"),
    ],
)
def test_a_model_card_out_of_range_is_refused_naming_the_card_and_field(
    tmp_path, installed_tiny_weights, capsys, section, field, value, says
):
    import json

    card = installed_tiny_weights / "denoise.json"
    data = json.loads(card.read_text())
    (data[section] if section else data)[field] = value
    card.write_text(json.dumps(data))
    src = write_png(tmp_path / "p.png", smooth_image())
    assert main(["restore", str(src), "-o", str(tmp_path / "o.png"), "--task", "denoise", "-q"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"irsde: error: {card}: ") and says in lines[0], lines
    assert not (tmp_path / "o.png").exists()


# ------------------------------------------------------------------ 13: one line per problem
def test_odd_exif_reads_without_library_warnings(tmp_path):
    import io
    import struct
    import warnings

    from irsde_gui.core.imageio import read_photo

    # An EXIF entry whose data lies past the end: Pillow skips it with a UserWarning.
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x010E, 2, 100, 1000) + struct.pack("<I", 0)
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(
        buf, "JPEG", exif=b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd
    )
    (tmp_path / "odd.jpg").write_bytes(buf.getvalue())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        photo = read_photo(tmp_path / "odd.jpg")
    assert photo.width == 8
    assert [str(w.message) for w in caught] == []


def test_an_error_line_is_never_glued_onto_the_progress_bar(
    tmp_path, installed_tiny_weights, capsys, monkeypatch
):
    import torch

    from irsde_gui.core.model import Restorer

    monkeypatch.setattr(Restorer, "__call__", lambda self, x_t, mu, t: torch.full_like(x_t, float("nan")))
    src = write_png(tmp_path / "p.png", smooth_image())
    assert (
        main(["restore", str(src), "-o", str(tmp_path / "o.png"), "--task", "denoise", "--steps", "2"]) == 1
    )
    err = capsys.readouterr().err
    assert "[" in err, "the bar was drawn"
    errors = [line for line in err.split("\n") if "irsde: error:" in line]
    assert len(errors) == 1
    assert errors[0].split("\r")[-1].startswith("irsde: error:"), repr(errors[0])


# ------------------------------------------------------------------ 14: what a folder's batch skips
def test_a_folder_batch_says_what_it_skipped_and_why(tmp_path, installed_tiny_weights, capsys):
    import os

    folder = tmp_path / "in"
    write_png(folder / "a.png", smooth_image())
    for name in ("b.gif", "c.gif", "d.svg"):
        (folder / name).write_bytes(b"x")
    (folder / "sub").mkdir()
    (folder / ".a.1234.partial").write_bytes(b"")  # hidden: not a photo, not worth a word
    kinds = ["2 GIF", "1 SVG"]  # the most first, then in the order of their names
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "e.png")
        kinds.append("1 not a regular file")
    try:
        (folder / "f.png").symlink_to(folder / "f.png")
        kinds.append("1 symbolic link loop")
    except OSError:
        pass
    kinds.append("1 folder")  # sub
    out = tmp_path / "out"
    assert main(["restore", str(folder), "-o", str(out), "--task", "denoise", "--steps", "1"]) == 0
    err = capsys.readouterr().err
    n = sum(int(k.split()[0]) for k in kinds)
    assert f"irsde: {folder}: skipped {n}: {', '.join(kinds)}\n" in err
    assert "1 restored, 0 failed" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]
