"""What the main window's parts share: its title, a photo as a QImage, and one line saying why
a file was refused."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from .trajectory import qimage_from_rgb

APP_TITLE = "IR-SDE Studio"


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """float32 HxWx3 in [0, 1] -> an 8-bit QImage for display."""
    return qimage_from_rgb((np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))


def why(exc: Exception | str, path: object) -> str:
    """The reason part of a core error message (which starts with the file name)."""
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text
