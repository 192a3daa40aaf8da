"""Reading and writing photos without losing anything on the way.

- PNG, JPEG, TIFF, BMP, WebP, HEIC/HEIF (through pillow-heif) and AVIF (Pillow's own); 8- and
  16-bit (HEIC up to 10 bits); grey, RGB, RGBA.
- Camera RAW files (DNG, CR2, CR3, NEF, ARW, RAF, ORF, RW2 and the like) are read, never written:
  LibRaw (through rawpy) develops them with the camera's white balance into 16-bit sRGB, upright
  (:func:`develop_raw`).
- Pixels come out as float32 RGB in [0, 1] (never BGR); alpha is kept aside
  in its original dtype and written back untouched.
- EXIF orientation is applied on read, and the EXIF written back says
  "upright" so no viewer rotates the result twice. ICC profiles and EXIF are
  kept in every format that holds them (PNG, JPEG, TIFF, WebP, HEIC and AVIF; BMP holds
  neither), at 8 and 16 bits. HEIC and AVIF turn a photo by their own rotation and mirroring
  boxes; the pixels come out upright all the same.
- Damaged, empty, truncated or non-image files raise :class:`ImageReadError`
  with one line naming the file, and so do pixels that are not finite numbers
  (NaN or infinity in a float TIFF): their result would be black.
- Only regular files are read: a named pipe, a device or a socket named like a
  photo is refused before it is opened (opening a pipe waits for a writer).
- Writes are atomic: a temporary file in the same folder, then a rename, so a
  crash or a cancel never leaves half a file under the real name.
"""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import os
import secrets
import stat
import struct
import sys
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, TiffImagePlugin, TiffTags, UnidentifiedImageError, features

from .blind import checked_kernel

READ_FORMATS = {"PNG", "JPEG", "MPO", "TIFF", "BMP", "WEBP", "AVIF"}
WRITE_EXTENSIONS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".heic": "HEIF",
    ".heif": "HEIF",
    ".avif": "AVIF",
}
# Camera RAW files LibRaw develops (read only: a result is saved as 16-bit PNG or TIFF).
RAW_EXTENSIONS = (
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf", ".rw2",
    ".pef", ".srw", ".x3f", ".3fr", ".fff", ".iiq", ".erf", ".kdc", ".dcr", ".mrw", ".mos", ".rwl",
)  # fmt: skip
IMAGE_EXTENSIONS = tuple(WRITE_EXTENSIONS) + RAW_EXTENSIONS
MAX_PIXELS = 400_000_000  # larger photos are refused with a clear message
ORIENTATION_TAG = 0x0112

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))


class ImageReadError(ValueError):
    """A file could not be read as a photo; the message names the file."""


class ImageWriteError(OSError):
    """A photo could not be written; the message names the file."""


@dataclass
class Photo:
    """A decoded photo: RGB pixels plus everything needed to save it back faithfully."""

    rgb: np.ndarray  # float32 HxWx3 in [0, 1]
    alpha: np.ndarray | None = None  # HxW in the file's own dtype, orientation applied
    bit_depth: int = 8  # 8 or 16 (float files count as 16)
    grey: bool = False
    format: str = "PNG"
    exif: bytes | None = None  # with orientation reset to 1
    icc: bytes | None = None
    path: Path | None = None
    info: dict = field(default_factory=dict)

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def mode(self) -> str:
        return ("L" if self.grey else "RGB") + ("A" if self.alpha is not None else "")


def apply_orientation(a: np.ndarray, orientation: int) -> np.ndarray:
    """Turn pixels stored with EXIF ``orientation`` (1-8) upright."""
    ops = {
        1: lambda x: x,
        2: lambda x: x[:, ::-1],
        3: lambda x: x[::-1, ::-1],
        4: lambda x: x[::-1],
        5: lambda x: np.swapaxes(x, 0, 1),
        6: lambda x: np.rot90(x, -1),
        7: lambda x: np.swapaxes(x, 0, 1)[::-1, ::-1],
        8: lambda x: np.rot90(x, 1),
    }
    return np.ascontiguousarray(ops.get(int(orientation), ops[1])(a))


def _fail(path: Path | str, why: str) -> ImageReadError:
    return ImageReadError(f"{path}: {why}")


def _too_large(path: Path | str, w: int, h: int) -> ImageReadError:
    return _fail(path, f"the photo is too large ({w}x{h}); the limit is {MAX_PIXELS // 10**6} MP")


