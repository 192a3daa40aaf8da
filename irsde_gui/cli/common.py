"""What every ``irsde`` subcommand shares: its error and warning lines, the progress bar, the
exit statuses and the argument types."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time

from ..core.runner import Progress, RunEvents
from ..core.runs import format_duration, printable

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class ProgressBar(RunEvents):
    """A one-line progress bar on stderr: step N/M, time per step and time left. ``unit``
    names a step ("round" for blind deblurring). It draws a run's :meth:`progress`."""

    open_on = None  # the stream whose last line is a bar still being drawn (no newline yet)

    def __init__(self, label: str, total: int, enabled: bool = True, stream=None, unit: str = "step"):
        self.label = printable(label)  # a name's newline would break the bar's line
        self.total = total
        self.unit = unit
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.tiles = ""

    def tile(self, done: int, total: int) -> None:
        self.tiles = f"  tiles {done}/{total}"

    def stage(self, what: str, done: int, total: int) -> None:
        """A step's preparation (the blur estimate of blind deblurring)."""
        if self.enabled:
            self._draw(f"\r{self.label}  {what} {done}/{total}".ljust(100))

    def progress(self, progress: Progress) -> None:
        """The run loop's progress: the stage a step is prepared in, or step N/M."""
        self.total = progress.total
        if progress.tiles_total:
            self.tile(progress.tiles_done, progress.tiles_total)
        if progress.stage and self.enabled:
            self._draw(f"\r{self.label}  {progress.stage}".ljust(100))
        elif progress.index:
            self.update(progress.index, progress.seconds_per_step)

    def _draw(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
        ProgressBar.open_on = self.stream

    def update(self, done: int, seconds_per_step: float) -> None:
        if not self.enabled:
            return
        width = 24
        filled = int(width * done / max(self.total, 1))
        left = seconds_per_step * (self.total - done)
        line = (
            f"\r{self.label}  [{'#' * filled}{'.' * (width - filled)}] {self.unit} {done}/{self.total}"
            f"  {seconds_per_step:.2f} s/{self.unit}  {format_duration(left)} left{self.tiles}"
        )
        self._draw(line.ljust(100))

    def close(self, message: str = "") -> None:
        if self.enabled:
            self.stream.write("\r" + printable(message).ljust(100) + "\n")
            self.stream.flush()
            ProgressBar.open_on = None


def error(msg: str) -> None:
    """One line on stderr, on a line of its own (a progress bar being drawn keeps its line)."""
    if ProgressBar.open_on is sys.stderr:
        sys.stderr.write("\n")
        ProgressBar.open_on = None
    print(f"irsde: error: {printable(msg)}", file=sys.stderr)


def warning(msg: str) -> None:
    """One line on stderr for what went on although something was wrong (a refused weight file
    passed over), on a line of its own; ``-q`` does not hide it."""
    if ProgressBar.open_on is sys.stderr:
        sys.stderr.write("\n")
        ProgressBar.open_on = None
    print(f"irsde: warning: {printable(msg)}", file=sys.stderr)


def say_passed_over(refused, used=None) -> None:
    """A line for each weight file passed over because it would be refused, naming the one used."""
    for r in refused:
        warning(f"refused: {r}" + (f"; using {used} instead" if used is not None else ""))


@contextlib.contextmanager
def stop_signals_interrupt():
    """SIGTERM and SIGHUP (a stopped service, a closed terminal) end a batch the way Ctrl+C does:
    the finished outputs stay, the photo being written leaves no partial file."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            with contextlib.suppress(ValueError):  # not the main thread: leave the handlers alone
                previous[sig] = signal.signal(sig, interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class CommandRefused(Exception):
    """Why a command stops before it begins, and its exit status."""

    def __init__(self, message: str, status: int = EXIT_USAGE):
        super().__init__(message)
        self.status = status


def int_in(lo: int, hi: int | None, what: str, unit: str = ""):
    """An argparse type: a whole number from ``lo`` to ``hi`` (no upper bound if None)."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if n < lo or (hi is not None and n > hi):
            bound = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
            raise argparse.ArgumentTypeError(f"{what} is {bound}{f' {unit}' if unit else ''}, got {n}")
        return n

    return parse


MAX_SEED = 2**63 - 1  # PyTorch's generators take 64-bit seeds


MIN_TILE, MAX_TILE = 64, 16384  # px; MIN_TILE is core.tiling's, which imports PyTorch (a test compares)


def tile_side(text: str) -> int:
    """``--tile``: 0 (never tile) or a tile side the tiler runs."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n != 0 and not MIN_TILE <= n <= MAX_TILE:
        raise argparse.ArgumentTypeError(f"a tile is 0 (never tile) or {MIN_TILE} to {MAX_TILE} px, got {n}")
    return n


def photo_sides(text: str) -> list[int]:
    """``bench --sizes``: photo sides in px, comma-separated."""
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or not all(16 <= s <= MAX_TILE for s in sizes):
        raise argparse.ArgumentTypeError(
            f"sizes are whole numbers of px from 16 to {MAX_TILE}, comma-separated, got {text!r}"
        )
    return sizes


def round_count(text: str) -> int:
    """``--rounds``: a count of deconvolution rounds, as a blind deblur run takes them."""
    from ..core.blind import MAX_BLIND_ROUNDS  # deferred: OpenCV; the parser is built without it

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= n <= MAX_BLIND_ROUNDS:
        raise argparse.ArgumentTypeError(f"deconvolution takes 1 to {MAX_BLIND_ROUNDS} rounds, got {n}")
    return n
