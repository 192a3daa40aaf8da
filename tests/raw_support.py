"""Camera RAW files for the tests, made by the test itself: a minimal DNG written with tifffile.

A DNG is a TIFF whose image is the sensor's mosaic: one 16-bit value a pixel under a colour filter
(here RGGB), plus the tags that say how to read it (DNG version, the filter pattern, the white
level, the camera's neutral). LibRaw develops it like a camera's own file.
"""

from __future__ import annotations

import io

import numpy as np

BLACK, WHITE = 2000, 62000  # the sensor's values for black and for full white


def mosaic(rgb: np.ndarray) -> np.ndarray:
    """The RGGB Bayer mosaic of an RGB photo (floats in [0, 1]) as 16-bit sensor values."""
    h, w = rgb.shape[:2]
    v = (np.clip(rgb, 0, 1) * (WHITE - BLACK) + BLACK).astype(np.uint16)
    cfa = np.empty((h, w), np.uint16)
    cfa[0::2, 0::2] = v[0::2, 0::2, 0]
    cfa[0::2, 1::2] = v[0::2, 1::2, 1]
    cfa[1::2, 0::2] = v[1::2, 0::2, 1]
    cfa[1::2, 1::2] = v[1::2, 1::2, 2]
    return cfa


def minimal_dng(
    rgb: np.ndarray,
    orientation: int = 1,
    make: str = "Acme",
    model: str = "Acme R1",
    neutral: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> bytes:
    """A DNG of ``rgb`` (H x W x 3, floats; H and W even) as a camera with an RGGB sensor would
    write it, with EXIF orientation ``orientation``, the camera's make and model, and its white
    balance: ``neutral`` is what the sensor saw of something grey (AsShotNeutral)."""
    import tifffile

    identity = (1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1)  # ColorMatrix1, SRATIONAL
    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50708, "s", 0, model, True),  # UniqueCameraModel
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: R G / G B
        (50721, "2i", 9, identity, True),
        (50728, "2I", 3, tuple(x for n in neutral for x in (round(n * 1000), 1000)), True),
        (50714, "I", 1, BLACK, True),  # BlackLevel
        (50717, "I", 1, WHITE, True),  # WhiteLevel
        (274, "H", 1, orientation, True),
        (271, "s", 0, make, True),
        (272, "s", 0, model, True),
    ]
    buf = io.BytesIO()
    tifffile.imwrite(buf, mosaic(rgb), photometric=32803, extratags=tags, description=None, metadata=None)
    return buf.getvalue()