def _to_float(a: np.ndarray) -> tuple[np.ndarray, int]:
    if a.dtype == np.uint8:
        return a.astype(np.float32) / 255.0, 8
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 65535.0, 16
    if a.dtype in (np.float32, np.float64):
        return np.clip(a.astype(np.float32), 0.0, 1.0), 16
    if a.dtype in (np.int16, np.int32, np.uint32):
        return np.clip(a.astype(np.float32) / float(np.iinfo(a.dtype).max), 0.0, 1.0), 16
    raise TypeError(f"unsupported pixel type {a.dtype}")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_damage(data: bytes) -> str | None:
    """Why a PNG stream is damaged (a chunk whose CRC does not match its data: Pillow checks
    only those before the image data, and misreads a damaged header as no image at all), or
    None."""
    view, pos = memoryview(data), len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length, kind = struct.unpack(">I4s", view[pos : pos + 8])
        if pos + 12 + length > len(data):
            return None  # truncated: Pillow says so
        (crc,) = struct.unpack(">I", view[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(view[pos + 8 : pos + 8 + length], zlib.crc32(kind)) != crc:
            which = f"its {kind.decode()} chunk" if kind.isalpha() else "a chunk"
            return f"the image data is damaged (the CRC check of {which} fails)"
        if kind == b"IEND":
            return None
        pos += 12 + length
    return None


# The brands of an ISO media file (its ``ftyp`` box) that say HEIC/HEIF or AVIF.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"})
AVIF_BRANDS = frozenset({b"avif", b"avis"})
MIAF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2", b"miaf"})  # still images of either


def iso_image_format(data: bytes) -> str | None:
    """``"HEIF"`` or ``"AVIF"`` for an ISO media file holding a still photo (by the brands of its
    ``ftyp`` box), else None."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return None
    end = min(max(int.from_bytes(data[:4], "big"), 16), len(data), 1024)
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, end - 3, 4)}
    if brands & AVIF_BRANDS and not brands & HEIF_BRANDS:
        return "AVIF"
    if brands & (HEIF_BRANDS | MIAF_BRANDS):
        return "HEIF"
    return None


def signed_format(data: bytes) -> str | None:
    """The format a file's first bytes say it is, for those with an unmistakable signature."""
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return iso_image_format(data)


def avif_supported() -> bool:
    """Pillow reads and writes AVIF (its wheels do from 11.3 on)."""
    return bool(features.check("avif"))


def is_raw_name(name: str | Path) -> bool:
    """A camera RAW file, by its name (they share TIFF's signature, or have none of their own)."""
    return Path(str(name)).suffix.lower() in RAW_EXTENSIONS


# ------------------------------------------------------------------ progress of slow reads
_reporting = threading.local()


@contextlib.contextmanager
def reporting_stages(report: Callable[[str, int, int], None] | None) -> Iterator[None]:
    """While in the block, reading a photo on this thread says how far its slow stages have come
    (developing a camera RAW) as ``report(what, done, total)``."""
    previous = getattr(_reporting, "report", None)
    _reporting.report = report
    try:
        yield
    finally:
        _reporting.report = previous


def _stage(what: str, done: int, total: int) -> None:
    report = getattr(_reporting, "report", None)
    if report is not None:
        report(what, done, total)


def decode_photo(data: bytes, name: str | Path = "<memory>") -> Photo:
    """Decode an encoded photo held in memory (see :func:`read_photo`)."""
    if not data:
        raise _fail(name, "the file is empty")
    if data.startswith(PNG_SIGNATURE):
        damage = png_damage(data)
        if damage:
            raise _fail(name, damage)
    try:
        if is_raw_name(name):
            return _decode_raw(data, name)
        if iso_image_format(data) == "HEIF":
            return _decode_heif(data, name)
        return _decode_photo(data, name)
    except MemoryError:
        raise _fail(name, "there is not enough memory to open it") from None


def _one_line(exc: BaseException) -> str:
    """A library's message as one line of text (LibRaw's are bytes)."""
    text = exc.args[0] if len(exc.args) == 1 else str(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return " ".join(str(text).split()).rstrip(".") or type(exc).__name__


def _exif_upright(raw_exif: bytes | None) -> tuple[bytes | None, int]:
    """EXIF as written back (orientation "upright") and the orientation it said."""
    if not raw_exif:
        return None, 1
    exif = Image.Exif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            exif.load(raw_exif)
            orientation = int(exif.get(ORIENTATION_TAG, 1) or 1)
            exif[ORIENTATION_TAG] = 1
            return exif.tobytes(), orientation
    except Exception:  # EXIF a library cannot make out: the photo reads fine without it
        return None, 1


def _decode_heif(data: bytes, name: str | Path) -> Photo:
    """A HEIC/HEIF photo through pillow-heif (libheif), at its own depth (8, 10 or 12 bits). libheif
    applies the file's rotation and mirroring boxes: the EXIF orientation is then only a note."""
    try:
        import pillow_heif  # deferred: libheif loads only for a HEIC photo
    except ImportError:
        raise _fail(name, "HEIC/HEIF photos need the pillow-heif package (pip install pillow-heif)") from None
    try:
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False)
        w, h = heif.size
        if w * h > MAX_PIXELS:
            raise _too_large(name, w, h)
        arr = np.asarray(heif)  # decodes
        meta = dict(heif.info)
        mode = heif.mode
    except (ImageReadError, MemoryError):
        raise
    except Exception as exc:  # libheif's errors come as ValueError, RuntimeError, ...
        raise _fail(name, f"the image data is truncated or damaged ({_one_line(exc)})") from None
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    bits = int(meta.get("bit_depth") or 8)
    if arr.dtype == np.uint16 and 8 < bits < 16:  # libheif puts 10 and 12 bits at the top of 16
        shift = 16 - bits
        arr = ((arr >> shift).astype(np.uint32) * 65535 // (2**bits - 1)).astype(np.uint16)
    exif, orientation = _exif_upright(meta.get("exif"))
    icc = meta.get("icc_profile") or None
    info = {"orientation": orientation, "mode": mode, "bits": bits}
    return _photo_from_pixels(arr, name, "HEIF", exif, bytes(icc) if icc else None, info)


@contextlib.contextmanager
def _libraw_quiet() -> Iterator[None]:
    """LibRaw writes its notes on damaged data (``unknown file: Unexpected end of file``) straight
    to the process's stderr: they are silenced while it reads, as a problem is said once, in our
    own words. One reader at a time (the redirection is the whole process's)."""
    with _LIBRAW_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):  # no stderr (a windowed app on Windows)
            saved = None
        if saved is not None:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
        try:
            yield
        finally:
            if saved is not None:
                os.dup2(saved, 2)
                os.close(saved)


_LIBRAW_LOCK = threading.Lock()
RAW_STAGES = 3  # unpacking, developing, converting


def _decode_raw(data: bytes, name: str | Path) -> Photo:
    """A camera RAW file developed by LibRaw: the camera's white balance, demosaicing, 16-bit sRGB,
    turned upright; its camera and shooting EXIF kept where the file is TIFF-based (DNG, CR2,
    NEF, ARW, PEF…). Says its stages through :func:`reporting_stages`."""
    try:
        import rawpy  # deferred: LibRaw loads only for a camera RAW
    except ImportError:
        raise _fail(name, "camera RAW files need the rawpy package (pip install rawpy)") from None
    _stage("Unpacking the RAW", 1, RAW_STAGES)
    try:
        with rawpy.RawPy() as raw:
            with _libraw_quiet():
                raw.open_buffer(io.BytesIO(data))
                size = raw.sizes
                if size.width * size.height > MAX_PIXELS:
                    raise _too_large(name, size.width, size.height)
                raw.unpack()
            _stage("Developing the RAW (camera white balance, demosaicing)", 2, RAW_STAGES)
            params = rawpy.Params(
                use_camera_wb=True, output_bps=16, output_color=rawpy.ColorSpace.sRGB, gamma=(2.4, 12.92)
            )
            raw.dcraw_process(params)
            _stage("Converting the RAW to 16-bit sRGB", 3, RAW_STAGES)
            arr = raw.dcraw_make_mem_image()
            orientation = {3: 3, 5: 8, 6: 6}.get(int(size.flip), 1)  # LibRaw's flip as EXIF says it
    except (ImageReadError, MemoryError):
        raise
    except rawpy.LibRawFileUnsupportedError:
        if signed_format(data) or data[:4] in (b"II*\x00", b"MM\x00*"):  # a photo named like a RAW
            return _decode_photo(data, name)
        raise _fail(name, "not a camera RAW file that LibRaw knows") from None
    except rawpy.LibRawTooBigError:
        raise _fail(name, f"the photo is too large; the limit is {MAX_PIXELS // 10**6} MP") from None
    except rawpy.LibRawUnsufficientMemoryError:
        raise _fail(name, "there is not enough memory to open it") from None
    except Exception as exc:  # LibRawIOError, LibRawDataError…: a truncated or damaged file
        raise _fail(name, f"the RAW data is truncated or damaged ({_one_line(exc)})") from None
    if arr is None or arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint16:
        shape = "none" if arr is None else f"{arr.shape} {arr.dtype}"
        raise _fail(name, f"LibRaw developed it into something that is not a photo ({shape})")
    exif, camera = raw_exif(data)
    info = {"orientation": orientation, "mode": "RAW", "raw": camera}
    return _photo_from_pixels(np.ascontiguousarray(arr), name, "RAW", exif, None, info)


# Tags of a RAW file's first directory worth keeping in its result (who and when, not its layout).
_RAW_KEPT_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)  # description…copyright
_EXIF_IFD, _GPS_IFD, _MAKER_NOTE, _INTEROP_IFD = 0x8769, 0x8825, 0x927C, 0xA005


def raw_exif(data: bytes) -> tuple[bytes | None, str]:
    """The EXIF a RAW's result keeps (camera, date, exposure, lens, GPS; no maker notes, no layout
    tags, orientation "upright") and the camera's name, from a TIFF-based RAW (DNG, CR2, NEF, ARW,
    PEF, SRW…). Others (CR3, RAF, ORF…) give (None, "")."""
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return None, ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            source = Image.Exif()
            source.load(data)
            out = Image.Exif()
            for tag in _RAW_KEPT_TAGS:
                if tag in source:
                    out[tag] = source[tag]
            for ifd in (_EXIF_IFD, _GPS_IFD):
                items = {k: v for k, v in source.get_ifd(ifd).items() if k not in (_MAKER_NOTE, _INTEROP_IFD)}
                if items:
                    out.get_ifd(ifd).update(items)
            out[ORIENTATION_TAG] = 1
            make = str(source.get(0x010F, "") or "").strip("\x00 ")
            model = str(source.get(0x0110, "") or source.get(50708, "") or "").strip("\x00 ")
            encoded = out.tobytes()
    except Exception:  # a directory Pillow cannot make out: the photo is developed all the same
        return None, ""
    camera = model if model.lower().startswith(make.lower()) else f"{make} {model}".strip()
    return encoded, camera


def _decode_photo(data: bytes, name: str | Path) -> Photo:
    try:
        im = _open_with_pillow(data, name)
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        if data[:4] in (b"II*\x00", b"MM\x00*"):  # a TIFF Pillow cannot decode, e.g. float32 colour
            return _opencv_tiff(data, name)
        raise _not_understood(data, name) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _fail(name, f"the photo is too large; the limit is {MAX_PIXELS // 10**6} MP") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise _fail(name, f"the image data is truncated or damaged ({exc})") from None
    fmt = im.format
    orientation, exif_bytes = _exif_set_upright(im)
    icc = im.info.get("icc_profile")

    arr = _deep_colour_pixels(im, data) if _is_deep_colour(im, data) else None
    if arr is None:
        arr = _pillow_pixels(im)
    arr = apply_orientation(arr, orientation)
    info = {"orientation": orientation, "mode": im.mode}
    return _photo_from_pixels(arr, name, "JPEG" if fmt == "MPO" else fmt, exif_bytes, icc, info)


def _open_with_pillow(data: bytes, name: str | Path) -> Image.Image:
    """The photo opened and loaded by Pillow, if it is a format and size this app reads."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pillow's notes on odd metadata
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im = Image.open(io.BytesIO(data))
        fmt = im.format
        if fmt not in READ_FORMATS:
            kinds = "PNG, JPEG, TIFF, BMP, WebP, HEIC, AVIF or camera RAW"
            raise _fail(name, f"{fmt} images are not supported (use {kinds})")
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise _fail(name, f"the photo is too large ({w}x{h}); the limit is {MAX_PIXELS // 10**6} MP")
        im.load()  # raises on truncated or damaged data
    return im


def _not_understood(data: bytes, name: str | Path) -> ImageReadError:
    """Why Pillow could not identify the data, as the user should hear it."""
    fmt = signed_format(data)
    if fmt == "AVIF" and not avif_supported():
        return _fail(name, "AVIF photos need Pillow with AVIF support (Pillow 11.3 or later)")
    if fmt:  # it says what it is, but Pillow cannot make it out
        article = "an" if fmt[0] in "AEIOU" else "a"
        return _fail(
            name, f"the image data is truncated or damaged ({article} {fmt} file Pillow cannot open)"
        )
    return _fail(name, "not an image file, or not a format this app can read")


def _exif_set_upright(im: Image.Image) -> tuple[int, bytes | None]:
    """The photo's EXIF orientation, and its EXIF with the orientation reset to upright (the
    pixels are turned instead); None where it has no EXIF."""
    with warnings.catch_warnings():  # Pillow's notes on odd EXIF (a tag it skips): the photo reads fine
        warnings.simplefilter("ignore", UserWarning)
        exif = im.getexif()
        orientation = int(exif.get(ORIENTATION_TAG, 1) or 1)
        exif_bytes = None
        if len(exif):
            exif[ORIENTATION_TAG] = 1
            exif_bytes = exif.tobytes()
    return orientation, exif_bytes


def _quietly(fn, *args):
    """``fn(*args)`` without OpenCV's warnings on stderr (libtiff's notes on unusual files):
    a problem is said once, in our own words."""
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    if log is None:
        return fn(*args)
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_SILENT)  # its errors too: a file it cannot decode is ours to say
    try:
        return fn(*args)
    finally:
        log.setLogLevel(level)


def _opencv_tiff(data: bytes, name: str | Path) -> Photo:
    """A TIFF that Pillow cannot decode (float32 or 64 colour, with or without alpha) through
    OpenCV, which keeps neither its EXIF nor its ICC profile."""
    arr = _quietly(cv2.imdecode, np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise _fail(
            name, "a TIFF whose pixel format this app cannot read (neither Pillow nor OpenCV decodes it)"
        )
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    elif arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    elif arr.ndim != 2:
        raise _fail(name, f"a TIFF of {arr.shape[2]} channels; photos have 1 to 4")
    return _photo_from_pixels(arr, name, "TIFF", None, None, {"orientation": 1, "mode": f"{arr.dtype}"})


def _photo_from_pixels(
    arr: np.ndarray, name: str | Path, fmt: str, exif: bytes | None, icc: bytes | None, info: dict
) -> Photo:
    """A :class:`Photo` from decoded pixels (upright): HxW grey, or HxWxC with C = 2 (grey and
    alpha), 3 (RGB) or 4 (RGBA)."""
    if arr.dtype.kind == "f":
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        if bad:
            raise _fail(
                name,
                f"{bad} pixel{' is' if bad == 1 else 's are'} not a finite number (NaN or infinite); "
                "the photo cannot be restored",
            )

    alpha = None
    if arr.ndim == 2:
        grey = True
        colour = np.repeat(arr[..., None], 3, axis=2)
    elif arr.shape[2] == 2:
        grey, colour, alpha = True, np.repeat(arr[..., :1], 3, axis=2), arr[..., 1].copy()
    elif arr.shape[2] == 4:
        grey, colour, alpha = False, arr[..., :3], arr[..., 3].copy()
    else:
        grey, colour = False, arr[..., :3]
    rgb, depth = _to_float(colour)
    return Photo(
        rgb=np.ascontiguousarray(rgb),
        alpha=alpha,
        bit_depth=depth,
        grey=grey,
        format=fmt,
        exif=exif,
        icc=icc,
        path=Path(name) if not isinstance(name, Path) else name,
        info=info,
    )


def _is_deep_colour(im: Image.Image, data: bytes) -> bool:
    """True for 16-bit (or float) colour files, which Pillow would reduce to 8 bits."""
    if im.mode not in ("RGB", "RGBA"):
        return False
    if im.format == "PNG":
        return len(data) > 24 and data[24] == 16
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        return max(bits) > 8
    return False


def _deep_colour_pixels(im: Image.Image, data: bytes) -> np.ndarray | None:
    """16-bit colour pixels through OpenCV (RGB order), or None if it cannot decode them."""
    arr = _quietly(cv2.imdecode, np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.ndim != 3 or (arr.shape[1], arr.shape[0]) != im.size:
        return None
    code = cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return cv2.cvtColor(arr, code)


def _pillow_pixels(im: Image.Image) -> np.ndarray:
    """Pixels of 8-bit and grey files (any depth) through Pillow."""
    if im.mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(im).astype(np.uint16)
    if im.mode in ("I", "F"):
        return np.asarray(im)
    if im.mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(im)
    if im.mode == "1":
        return np.asarray(im.convert("L"))
    if im.mode in ("PA",) or (im.mode == "P" and "transparency" in im.info):
        return np.asarray(im.convert("RGBA"))
    if im.mode == "La":
        return np.asarray(im.convert("LA"))
    if im.mode == "RGBa":
        return np.asarray(im.convert("RGBA"))
    return np.asarray(im.convert("RGB"))


_NOT_REGULAR = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def not_a_file(path: str | os.PathLike, what: str = "an image file") -> str | None:
    """Why ``path`` cannot be read as ``what`` without opening it (a missing file, a folder, a
    symbolic link loop, a named pipe or a device), or None for a regular file."""
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        return (
            "is a broken symbolic link (what it points to is missing)" if p.is_symlink() else "no such file"
        )
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop (it leads back to itself)"
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return f"is a folder, not {what}"
    kind = next((name for test, name in _NOT_REGULAR if test(mode)), "not a file")
    return f"is {kind}, not a regular file; refused without reading it"


def read_file_bytes(path: str | os.PathLike, what: str = "an image file") -> bytes:
    """The bytes of a regular file; anything else is refused before it is opened, with one line
    naming the file (:class:`ImageReadError`). The file is opened without waiting (a pipe put in
    its place between the check and the open is still refused, not waited on)."""
    p = Path(path)
    why = not_a_file(p, what)
    if why is not None:
        raise _fail(p, why)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise _fail(p, f"cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise _fail(p, "is not a regular file; refused without reading it")
        try:
            return f.read()
        except OSError as exc:
            raise _fail(p, f"cannot be read ({exc.strerror or exc})") from None


def read_photo(path: str | os.PathLike) -> Photo:
    """Read a photo file; any problem raises :class:`ImageReadError` naming the file."""
    p = Path(path)
    return decode_photo(read_file_bytes(p), p)


MAX_KERNEL_SIDE = 401  # px; a 121 px trail at 4000 px is a long shake, a bigger array is not a kernel


def read_kernel(path: str | os.PathLike) -> np.ndarray:
    """Read a known blur kernel (its point-spread function): an image whose brightness is the
    weight (colour is averaged), a ``.npy`` array, or a ``.txt``/``.csv`` grid of numbers.
    Returns float64 summing to 1; any problem raises :class:`ImageReadError` naming the file."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".npy", ".txt", ".csv"):
        data = read_file_bytes(p, "a kernel file")
        try:
            if suffix == ".npy":
                k = np.load(io.BytesIO(data), allow_pickle=False)
            else:
                with warnings.catch_warnings():  # an empty file: our message, not NumPy's warning
                    warnings.simplefilter("ignore", UserWarning)
                    text = io.StringIO(data.decode("utf-8"))
                    k = np.loadtxt(text, delimiter="," if suffix == ".csv" else None, ndmin=2)
        except (OSError, ValueError, EOFError) as exc:
            if suffix == ".npy":
                why = "it is not a NumPy array file"
            elif isinstance(exc, UnicodeDecodeError):
                why = "it is not text"
            else:
                why = str(exc).rstrip(".")
            raise _fail(p, f"cannot be read as a blur kernel ({why})") from None
        if k.size == 0:
            raise _fail(p, "holds no numbers: a blur kernel is a grid of non-negative weights")
    else:
        k = read_photo(p).rgb.mean(axis=2)
    if not (np.issubdtype(k.dtype, np.number) and k.ndim == 2):
        raise _fail(p, f"a blur kernel must be a 2-D grid of numbers, not {k.ndim}-D {k.dtype}")
    if max(k.shape) > MAX_KERNEL_SIDE:
        raise _fail(
            p, f"is {k.shape[1]}x{k.shape[0]} px: a blur kernel has at most {MAX_KERNEL_SIDE} px a side"
        )
    try:
        return checked_kernel(k)
    except ValueError as exc:
        raise _fail(p, str(exc)) from None


