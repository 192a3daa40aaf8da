"""Give memory that a finished restore freed back to the system.

glibc keeps freed memory in its per-thread arenas; an app that runs every
restore on a fresh worker thread then holds on to a few MiB more after each of
the first few dozen runs, and after a large photo to far more. ``malloc_trim``
hands the unused pages back. Elsewhere (macOS, Windows, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import sys

_trim: object = None  # None: not looked up yet; False: not available


def _malloc_trim():
    global _trim
    if _trim is None:
        _trim = False
        if sys.platform.startswith("linux"):
            try:
                fn = ctypes.CDLL(None).malloc_trim
            except (OSError, AttributeError):
                fn = None
            if fn is not None:
                fn.argtypes = [ctypes.c_size_t]
                fn.restype = ctypes.c_int
                _trim = fn
    return _trim or None


def release_free_memory() -> bool:
    """Return freed heap pages to the system; True if any were released."""
    fn = _malloc_trim()
    return bool(fn(0)) if fn is not None else False
