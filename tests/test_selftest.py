"""``irsde-gui --self-test``: each installed model restores the built-in photo through the window's worker."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from irsde_gui.core.tasks import TASKS

pytest.importorskip("pytestqt")

NO_BUNDLED = (
    "import sys, pathlib, irsde_gui.core.paths as p;"
    "d = pathlib.Path(sys.argv.pop(1)); p.bundled_weights_dir = lambda: d;"
    "from irsde_gui.app import main; sys.exit(main())"
)


def self_test(tmp_path: Path, data_dir: Path, bundled: Path | None = None) -> subprocess.CompletedProcess:
    """``irsde-gui --self-test`` from another folder, with ``data_dir`` as the user's data folder and
    ``bundled`` as the bundled weights, none by default (so the result does not depend on what
    weights/ holds today)."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    env = {**os.environ, "IRSDE_DATA_DIR": str(data_dir)}
    env.pop("QT_QPA_PLATFORM", None)  # the self-test goes offscreen by itself
    return subprocess.run(
        [sys.executable, "-c", NO_BUNDLED, str(bundled or tmp_path / "no-bundled"), "--self-test"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def task_lines(stdout: str) -> dict[str, str]:
    return {
        m.group(1): m.group(2) for m in re.finditer(r"^  (\w+)\s+(.*)$", stdout, re.M) if m.group(1) in TASKS
    }


def test_every_installed_model_restores_the_photo(tmp_path, installed_tiny_weights, isolated_user_dirs):
    out = self_test(tmp_path, isolated_user_dirs)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = task_lines(out.stdout)
    assert set(lines) == set(TASKS)
    for task, line in lines.items():
        assert re.match(r"ok\s+\d+\.\d\d s  3 steps, ", line), (task, line)
    assert "64 px -> 256 px" in lines["sr"]
    assert re.search(
        r"^  formats    ok  HEIC \(libheif [\d.]+\), AVIF, camera RAW \(LibRaw [\d.]+\)$", out.stdout, re.M
    )
    assert "self-test passed" in out.stdout
    assert (isolated_user_dirs / "logs" / "irsde-studio.log").is_file()


def test_a_broken_model_fails_with_the_reason_and_missing_ones_are_reported(
    tmp_path, installed_tiny_weights, isolated_user_dirs
):
    (installed_tiny_weights / "sr.pt").write_bytes(b"not a weights file")
    for ext in (".pt", ".json"):
        (installed_tiny_weights / f"dehaze{ext}").unlink()
    out = self_test(tmp_path, isolated_user_dirs)
    assert out.returncode == 1
    lines = task_lines(out.stdout)
    assert lines["dehaze"] == "not installed"
    assert lines["sr"].startswith("FAILED") and "corrupt" in lines["sr"]
    assert lines["denoise"].startswith("ok")
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("self-test FAILED") and "sr:" in last


def test_a_refused_user_model_is_said_and_the_bundled_one_is_tested(
    tmp_path, tiny_weights, isolated_user_dirs
):
    """A user's sr.pt that would be refused no longer hides the bundled one (issue 24, item 12):
    the self-test tests what the app uses, the bundled sr.pt, and lists the user's as refused. With
    nothing after it, a broken model still fails the test (the test above)."""
    import shutil

    user = isolated_user_dirs / "weights"
    user.mkdir()
    for ext in (".pt", ".json"):
        shutil.copy(tiny_weights / f"sr{ext}", user / f"sr{ext}")
    (user / "sr.pt").write_bytes(b"not a weights file")
    out = self_test(tmp_path, isolated_user_dirs, bundled=tiny_weights)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    refused = [line for line in lines if re.match(r"^  sr\s+refused  ", line)]
    assert len(refused) == 1 and f"{user / 'sr.pt'} is corrupt or was modified" in refused[0]
    assert re.search(r"^  sr\s+ok .*\(bundled sr\.pt\)$", out.stdout, re.M), out.stdout
    assert lines[-1].startswith("self-test passed") and "refused 1 weight file (see above)" in lines[-1]


def test_no_model_at_all_fails(tmp_path, isolated_user_dirs):
    out = self_test(tmp_path, isolated_user_dirs)
    assert out.returncode == 1
    assert all(v == "not installed" for v in task_lines(out.stdout).values())
    assert "no trained model is installed" in out.stdout.strip().splitlines()[-1]


def test_a_photo_format_that_does_not_work_fails_the_self_test(monkeypatch):
    """A bundle that lost libheif (or LibRaw) must not pass: the self-test writes and reads a HEIC
    and an AVIF and develops the shipped RAW."""
    import irsde_gui.core.imageio as imageio
    from irsde_gui.app.selftest import check_formats
    from irsde_gui.core.imageio import ImageWriteError

    assert check_formats()[0] is None

    def no_heic(rgb, fmt, **kw):
        raise ImageWriteError("HEIC photos need the pillow-heif package (pip install pillow-heif)")

    monkeypatch.setattr(imageio, "encode_photo", no_heic)
    problem, works = check_formats()
    assert problem == "HEIC photos need the pillow-heif package (pip install pillow-heif)" and works == ""