KERNEL_SAVE_SUFFIXES = (".png", ".tif", ".tiff", ".npy", ".csv", ".txt")


def write_kernel(path: str | os.PathLike, kernel: np.ndarray) -> Path:
    """Save a blur kernel so that :func:`read_kernel` (``irsde restore --kernel``, the app's
    "Known blur from a file…") takes it back: a ``.png``/``.tif`` image whose brightness is the
    weight (16-bit greyscale, the peak white: faint pixels down to 1/65535 of it survive), a
    ``.npy`` array, or a ``.csv``/``.txt`` grid of numbers (both exact, summing to 1). Written
    atomically; :class:`ImageWriteError` names the file on any problem."""
    p = Path(path)
    suffix = p.suffix.lower()
    k = checked_kernel(kernel)
    if suffix in (".png", ".tif", ".tiff"):
        grey = np.round(k / k.max() * 65535.0).astype(np.uint16)
        ok, encoded = cv2.imencode(suffix, grey)
        if not ok:
            raise ImageWriteError(f"{p}: the blur could not be encoded as {suffix}")
        data = encoded.tobytes()
    elif suffix == ".npy":
        buf = io.BytesIO()
        np.save(buf, k)
        data = buf.getvalue()
    elif suffix in (".csv", ".txt"):
        buf = io.StringIO()
        np.savetxt(buf, k, fmt="%.9g", delimiter="," if suffix == ".csv" else " ")
        data = buf.getvalue().encode("ascii")
    else:
        kinds = ", ".join(KERNEL_SAVE_SUFFIXES)
        raise ImageWriteError(f"{p}: a blur is saved as {kinds} (lossless), not as '{suffix or 'no suffix'}'")
    try:
        return atomic_write_bytes(p, data)
    except OSError as exc:
        raise ImageWriteError(f"{p}: cannot be written ({exc.strerror or exc})") from None


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _quantise(rgb: np.ndarray, depth: int) -> np.ndarray:
    full = 65535.0 if depth == 16 else 255.0
    out = np.clip(rgb, 0.0, 1.0) * full + 0.5
    return out.astype(np.uint16 if depth == 16 else np.uint8)


