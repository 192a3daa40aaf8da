"""Linux desktop integration: the shipped desktop entry and metainfo are valid; install/uninstall per user."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from irsde_gui.app import desktop
from irsde_gui.core.paths import resources_dir

MIME = ";".join(desktop.MIME_TYPES) + ";"


def parse_desktop(path: Path) -> dict[str, str]:
    cp = configparser.ConfigParser(interpolation=None, strict=True)
    cp.optionxform = str
    cp.read(path, encoding="utf-8")
    return dict(cp["Desktop Entry"])


def validate_desktop(path: Path) -> None:
    """desktop-file-validate where it is installed; otherwise the spec's required keys, parsed."""
    tool = shutil.which("desktop-file-validate")
    if tool:
        out = subprocess.run([tool, str(path)], capture_output=True, text=True)
        assert out.returncode == 0 and "error" not in out.stdout, out.stdout + out.stderr
    entry = parse_desktop(path)
    for key in ("Type", "Name", "Exec", "Icon"):
        assert entry.get(key), f"{path.name}: {key} is missing"
    assert entry["Type"] == "Application"
    assert entry["Exec"].endswith(" %F"), "photos must reach the app as file arguments"
    assert entry["MimeType"] == MIME
    assert entry["Icon"] == "irsde-studio"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";") and "Graphics" in entry["Categories"].split(";")


def test_shipped_desktop_entry_is_valid():
    validate_desktop(resources_dir() / "irsde-studio.desktop")


def test_metainfo_is_valid_and_names_the_desktop_entry():
    path = resources_dir() / "irsde-studio.metainfo.xml"
    root = ET.parse(path).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("launchable") == "irsde-studio.desktop"
    assert root.findtext("name") == "IR-SDE Studio"
    assert root.findtext("project_license") == "MIT"
    assert {m.text for m in root.iter("mediatype")} == set(MIME.strip(";").split(";"))
    tool = shutil.which("appstreamcli")
    if tool:
        out = subprocess.run([tool, "validate", "--no-net", str(path)], capture_output=True, text=True)
        issues = [line for line in out.stdout.splitlines() if line[:2] in ("E:", "W:")]
        # The one warning accepted on purpose: the id is "irsde-studio" (the desktop file, the icon and
        # Qt's desktopFileName use it), not a reverse-DNS name, for which the project has no domain.
        assert all("cid-desktopapp-is-not-rdns" in line for line in issues), out.stdout


def test_icons_exist_at_the_standard_sizes():
    folder = resources_dir() / "icons"
    for size in desktop.ICON_SIZES:
        with Image.open(folder / f"irsde-studio-{size}.png") as im:
            assert im.size == (size, size)
    assert (folder / "irsde-studio.svg").is_file()
    with Image.open(folder / "irsde-studio.ico") as ico:
        assert {(256, 256), (48, 48), (16, 16)} <= set(ico.ico.sizes())
    with Image.open(folder / "irsde-studio.icns") as icns:
        assert icns.size == (1024, 1024)


def test_exec_arguments_are_quoted_as_the_spec_says():
    assert desktop.quote_exec_arg("/opt/irsde/irsde-gui") == "/opt/irsde/irsde-gui"
    assert desktop.quote_exec_arg("/home/a b/irsde-gui") == '"/home/a b/irsde-gui"'
    # inside quotes: \" for a quote, and every backslash doubled once more for the string escape
    assert desktop.quote_exec_arg('/x/"q"$') == '"/x/\\\\"q\\\\"\\\\$"'
    assert desktop.quote_exec_arg("/x/100%") == "/x/100%%"


def run_app(args: list[str], home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_DATA_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "irsde_gui.app", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_install_and_uninstall_for_the_current_user(tmp_path):
    home = tmp_path / "share"
    other = home / "applications" / "someone-else.desktop"
    other.parent.mkdir(parents=True)
    other.write_text("[Desktop Entry]\nType=Application\nName=Other\nExec=other\n")

    out = run_app(["--install-desktop"], home)
    assert out.returncode == 0, out.stderr
    entry_path = home / "applications" / "irsde-studio.desktop"
    validate_desktop(entry_path)
    entry = parse_desktop(entry_path)
    program = entry["TryExec"]
    assert Path(program).is_absolute() and Path(program).exists(), program
    assert entry["Exec"].startswith(desktop.quote_exec_arg(program))
    for size in desktop.ICON_SIZES:
        icon = home / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "irsde-studio.png"
        with Image.open(icon) as im:
            assert im.size == (size, size)
    assert (home / "icons" / "hicolor" / "scalable" / "apps" / "irsde-studio.svg").is_file()
    assert (home / "metainfo" / "irsde-studio.metainfo.xml").is_file()
    if shutil.which("update-desktop-database"):  # "Open with" comes from this cache
        cache = (home / "applications" / "mimeinfo.cache").read_text()
        assert "image/webp=irsde-studio.desktop;" in cache

    out = run_app(["--uninstall-desktop"], home)
    assert out.returncode == 0, out.stderr
    assert not entry_path.exists()
    left = [p for p in home.rglob("*") if p.is_file() and "irsde-studio" in p.name]
    assert left == [], left
    assert other.read_text().startswith("[Desktop Entry]"), "files of other apps stay"
    out = run_app(["--uninstall-desktop"], home)
    assert out.returncode == 0 and "nothing to remove" in out.stdout


def test_install_uses_xdg_data_home_only_when_absolute(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert desktop.data_home() == tmp_path
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")
    assert desktop.data_home() == Path.home() / ".local" / "share"


@pytest.mark.parametrize("frozen", [True, False])
def test_the_menu_entry_starts_this_installation(monkeypatch, tmp_path, frozen):
    if frozen:
        monkeypatch.setattr(sys, "frozen", True, raising=False)
        monkeypatch.setattr(sys, "executable", str(tmp_path / "irsde-studio" / "irsde-gui"))
        assert desktop.launcher() == [str(tmp_path / "irsde-studio" / "irsde-gui")]
    else:
        script = tmp_path / "venv" / "bin" / "irsde-gui"
        script.parent.mkdir(parents=True)
        script.write_text("#!/bin/sh\n")
        monkeypatch.setattr(sys, "argv", [str(script)])
        assert desktop.launcher() == [str(script)]
