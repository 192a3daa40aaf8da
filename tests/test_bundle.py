"""The PyInstaller bundle: ``python -m irsde_gui.build`` makes a folder whose programs run from anywhere.

Built once per session (several minutes) with tiny networks as its bundled
weights, into a temporary folder; then, from an unrelated working directory
and with an empty user data folder: ``irsde-gui --self-test`` (every model,
through the window's worker), ``irsde info`` and ``irsde restore``, and
``--install-desktop`` pointing the menu entry at the bundle.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from build_support import write_tiny_weights
from PIL import Image

from irsde_gui.core.tasks import TASKS

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
pytest.importorskip("PyInstaller", reason="PyInstaller is in the build extra")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bundle")
    weights = write_tiny_weights(tmp / "tiny-weights")
    out = subprocess.run(
        [sys.executable, "-m", "irsde_gui.build", "--weights", str(weights),
         "--dist", str(tmp / "dist"), "--work", str(tmp / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    print(out.stdout.strip().splitlines()[0])
    return tmp / "dist" / "irsde-studio"


def bundled_modules(executable: Path) -> set[str]:
    """The Python modules in the executable's PYZ archive."""
    from PyInstaller.archive.readers import CArchiveReader

    return set(CArchiveReader(str(executable)).open_embedded_archive("PYZ.pyz").toc)


def user_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "QT_QPA_PLATFORM")}
    env["IRSDE_DATA_DIR"] = str(tmp_path / "empty-user-data")
    env["XDG_DATA_HOME"] = str(tmp_path / "share")
    return env


def run(cmd, cwd: Path, env: dict, timeout: int = 600) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, f"{cmd}\n{out.stdout}\n{out.stderr}"
    return out


def test_bundle_layout_and_size(bundle):
    assert (bundle / "irsde-gui").is_file() and (bundle / "irsde").is_file()
    if sys.platform.startswith("linux"):  # one executable: the command line is a link to it
        assert os.readlink(bundle / "irsde") == "irsde-gui"
    internal = bundle / "_internal"
    for f in ("irsde_gui/_weights/denoise.pt", "irsde_gui/_resources/irsde-studio.desktop",
              "irsde_gui/_resources/icons/irsde-studio-256.png", "torch/bin/torch_shm_manager"):  # fmt: skip
        assert (internal / f).is_file(), f
    assert list((internal / "qtawesome" / "fonts").glob("materialdesignicons*.ttf"))
    themes = {p.name for p in (internal / "PySide6" / "Qt" / "plugins" / "platformthemes").iterdir()}
    assert {"libqgtk3.so", "libqxdgdesktopportal.so"} <= themes, "the dark/light preference needs them"
    files = {p.name for p in internal.rglob("*")}
    for name in ("libQt6Quick.so.6", "libQt6Qml.so.6", "libQt6Pdf.so.6", "QtNetwork.abi3.so", "tkinter",
                 "libqvnc.so", "libqeglfs.so", "qtbase_de.qm", "common_methods_invocations.py"):  # fmt: skip
        assert name not in files, name
    assert {"libqxcb.so", "libqwayland.so", "libqoffscreen.so"} <= files, "X11, Wayland and the self-test"
    modules = bundled_modules(bundle / "irsde-gui")
    assert "irsde_gui.app.main" in modules and "torch" in modules and "PySide6" in modules
    assert (internal / "PySide6" / "QtWidgets.abi3.so").is_file()  # extension modules sit beside the archive
    left_out = ["tkinter", "matplotlib", "IPython", "tensorboard", "sympy", "pytest", "networkx",
                "jinja2", "cryptography", "irsde_gui.build", "torch._inductor", "PySide6.QtNetwork",
                "PySide6.QtQml", "torch._dynamo", "torch.distributed.fsdp",
                "torch.testing._internal.common_utils"]  # fmt: skip
    for top in left_out:
        assert not any(m == top or m.startswith(top + ".") for m in modules), top
    assert not (internal / "torch" / "test").exists() and not (internal / "torch" / "include").exists()
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"bundle: {size / 2**20:.0f} MiB")
    assert size < 800 * 2**20, f"{size / 2**20:.0f} MiB"
    if sys.platform.startswith("linux"):  # shipped without their symbol tables
        torch_cpu = internal / "torch" / "lib" / "libtorch_cpu.so"
        assert b".symtab" not in torch_cpu.read_bytes()[-(1 << 16) :], "the section names sit at the end"


def test_bundle_self_test_from_another_folder(bundle, tmp_path):
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    out = run([bundle / "irsde-gui", "--self-test"], cwd, user_env(tmp_path))
    ok = re.findall(r"^  (\w+)\s+ok .*\(bundled \1\.pt\)$", out.stdout, re.M)
    assert sorted(ok) == sorted(TASKS), out.stdout
    assert "bundled app" in out.stdout and "self-test passed" in out.stdout
    assert "  formats    ok  HEIC (libheif " in out.stdout, "HEIC, AVIF and camera RAW work in the bundle"
    assert (tmp_path / "empty-user-data" / "logs" / "irsde-studio.log").is_file()


def test_bundle_command_line_restores_a_photo(bundle, tmp_path):
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = user_env(tmp_path)
    info = run([bundle / "irsde", "info"], cwd, env).stdout
    assert str(bundle / "_internal" / "irsde_gui" / "_weights" / "sr.pt") in info
    photo = bundle / "_internal" / "irsde_gui" / "_resources" / "examples" / "astronaut_small.png"
    run([bundle / "irsde", "restore", photo, "-o", "out.png", "--task", "sr", "--steps", "2"], cwd, env)
    with Image.open(cwd / "out.png") as im:
        assert im.size == (512, 512)


def test_bundle_installs_its_menu_entry(bundle, tmp_path):
    env = user_env(tmp_path)
    run([bundle / "irsde-gui", "--install-desktop"], tmp_path, env)
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(tmp_path / "share" / "applications" / "irsde-studio.desktop")
    assert cp["Desktop Entry"]["TryExec"] == str(bundle / "irsde-gui")
    assert cp["Desktop Entry"]["Exec"].endswith(" %F")
    run([bundle / "irsde-gui", "--uninstall-desktop"], tmp_path, env)
    assert not (tmp_path / "share" / "applications" / "irsde-studio.desktop").exists()
