"""``irsde-gui --self-test``: prove that this installation starts and restores a photo with every model.

The self-test builds the real main window (offscreen, with throw-away
settings), loads the engine through the window's own loader thread, then for
each task presses Restore on a small built-in photo (a 64 x 64 crop of
``resources/examples/astronaut_small.png``) for a few steps. The run goes
through the same :class:`~irsde_gui.app.worker.RestoreRun` worker the window
always uses, and the result must come back with the right size and finite
values in [0, 1]. One line per task gives the time (model load plus steps).

Verdict: a task whose weights are not installed is reported as "not
installed" and does not fail the test (the app lists it as unavailable, too);
the self-test fails when any installed model fails to load or restore, when
no model is installed at all, or when the resources (icons, icon fonts) or the
engine are missing. A weight file in the user's folder that would be refused
(a bad hash, a pickle with code) is listed as refused and the next location's
model is tested instead, as the app uses it: that is said, and does not fail
the test. Exit status 0 means passed, 1 failed (the reason is printed last).
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pillow_heif
import rawpy
from PySide6.QtCore import QEventLoop

from ..core import imageio, paths
from ..core.imageio import ImageReadError, ImageWriteError, read_photo
from ..logs import environment
from .ui.main_window import MainWindow
from .ui.settings import Settings
from .ui.theme import ICON_SIZES, app_icon, icon
from .worker import RunOutcome

STEPS = 3
SIDE = 64
TIMEOUT_S = 300.0
BUILTIN_PHOTO = Path("examples") / "astronaut_small.png"

log = logging.getLogger("irsde_gui.app.selftest")


@dataclass
class TaskCheck:
    task: str
    status: str  # "ok", "failed", "not installed"
    seconds: float = 0.0
    detail: str = ""
    refused: list[str] = field(default_factory=list)  # weight files passed over for the next


def builtin_photo():
    """The self-test's photo: the centre ``SIDE`` x ``SIDE`` crop of a shipped example."""
    photo = read_photo(paths.resources_dir() / BUILTIN_PHOTO)
    h, w = photo.height, photo.width
    y, x = (h - SIDE) // 2, (w - SIDE) // 2
    photo.rgb = np.ascontiguousarray(photo.rgb[y : y + SIDE, x : x + SIDE])
    photo.alpha = None
    photo.path = None
    return photo


def centre_mask(side: int = SIDE) -> np.ndarray:
    m = np.zeros((side, side), np.float32)
    m[side // 4 : 3 * side // 4, side // 4 : 3 * side // 4] = 1.0
    return m


def wait_until(app, done: Callable[[], bool], timeout: float) -> bool:
    """Run the event loop until ``done()`` or ``timeout`` seconds have passed."""
    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end:
            return False
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.005)
    return True


def weights_source(path: Path) -> str:
    for label, folder in (("bundled", paths.bundled_weights_dir()), ("user", paths.user_weights_dir())):
        try:
            path.resolve().relative_to(folder.resolve())
            return label
        except ValueError:
            continue
    return "other"


def check_resources() -> str | None:
    """None when the icons and the icon fonts load, else what is missing."""
    folder = paths.resources_dir() / "icons"
    missing = [s for s in ICON_SIZES if not (folder / f"irsde-studio-{s}.png").is_file()]
    if missing:
        return f"application icons missing in {folder}: sizes {missing}"
    if app_icon().isNull():
        return "the application icon cannot be loaded"
    try:
        if icon("mdi6.play").pixmap(24, 24).isNull():
            return "the icon font (qtawesome) draws nothing"
    except Exception as exc:
        return f"the icon fonts (qtawesome) cannot be loaded: {exc}"
    return None


SELFTEST_RAW = Path("selftest") / "camera.dng"  # 32 x 24, turned 90 degrees by its orientation


