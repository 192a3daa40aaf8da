"""Where the bundled weights and resources live, and the user's own folders.

In a wheel (and in the PyInstaller bundle) ``weights/`` and ``resources/`` are
installed inside the package as ``irsde_gui/_weights`` and
``irsde_gui/_resources``; in a source checkout they sit at the repository root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "IR-SDE Studio"
APP_ID = "irsde-studio"
PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _bundled(name: str) -> Path:
    candidates = [PACKAGE_DIR / f"_{name}", PACKAGE_DIR.parent / name]
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        candidates.insert(0, Path(frozen_root) / "irsde_gui" / f"_{name}")
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[0]


def bundled_weights_dir() -> Path:
    return _bundled("weights")


def resources_dir() -> Path:
    return _bundled("resources")


def user_data_dir() -> Path:
    """The user's data folder (``IRSDE_DATA_DIR`` overrides it, e.g. for tests)."""
    override = os.environ.get("IRSDE_DATA_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_ID, appauthor=False))


def user_weights_dir() -> Path:
    return user_data_dir() / "weights"


def user_log_dir() -> Path:
    """Where the app's log files go: ``IRSDE_LOG_DIR``, else ``logs`` in ``IRSDE_DATA_DIR`` when that
    is set (tests), else the platform's user log folder."""
    if os.environ.get("IRSDE_LOG_DIR"):
        return Path(os.environ["IRSDE_LOG_DIR"])
    if os.environ.get("IRSDE_DATA_DIR"):
        return Path(os.environ["IRSDE_DATA_DIR"]) / "logs"
    return Path(platformdirs.user_log_dir(APP_ID, appauthor=False))
