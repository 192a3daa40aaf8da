"""Give memory that a finished restore freed back to the system.

glibc keeps freed memory in its per-thread arenas; an app that runs every
restore on a fresh worker thread then holds on to a few MiB more after each of
the first few dozen runs, and after a large photo to far more. ``malloc_trim``
hands the unused pages back. Elsewhere (macOS, Windows, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def release_free_memory() -> bool:
    """Return freed heap pages to the system; True if any were released."""
    fn = _malloc_trim()
    return bool(fn(0)) if fn is not None else False