def check_formats() -> tuple[str | None, str]:
    """``(None, what works)`` when HEIC and AVIF are written and read back and a camera RAW is
    developed (libheif, Pillow's AVIF and LibRaw are in this installation), else ``(problem, "")``."""
    yy, xx = np.mgrid[0:16, 0:24].astype(np.float32)
    rgb = np.dstack([xx / 23, yy / 15, 0.5 + 0 * xx])
    try:
        for fmt, name in (("HEIF", "check.heic"), ("AVIF", "check.avif")):
            back = imageio.decode_photo(imageio.encode_photo(rgb, fmt, quality=90), name)
            if back.rgb.shape != rgb.shape or float(np.abs(back.rgb - rgb).mean()) > 0.05:
                return f"{name} does not read back as it was written", ""
        raw = read_photo(paths.resources_dir() / SELFTEST_RAW)
    except (ImageReadError, ImageWriteError) as exc:
        return str(exc), ""
    if raw.bit_depth != 16 or raw.rgb.shape != (32, 24, 3) or not np.isfinite(raw.rgb).all():
        return f"{SELFTEST_RAW} developed into {raw.rgb.shape} at {raw.bit_depth} bits, not 24 x 32 at 16", ""
    libheif = pillow_heif.libheif_version()
    libraw = ".".join(map(str, rawpy.libraw_version))
    return None, f"HEIC (libheif {libheif}), AVIF, camera RAW (LibRaw {libraw})"


def run(app, out: Callable[[str], None] = print, steps: int = STEPS, timeout: float = TIMEOUT_S) -> int:
    """Run the self-test in ``app`` (a QApplication); returns the exit status."""
    began = time.perf_counter()
    out(f"IR-SDE Studio self-test: {environment()}")
    problem = check_resources()
    if problem:
        out(f"self-test FAILED: {problem}")
        return 1
    out(f"  resources  ok  {paths.resources_dir()}")
    problem, formats = check_formats()
    if problem:
        out(f"self-test FAILED: photo formats: {problem}")
        return 1
    out(f"  formats    ok  {formats}")
    with tempfile.TemporaryDirectory(prefix="irsde-selftest-") as tmp:
        checks, problem = _run_window(app, Path(tmp) / "settings.ini", out, steps, timeout)
    if problem is None:
        failed = [c for c in checks if c.status == "failed"]
        ok = [c for c in checks if c.status == "ok"]
        if failed:
            problem = f"{len(failed)} model(s) failed: " + "; ".join(f"{c.task}: {c.detail}" for c in failed)
        elif not ok:
            problem = (
                "no trained model is installed (looked in: "
                + ", ".join(str(d) for d in (paths.user_weights_dir(), paths.bundled_weights_dir()))
                + ")"
            )
    total = time.perf_counter() - began
    if problem:
        out(f"self-test FAILED after {total:.1f} s: {problem}")
        return 1
    missing = [c.task for c in checks if c.status == "not installed"]
    note = f"; not installed: {', '.join(missing)}" if missing else ""
    refused = sum(len(c.refused) for c in checks)
    if refused:
        note += (
            f"; refused {refused} weight file{'s' if refused > 1 else ''} (see above), the next one was used"
        )
    out(f"self-test passed in {total:.1f} s: {len(checks) - len(missing)} model(s) restored the photo{note}")
    return 0


