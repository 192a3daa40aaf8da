"""The wheel: ``pip install`` into a brand-new virtual environment gives working ``irsde`` and ``irsde-gui``.

The wheel is built from a copy of the sources whose ``weights/`` holds tiny
networks, so the test proves that the weights (and resources) are found
inside the installed package, with no source tree around. pip never touches an
index: the new venv reuses the PyTorch, Qt and NumPy that the test runs with,
through a ``.pth`` file naming the running interpreter's site-packages folders,
however that Python was installed (a venv's own packages are not its "system
site-packages", so ``--system-site-packages`` alone missed them).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from build_support import write_tiny_weights
from PIL import Image

from irsde_gui.core.tasks import TASKS

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def run(cmd: list, cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, f"{cmd}\n{out.stdout}\n{out.stderr}"
    return out


def source_copy(dest: Path, weights: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_weights", "_resources")
    shutil.copytree(ROOT / "irsde_gui", dest / "irsde_gui", ignore=ignore)
    shutil.copytree(ROOT / "resources", dest / "resources", ignore=ignore)
    shutil.copytree(weights, dest / "weights")
    for f in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / f, dest / f)
    return dest


def runner_site_packages() -> list[str]:
    """The site-packages folders this interpreter imports from: its venv's own, the base
    Python's, the user's. As plain lines of a .pth file they are searched after the new venv's
    own packages, and their .pth files are not run (an editable irsde_gui stays out)."""
    dirs = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    return list(dict.fromkeys(dirs))


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory):
    """(venv folder, wheel file): the wheel of a source copy with tiny weights, installed in a new venv."""
    tmp = tmp_path_factory.mktemp("wheel")
    weights = write_tiny_weights(tmp / "tiny-weights")
    src = source_copy(tmp / "src", weights)
    # With hatchling installed (the test extra) the build needs no network.
    no_isolation = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", *no_isolation, "-w", tmp / "dist", src], cwd=tmp)
    (wheel,) = (tmp / "dist").glob("irsde_studio-*.whl")
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=tmp)
    py = venv / "bin" / "python"
    purelib = run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp).stdout
    (Path(purelib.strip()) / "test-runner-packages.pth").write_text("\n".join(runner_site_packages()) + "\n")
    # --no-index: nothing is downloaded; --ignore-installed: installed into the venv even though the
    # runner's site-packages (seen through the .pth) may hold an editable copy of the same version.
    run(
        [py, "-m", "pip", "install", "--no-index", "--no-deps", "--ignore-installed", "--quiet", wheel],
        cwd=tmp,
    )
    return venv, wheel


def venv_env(venv: Path, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "QT_QPA_PLATFORM")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["IRSDE_DATA_DIR"] = str(tmp_path / "empty-user-data")  # only the bundled weights can be found
    return env


def test_the_wheel_carries_weights_and_resources_and_no_tests(wheel_venv):
    _venv, wheel = wheel_venv
    names = set(zipfile.ZipFile(wheel).namelist())
    for task in ("denoise", "deblur", "derain", "sr", "inpaint", "dehaze"):
        assert f"irsde_gui/_weights/{task}.pt" in names and f"irsde_gui/_weights/{task}.json" in names
    for f in ("irsde-studio.desktop", "irsde-studio.metainfo.xml", "icons/irsde-studio-256.png",
              "examples/astronaut_small.png"):  # fmt: skip
        assert f"irsde_gui/_resources/{f}" in names
    assert not any(n.startswith("tests/") or "__pycache__" in n for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "irsde = irsde_gui.cli:main" in text and "irsde-gui = irsde_gui.app:main" in text


def test_installed_commands_work_from_another_folder(wheel_venv, tmp_path):
    venv, _wheel = wheel_venv
    env = venv_env(venv, tmp_path)
    cwd = tmp_path / "somewhere-else"
    cwd.mkdir()
    py = venv / "bin" / "python"
    where = run([py, "-c", "import irsde_gui; print(irsde_gui.__file__)"], cwd, env).stdout.strip()
    assert Path(where).is_relative_to(venv), f"irsde_gui came from {where}, not from the venv"
    site = Path(where).parent

    info = run([venv / "bin" / "irsde", "info"], cwd, env).stdout
    assert str(site / "_weights") in info
    assert f"{site / '_weights' / 'denoise.pt'}" in info, info

    photo = site / "_resources" / "examples" / "astronaut_small.png"
    out = run(
        [venv / "bin" / "irsde", "restore", photo, "-o", "restored.png", "--task", "sr", "--steps", "2"],
        cwd,
        env,
    )
    assert "sr.pt" in out.stderr
    with Image.open(cwd / "restored.png") as im:
        assert im.size == (512, 512)  # x4 of 128 px

    test = run([venv / "bin" / "irsde-gui", "--self-test"], cwd, env)
    ok = re.findall(r"^  (\w+)\s+ok .*\(bundled \1\.pt\)$", test.stdout, re.M)
    assert sorted(ok) == sorted(TASKS), test.stdout
    assert "self-test passed" in test.stdout
