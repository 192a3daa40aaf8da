"""Why the window cannot open, in one paragraph, instead of Qt's "could not load the Qt platform plugin".

On Linux Qt draws through a platform plugin (``xcb`` for X11, ``wayland``). When the plugin
cannot start, Qt names no cause and aborts; the usual cause on a fresh system is a few missing
X11 libraries (``libxcb-cursor0``, ``libxcb-icccm4``, ``libxkbcommon-x11-0``...). This module
asks the dynamic loader which libraries the plugin lacks (``ldd`` on the plugin file, or
``ctypes`` where there is no ``ldd``), turns them into the ``apt``/``dnf`` command that installs
them, and says that the command line works meanwhile. No Qt is imported here: the app calls it
from its Qt message handler when Qt gives up (see :mod:`irsde_gui.app`), the bundle included.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

GIVES_UP = "no Qt platform plugin could be initialized"
_FAILED_PLUGIN = re.compile(r'Could not load the Qt platform plugin "([^"]+)"')
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.M)
_DLOPEN_MISSING = re.compile(r"([\w.+-]+\.so(?:\.\d+)*): cannot open shared object file")

CLI_EXAMPLE = "irsde restore photo.jpg -o restored.png --task denoise"


def failed_plugins(qt_messages: Iterable[str]) -> list[str]:
    """The platform plugins Qt said it could not load, in the order it tried them."""
    names: list[str] = []
    for message in qt_messages:
        for name in _FAILED_PLUGIN.findall(message):
            if name not in names:
                names.append(name)
    return names


def plugin_file(name: str, plugin_dirs: Iterable[str | os.PathLike]) -> Path | None:
    """The file of platform plugin ``name`` (``libqxcb.so`` for xcb) in Qt's plugin folders."""
    for folder in plugin_dirs:
        for candidate in (Path(folder) / "platforms" / f"libq{name}.so", Path(folder) / f"libq{name}.so"):
            if candidate.is_file():
                return candidate
    return None


def ask_ldd(library: Path) -> str | None:
    """``ldd``'s report on ``library`` (every shared library it needs, found or not); None
    where there is no ``ldd`` or it failed."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    try:
        out = subprocess.run([ldd, str(library)], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.stdout else None


def ask_dlopen(library: Path) -> str | None:
    """The dynamic loader's complaint on opening ``library`` (it names the first missing
    library), or None when it opens."""
    try:
        ctypes.CDLL(str(library), mode=os.RTLD_LAZY | os.RTLD_LOCAL)
    except OSError as exc:
        return str(exc)
    return None


def missing_libraries(
    library: Path,
    ldd: Callable[[Path], str | None] = ask_ldd,
    dlopen: Callable[[Path], str | None] = ask_dlopen,
) -> list[str]:
    """The shared libraries (sonames) that the dynamic loader cannot find for ``library``:
    all of them from ``ldd``; without ``ldd``, the one ``dlopen`` names."""
    report = ldd(library)
    if report is not None:
        return list(dict.fromkeys(_NOT_FOUND.findall(report)))
    complaint = dlopen(library)
    if complaint is None:
        return []
    return list(dict.fromkeys(_DLOPEN_MISSING.findall(complaint)))


def debian_package(soname: str) -> str:
    """The Debian/Ubuntu package that ships ``soname``, by Debian's library naming policy:
    libxcb-icccm.so.4 -> libxcb-icccm4, libxkbcommon-x11.so.0 -> libxkbcommon-x11-0."""
    m = re.fullmatch(r"(.+?)\.so\.(\d+)(?:\.\d+)*", soname)
    if not m:
        return soname.lower()
    stem, major = m.group(1).lower(), m.group(2)
    return f"{stem}-{major}" if stem[-1].isdigit() else f"{stem}{major}"


def install_commands(sonames: list[str], which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """The command(s) that install ``sonames``: apt (Debian, Ubuntu) by package name, dnf
    (Fedora, RHEL) by the soname the package provides; both where neither tool is found."""
    apt = "sudo apt install " + " ".join(dict.fromkeys(debian_package(s) for s in sonames))
    dnf = "sudo dnf install " + " ".join(f"'{s}()(64bit)'" for s in sonames)
    found = [cmd for tool, cmd in (("apt", apt), ("dnf", dnf)) if which(tool)]
    return found or [apt, dnf]


def explain(
    qt_messages: list[str],
    plugin_dirs: Iterable[str | os.PathLike],
    env: Mapping[str, str] = os.environ,
    missing: Callable[[Path], list[str]] = missing_libraries,
    which: Callable[[str], str | None] = shutil.which,
) -> str:
    """One paragraph for the terminal: why the window could not open and what to do."""
    tried = failed_plugins(qt_messages) or [p for p in (env.get("QT_QPA_PLATFORM") or "xcb").split(";") if p]
    lacking: dict[str, list[str]] = {}
    for name in tried:
        f = plugin_file(name, plugin_dirs)
        if f is not None:
            libs = missing(f)
            if libs:
                lacking[name] = libs
    meanwhile = (
        f"Meanwhile the command line works without a window, e.g. `{CLI_EXAMPLE}` (see `irsde --help`)."
    )
    if lacking:
        libs = list(dict.fromkeys(lib for found in lacking.values() for lib in found))
        names = " and ".join(f"Qt's {_describe(n)} plugin ({n})" for n in lacking)
        lines = [
            f"irsde-gui: the window cannot open: {names} needs libraries that this system lacks: "
            f"{', '.join(libs)}. Install them, then start irsde-gui again:",
            *(f"    {cmd}" for cmd in install_commands(libs, which)),
            meanwhile,
        ]
        return "\n".join(lines)
    if "xcb" in tried and not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        why = "there is no display to open it on (DISPLAY is not set): start it in a desktop session"
    elif "xcb" in tried or "wayland" in tried:
        shown = env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")
        why = f"Qt could not connect to the display {shown!r}: check that the desktop session is running"
    else:
        why = f"Qt could not start its {', '.join(tried)} platform plugin"
    return f"irsde-gui: the window cannot open: {why}. {meanwhile}"


def _describe(plugin: str) -> str:
    return {"xcb": "X11", "wayland": "Wayland"}.get(plugin, plugin)


def report_and_exit(
    qt_messages: list[str], plugin_dirs: Iterable[str | os.PathLike], status: int = 1
) -> None:
    """Print :func:`explain` on stderr and end the process now: Qt would abort right after."""
    try:
        text = explain(qt_messages, plugin_dirs)
    except Exception as exc:  # the explanation must never hide the failure itself
        text = f"irsde-gui: the window cannot open: Qt found no platform plugin it could start ({exc})."
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
    os._exit(status)
