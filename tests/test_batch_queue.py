"""The batch queue's state and decisions, without Qt (:mod:`irsde_gui.app.batch_queue`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from irsde_gui.app.batch_queue import EMPTY, BatchQueue, batch_output_path
from irsde_gui.app.session import Session
from irsde_gui.core.runs import OutputRefused


def photos(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n in names:
        (folder / n).write_bytes(b"not read here")
        out.append(folder / n)
    return out


def test_a_file_joins_once_however_it_is_spelled(tmp_path):
    a, b = photos(tmp_path / "in", "a.png", "b.png")
    q = BatchQueue()
    assert [i.source for i in q.add([a, b])] == [a, b]
    other_spelling = tmp_path / "in" / ".." / "in" / "a.png"
    link = tmp_path / "link.png"
    os.symlink(a, link)
    assert q.add([other_spelling, link, a]) == []
    assert [i.source.name for i in q.items] == ["a.png", "b.png"]


def test_start_puts_failed_and_cancelled_photos_back_and_keeps_the_done_ones(tmp_path):
    q = BatchQueue()
    items = q.add(photos(tmp_path, "a.png", "b.png", "c.png", "d.png"))
    for item, status in zip(items, ["done", "failed", "cancelled", "queued"], strict=True):
        q.set(item, status, status)
    back = q.start()
    assert back == items[1:3]
    assert [i.status for i in q.items] == ["done", "queued", "queued", "queued"]
    assert [i.message for i in back] == ["Waiting", "Waiting"]


def test_the_next_photo_waits_for_a_folder_and_stops_after_cancel_all(tmp_path):
    q = BatchQueue()
    a, b = q.add(photos(tmp_path, "a.png", "b.png"))
    assert q.next_item() is None, "no folder to write to: nothing starts"
    q.set_output_folder(tmp_path / "out")
    assert q.next_item() is a
    q.set(a, "done", "Saved")
    assert q.next_item() is b
    q.cancelled = True
    assert q.next_item() is None
    q.start()
    assert q.next_item() is b and not q.cancelled


def test_results_never_take_an_input_s_name_nor_each_other_s(tmp_path):
    a = photos(tmp_path / "x", "photo.png")[0]
    b = photos(tmp_path / "y", "photo.png")[0]
    q = BatchQueue()
    ia, ib = q.add([a, b])
    q.set_output_folder(tmp_path / "x")  # a's own folder
    q.start()
    out_a = q.claim_output(ia, "denoise", write_report=False)
    out_b = q.claim_output(ib, "denoise", write_report=False)
    assert out_a != a and out_a.parent == tmp_path / "x"
    assert out_b not in (a, b, out_a)


def test_the_output_of_a_raw_photo_is_a_png_beside_nothing_it_overwrites(tmp_path):
    raw = tmp_path / "IMG_1.CR2"
    assert batch_output_path(raw, tmp_path / "out", "denoise") == tmp_path / "out" / "IMG_1.png"
    assert batch_output_path(raw, tmp_path, "denoise") == tmp_path / "IMG_1-denoise.png"


def test_a_claim_the_plan_refuses_raises(tmp_path):
    q = BatchQueue()
    (item,) = q.add(photos(tmp_path, "a.png"))
    q.set_output_folder(tmp_path)
    q.start()
    q._plan.claim = lambda *a, **k: (_ for _ in ()).throw(OutputRefused("no"))  # the plan refuses
    with pytest.raises(OutputRefused):
        q.claim_output(item, "denoise", write_report=False)


def test_clear_keeps_the_photo_being_restored(tmp_path):
    q = BatchQueue()
    a, b, _c = q.add(photos(tmp_path, "a.png", "b.png", "c.png"))
    q.set_output_folder(tmp_path / "out")
    q.began(b)
    q.set(a, "done", "Saved")
    q.clear()
    assert q.items == [b] and b.status == "running"


def test_only_the_current_photo_s_time_is_counted_and_an_end_says_so(tmp_path):
    q = BatchQueue()
    a, b = q.add(photos(tmp_path, "a.png", "b.png"))
    q.began(a)
    assert q.set(a, "running", "Step 1/2") is False
    assert q.set(a, "done", "Saved a.png", output=tmp_path / "a-out.png") is True
    assert a.seconds > 0 and a.output == tmp_path / "a-out.png"
    assert q.set(b, "failed", "unreadable") is True and b.seconds == 0
    with pytest.raises(ValueError):
        q.set(b, "lost", "?")


def test_the_summary_counts_each_state(tmp_path):
    q = BatchQueue()
    assert q.summary() == EMPTY
    a, b, _c = q.add(photos(tmp_path, "a.png", "b.png", "c.png"))
    q.set(a, "done", "Saved")
    q.set(b, "failed", "no")
    assert q.summary() == "1 queued, 1 done, 1 failed"


def test_the_session_owns_the_queue_and_neither_loads_qt():
    assert isinstance(Session().batch, BatchQueue)
    code = "import sys, irsde_gui.app.batch_queue; print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
