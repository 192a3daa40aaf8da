"""The formats people bring (issue 25): HEIC/HEIF, AVIF and camera RAW, in the engine and the command line.

HEIC and AVIF are read and written with their EXIF, ICC profile and orientation kept as the other
formats keep them; a camera RAW (a minimal DNG the test writes itself, tests/raw_support.py) is
developed into 16-bit sRGB, upright, and its result saved as a 16-bit PNG.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image, features
from raw_support import minimal_dng

from irsde_gui.cli import main
from irsde_gui.core.imageio import (
    ImageReadError,
    Photo,
    decode_photo,
    encode_photo,
    read_photo,
    reporting_stages,
    write_photo,
)

ROOT = Path(__file__).resolve().parent.parent
pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif is a dependency")
needs_avif = pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF support")
needs_raw = pytest.mark.skipif(
    not all(__import__("importlib").util.find_spec(m) for m in ("rawpy", "tifffile")),
    reason="rawpy and tifffile are needed",
)
ICC = b"\0" * 128 + b"a test ICC profile"
SUFFIX = {"HEIF": ".heic", "AVIF": ".avif"}


def camera_jpeg(path: Path, orientation: int = 6) -> Path:
    """A phone's photo: stored sideways with EXIF orientation, a camera name and an ICC profile."""
    im = Image.fromarray((smooth_image(24, 32) * 255 + 0.5).astype(np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Acme"
    exif[0x0110] = "Acme Phone 9"
    im.save(path, exif=exif.tobytes(), icc_profile=ICC, quality=95)
    return path


def exif_of(photo: Photo) -> Image.Exif:
    exif = Image.Exif()
    exif.load(photo.exif)
    return exif


FORMATS = ["HEIF", pytest.param("AVIF", marks=needs_avif)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_heic_and_avif_keep_exif_icc_and_orientation(tmp_path, fmt):
    src = read_photo(camera_jpeg(tmp_path / "phone.jpg"))
    assert (src.width, src.height) == (24, 32), "EXIF orientation 6 turned the photo upright"
    out = write_photo(tmp_path / f"out{SUFFIX[fmt]}", src.rgb, like=src)
    back = read_photo(out)
    assert back.format == fmt and (back.width, back.height) == (24, 32)
    assert np.abs(back.rgb - src.rgb).mean() < 0.02, "lossy, but the same photo"
    assert back.icc == ICC
    exif = exif_of(back)
    assert exif[0x0110] == "Acme Phone 9" and exif.get(0x0112, 1) == 1, "upright, and the file says so"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_rotated_heic_or_avif_reads_upright(orientation, fmt):
    """A phone turns its HEIC with the container's rotation box (or EXIF orientation): the pixels
    come out upright either way, and the orientation is applied once, not twice."""
    rgb = (smooth_image(24, 32) * 255 + 0.5).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    if fmt == "HEIF":
        pillow_heif.register_heif_opener()
    Image.fromarray(rgb).save(buf, fmt, quality=95, exif=exif.tobytes())
    photo = decode_photo(buf.getvalue(), f"sideways{SUFFIX[fmt]}")
    upright = {3: np.rot90(rgb, 2), 6: np.rot90(rgb, -1), 8: np.rot90(rgb, 1)}[orientation]
    assert photo.rgb.shape == upright.shape
    error = np.abs(photo.rgb * 255 - upright).mean()
    assert error < 12, "lossy, but upright"
    twice = np.rot90(upright, {3: 2, 6: -1, 8: 1}[orientation])  # turned once more
    if twice.shape == upright.shape:
        assert error < np.abs(photo.rgb * 255 - twice).mean() / 3
    assert photo.info["orientation"] == orientation and exif_of(photo).get(0x0112, 1) == 1


def test_ten_bit_heic_reads_as_sixteen_bits_at_full_scale():
    """libheif puts 10-bit values at the top of 16 bits (white is 65472): read as 1.0, not 0.999."""
    white = np.full((8, 10, 3), 65535, np.uint16)
    heif = pillow_heif.from_bytes(mode="RGB;16", size=(10, 8), data=white.tobytes())
    buf = io.BytesIO()
    heif.save(buf, quality=-1)
    photo = decode_photo(buf.getvalue(), "white.heic")
    assert photo.bit_depth == 16 and photo.info["bits"] == 10
    assert photo.rgb.min() == 1.0


def test_a_sixteen_bit_photo_saved_as_heic_keeps_ten_bits(tmp_path):
    rgb = smooth_image(24, 32)
    deep = Photo(rgb=rgb, bit_depth=16)
    back = decode_photo(encode_photo(rgb, "HEIF", like=deep, quality=95), "deep.heic")
    assert back.bit_depth == 16 and back.info["bits"] == 10
    assert np.abs(back.rgb - rgb).mean() < 0.01
    eight = decode_photo(encode_photo(rgb, "HEIF", quality=95), "flat.heic")
    assert eight.bit_depth == 8 and eight.info["bits"] == 8


@pytest.mark.parametrize("fmt", FORMATS)
def test_alpha_survives_heic_and_avif(fmt):
    rgb = smooth_image(24, 32)
    alpha = np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (24, 1))
    back = decode_photo(encode_photo(rgb, fmt, alpha=alpha, quality=100), f"a{SUFFIX[fmt]}")
    assert back.alpha is not None and np.abs(back.alpha.astype(int) - alpha).max() <= 3


def test_a_heic_cut_short_is_one_line():
    data = encode_photo(smooth_image(24, 32), "HEIF")
    for bad in (data[: len(data) // 2], data[:40]):
        with pytest.raises(
            ImageReadError, match=r"^cut\.heic: the image data is truncated or damaged \(.+\)$"
        ):
            decode_photo(bad, "cut.heic")


def test_the_command_line_restores_heic_and_avif_into_the_same_format(tmp_path, tiny_weights, capfd):
    folder = tmp_path / "in"
    folder.mkdir()
    src = read_photo(camera_jpeg(tmp_path / "phone.jpg"))
    names = ["phone.heic"] + (["web.avif"] if features.check("avif") else [])
    for name in names:
        write_photo(folder / name, src.rgb, like=src)
    rc = main(["restore", str(folder), "-o", str(tmp_path / "out"), "--task", "denoise", "--steps", "1",
               "--weights", str(tiny_weights), "-q"])  # fmt: skip
    assert rc == 0, capfd.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(names), "like the input"
    for name in names:
        out = read_photo(tmp_path / "out" / name)
        assert out.format == {".heic": "HEIF", ".avif": "AVIF"}[Path(name).suffix]
        assert (out.width, out.height) == (24, 32) and out.icc == ICC
        assert exif_of(out)[0x0110] == "Acme Phone 9"
    single = tmp_path / "one.avif" if features.check("avif") else tmp_path / "one.heif"
    assert main(["restore", str(folder / "phone.heic"), "-o", str(single), "--task", "denoise",
                 "--steps", "1", "--weights", str(tiny_weights), "-q"]) == 0  # fmt: skip
    assert read_photo(single).format == ("AVIF" if single.suffix == ".avif" else "HEIF")


# ------------------------------------------------------------------ camera RAW
@needs_raw
def test_a_dng_is_developed_into_sixteen_bit_srgb_upright_with_its_camera(tmp_path):
    stages = []
    with reporting_stages(lambda *stage: stages.append(stage)):
        photo = decode_photo(minimal_dng(smooth_image(24, 32), orientation=6), "IMG_0001.dng")
    assert photo.format == "RAW" and photo.bit_depth == 16 and photo.rgb.dtype == np.float32
    assert (photo.width, photo.height) == (24, 32), "turned upright (orientation 6: 90 degrees clockwise)"
    assert photo.info["orientation"] == 6 and photo.info["raw"] == "Acme R1"
    assert [s[1:] for s in stages] == [(1, 3), (2, 3), (3, 3)] and "Developing" in stages[1][0]
    exif = exif_of(photo)
    assert exif[0x010F] == "Acme" and exif[0x0110] == "Acme R1" and exif.get(0x0112) == 1
    assert 0.05 < photo.rgb.mean() < 0.95 and np.isfinite(photo.rgb).all()


@needs_raw
def test_the_dng_develops_with_the_camera_white_balance(tmp_path):
    """A grey scene under a reddish light: the camera's as-shot neutral (its white balance) makes
    it grey again; without it the photo stays red."""
    grey = np.tile(np.linspace(0.1, 0.6, 32), (24, 1))[..., None] * np.ones(3)
    reddish = grey * [1.0, 0.5, 0.5]  # what the sensor sees of grey things under this light
    balanced = decode_photo(minimal_dng(reddish, neutral=(1.0, 0.5, 0.5)), "as-shot.dng").rgb
    unbalanced = decode_photo(minimal_dng(reddish), "no-balance.dng").rgb
    r, g, b = balanced[:, 4:28].mean(axis=(0, 1))
    assert abs(r - g) < 0.02 and abs(g - b) < 0.02, "grey again"
    r, g, b = unbalanced[:, 4:28].mean(axis=(0, 1))
    assert r > g + 0.3, "red without the camera's balance"


@needs_raw
def test_the_command_line_develops_a_raw_and_saves_a_sixteen_bit_png(tmp_path, tiny_weights, capfd):
    raw = tmp_path / "in" / "IMG_0001.DNG"
    raw.parent.mkdir()
    raw.write_bytes(minimal_dng(smooth_image(24, 32)))
    rc = main(["restore", str(raw.parent), "-o", str(tmp_path / "out"), "--task", "denoise", "--steps", "1",
               "--weights", str(tiny_weights)])  # fmt: skip
    err = capfd.readouterr().err
    assert rc == 0, err
    assert "Developing the RAW" in err, "the bar says what takes the time"
    (out,) = (tmp_path / "out").iterdir()
    assert out.name == "IMG_0001.png", "no RAW writer: the result is a PNG"
    result = read_photo(out)
    assert result.bit_depth == 16 and (result.width, result.height) == (32, 24)
    assert exif_of(result)[0x0110] == "Acme R1"


@needs_raw
@pytest.mark.parametrize("cut", [0.5, 0.1])
def test_a_corrupt_raw_is_one_clean_line_and_writes_nothing(tmp_path, tiny_weights, capfd, cut):
    data = minimal_dng(smooth_image(24, 32))
    raw = tmp_path / "broken.nef"
    raw.write_bytes(data[: int(len(data) * cut)])
    capfd.readouterr()
    rc = main(["restore", str(raw), "-o", str(tmp_path / "out.png"), "--task", "denoise", "--steps", "1",
               "--weights", str(tiny_weights), "-q"])  # fmt: skip
    captured = capfd.readouterr()
    assert rc == 1 and captured.out == ""
    lines = captured.err.splitlines()
    assert lines == [f"irsde: error: {raw}: the RAW data is truncated or damaged (Input/output error)"], lines
    assert not (tmp_path / "out.png").exists()


# ------------------------------------------------------------------ where the system offers the app
def test_the_desktop_entry_and_the_macos_bundle_offer_heic_avif_and_raw():
    from irsde_gui.core.paths import resources_dir

    entry = (resources_dir() / "irsde-studio.desktop").read_text()
    (line,) = [x for x in entry.splitlines() if x.startswith("MimeType=")]
    types = line.removeprefix("MimeType=").rstrip(";").split(";")
    assert {"image/heic", "image/heif", "image/avif", "image/x-adobe-dng", "image/x-canon-cr2",
            "image/x-canon-cr3", "image/x-nikon-nef", "image/x-sony-arw", "image/x-fuji-raf",
            "image/x-olympus-orf"} <= set(types)  # fmt: skip
    spec = (ROOT / "irsde_gui.spec").read_text()
    image_types = re.search(r"IMAGE_TYPES = \[(.*?)\]", spec, re.S).group(1)
    for uti in (
        "public.heic",
        "public.heif",
        "public.avif",
        "public.camera-raw-image",
        "com.adobe.raw-image",
    ):
        assert f'"{uti}"' in image_types, uti