def _fit_alpha(alpha: np.ndarray, depth: int, shape: tuple[int, int]) -> np.ndarray:
    a = alpha
    if a.shape != shape:
        a = cv2.resize(a, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    target = np.uint16 if depth == 16 else np.uint8
    if a.dtype == target:
        return a
    f, _ = _to_float(a)
    return _quantise(f, depth)


def encode_photo(
    rgb: np.ndarray,
    fmt: str,
    *,
    like: Photo | None = None,
    bit_depth: int | None = None,
    quality: int = 95,
    alpha: np.ndarray | None = None,
    grey: bool | None = None,
) -> bytes:
    """Encode float RGB as ``fmt`` with the bit depth, alpha, EXIF and ICC of ``like``.

    16-bit output is written for PNG and TIFF, 10-bit for HEIC (the other formats are 8-bit).
    Alpha is written where the format holds it (PNG, TIFF, WebP, HEIC, AVIF).
    """
    fmt = fmt.upper()
    grey = like.grey if grey is None and like is not None else bool(grey)
    if alpha is None and like is not None:
        alpha = like.alpha
    depth = bit_depth or (like.bit_depth if like is not None else 8)
    if fmt not in ("PNG", "TIFF", "HEIF"):
        depth = 8
    if fmt in ("JPEG", "BMP"):
        alpha = None
    pix = _pixels_to_encode(rgb, fmt, depth, alpha, grey)
    if fmt == "TIFF":
        return encode_tiff(pix, icc=like.icc if like else None, exif=like.exif if like else None)
    if fmt == "HEIF":
        icc, exif = (like.icc, like.exif) if like is not None else (None, None)
        return encode_heif(pix, icc=icc, exif=exif, quality=quality)
    if fmt == "AVIF" and not avif_supported():
        raise ImageWriteError("this Pillow cannot write AVIF (Pillow 11.3 or later with AVIF support can)")
    if depth == 16:
        return _encode_png16(pix, fmt, like)
    return _encode_with_pillow(pix, fmt, like, quality)


def _pixels_to_encode(
    rgb: np.ndarray, fmt: str, depth: int, alpha: np.ndarray | None, grey: bool
) -> np.ndarray:
    """The integer pixels to encode: grey or RGB at ``depth`` bits, with alpha if given.

    Grey + alpha is written as RGBA in 16 bits (few readers, OpenCV and Pillow among them,
    handle it) and in HEIC and AVIF (their encoders do not take it)."""
    h, w = rgb.shape[:2]
    pix = _quantise(rgb.mean(axis=2) if grey else rgb, depth)
    if alpha is not None:
        pix = np.dstack([pix, _fit_alpha(alpha, depth, (h, w))])
    grey_alpha = pix.ndim == 3 and pix.shape[2] == 2
    if grey_alpha and (depth == 16 or fmt in ("HEIF", "AVIF")):
        pix = np.dstack([pix[..., 0]] * 3 + [pix[..., 1]])
    return pix


def _encode_png16(pix: np.ndarray, fmt: str, like: Photo | None) -> bytes:
    """A 16-bit PNG (through OpenCV, which writes 16 bits), with ``like``'s ICC and EXIF."""
    arr = pix
    if arr.ndim == 3:
        code = cv2.COLOR_RGBA2BGRA if arr.shape[2] == 4 else cv2.COLOR_RGB2BGR
        if arr.shape[2] in (3, 4):
            arr = cv2.cvtColor(arr, code)
    ok, buf = cv2.imencode(".png", arr)
    if not ok:
        raise ImageWriteError(f"could not encode a 16-bit {fmt}")
    if like is not None:
        return png_with_metadata(buf.tobytes(), icc=like.icc, exif=like.exif)
    return buf.tobytes()


def _encode_with_pillow(pix: np.ndarray, fmt: str, like: Photo | None, quality: int) -> bytes:
    """8-bit PNG, JPEG, WebP, AVIF or BMP through Pillow, with ``like``'s ICC and EXIF where
    the format holds them."""
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[1 if pix.ndim == 2 else pix.shape[2]]
    im = Image.fromarray(pix, mode=mode) if pix.ndim == 3 else Image.fromarray(pix)
    params: dict = {}
    if like is not None and like.icc and fmt in ("PNG", "JPEG", "WEBP", "AVIF"):
        params["icc_profile"] = like.icc
    if like is not None and like.exif and fmt in ("PNG", "JPEG", "WEBP", "AVIF"):
        params["exif"] = like.exif
    if fmt == "JPEG":
        params.update(quality=int(quality), subsampling=0 if quality >= 90 else 2)
    elif fmt == "WEBP":
        params.update(quality=min(int(quality), 100), lossless=quality >= 100)
    elif fmt == "AVIF":
        params.update(quality=min(int(quality), 100), subsampling="4:4:4" if quality >= 90 else "4:2:0")
    out = io.BytesIO()
    im.save(out, format=fmt, **params)
    return out.getvalue()


def encode_heif(
    pix: np.ndarray, *, icc: bytes | None = None, exif: bytes | None = None, quality: int = 95
) -> bytes:
    """A HEIC photo (HEVC, through pillow-heif) of ``pix``: H x W grey, or H x W x 3/4 RGB(A), uint8 or
    uint16 (written at 10 bits), with the photo's ICC profile and EXIF. Chroma is not subsampled
    from quality 90 on, as JPEG's is not."""
    try:
        import pillow_heif  # deferred: libheif loads only for a HEIC photo
    except ImportError:
        raise ImageWriteError("HEIC photos need the pillow-heif package (pip install pillow-heif)") from None
    deep = pix.dtype == np.uint16
    channels = 1 if pix.ndim == 2 else pix.shape[2]
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels] + (";16" if deep else "")
    h, w = pix.shape[:2]
    heif = pillow_heif.from_bytes(mode=mode, size=(w, h), data=np.ascontiguousarray(pix).tobytes())
    params: dict = {"quality": min(int(quality), 100), "chroma": 444 if quality >= 90 else 420}
    if icc:
        params["icc_profile"] = icc
    if exif:
        params["exif"] = exif
    out = io.BytesIO()
    try:
        heif.save(out, **params)
    except (ValueError, RuntimeError) as exc:
        raise ImageWriteError(f"the photo could not be encoded as HEIC ({_one_line(exc)})") from None
    return out.getvalue()