def _run_window(
    app, settings_path: Path, out, steps: int, timeout: float
) -> tuple[list[TaskCheck], str | None]:
    settings = Settings(settings_path)
    settings.device = "auto"
    win = MainWindow(settings, load_engine=False)
    win.resize(1000, 700)
    win.show()
    checks: list[TaskCheck] = []
    try:
        t0 = time.perf_counter()
        win.start_engine()
        if not wait_until(app, lambda: win.engine is not None or win._engine_thread is None, timeout):
            return checks, f"the engine did not load within {timeout:.0f} s"
        if win.engine is None:
            return checks, f"the engine could not be loaded: {win.message_bar.text}"
        engine = win.engine
        device = next(iter(engine.devices.values()), "?")
        out(f"  engine     ok  PyTorch {engine.torch_version}, {device} ({time.perf_counter() - t0:.1f} s)")
        photo = builtin_photo()
        for name, info in engine.tasks.items():
            for line in info.refused:  # passed over: said, and the next location's is tested
                out(f"  {name:9s}  refused  {line}")
            if info.weights is None:
                checks.append(TaskCheck(name, "not installed", detail=info.problem or ""))
                out(f"  {name:9s}  not installed")
                continue
            source = f"{weights_source(info.weights)} {info.weights.name}"
            if info.problem:
                checks.append(TaskCheck(name, "failed", detail=info.problem))
                out(f"  {name:9s}  FAILED  {source}: {info.problem}")
                continue
            check = _restore_one(app, win, info, photo, steps, timeout)
            check.refused = list(info.refused)
            checks.append(check)
            verdict = "ok" if check.status == "ok" else "FAILED"
            out(f"  {name:9s}  {verdict}  {check.seconds:6.2f} s  {check.detail}  ({source})")
        return checks, None
    finally:
        win.close()
        app.processEvents()
        win.deleteLater()


def _restore_one(app, win, info, photo, steps: int, timeout: float) -> TaskCheck:
    name = info.name
    if not win.panel.select_task(name):
        return TaskCheck(name, "failed", detail="the task cannot be selected in the window")
    win.set_photo(photo, "self-test")
    win.panel.set_steps(max(1, min(steps, info.max_steps)))
    win.panel.set_seed(0)
    if info.uses_mask:
        win.mask_editor.set_array(centre_mask(photo.width))
    results: list = []
    win.run_finished.connect(results.append)
    try:
        began = time.perf_counter()
        win.restore()
        if win.run is None:
            return TaskCheck(name, "failed", detail=f"Restore did not start: {win.message_bar.text}")
        if not wait_until(app, lambda: bool(results), timeout):
            win.stop()
            return TaskCheck(name, "failed", time.perf_counter() - began, f"no result within {timeout:.0f} s")
        seconds = time.perf_counter() - began
    finally:
        win.run_finished.disconnect(results.append)
    outcome = results[0]
    if not isinstance(outcome, RunOutcome):
        message = getattr(outcome, "message", "the run ended without a result")
        return TaskCheck(name, "failed", seconds, message)
    problem = _check_image(outcome.image, photo.height * info.scale, photo.width * info.scale)
    if problem is None and (outcome.stopped or outcome.steps_done != outcome.total):
        problem = f"stopped after {outcome.steps_done} of {outcome.total} steps"
    if problem:
        return TaskCheck(name, "failed", seconds, problem)
    r = outcome.report
    return TaskCheck(
        name,
        "ok",
        seconds,
        f"{outcome.total} steps, {r.seconds_per_step:.3f} s/step, {photo.width} px -> "
        f"{outcome.image.shape[1]} px on {r.device}",
    )


def _check_image(img, h: int, w: int) -> str | None:
    if img is None:
        return "no image came back"
    if img.shape != (h, w, 3):
        return f"result is {img.shape}, expected {(h, w, 3)}"
    lo, hi = float(np.min(img)), float(np.max(img))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "result has NaN or infinite pixels"
    if lo < -1e-6 or hi > 1 + 1e-6:
        return f"result leaves [0, 1] ({lo:.3f} .. {hi:.3f})"
    return None


def console_stdout():
    """``sys.stdout``, or on Windows, where the bundled app is a windowed program without one, the
    console of the command prompt that started it (None if there is none: then lines are only logged)."""
    if sys.stdout is not None or os.name != "nt":
        return sys.stdout
    try:
        if ctypes.windll.kernel32.AttachConsole(-1):  # ATTACH_PARENT_PROCESS
            return open("CONOUT$", "w", encoding="utf-8")  # kept open for the life of the process
    except (OSError, AttributeError):
        pass
    return None


def printer(stream=None) -> Callable[[str], None]:
    """Print a line (and log it); when the app has no console at all, only log it."""
    stream = stream if stream is not None else console_stdout()

    def out(line: str) -> None:
        log.info("%s", line)
        if stream is not None:
            print(line, file=stream, flush=True)

    return out
