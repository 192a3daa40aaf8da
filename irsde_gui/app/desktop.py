"""Linux desktop integration for the current user: menu entry, "Open with" for photos, icons, AppStream.

``irsde-gui --install-desktop`` copies, under ``$XDG_DATA_HOME`` (default
``~/.local/share``):

- ``applications/irsde-studio.desktop``, from ``resources/irsde-studio.desktop``
  with ``Exec``/``TryExec`` pointing at the program that ran the command (the
  bundle's ``irsde-gui``, or the ``irsde-gui`` script of this Python
  environment), so the entry starts this very installation;
- ``icons/hicolor/NxN/apps/irsde-studio.png`` for every rendered size and
  ``icons/hicolor/scalable/apps/irsde-studio.svg``;
- ``metainfo/irsde-studio.metainfo.xml`` (AppStream, for software centres);

then refreshes the desktop and icon caches where the tools exist.
``--uninstall-desktop`` removes exactly these files. No Qt is needed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..core.paths import APP_ID, resources_dir

DESKTOP_FILE = f"{APP_ID}.desktop"
METAINFO_FILE = f"{APP_ID}.metainfo.xml"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# What "Open with" offers the app for: the photos it reads and writes, and the camera RAW files it
# develops (resources/irsde-studio.desktop and the metainfo list the same; a test compares).
PHOTO_MIME_TYPES = (
    "image/png",
    "image/jpeg",
    "image/tiff",
    "image/webp",
    "image/bmp",
    "image/heic",
    "image/heif",
    "image/avif",
)
RAW_MIME_TYPES = (
    "image/x-adobe-dng",
    "image/x-canon-cr2",
    "image/x-canon-cr3",
    "image/x-canon-crw",
    "image/x-nikon-nef",
    "image/x-nikon-nrw",
    "image/x-sony-arw",
    "image/x-sony-sr2",
    "image/x-sony-srf",
    "image/x-fuji-raf",
    "image/x-olympus-orf",
    "image/x-panasonic-rw2",
    "image/x-pentax-pef",
    "image/x-samsung-srw",
    "image/x-sigma-x3f",
    "image/x-kodak-dcr",
    "image/x-kodak-kdc",
    "image/x-minolta-mrw",
    "image/x-dcraw",
)
MIME_TYPES = PHOTO_MIME_TYPES + RAW_MIME_TYPES
_RESERVED = re.compile(r"""[\s"'\\><~|&;$*?#()`=]""")


@dataclass
class Installed:
    """What an install or uninstall did: files written or removed, and the cache refreshes run."""

    files: list[Path] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)


def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset or not absolute (as the spec says)."""
    env = os.environ.get("XDG_DATA_HOME", "")
    if env and Path(env).is_absolute():
        return Path(env)
    return Path.home() / ".local" / "share"


def launcher() -> list[str]:
    """The command that starts this installation of the app."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).absolute())]
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name.startswith("irsde-gui") and argv0.is_file():
        return [str(argv0.absolute())]
    here = Path(sys.executable).parent / ("irsde-gui.exe" if os.name == "nt" else "irsde-gui")
    if here.is_file():
        return [str(here)]
    found = shutil.which("irsde-gui")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "irsde_gui.app"]


def quote_exec_arg(arg: str) -> str:
    """One argument of a desktop entry's ``Exec`` key, quoted as the Desktop Entry spec requires."""
    if arg and not _RESERVED.search(arg):
        return arg.replace("%", "%%")
    inner = re.sub(r'(["`$\\])', r"\\\1", arg).replace("%", "%%")
    # The key's value is itself a string with escapes, so every backslash is doubled once more.
    return '"' + inner.replace("\\", "\\\\") + '"'


def desktop_entry(command: list[str]) -> str:
    """The shipped desktop entry with ``Exec`` and ``TryExec`` set to ``command``."""
    text = (resources_dir() / DESKTOP_FILE).read_text(encoding="utf-8")
    exec_line = " ".join(quote_exec_arg(a) for a in command) + " %F"
    out = []
    for line in text.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exec_line}"
        elif line.startswith("TryExec="):
            line = f"TryExec={command[0]}"
        out.append(line)
    return "\n".join(out) + "\n"


def targets(home: Path | None = None) -> dict[Path, Path | None]:
    """Installed file -> the resource it comes from (None for the desktop entry, which is generated)."""
    home = home or data_home()
    res = resources_dir()
    files: dict[Path, Path | None] = {home / "applications" / DESKTOP_FILE: None}
    for size in ICON_SIZES:
        files[home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"] = (
            res / "icons" / f"{APP_ID}-{size}.png"
        )
    scalable = home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    files[scalable] = res / "icons" / f"{APP_ID}.svg"
    files[home / "metainfo" / METAINFO_FILE] = res / METAINFO_FILE
    return files


def install(home: Path | None = None, command: list[str] | None = None) -> Installed:
    """Install the desktop entry, icons and metainfo for the current user; returns what was written."""
    home = home or data_home()
    done = Installed()
    missing = [str(src) for src in targets(home).values() if src is not None and not src.is_file()]
    if missing:
        raise FileNotFoundError("the app's resources are incomplete, missing: " + ", ".join(missing))
    for dest, src in targets(home).items():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".partial")
        if src is None:
            tmp.write_text(desktop_entry(command or launcher()), encoding="utf-8")
        else:
            shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        done.files.append(dest)
    done.refreshed = refresh_caches(home)
    return done


def uninstall(home: Path | None = None) -> Installed:
    """Remove what :func:`install` wrote (and nothing else); returns the files removed."""
    home = home or data_home()
    done = Installed()
    for dest in targets(home):
        if dest.is_file() or dest.is_symlink():
            dest.unlink()
            done.files.append(dest)
    done.refreshed = refresh_caches(home)
    return done


def refresh_caches(home: Path) -> list[str]:
    """Update the MIME-type cache of the menu entries and the icon cache, where the tools are installed."""
    ran = []
    apps, icons = home / "applications", home / "icons" / "hicolor"
    commands = [
        ("update-desktop-database", ["-q", str(apps)], apps),
        ("gtk-update-icon-cache", ["-q", "-t", "-f", str(icons)], icons),
    ]
    for tool, args, folder in commands:
        exe = shutil.which(tool)
        if exe is None or not folder.is_dir():
            continue
        try:
            subprocess.run([exe, *args], check=False, timeout=60, capture_output=True)
            ran.append(tool)
        except (OSError, subprocess.SubprocessError):
            continue
    return ran