# TIFF tags that describe the pixels of the file they are in: never taken from a photo's EXIF.
_TIFF_LAYOUT_TAGS = frozenset(
    {254, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325, 338, 339}
    | {0x0201, 0x0202}  # the EXIF thumbnail of a JPEG
)


def encode_tiff(pix: np.ndarray, *, icc: bytes | None = None, exif: bytes | None = None) -> bytes:
    """An 8- or 16-bit TIFF (grey, grey + alpha, RGB or RGBA; deflate with the horizontal
    predictor) that keeps the photo's ICC profile and EXIF, camera settings included.
    OpenCV's TIFF writer drops both, and Pillow's cannot write 16-bit colour or, with deflate,
    an EXIF sub-directory.

    ``pix`` is ``H x W`` or ``H x W x C``, uint8 or uint16, in RGB(A) order. EXIF that
    cannot be written as TIFF tags (a camera's odd private tag) is left out rather than
    failing the save.
    """
    if exif:
        try:
            return _encode_tiff(pix, icc, exif)
        except Exception as exc:  # any EXIF quirk: save the photo without it
            warnings.warn(f"EXIF left out of the TIFF: {exc}", RuntimeWarning, stacklevel=2)
    return _encode_tiff(pix, icc, None)


def _encode_tiff(pix: np.ndarray, icc: bytes | None, exif: bytes | None) -> bytes:
    a = pix if pix.ndim == 3 else pix[:, :, None]
    h, w, c = a.shape
    bits = 8 * a.dtype.itemsize
    # Horizontal differencing (TIFF predictor 2), modulo 2**bits: photos compress far better.
    diff = a.copy()
    diff[:, 1:] -= a[:, :-1]
    rows = max(1, min(h, (256 * 1024) // (w * c * a.dtype.itemsize)))
    little = diff.astype(diff.dtype.newbyteorder("<"))
    strips = [zlib.compress(little[r : r + rows].tobytes(), 6) for r in range(0, h, rows)]
    head = b"II*\x00" + struct.pack("<I", 8)
    ifd = TiffImagePlugin.ImageFileDirectory_v2(ifh=head)
    if exif:
        info = Image.Exif()
        info.load(exif)
        for tag in info:
            if tag in _TIFF_LAYOUT_TAGS:
                continue
            ifd[tag] = info.get_ifd(tag) if tag in TiffTags.TAGS_V2_GROUPS else info.get(tag)
            with contextlib.suppress(KeyError, AttributeError):
                ifd.tagtype[tag] = info.tagtype[tag]
    if icc:
        ifd[34675] = icc
        ifd.tagtype[34675] = TiffTags.UNDEFINED
    layout = {
        256: w,
        257: h,
        258: (bits,) * c,
        259: 8,  # deflate
        262: 2 if c >= 3 else 1,  # RGB or grey (black is zero)
        277: c,
        278: rows,
        284: 1,
        317: 2,
        339: (1,) * c,
    }
    if c in (2, 4):
        layout[338] = 2  # unassociated alpha
    for tag, value in layout.items():
        ifd[tag] = value
        ifd.tagtype[tag] = TiffTags.SHORT if tag not in (256, 257, 278) else TiffTags.LONG
    # Strip offsets count from the end of the directory; the writer adds its length.
    ifd[273] = tuple(itertools.accumulate((len(b) for b in strips[:-1]), initial=0))
    ifd[279] = tuple(len(b) for b in strips)
    ifd.tagtype[273] = ifd.tagtype[279] = TiffTags.LONG
    return head + ifd.tobytes(len(head)) + b"".join(strips)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_metadata(png: bytes, *, icc: bytes | None = None, exif: bytes | None = None) -> bytes:
    """Add an ICC profile (iCCP) and EXIF (eXIf) to an encoded PNG, before its image data.

    OpenCV writes 16-bit PNGs without either; Pillow (8-bit) writes both itself."""
    if not icc and not exif:
        return png
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ImageWriteError("not a PNG stream")
    extra = b""
    if icc:
        extra += _png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
    if exif:
        extra += _png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    pos = 8
    while pos + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        if kind in (b"iCCP", b"sRGB", b"eXIf"):  # already there: leave the file as it is
            return png
        if kind in (b"PLTE", b"IDAT"):
            return png[:pos] + extra + png[pos:]
        pos += 12 + length
    raise ImageWriteError("a PNG stream without image data")


def format_for(path: str | os.PathLike) -> str:
    ext = Path(path).suffix.lower()
    if ext not in WRITE_EXTENSIONS:
        raise ImageWriteError(
            f"{path}: cannot tell the format from '{ext or 'no extension'}' "
            f"(use {', '.join(sorted(set(WRITE_EXTENSIONS)))})"
        )
    return WRITE_EXTENSIONS[ext]


def temp_path_beside(path: Path, suffix: str = ".partial") -> Path:
    """A fresh hidden name in the same folder (so the final rename is atomic)."""
    return path.with_name(f".{path.stem}.{secrets.token_hex(4)}{suffix}")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place.

    The file gets the usual permissions (the umask applies), not a temp file's 0600.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_beside(p)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return p


def write_photo(
    path: str | os.PathLike,
    rgb: np.ndarray,
    *,
    like: Photo | None = None,
    overwrite_input: bool = False,
    **encode_args,
) -> Path:
    """Encode and atomically write a photo. Refuses to replace ``like.path`` unless allowed."""
    p = Path(path)
    fmt = format_for(p)
    if like is not None and like.path is not None and not overwrite_input:
        try:
            same = p.exists() and p.resolve() == Path(like.path).resolve()
        except OSError:
            same = False
        if same:
            raise ImageWriteError(f"{p}: refusing to overwrite the input photo (use --overwrite)")
    try:
        data = encode_photo(rgb, fmt, like=like, **encode_args)
        return atomic_write_bytes(p, data)
    except ImageWriteError:
        raise
    except (OSError, ValueError) as exc:
        raise ImageWriteError(f"{p}: could not be written ({exc})") from exc
