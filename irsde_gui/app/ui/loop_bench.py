"""``irsde bench --gui``: how long the app's event loop waits while work goes on beside it.

A timer ticks every 10 ms on the GUI thread; the figure is the largest gap between two ticks
it processed (from the start of the work to its end), while

- a restoration runs on its worker thread, started as the window starts one, and
- a photo is opened from a slow drive (its bytes come after a delay, then a real decode), read
  as the window reads one.

No window is drawn: what the window does with each frame is not in the figure. A loaded machine
widens the gaps, so these are measurements reported beside their targets; no test asserts them
(the tests check that the loop turns at all, by counting ticks).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEventLoop, Qt, QTimer, SignalInstance

from ...core.imageio import read_photo
from ..worker import FileRead, RestoreRun, RunFailure, RunRequest, load_engine_info

TICK_MS = 10
RUN_TARGET_MS = 100.0  # a run never keeps the window waiting longer than this
READ_TARGET_MS = 200.0  # nor does a photo opened from a slow drive


@dataclass
class LoopGap:
    what: str
    seconds: float  # how long the work took
    ticks: int  # timer ticks the GUI thread processed meanwhile
    largest_gap_ms: float
    target_ms: float


class _Probe:
    """The gaps between the ticks of a precise 10 ms timer on the GUI thread, in ms."""

    def __init__(self) -> None:
        self.gaps: list[int] = []
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        self.gaps.append(self.clock.restart())

    def start(self) -> None:
        self.clock.start()
        self.timer.start()

    def stop(self) -> list[int]:
        self.timer.stop()
        return [*self.gaps, self.clock.elapsed()]  # the stretch after the last tick counts too


def _measure(
    what: str, target_ms: float, ended: SignalInstance, start: Callable[[], None], limit_s: float
) -> LoopGap:
    """Run the event loop from ``start()`` until ``ended`` is emitted, probing its gaps."""
    loop = QEventLoop()
    ended.connect(loop.quit, Qt.ConnectionType.QueuedConnection)  # delivered inside exec(), never lost
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(loop.quit)
    probe = _Probe()
    began = time.perf_counter()
    probe.start()
    start()
    guard.start(int(limit_s * 1000))
    loop.exec()
    gaps = probe.stop()
    seconds = time.perf_counter() - began
    if not guard.isActive():
        raise RuntimeError(f"{what}: not done within {limit_s:.0f} s")
    guard.stop()
    return LoopGap(what, round(seconds, 3), len(gaps) - 1, float(max(gaps)), target_ms)


def _photo(height: int, width: int) -> np.ndarray:
    """A smooth photo with a little grain, float32 HxWx3 in [0, 1]."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack(
        [0.5 + 0.4 * np.sin(xx / 37), 0.5 + 0.4 * np.cos(yy / 23), (xx + yy) / (height + width)], 2
    )
    rgb += 0.03 * np.random.default_rng(0).standard_normal(rgb.shape, dtype=np.float32)
    return np.clip(rgb, 0, 1, out=rgb)


def gap_while_restoring(task: str, size: int, steps: int, device: str, limit_s: float = 600) -> LoopGap:
    """A ``size`` px photo restored by ``task``'s model on its worker thread, as the window runs it."""
    run = RestoreRun(RunRequest(task, rgb=_photo(size, size), steps=steps, device=device))
    what = f"restoring a {size} px photo ({task}, {steps} steps)"
    gap = _measure(what, RUN_TARGET_MS, run.stopped, run.start, limit_s)
    run.wait()
    if isinstance(run.result, RunFailure):
        raise RuntimeError(f"{what}: {run.result.message}")
    return gap


def gap_while_opening(megapixels: int = 12, delay_s: float = 1.0, limit_s: float = 600) -> LoopGap:
    """A camera-sized JPEG read on its own thread, as the window opens one, from a drive that
    takes ``delay_s`` to deliver it."""
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(megapixels * 1e6 / width)
    outcome: list = []
    with tempfile.TemporaryDirectory(prefix="irsde-bench-") as folder:
        path = Path(folder) / "photo.jpg"
        Image.fromarray((_photo(height, width) * 255 + 0.5).astype(np.uint8)).save(path, quality=90)

        def slow_read(p: Path):
            time.sleep(delay_s)  # the bytes are on their way
            return read_photo(p)

        read = FileRead(slow_read, path)
        read.succeeded.connect(outcome.append)
        read.failed.connect(lambda message: outcome.append(RuntimeError(message)))
        what = f"opening a {megapixels} MP photo from a slow drive ({delay_s:g} s before its bytes come)"
        gap = _measure(what, READ_TARGET_MS, read.stopped, read.start, limit_s)
        read.wait()
    if not outcome or isinstance(outcome[0], Exception):
        raise RuntimeError(f"{what}: {outcome[0] if outcome else 'nothing read'}")
    return gap


def event_loop_gaps(task: str, size: int = 256, steps: int = 5, device: str = "cpu") -> list[LoopGap]:
    """Both figures, in a Qt application of this process (one is made if there is none)."""
    _app = QCoreApplication.instance() or QCoreApplication([])  # held until both are measured
    load_engine_info()  # the app loads the engine at start-up, before any run: not in the figure
    return [gap_while_restoring(task, size, steps, device), gap_while_opening()]
