"""The corrupt-input corpus (issue 24): hostile and odd inputs, each made by the test itself.

Every :class:`Kind` builds its files in a folder of its own and says what the right outcome is:

- ``refused``: one clean line naming the file (``names``), a non-zero exit, nothing written,
  the input left as it was;
- ``restored``: a photo the app can read (1x1, CMYK, palette, 16-bit, EXIF-rotated…) restores,
  and its result has the size it should.

``tests/test_corrupt_corpus.py`` runs them through ``irsde restore`` one by one and as mixed
batches; ``tests/test_gui_corrupt_corpus.py`` opens them in the window and runs a batch there.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from conftest import smooth_image
from PIL import Image, features

H, W = 24, 32  # a photo's size: small, so that the corpus runs in seconds


@dataclass
class Made:
    """What a kind built: the photo(s) to restore, the options, and the file a refusal names."""

    inputs: list[Path]
    options: list[str] = field(default_factory=list)
    names: Path | None = None  # the file a refusal must name (default: the first input)
    task: str = "denoise"

    @property
    def named(self) -> Path:
        return self.names if self.names is not None else self.inputs[0]


@dataclass
class Kind:
    name: str
    make: Callable[[Path, Path], Made]  # (its own folder, a folder of tiny weights) -> Made
    outcome: str  # "refused" or "restored"
    says: tuple[str, ...] = ()  # a refusal's line holds one of these
    size: tuple[int, int] | None = None  # a result's (width, height)
    photo: bool = True  # an input photo (the batches mix these with good photos)
    needs: Callable[[], str | None] = lambda: None  # why the kind cannot be made here, or None

    def __str__(self) -> str:
        return self.name


# ------------------------------------------------------------------ making files
def rgb8(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    return (smooth_image(h, w, seed) * 255 + 0.5).astype(np.uint8)


def encoded(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def put(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def photo_file(folder: Path, name: str, im: Image.Image, fmt: str | None = None, **params) -> Made:
    fmt = fmt or {".jpg": "JPEG", ".tif": "TIFF", ".webp": "WEBP", ".bmp": "BMP"}.get(
        Path(name).suffix, "PNG"
    )
    return Made([put(folder / name, encoded(im, fmt, **params))])


def good_png(folder: Path, name: str = "good.png", h: int = H, w: int = W, seed: int = 0) -> Path:
    return put(folder / name, encoded(Image.fromarray(rgb8(h, w, seed)), "PNG"))


def truncated(fmt: str, suffix: str) -> Callable[[Path, Path], Made]:
    def make(folder: Path, weights: Path) -> Made:
        data = encoded(Image.fromarray(rgb8(96, 128)), fmt, **({"quality": 90} if fmt != "PNG" else {}))
        return Made([put(folder / f"truncated{suffix}", data[: len(data) // 2])])

    return make


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunks.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_from_chunks(chunks: list[tuple[bytes, bytes]], bad_crc: bytes | None = None) -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for kind, body in chunks:
        crc = zlib.crc32(kind + body)
        if kind == bad_crc:
            crc ^= 0xFFFF
        out += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
    return out


def wrong_crc(chunk: bytes) -> Callable[[Path, Path], Made]:
    def make(folder: Path, weights: Path) -> Made:
        data = encoded(Image.fromarray(rgb8()), "PNG")
        return Made([put(folder / f"crc-{chunk.decode()}.png", png_from_chunks(png_chunks(data), chunk))])

    return make


def wrong_crc_text(folder: Path, weights: Path) -> Made:
    """A comment chunk whose CRC fails."""
    chunks = png_chunks(encoded(Image.fromarray(rgb8()), "PNG"))
    chunks.insert(1, (b"tEXt", b"Comment\x00scanned in 1998"))
    return Made([put(folder / "crc-tEXt.png", png_from_chunks(chunks, b"tEXt"))])


def header_only(folder: Path, weights: Path) -> Made:
    """A PNG cut after its header: no image data, no end."""
    chunks = png_chunks(encoded(Image.fromarray(rgb8()), "PNG"))
    return Made([put(folder / "header-only.png", png_from_chunks(chunks[:1]))])


def png_bomb(folder: Path, weights: Path) -> Made:
    """A PNG whose header claims 100 000 x 100 000 pixels (10 GP) over a few bytes of data."""
    chunks = png_chunks(encoded(Image.fromarray(rgb8()), "PNG"))
    ihdr = struct.pack(">II", 100_000, 100_000) + chunks[0][1][8:]
    return Made([put(folder / "bomb.png", png_from_chunks([(b"IHDR", ihdr), *chunks[1:]]))])


def png_zlib_bomb(folder: Path, weights: Path) -> Made:
    """A real PNG of 30 000 x 30 000 black pixels (900 MP, 10.8 GB as float RGB) in a file of
    110 kB: a zlib bomb. One bit a pixel, so that making it takes a moment."""
    rows = (b"\x00" * (1 + 30_000 // 8 + 1)) * 1000  # a filter byte, then 3751 bytes a row
    comp = zlib.compressobj(1)
    idat = b"".join(comp.compress(rows) for _ in range(30)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", 30_000, 30_000, 1, 0, 0, 0, 0)
    return Made(
        [put(folder / "zlib-bomb.png", png_from_chunks([(b"IHDR", ihdr), (b"IDAT", idat), (b"IEND", b"")]))]
    )


def jpeg_bomb(folder: Path, weights: Path) -> Made:
    """A JPEG whose frame header says 65 000 x 65 000 pixels."""
    data = bytearray(encoded(Image.fromarray(rgb8()), "JPEG", quality=90))
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 65_000, 65_000)
    return Made([put(folder / "bomb.jpg", bytes(data))])


def tiff_bomb(folder: Path, weights: Path) -> Made:
    """A TIFF whose directory says 1 000 000 x 1 000 000 pixels."""
    data = bytearray(encoded(Image.fromarray(rgb8()), "TIFF"))
    (ifd,) = struct.unpack("<I", data[4:8])
    (count,) = struct.unpack("<H", data[ifd : ifd + 2])
    for i in range(count):
        at = ifd + 2 + 12 * i
        tag, kind = struct.unpack("<HH", data[at : at + 4])
        if tag in (256, 257):  # width, height
            value = struct.pack("<H", 65_000) + b"\0\0" if kind == 3 else struct.pack("<I", 1_000_000)
            data[at + 8 : at + 12] = value
    return Made([put(folder / "bomb.tif", bytes(data))])


def image_of(mode: str, h: int = H, w: int = W) -> Image.Image:
    return Image.fromarray(rgb8(h, w)).convert(mode)


def palette_with_transparency(folder: Path, weights: Path) -> Made:
    return photo_file(folder, "palette-alpha.png", image_of("P"), transparency=0)


def grey16(folder: Path, weights: Path) -> Made:
    a = (smooth_image(H, W)[..., 0] * 65535).astype(np.uint16)
    return Made([put(folder / "grey16.png", encoded(Image.fromarray(a), "PNG"))])


def rgb16(suffix: str) -> Callable[[Path, Path], Made]:
    def make(folder: Path, weights: Path) -> Made:
        import cv2

        a = (smooth_image(H, W)[..., ::-1] * 65535).astype(np.uint16)  # BGR for OpenCV
        ok, buf = cv2.imencode(suffix, a)
        assert ok
        return Made([put(folder / f"rgb16{suffix}", buf.tobytes())])

    return make


def float_tiff(channels: int, bad: float | None = None, name: str = "float") -> Callable[[Path, Path], Made]:
    def make(folder: Path, weights: Path) -> Made:
        import cv2

        a = smooth_image(H, W).astype(np.float32)
        a = (
            a[..., 0]
            if channels == 1
            else (a if channels == 3 else np.dstack([a, np.ones((H, W), np.float32)]))
        )
        if bad is not None:
            a[3, 4, ...] = bad
        ok, buf = cv2.imencode(".tif", a if a.ndim == 2 else a[..., [2, 1, 0, *range(3, a.shape[2])]])
        assert ok
        return Made([put(folder / f"{name}.tif", buf.tobytes())])

    return make


def int32_tiff(folder: Path, weights: Path) -> Made:
    a = (smooth_image(H, W)[..., 0] * 2**31).astype(np.int32)
    return Made([put(folder / "int32.tif", encoded(Image.fromarray(a, "I"), "TIFF"))])


def exif_rotated(orientation: int) -> Callable[[Path, Path], Made]:
    def make(folder: Path, weights: Path) -> Made:
        im = Image.fromarray(rgb8())
        exif = Image.Exif()
        exif[0x0112] = orientation
        return Made(
            [put(folder / f"exif-{orientation}.jpg", encoded(im, "JPEG", quality=92, exif=exif.tobytes()))]
        )

    return make


def five_channel_tiff(folder: Path, weights: Path) -> Made:
    from irsde_gui.core.imageio import encode_tiff

    a = np.dstack([rgb8(), rgb8(seed=1)[..., :2]])
    return Made([put(folder / "five-channels.tif", encode_tiff(a))])


def gif(folder: Path, weights: Path, name: str = "anim.gif") -> Made:
    frames = [Image.fromarray(rgb8(seed=s)).convert("P") for s in range(2)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    return Made([put(folder / name, buf.getvalue())])


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="32" height="24"><rect width="32" height="24"/></svg>'


def iso_box(kind: bytes, brand: bytes) -> bytes:
    """The start of an ISO media file (HEIC, AVIF): an ``ftyp`` box and an empty ``meta`` box."""
    ftyp = brand + b"\0\0\0\0" + brand + b"mif1"
    return struct.pack(">I", 8 + len(ftyp)) + b"ftyp" + ftyp + struct.pack(">I", 12) + b"meta" + b"\0" * 4


def heic_bytes(seed: int = 0, deep: bool = False, exif: bytes | None = None) -> bytes:
    """A real HEIC (pillow-heif's x265), 8-bit or 10-bit."""
    import pillow_heif

    if deep:
        a = (smooth_image(H, W, seed) * 65535).astype(np.uint16)
        heif = pillow_heif.from_bytes(mode="RGB;16", size=(W, H), data=a.tobytes())
    else:
        heif = pillow_heif.from_bytes(mode="RGB", size=(W, H), data=rgb8(seed=seed).tobytes())
    buf = io.BytesIO()
    heif.save(buf, quality=90, **({"exif": exif} if exif else {}))
    return buf.getvalue()


def heic(deep: bool = False, cut: bool = False) -> Callable[[Path, Path], Made]:
    def make(folder: Path, weights: Path) -> Made:
        data = heic_bytes(deep=deep)
        name = f"{'truncated' if cut else 'photo'}{'-10bit' if deep else ''}.heic"
        return Made([put(folder / name, data[: len(data) // 2] if cut else data)])

    return make


def heic_box_only(folder: Path, weights: Path) -> Made:
    """The start of a HEIC: its ``ftyp`` box and an empty ``meta`` box, then noise."""
    return Made([put(folder / "box-only.heic", iso_box(b"ftyp", b"heic") + os.urandom(200))])


def avif(cut: bool = False) -> Callable[[Path, Path], Made]:
    def make(folder: Path, weights: Path) -> Made:
        data = encoded(Image.fromarray(rgb8()), "AVIF", quality=90)
        name = "truncated.avif" if cut else "photo.avif"
        return Made([put(folder / name, data[: len(data) // 2] if cut else data)])

    return make


def no_heif() -> str | None:
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        return "pillow-heif is not installed"
    return None


def no_avif() -> str | None:
    return None if features.check("avif") else "this Pillow has no AVIF support"


def dng(cut: bool = False, orientation: int = 1) -> Callable[[Path, Path], Made]:
    """A camera RAW (a minimal DNG, as tests/raw_support.py writes it), or its first half."""

    def make(folder: Path, weights: Path) -> Made:
        from raw_support import minimal_dng

        data = minimal_dng(smooth_image(H, W), orientation=orientation)
        name = "truncated.dng" if cut else f"camera-{orientation}.dng"
        return Made([put(folder / name, data[: len(data) // 2] if cut else data)])

    return make


def no_raw() -> str | None:
    try:
        import rawpy  # noqa: F401
        import tifffile  # noqa: F401
    except ImportError:
        return "rawpy or tifffile is not installed"
    return None


def a_folder(folder: Path, weights: Path) -> Made:
    (folder / "folder.png").mkdir(parents=True)
    return Made([folder / "folder.png"])


def fifo(folder: Path, weights: Path) -> Made:
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "pipe.png")
    return Made([folder / "pipe.png"])


def no_fifo() -> str | None:
    return None if hasattr(os, "mkfifo") else "no named pipes on this system"


def symlink_loop(folder: Path, weights: Path) -> Made:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "loop.png").symlink_to(folder / "loop.png")
    return Made([folder / "loop.png"])


def broken_symlink(folder: Path, weights: Path) -> Made:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dangling.png").symlink_to(folder / "gone.png")
    return Made([folder / "dangling.png"])


def no_symlinks() -> str | None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        try:
            (Path(d) / "a").symlink_to(Path(d) / "b")
        except OSError:
            return "no symbolic links here"
    return None


def named(name: str, good: bool = True) -> Callable[[Path, Path], Made]:
    def make(folder: Path, weights: Path) -> Made:
        if good:
            return Made([good_png(folder, name)])
        return Made([put(folder / name, b"not a photo at all\n")])

    return make


def no_control_characters_in_names() -> str | None:
    import sys

    return "file names cannot hold control characters here" if sys.platform == "win32" else None


def undecodable_name(folder: Path, weights: Path) -> Made:
    """A name that is not UTF-8 (Latin-1 ``café.png``, as old cameras and disks have them)."""
    folder.mkdir(parents=True, exist_ok=True)
    raw = os.fsencode(folder) + b"/caf\xe9.png"
    with open(raw, "wb") as f:
        f.write(encoded(Image.fromarray(rgb8()), "PNG"))
    return Made([Path(os.fsdecode(raw))])


def no_undecodable_names() -> str | None:
    import sys

    return "names are text here" if sys.platform in ("win32", "darwin") else None


# ------------------------------------------------------------------ masks, kernels, model cards
def inpaint_with_mask(mask: Callable[[Path], Path], h: int = H, w: int = W) -> Callable[[Path, Path], Made]:
    def make(folder: Path, weights: Path) -> Made:
        photo = good_png(folder, "hole.png")
        m = mask(folder)
        return Made([photo], ["--mask", str(m)], names=m, task="inpaint")

    return make


def mask_png(a: np.ndarray, name: str = "mask.png") -> Callable[[Path], Path]:
    return lambda folder: put(folder / name, encoded(Image.fromarray(a.astype(np.uint8)), "PNG"))


def hole(h: int = H, w: int = W) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[5:12, 8:20] = 255
    return m


def fifo_mask(folder: Path) -> Path:
    os.mkfifo(folder / "mask.png")
    return folder / "mask.png"


def deblur_with_kernel(name: str, data: bytes | Callable[[], bytes]) -> Callable[[Path, Path], Made]:
    def make(folder: Path, weights: Path) -> Made:
        photo = good_png(folder, "shaken.png")
        k = put(folder / name, data() if callable(data) else data)
        return Made([photo], ["--kernel", str(k)], names=k, task="deblur")

    return make


def npy(a) -> Callable[[], bytes]:
    def make() -> bytes:
        buf = io.BytesIO()
        np.save(buf, a, allow_pickle=True)
        return buf.getvalue()

    return make


def weights_copy(folder: Path, weights: Path) -> Path:
    """A copy of the tiny denoise weights and their card in ``folder``."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for ext in (".pt", ".json"):
        shutil.copy(weights / f"denoise{ext}", folder / f"denoise{ext}")
    return folder / "denoise.pt"


def with_card(change: Callable[[dict], object], names: str = ".json") -> Callable[[Path, Path], Made]:
    def make(folder: Path, weights: Path) -> Made:
        pt = weights_copy(folder / "model", weights)
        card = pt.with_suffix(".json")
        data = json.loads(card.read_text())
        change(data)
        card.write_text(json.dumps(data))
        return Made([good_png(folder)], ["--weights", str(pt)], names=pt.with_suffix(names))

    return make


def setitem(path: str, value) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        d = data
        for p in parents:
            d = d[p]
        d[last] = value

    return change


def card_text(text: bytes) -> Callable[[Path, Path], Made]:
    def make(folder: Path, weights: Path) -> Made:
        pt = weights_copy(folder / "model", weights)
        put(pt.with_suffix(".json"), text)
        return Made([good_png(folder)], ["--weights", str(pt)], names=pt.with_suffix(".json"))

    return make


def weights_bytes(data: Callable[[], bytes], rehash: bool) -> Callable[[Path, Path], Made]:
    """Weights replaced by ``data``; with ``rehash`` the card's sha256 is made to match (as an
    attacker would), so that the file itself is what is refused."""

    def make(folder: Path, weights: Path) -> Made:
        from irsde_gui.core.weights import sha256_of

        pt = weights_copy(folder / "model", weights)
        pt.write_bytes(data())
        if rehash:
            card = pt.with_suffix(".json")
            card.write_text(json.dumps({**json.loads(card.read_text()), "sha256": sha256_of(pt)}))
        return Made([good_png(folder)], ["--weights", str(pt)], names=pt)

    return make


class Code:
    """A pickle that would run code when loaded."""

    def __reduce__(self):
        return (os.getcwd, ())


def card_missing(folder: Path, weights: Path) -> Made:
    pt = weights_copy(folder / "model", weights)
    pt.with_suffix(".json").unlink()
    return Made([good_png(folder)], ["--weights", str(pt)], names=pt)


def card_given(folder: Path, weights: Path) -> Made:
    pt = weights_copy(folder / "model", weights)
    return Made(
        [good_png(folder)], ["--weights", str(pt.with_suffix(".json"))], names=pt.with_suffix(".json")
    )


# ------------------------------------------------------------------ the corpus
R, OK = "refused", "restored"
DAMAGED = ("truncated or damaged",)
NOT_IMAGE = ("not an image file",)
TOO_LARGE = ("too large",)
NOT_FINITE = ("not a finite number",)


def kind(name, make, outcome, says=(), size=(W, H), **kw) -> Kind:
    return Kind(
        name, make, outcome, tuple(says) if outcome == R else (), size if outcome == OK else None, **kw
    )


KINDS: list[Kind] = [
    # damaged files
    kind("truncated PNG", truncated("PNG", ".png"), R, DAMAGED),
    kind("truncated JPEG", truncated("JPEG", ".jpg"), R, DAMAGED),
    kind("truncated TIFF", truncated("TIFF", ".tif"), R, DAMAGED),
    kind("truncated WebP", truncated("WEBP", ".webp"), R, DAMAGED),
    kind("truncated BMP", truncated("BMP", ".bmp"), R, DAMAGED),
    kind("empty file", lambda f, w: Made([put(f / "empty.png", b"")]), R, ("the file is empty",)),
    kind(
        "text named .jpg", lambda f, w: Made([put(f / "notes.jpg", b"shopping: milk, eggs\n")]), R, NOT_IMAGE
    ),
    kind(
        "random bytes after a PNG signature",
        lambda f, w: Made([put(f / "noise.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)]),
        R,
        DAMAGED,
    ),
    kind("wrong CRC in IHDR", wrong_crc(b"IHDR"), R, ("the CRC check of its IHDR chunk fails",)),
    kind("wrong CRC in IDAT", wrong_crc(b"IDAT"), R, ("the CRC check of its IDAT chunk fails",)),
    kind("wrong CRC in tEXt", wrong_crc_text, R, ("the CRC check of its tEXt chunk fails",)),
    kind("PNG without image data", header_only, R, DAMAGED),
    # decompression bombs
    kind("PNG claiming 10 GP", png_bomb, R, TOO_LARGE),
    kind("zlib bomb, 900 MP", png_zlib_bomb, R, TOO_LARGE),
    kind("JPEG claiming 4 GP", jpeg_bomb, R, TOO_LARGE),
    kind("TIFF claiming 10^12 px", tiff_bomb, R, TOO_LARGE + DAMAGED),
    # sizes
    kind("1x1 photo", lambda f, w: Made([good_png(f, "dot.png", 1, 1)]), OK, size=(1, 1)),
    kind("3x5000 photo", lambda f, w: Made([good_png(f, "tall.png", 5000, 3)]), OK, size=(3, 5000)),
    kind("5000x3 photo", lambda f, w: Made([good_png(f, "wide.png", 3, 5000)]), OK, size=(5000, 3)),
    # bit depths and modes
    kind("grey 8-bit", lambda f, w: photo_file(f, "grey.png", image_of("L")), OK),
    kind("grey 16-bit", grey16, OK),
    kind("1-bit", lambda f, w: photo_file(f, "bilevel.png", image_of("1")), OK),
    kind("grey + alpha", lambda f, w: photo_file(f, "grey-alpha.png", image_of("LA")), OK),
    kind("palette", lambda f, w: photo_file(f, "palette.png", image_of("P")), OK),
    kind("palette + transparency", palette_with_transparency, OK),
    kind("palette BMP", lambda f, w: photo_file(f, "palette.bmp", image_of("P")), OK),
    kind("CMYK JPEG", lambda f, w: photo_file(f, "cmyk.jpg", image_of("CMYK"), quality=92), OK),
    kind("CMYK TIFF", lambda f, w: photo_file(f, "cmyk.tif", image_of("CMYK")), OK),
    kind("RGBA PNG", lambda f, w: photo_file(f, "rgba.png", image_of("RGBA")), OK),
    kind("16-bit RGB PNG", rgb16(".png"), OK),
    kind("16-bit RGB TIFF", rgb16(".tif"), OK),
    kind("int32 grey TIFF", int32_tiff, OK),
    kind("float32 grey TIFF", float_tiff(1), OK),
    kind("float32 RGB TIFF", float_tiff(3, name="float-rgb"), OK),
    kind("float32 RGBA TIFF", float_tiff(4, name="float-rgba"), OK),
    kind("five-channel TIFF", five_channel_tiff, R, ("a TIFF whose pixel format this app cannot read",)),
    kind(
        "lossless WebP",
        lambda f, w: photo_file(f, "lossless.webp", Image.fromarray(rgb8()), lossless=True),
        OK,
    ),
    kind(
        "interlaced PNG",
        lambda f, w: photo_file(f, "interlaced.png", Image.fromarray(rgb8()), interlace=1),
        OK,
    ),
    kind("PNG named .jpg", lambda f, w: photo_file(f, "really-png.jpg", Image.fromarray(rgb8()), "PNG"), OK),
    # numbers that are not numbers
    kind("NaN in a float TIFF", float_tiff(1, np.nan, "nan"), R, NOT_FINITE),
    kind("+Inf in a float TIFF", float_tiff(1, np.inf, "inf"), R, NOT_FINITE),
    kind("-Inf in a float RGB TIFF", float_tiff(3, -np.inf, "minus-inf"), R, NOT_FINITE),
    kind("NaN in a float RGBA TIFF", float_tiff(4, np.nan, "nan-rgba"), R, NOT_FINITE),
    # EXIF
    kind("EXIF rotated 180", exif_rotated(3), OK),
    kind("EXIF rotated 90 (6)", exif_rotated(6), OK, size=(H, W)),
    kind("EXIF rotated 270 (8)", exif_rotated(8), OK, size=(H, W)),
    kind("EXIF transposed (5)", exif_rotated(5), OK, size=(H, W)),
    kind("EXIF orientation 99", exif_rotated(99), OK),
    # formats the app does not read
    kind("GIF", gif, R, ("GIF images are not supported",)),
    kind("GIF named .png", lambda f, w: gif(f, w, "animated.png"), R, ("GIF images are not supported",)),
    kind("SVG", lambda f, w: Made([put(f / "drawing.svg", SVG)]), R, NOT_IMAGE),
    # phones' and the web's formats, and camera RAW (issue 25): restored, or refused when damaged
    kind("HEIC", heic(), OK, needs=no_heif),
    kind("HEIC 10-bit", heic(deep=True), OK, needs=no_heif),
    kind("truncated HEIC", heic(cut=True), R, DAMAGED, needs=no_heif),
    kind("HEIC box without a photo", heic_box_only, R, DAMAGED, needs=no_heif),
    kind("AVIF", avif(), OK, needs=no_avif),
    kind("truncated AVIF", avif(cut=True), R, DAMAGED, needs=no_avif),
    kind("camera RAW (DNG)", dng(), OK, needs=no_raw),
    kind("camera RAW turned 90 degrees", dng(orientation=6), OK, size=(H, W), needs=no_raw),
    kind("truncated camera RAW", dng(cut=True), R, ("RAW data is truncated or damaged",), needs=no_raw),
    kind(
        "JPEG named .nef",
        lambda f, w: photo_file(f, "really-jpeg.nef", image_of("RGB"), "JPEG"),
        OK,
        needs=no_raw,
    ),
    kind(
        "text named .nef",
        lambda f, w: Made([put(f / "notes.nef", b"shopping: milk, eggs\n" * 8)]),
        R,
        ("not a camera RAW file",),
        needs=no_raw,
    ),
    # not regular files
    kind("folder named .png", a_folder, R, ("the folder holds no images", "is a folder")),
    kind("FIFO named .png", fifo, R, ("named pipe (FIFO)",), needs=no_fifo),
    kind("symbolic link loop", symlink_loop, R, ("symbolic link loop",), needs=no_symlinks),
    kind("broken symbolic link", broken_symlink, R, ("broken symbolic link",), needs=no_symlinks),
    # odd names
    kind("unicode name", named("фото 写真 ✓.png"), OK),
    kind("spaces in the name", named("  my photo  .png"), OK),
    kind("newline in the name", named("two\nlines.png"), OK, needs=no_control_characters_in_names),
    kind(
        "newline in a bad file's name",
        named("bad\nname.png", good=False),
        R,
        NOT_IMAGE,
        needs=no_control_characters_in_names,
    ),
    kind(
        "escape codes in a bad file's name",
        named("\x1b[31mred\x1b[0m.png", good=False),
        R,
        NOT_IMAGE,
        needs=no_control_characters_in_names,
    ),
    kind("name starting with a dash", named("-rf.png"), OK),
    kind("name that is not UTF-8", undecodable_name, OK, needs=no_undecodable_names),
    # masks
    kind(
        "mask of another size",
        inpaint_with_mask(mask_png(hole(12, 16))),
        R,
        ("is 16x12 but the photo is 32x24",),
        photo=False,
    ),
    kind("empty mask", inpaint_with_mask(mask_png(np.zeros((H, W)))), R, ("is empty",), photo=False),
    kind(
        "mask that is text",
        inpaint_with_mask(lambda f: put(f / "mask.png", b"white = fill")),
        R,
        NOT_IMAGE,
        photo=False,
    ),
    kind(
        "truncated mask",
        inpaint_with_mask(lambda f: put(f / "mask.png", encoded(Image.fromarray(hole()), "PNG")[:60])),
        R,
        DAMAGED,
        photo=False,
    ),
    kind("missing mask", inpaint_with_mask(lambda f: f / "nowhere.png"), R, ("no such file",), photo=False),
    kind("FIFO mask", inpaint_with_mask(fifo_mask), R, ("named pipe (FIFO)",), photo=False, needs=no_fifo),
    # blur kernels
    kind(
        "kernel .npy that is text",
        deblur_with_kernel("k.npy", b"1 2 3"),
        R,
        ("not a NumPy array file",),
        photo=False,
    ),
    kind(
        "kernel with NaN",
        deblur_with_kernel("k.npy", npy(np.array([[1, np.nan], [1, 1]]))),
        R,
        ("non-negative numbers with a positive sum",),
        photo=False,
    ),
    kind(
        "negative kernel",
        deblur_with_kernel("k.npy", npy(np.array([[1.0, -2.0], [1.0, 1.0]]))),
        R,
        ("non-negative numbers",),
        photo=False,
    ),
    kind("all-zero kernel", deblur_with_kernel("k.csv", b"0,0\n0,0\n"), R, ("positive sum",), photo=False),
    kind(
        "kernel too big",
        deblur_with_kernel("k.npy", npy(np.ones((500, 500)))),
        R,
        ("at most 401 px",),
        photo=False,
    ),
    kind("3-D kernel", deblur_with_kernel("k.npy", npy(np.ones((3, 3, 3)))), R, ("2-D grid",), photo=False),
    kind(
        "kernel pickle with code",
        deblur_with_kernel("k.npy", npy(np.array([Code()], dtype=object))),
        R,
        ("not a NumPy array file",),
        photo=False,
    ),
    kind(
        "kernel CSV of words",
        deblur_with_kernel("k.csv", b"a,b\nc,d\n"),
        R,
        ("cannot be read as a blur kernel",),
        photo=False,
    ),
    # model cards and weights
    kind("card with sde.T = 0", with_card(setitem("sde.T", 0)), R, ("sde.T",), photo=False),
    kind(
        "card with a negative width",
        with_card(setitem("network.width", -4)),
        R,
        ("network.width",),
        photo=False,
    ),
    kind(
        "card with an absurd width",
        with_card(setitem("network.width", 10**6)),
        R,
        ("network.width",),
        photo=False,
    ),
    kind(
        "card with NaN in sde",
        with_card(setitem("sde.max_sigma", float("nan"))),
        R,
        ("sde.max_sigma",),
        photo=False,
    ),
    kind(
        "card for another task",
        with_card(setitem("task", "sr"), names=".pt"),
        R,
        ("not for 'denoise'",),
        photo=False,
    ),
    kind("card that is not JSON", card_text(b"{not json"), R, ("cannot be read",), photo=False),
    kind("card that is a list", card_text(b"[1, 2]"), R, ("not a JSON object",), photo=False),
    kind("card missing", card_missing, R, ("no model card",), photo=False),
    kind("card given as the weights", card_given, R, ("give --weights the .pt file",), photo=False),
    kind(
        "weights with a bad hash",
        weights_bytes(lambda: b"\0" * 4096, rehash=False),
        R,
        ("corrupt or was modified",),
        photo=False,
    ),
    kind("empty weights", weights_bytes(lambda: b"", rehash=True), R, ("it is empty",), photo=False),
    kind(
        "weights pickle with code",
        weights_bytes(lambda: pickle.dumps({"w": Code()}, protocol=4), rehash=True),
        R,
        ("refusing to load it",),
        photo=False,
    ),
    kind(
        "weights that are text",
        weights_bytes(lambda: b"hello", rehash=True),
        R,
        ("cannot be read as a weights file: it is damaged, or not a PyTorch file",),
        photo=False,
    ),
]
