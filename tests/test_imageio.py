"""Photo I/O: every mode round-trips, orientation is applied, bad files fail clearly, writes are atomic."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from irsde_gui.core.imageio import (
    ImageReadError,
    ImageWriteError,
    Photo,
    apply_orientation,
    decode_photo,
    encode_photo,
    read_photo,
    write_photo,
)


def rgb_pattern(h=20, w=30, depth=8, seed=0):
    rng = np.random.default_rng(seed)
    full = 65535 if depth == 16 else 255
    dtype = np.uint16 if depth == 16 else np.uint8
    return rng.integers(0, full + 1, (h, w, 3)).astype(dtype)


@pytest.mark.parametrize("ext", [".png", ".tiff"])
@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_lossless_roundtrip(tmp_path, ext, depth, channels):
    src = rgb_pattern(depth=depth)
    if channels == 1:
        arr = src[..., 0]
    elif channels == 4:
        arr = np.dstack([src, src[..., :1][..., ::-1]])
    else:
        arr = src
    path = tmp_path / f"in{ext}"
    bgr = (
        arr
        if arr.ndim == 2
        else cv2.cvtColor(arr, cv2.COLOR_RGBA2BGRA if channels == 4 else cv2.COLOR_RGB2BGR)
    )
    assert cv2.imwrite(str(path), bgr)
    photo = read_photo(path)
    assert photo.bit_depth == depth
    assert photo.grey == (channels == 1)
    assert (photo.alpha is not None) == (channels == 4)
    full = 65535.0 if depth == 16 else 255.0
    expect_rgb = np.repeat(arr[..., None], 3, 2) if channels == 1 else arr[..., :3]
    np.testing.assert_allclose(photo.rgb * full, expect_rgb, atol=1e-2)
    out = tmp_path / f"out{ext}"
    write_photo(out, photo.rgb, like=photo)
    back = read_photo(out)
    assert (back.bit_depth, back.grey, back.alpha is not None) == (depth, channels == 1, channels == 4)
    np.testing.assert_array_equal(np.round(back.rgb * full).astype(arr.dtype), expect_rgb)
    if channels == 4:
        np.testing.assert_array_equal(back.alpha, arr[..., 3])


def test_colours_are_never_swapped(tmp_path):
    red = np.zeros((8, 8, 3), np.float32)
    red[..., 0] = 1.0
    for ext in (".png", ".jpg", ".bmp", ".webp", ".tif"):
        p = tmp_path / f"red{ext}"
        write_photo(p, red)
        assert np.asarray(Image.open(p).convert("RGB"))[4, 4].argmax() == 0
        ph = read_photo(p)
        assert ph.rgb[4, 4, 0] > 0.9 and ph.rgb[4, 4, 1] < 0.1 and ph.rgb[4, 4, 2] < 0.1


def test_jpeg_bmp_webp_roundtrip_close(tmp_path):
    img = (rgb_pattern(32, 48) // 32 * 32).astype(np.uint8)  # blocky so JPEG keeps it
    src = img.astype(np.float32) / 255
    for ext, tol in ((".bmp", 0), (".webp", 0), (".jpg", 12)):
        p = tmp_path / f"x{ext}"
        write_photo(p, src, quality=100)
        back = read_photo(p)
        assert back.rgb.shape == src.shape
        assert np.abs(back.rgb * 255 - img).mean() <= tol + 0.5


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied_like_pillow(tmp_path, orientation):
    arr = rgb_pattern(12, 20)
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = orientation
    p = tmp_path / "o.png"
    im.save(p, exif=exif.tobytes())
    expect = np.asarray(ImageOps.exif_transpose(Image.open(p)).convert("RGB"))
    photo = read_photo(p)
    np.testing.assert_array_equal((photo.rgb * 255 + 0.5).astype(np.uint8), expect)
    assert photo.info["orientation"] == orientation
    # the file we write back is upright and says so
    out = tmp_path / "out.jpg"
    write_photo(out, photo.rgb, like=photo)
    assert Image.open(out).getexif().get(0x0112, 1) == 1


def test_apply_orientation_shapes():
    a = np.zeros((2, 3))
    assert apply_orientation(a, 6).shape == (3, 2)
    assert apply_orientation(a, 3).shape == (2, 3)


def test_icc_and_exif_kept(tmp_path):
    arr = rgb_pattern()
    icc = b"\x00" * 128 + b"fake-icc-profile"
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x010F] = "TestCamera"
    p = tmp_path / "meta.jpg"
    im.save(p, icc_profile=icc, exif=exif.tobytes(), quality=95)
    photo = read_photo(p)
    out = tmp_path / "out.jpg"
    write_photo(out, photo.rgb, like=photo)
    back = Image.open(out)
    assert back.info.get("icc_profile") == icc
    assert back.getexif().get(0x010F) == "TestCamera"


def test_alpha_passes_through_untouched(tmp_path):
    rgba = np.dstack([rgb_pattern(), np.arange(600, dtype=np.uint8).reshape(20, 30)])
    p = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(p)
    photo = read_photo(p)
    out = tmp_path / "b.png"
    write_photo(out, np.clip(photo.rgb * 0.5, 0, 1), like=photo)
    back = np.asarray(Image.open(out))
    np.testing.assert_array_equal(back[..., 3], rgba[..., 3])


def test_sixteen_bit_kept_for_tiff_and_png(tmp_path):
    arr = rgb_pattern(depth=16)
    p = tmp_path / "deep.png"
    cv2.imwrite(str(p), cv2.cvtColor(arr, cv2.COLOR_RGB2BGR))
    photo = read_photo(p)
    out = tmp_path / "deep.tif"
    write_photo(out, photo.rgb, like=photo)
    assert read_photo(out).bit_depth == 16
    out8 = tmp_path / "deep.jpg"
    write_photo(out8, photo.rgb, like=photo)
    assert read_photo(out8).bit_depth == 8


def test_bad_files_give_clear_errors(tmp_path):
    good = io.BytesIO()
    Image.fromarray(rgb_pattern(64, 64)).save(good, format="JPEG")
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    cases = {truncated: "truncated", empty: "empty", text: "not an image", tmp_path / "nope.png": "no such"}
    for path, words in cases.items():
        with pytest.raises(ImageReadError) as info:
            read_photo(path)
        msg = str(info.value)
        assert str(path) in msg and words in msg and "\n" not in msg


def test_unsupported_format_named(tmp_path):
    p = tmp_path / "x.gif"
    Image.fromarray(rgb_pattern()).save(p)
    with pytest.raises(ImageReadError, match="GIF"):
        read_photo(p)


def test_write_refuses_to_replace_input(tmp_path):
    p = tmp_path / "in.png"
    Image.fromarray(rgb_pattern()).save(p)
    before = p.read_bytes()
    photo = read_photo(p)
    with pytest.raises(ImageWriteError, match="overwrite"):
        write_photo(p, photo.rgb * 0, like=photo)
    assert p.read_bytes() == before
    write_photo(p, photo.rgb * 0, like=photo, overwrite_input=True)
    assert p.read_bytes() != before


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    import irsde_gui.core.imageio as mod

    def boom(*a, **k):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(mod.os, "fsync", boom)
    with pytest.raises(ImageWriteError):
        write_photo(tmp_path / "out.png", np.zeros((4, 4, 3), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_unknown_extension_refused(tmp_path):
    with pytest.raises(ImageWriteError, match="format"):
        write_photo(tmp_path / "out.xyz", np.zeros((4, 4, 3), np.float32))


def test_decode_from_memory_matches_file(tmp_path):
    arr = rgb_pattern()
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    ph = decode_photo(buf.getvalue(), "clip")
    np.testing.assert_array_equal((ph.rgb * 255 + 0.5).astype(np.uint8), arr)
    assert encode_photo(ph.rgb, "PNG")[:4] == b"\x89PNG"


def test_sixteen_bit_png_keeps_icc_and_exif(tmp_path):
    """OpenCV writes 16-bit PNGs without metadata: the profile and EXIF are added as PNG chunks."""
    arr = rgb_pattern(depth=16)
    src = tmp_path / "deep.png"
    cv2.imwrite(str(src), cv2.cvtColor(arr, cv2.COLOR_RGB2BGR))
    photo = read_photo(src)
    exif = Image.Exif()
    exif[0x010F] = "TestCamera"
    exif[0x0112] = 1
    photo.icc = b"\x00" * 128 + b"fake-icc-profile"
    photo.exif = exif.tobytes()
    out = tmp_path / "out.png"
    write_photo(out, photo.rgb, like=photo)
    back = read_photo(out)
    assert back.bit_depth == 16 and back.icc == photo.icc
    np.testing.assert_array_equal(np.round(back.rgb * 65535), arr)
    with Image.open(out) as im:
        im.load()  # every chunk's CRC is checked
        assert im.getexif().get(0x010F) == "TestCamera"


def camera_exif() -> bytes:
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    exif[0x010F] = "TestCamera"
    exif[0x0110] = "Model 5"
    exif[0x0112] = 1
    sub = exif.get_ifd(0x8769)
    sub[0x829A] = IFDRational(1, 250)  # exposure time
    sub[0x8827] = 400  # ISO
    return exif.tobytes()


@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_tiff_keeps_pixels_icc_and_camera_exif(tmp_path, depth, channels):
    rng = np.random.default_rng(depth + channels)
    full = 65535 if depth == 16 else 255
    rgb = rng.integers(0, full + 1, (23, 31, 3)) / full
    if channels == 1:
        rgb[:] = rgb[..., :1]
    alpha = rng.integers(0, full + 1, (23, 31)).astype(np.uint16 if depth == 16 else np.uint8)
    like = Photo(rgb=np.zeros((4, 4, 3), np.float32))
    like.icc, like.exif = b"\x00" * 128 + b"fake-icc-profile", camera_exif()
    out = tmp_path / "out.tif"
    alpha_arg = alpha if channels == 4 else None
    write_photo(out, rgb, like=like, bit_depth=depth, grey=channels == 1, alpha=alpha_arg)
    back = read_photo(out)
    assert back.bit_depth == depth and back.grey == (channels == 1)
    np.testing.assert_allclose(back.rgb, rgb, atol=0.5 / full + 1e-6)
    if channels == 4:
        np.testing.assert_array_equal(back.alpha, alpha)
    assert back.icc == like.icc
    exif = Image.Exif()
    exif.load(back.exif)
    assert exif.get(0x0110) == "Model 5"
    assert float(exif.get_ifd(0x8769)[0x829A]) == pytest.approx(1 / 250)
    assert exif.get_ifd(0x8769)[0x8827] == 400


def test_sixteen_bit_grey_with_alpha_is_saved_readably(tmp_path):
    rgb = np.repeat(np.linspace(0, 1, 20 * 30).reshape(20, 30, 1), 3, axis=2)
    alpha = np.full((20, 30), 40000, np.uint16)
    for ext in (".tif", ".png"):
        out = tmp_path / f"la{ext}"
        write_photo(out, rgb, bit_depth=16, grey=True, alpha=alpha)
        back = read_photo(out)
        assert back.bit_depth == 16
        np.testing.assert_allclose(back.rgb, rgb, atol=1e-4)
        np.testing.assert_array_equal(back.alpha, alpha)


def test_tiff_with_unwritable_exif_is_still_saved(tmp_path, monkeypatch):
    like = Photo(rgb=np.zeros((4, 4, 3), np.float32), exif=camera_exif(), icc=b"\x00" * 128 + b"icc")

    def quirk(self, data):
        raise ValueError("an EXIF tag of a type TIFF cannot hold")

    out = tmp_path / "odd.tif"
    with monkeypatch.context() as m:
        m.setattr(Image.Exif, "load", quirk)
        with pytest.warns(RuntimeWarning, match="EXIF left out"):
            write_photo(out, np.full((8, 8, 3), 0.5), like=like)
    back = read_photo(out)
    assert back.width == 8 and back.icc == like.icc
