"""When Qt cannot start its platform plugin, irsde-gui says why in one paragraph: the libraries
the dynamic loader cannot find, the command that installs them, and that the command line works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from irsde_gui.app import platform_help as ph

QT_GAVE_UP = (
    "This application failed to start because no Qt platform plugin could be initialized. "
    "Reinstalling the application may fix this problem."
)
XCB_FAILED = 'Could not load the Qt platform plugin "xcb" in "" even though it was found.'

LDD_REPORT = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /opt/app/Qt/lib/libQt6XcbQpa.so.6 (0x00007f1a)
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f19)
"""


@pytest.fixture
def plugins(tmp_path):
    """A Qt plugin folder holding an xcb plugin file."""
    (tmp_path / "platforms").mkdir()
    (tmp_path / "platforms" / "libqxcb.so").write_bytes(b"\x7fELF")
    return tmp_path


def no_tools(name):
    return None


def test_missing_libraries_are_what_ldd_cannot_find(plugins):
    asked = []

    def ldd(path):
        asked.append(path)
        return LDD_REPORT

    found = ph.missing_libraries(plugins / "platforms" / "libqxcb.so", ldd=ldd)
    assert found == ["libxcb-icccm.so.4", "libxkbcommon-x11.so.0"]
    assert asked == [plugins / "platforms" / "libqxcb.so"]


def test_without_ldd_the_loader_names_the_first_missing_library(plugins):
    complaint = "libxcb-cursor.so.0: cannot open shared object file: No such file or directory"
    found = ph.missing_libraries(plugins, ldd=lambda p: None, dlopen=lambda p: complaint)
    assert found == ["libxcb-cursor.so.0"]
    assert ph.missing_libraries(plugins, ldd=lambda p: None, dlopen=lambda p: None) == []


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
        ("libGL.so.1", "libgl1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
    ],
)
def test_debian_package_names_follow_the_library_policy(soname, package):
    assert ph.debian_package(soname) == package


def test_install_commands_for_the_tools_found():
    libs = ["libxcb-icccm.so.4", "libxkbcommon-x11.so.0"]
    apt_only = ph.install_commands(libs, which=lambda t: "/usr/bin/apt" if t == "apt" else None)
    assert apt_only == ["sudo apt install libxcb-icccm4 libxkbcommon-x11-0"]
    dnf_only = ph.install_commands(libs, which=lambda t: "/usr/bin/dnf" if t == "dnf" else None)
    assert dnf_only == ["sudo dnf install 'libxcb-icccm.so.4()(64bit)' 'libxkbcommon-x11.so.0()(64bit)'"]
    assert len(ph.install_commands(libs, which=no_tools)) == 2  # neither found: both


def test_the_paragraph_names_the_missing_libraries_the_command_and_the_command_line(plugins):
    text = ph.explain(
        [XCB_FAILED, QT_GAVE_UP],
        [plugins],
        env={"DISPLAY": ":0"},
        missing=lambda f: ph.missing_libraries(f, ldd=lambda p: LDD_REPORT),  # the loader, simulated
        which=lambda t: "/usr/bin/apt" if t == "apt" else None,
    )
    assert text.startswith("irsde-gui: the window cannot open: Qt's X11 plugin (xcb) needs libraries")
    assert "libxcb-icccm.so.4, libxkbcommon-x11.so.0" in text
    assert "\n    sudo apt install libxcb-icccm4 libxkbcommon-x11-0\n" in text
    assert "irsde restore photo.jpg" in text and "irsde --help" in text
    assert "\n\n" not in text  # one paragraph
    assert "Reinstalling" not in text  # Qt's words are replaced, not repeated


def test_no_display_is_said_so(plugins):
    text = ph.explain([XCB_FAILED, QT_GAVE_UP], [plugins], env={}, missing=lambda f: [])
    assert "no display" in text and "DISPLAY is not set" in text and "irsde restore" in text


def test_a_display_that_does_not_answer_is_named(plugins):
    text = ph.explain([XCB_FAILED, QT_GAVE_UP], [plugins], env={"DISPLAY": ":7"}, missing=lambda f: [])
    assert "could not connect to the display ':7'" in text


def test_the_plugin_tried_comes_from_qt_or_the_environment(plugins):
    assert ph.failed_plugins([XCB_FAILED, 'Could not load the Qt platform plugin "wayland" in ""']) == [
        "xcb",
        "wayland",
    ]
    text = ph.explain(
        [QT_GAVE_UP], [plugins], env={"QT_QPA_PLATFORM": "xcb"}, missing=lambda f: ["libX.so.1"]
    )
    assert "libX.so.1" in text


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb plugin is Linux's")
def test_irsde_gui_explains_itself_when_the_xcb_plugin_cannot_start(tmp_path):
    """For real: the xcb plugin asked for a display that is not there (and, on a machine without
    the X11 libraries, lacking them): one paragraph and exit status 1, not Qt's abort."""
    exe = shutil.which("irsde-gui")
    cmd = [exe] if exe else [sys.executable, "-m", "irsde_gui.app"]
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM_PLUGIN_PATH")}
    env.update(QT_QPA_PLATFORM="xcb", DISPLAY=":987", IRSDE_LOG="warning")
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, (out.returncode, out.stderr)
    assert "irsde-gui: the window cannot open" in out.stderr and "irsde restore" in out.stderr
    assert "Reinstalling the application" not in out.stderr and "Traceback" not in out.stderr

    from PySide6.QtCore import QLibraryInfo

    plugin = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms" / "libqxcb.so"
    lacking = ph.missing_libraries(plugin)
    for lib in lacking:  # what this machine lacks, as the loader says
        assert lib in out.stderr
    if not lacking:
        assert "could not connect to the display ':987'" in out.stderr
