"""The batch queue's state, kept without Qt: which photos wait, run, were restored or failed, the
folder the results go to, and the names they are given.

:class:`BatchQueue` decides everything a queue decides: a photo joins once however it is spelled,
Start puts failed and cancelled photos back in the queue, each photo's result gets a name that is
never an input of the queue nor another result (:class:`~irsde_gui.core.runs.OutputPlan`), Clear
keeps the photo being restored, and the summary counts them. The batch panel draws it and runs its
photos in the worker's threads (:class:`~irsde_gui.app.ui.batch.BatchPanel`); the window's
session owns it (:attr:`irsde_gui.app.session.Session.batch`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.imageio import WRITE_EXTENSIONS
from ..core.runs import OutputPlan, file_identity, report_path_for

STATUSES = ("queued", "running", "done", "failed", "cancelled")
ENDED = ("done", "failed", "cancelled")
EMPTY = "The queue is empty. Drop several photos or a folder on the window."


@dataclass
class BatchItem:
    source: Path
    status: str = "queued"
    message: str = "Waiting"
    output: Path | None = None
    seconds: float = 0.0


def batch_output_path(source: Path, folder: Path, task: str) -> Path:
    """Where a batch writes the result of ``source``: same name and format (a camera RAW's as a
    16-bit PNG), never the input itself."""
    ext = source.suffix.lower() if source.suffix.lower() in WRITE_EXTENSIONS else ".png"
    target = folder / f"{source.stem}{ext}"
    try:
        same_folder = folder.resolve() == source.parent.resolve()
    except OSError:
        same_folder = False
    if same_folder:
        target = folder / f"{source.stem}-{task}{ext}"
    return target


def same_file_key(path: Path) -> object:
    """What tells two paths of the queue apart: the file they lead to, or, for one that leads
    nowhere (a link loop, a file gone), its absolute spelling (``Path.resolve`` raises on a loop)."""
    return file_identity(path) or os.path.abspath(path)


class BatchQueue:
    """The photos of a batch and what became of each; see the module's docstring."""

    def __init__(self) -> None:
        self.items: list[BatchItem] = []
        self.output_folder: Path | None = None
        self.current: BatchItem | None = None  # the photo being restored
        self.cancelled = False  # Cancel all was pressed: no further photo starts
        self._started = 0.0  # when the current photo started (time.perf_counter)
        self._plan = OutputPlan()  # the names this start of the queue has given its results

    def set_output_folder(self, folder: str | Path | None) -> None:
        self.output_folder = Path(folder) if folder else None

    def add(self, paths: list[Path]) -> list[BatchItem]:
        """Queue ``paths``, each file once (a second spelling of a queued file is passed over);
        the items added."""
        known = {same_file_key(i.source) for i in self.items}
        added = []
        for p in paths:
            key = same_file_key(Path(p))
            if key in known:
                continue
            known.add(key)
            item = BatchItem(Path(p))
            self.items.append(item)
            self._plan.add_input(item.source)
            added.append(item)
        return added

    def clear(self) -> None:
        """Remove every photo but the one being restored."""
        self.items = [i for i in self.items if i.status == "running"]

    def count(self, status: str) -> int:
        return sum(i.status == status for i in self.items)

    def start(self) -> list[BatchItem]:
        """Start (again): failed and cancelled photos wait once more, and results are named
        afresh. The items put back in the queue."""
        back = [i for i in self.items if i.status in ("cancelled", "failed")]
        for i in back:
            i.status, i.message = "queued", "Waiting"
        self.cancelled = False
        self._plan = OutputPlan(i.source for i in self.items)
        return back

    def next_item(self) -> BatchItem | None:
        """The next photo to restore, or None when the queue has ended (nothing waits, Cancel all
        was pressed, or there is no folder to write to)."""
        if self.cancelled or self.output_folder is None:
            return None
        return next((i for i in self.items if i.status == "queued"), None)

    def claim_output(self, item: BatchItem, task: str, write_report: bool) -> Path:
        """The name ``item``'s result is written under (raises
        :class:`~irsde_gui.core.runs.OutputRefused` when none may be)."""
        assert self.output_folder is not None
        target = batch_output_path(item.source, self.output_folder, task)
        report = (lambda t: [report_path_for(t)]) if write_report else (lambda t: [])
        return self._plan.claim(item.source, target, companions=report)

    def began(self, item: BatchItem) -> None:
        """``item``'s photo starts: its time counts from now."""
        self.current = item
        self._started = time.perf_counter()
        self.set(item, "running", "Starting…")

    def set(self, item: BatchItem, status: str, message: str, output: Path | None = None) -> bool:
        """``item`` is ``status`` now (saying ``message``); True when that ends it."""
        if status not in STATUSES:
            raise ValueError(f"unknown batch status {status!r}")
        item.status, item.message = status, message
        if output is not None:
            item.output = output
        if status != "queued" and self.current is item:
            item.seconds = time.perf_counter() - self._started
        return status in ENDED

    def ended(self) -> None:
        """The current photo's run has stopped."""
        self.current = None

    def summary(self) -> str:
        """One line: how many photos are in each state, or how to fill an empty queue."""
        if not self.items:
            return EMPTY
        return ", ".join(f"{n} {s}" for s in STATUSES if (n := self.count(s)))
