"""Nothing lost, in the window (issue 24): photos are read off the GUI thread, a batch never writes
over an input or over another result, a broken result is a failure, a filled hole is opaque."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
import torch
from conftest import smooth_image
from gui_support import make_window, open_photo, restore_and_wait, write_png
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer


def photo_in(folder, rgb):
    folder.mkdir()
    return write_png(folder / "photo.png", rgb)


class Ticks:
    """Counts the ticks of a 20 ms timer that the GUI thread has processed."""

    def __init__(self) -> None:
        self.count = 0
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        self.count += 1


def wait_for_ticks(ticks: Ticks, seen: list[int], wanted: int = 5) -> None:
    """Block this (non-GUI) thread until the GUI thread has processed ``wanted`` more ticks, and
    note how many it processed meanwhile. A turning event loop gets there however loaded the
    machine; one that waits on this thread never does, and the wait gives up after 5 s so the
    test fails instead of hanging. (The largest gap is a figure of ``irsde bench --gui``.)"""
    before = ticks.count
    give_up = time.monotonic() + 5
    while ticks.count - before < wanted and time.monotonic() < give_up:
        time.sleep(0.005)
    seen.append(ticks.count - before)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_opening_a_fifo_or_a_slow_file_keeps_the_event_loop_turning(qtbot, tmp_path):
    from irsde_gui.core.imageio import read_photo

    win = make_window(qtbot, tmp_path, engine=False)
    first = write_png(tmp_path / "first.png", smooth_image(40, 56))
    assert open_photo(qtbot, win, first)
    ticks = Ticks()

    # A named pipe: refused at once. Had the window opened it, it would have waited for a writer,
    # which comes here once the event loop has turned (and never, for a real pipe).
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    seen: list[int] = []

    def feed_once_the_loop_turned():
        wait_for_ticks(ticks, seen)
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # a reader blocked on the pipe
        except OSError:
            return  # nobody is waiting on it: as it should be
        os.write(fd, b"not a photo")
        os.close(fd)

    feeder = threading.Thread(target=feed_once_the_loop_turned, daemon=True)
    feeder.start()
    with qtbot.waitSignal(win.photo_opened, timeout=10_000) as opened:
        win.open_path(fifo)
    assert opened.args == [False]
    assert win.message_bar.kind == "error" and "pipe.png" in win.message_bar.text
    assert "named pipe (FIFO)" in win.message_bar.text
    assert win.photo.rgb.shape == (40, 56, 3), "the photo shown stays"
    qtbot.waitUntil(lambda: not feeder.is_alive(), timeout=10_000)
    assert seen[0] >= 5, f"the event loop stalled: {seen[0]} ticks"

    # A file slow to read (a slow network drive): the window turns meanwhile.
    second = write_png(tmp_path / "second.png", smooth_image(24, 32, seed=2))
    seen.clear()

    def slow_read(path):
        wait_for_ticks(ticks, seen)
        return read_photo(path)

    win.photo_reader = slow_read
    with qtbot.waitSignal(win.photo_opened, timeout=10_000) as opened:
        win.open_path(second)
        assert win.photo.rgb.shape == (40, 56, 3), "the photo shown stays until the next is read"
    assert opened.args == [True]
    assert seen[0] >= 5, f"the event loop stalled: {seen[0]} ticks"
    assert win.photo.rgb.shape == (24, 32, 3) and "second.png" in win.windowTitle()


def test_the_newest_photo_opened_wins(qtbot, tmp_path):
    from irsde_gui.core.imageio import read_photo

    win = make_window(qtbot, tmp_path, engine=False)
    slow = write_png(tmp_path / "slow.png", smooth_image(40, 56))
    fast = write_png(tmp_path / "fast.png", smooth_image(24, 32, seed=2))
    gate = threading.Event()

    def read(path):
        if path == slow:
            gate.wait(10)
        return read_photo(path)

    win.photo_reader = read
    win.open_path(slow)
    assert open_photo(qtbot, win, fast)
    gate.set()
    qtbot.wait(300)
    assert win.photo.rgb.shape == (24, 32, 3), "a photo opened before does not replace a newer one"
    win.close()


def test_a_batch_never_writes_over_an_input_and_keeps_results_apart(qtbot, tmp_path, installed_tiny_weights):
    a = photo_in(tmp_path / "a", smooth_image(24, 32, seed=1))
    b = photo_in(tmp_path / "b", smooth_image(16, 40, seed=2))
    c = photo_in(tmp_path / "c", smooth_image())
    before = {p: p.read_bytes() for p in (a, b, c)}
    win = make_window(qtbot, tmp_path, choose_folder=str(b.parent))
    win.settings.save_report = False
    win.panel.select_task("denoise")
    win.panel.set_steps(1)
    win.batch.add_paths([a, b, c])
    win.choose_batch_folder()
    with qtbot.waitSignal(win.batch.queue_finished, timeout=60_000) as blocker:
        win.batch.start()
    assert blocker.args == [3, 0]
    assert {p: p.read_bytes() for p in (a, b, c)} == before, "an input photo was overwritten"
    outputs = {i.source: i.output for i in win.batch.items}
    assert outputs[a] == b.parent / "photo-2.png"  # b/photo.png is an input
    assert outputs[b] == b.parent / "photo-denoise.png"  # beside its input, named for the task
    assert outputs[c] == b.parent / "photo-3.png"
    assert Image.open(outputs[a]).size == (32, 24) and Image.open(outputs[b]).size == (40, 16)
    assert sorted(p.name for p in b.parent.iterdir()) == [
        "photo-2.png",
        "photo-3.png",
        "photo-denoise.png",
        "photo.png",
    ]


def nan_model(monkeypatch):
    from irsde_gui.core.model import Restorer

    monkeypatch.setattr(Restorer, "__call__", lambda self, x_t, mu, t: torch.full_like(x_t, float("nan")))


def test_a_non_finite_result_is_a_failure_not_a_result(qtbot, tmp_path, installed_tiny_weights, monkeypatch):
    nan_model(monkeypatch)
    win = make_window(qtbot, tmp_path)
    assert open_photo(qtbot, win, write_png(tmp_path / "photo.png", smooth_image(24, 32)))
    win.panel.select_task("denoise")
    win.panel.set_steps(2)
    failure = restore_and_wait(qtbot, win)
    assert type(failure).__name__ == "RunFailure"
    assert "denoise.pt gave a result that is not finite" in failure.message
    assert win.result is None and not win.save_action.isEnabled()
    assert win.message_bar.kind == "error"


def test_a_stopped_run_s_non_finite_estimate_is_not_offered(
    qtbot, tmp_path, installed_tiny_weights, monkeypatch
):
    nan_model(monkeypatch)
    win = make_window(qtbot, tmp_path)
    assert open_photo(qtbot, win, write_png(tmp_path / "photo.png", smooth_image(24, 32)))
    win.panel.select_task("denoise")
    win.panel.set_steps(50)

    def stop(frame):
        win.stop()

    with qtbot.waitSignal(win.run_finished, timeout=30_000) as blocker:
        win.restore()
        win.run.frame.connect(stop)
    assert type(blocker.args[0]).__name__ == "RunFailure"
    assert win.message_bar.action("Keep x0_hat") is None
    assert win.result is None and "not finite" in win.message_bar.text


def test_a_batch_never_saves_a_non_finite_result(qtbot, tmp_path, installed_tiny_weights, monkeypatch):
    nan_model(monkeypatch)
    src = photo_in(tmp_path / "in", smooth_image())
    out = tmp_path / "out"
    win = make_window(qtbot, tmp_path, choose_folder=str(out))
    win.panel.set_steps(1)
    win.batch.add_paths([src])
    win.choose_batch_folder()
    with qtbot.waitSignal(win.batch.queue_finished, timeout=60_000) as blocker:
        win.batch.start()
    assert blocker.args == [0, 1]
    item = win.batch.items[0]
    assert item.status == "failed" and "not finite" in item.message
    assert not out.exists() or not any(out.iterdir())


def rgba_with_hole(path):
    rgb = (smooth_image(32, 40) * 255 + 0.5).astype(np.uint8)
    alpha = np.full((32, 40), 255, np.uint8)
    alpha[8:20, 10:30] = 0
    Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA").save(path)
    return path


def test_saving_an_inpainted_transparent_hole_makes_it_opaque(qtbot, tmp_path, installed_tiny_weights):
    win = make_window(qtbot, tmp_path)
    assert open_photo(qtbot, win, rgba_with_hole(tmp_path / "hole.png"))
    win.panel.select_task("inpaint")
    win.panel.set_steps(2)
    restore_and_wait(qtbot, win)
    win.dialogs.answers["save_image"] = str(tmp_path / "filled.png")
    saved = np.asarray(Image.open(win.save()))
    assert saved.shape == (32, 40, 4) and (saved[..., 3] == 255).all()


def test_a_batch_inpainting_transparent_holes_writes_them_opaque(qtbot, tmp_path, installed_tiny_weights):
    src = rgba_with_hole(tmp_path / "hole.png")
    out = tmp_path / "out"
    win = make_window(qtbot, tmp_path, choose_folder=str(out))
    win.panel.select_task("inpaint")
    win.panel.set_steps(1)
    win.batch.add_paths([src])
    win.choose_batch_folder()
    with qtbot.waitSignal(win.batch.queue_finished, timeout=60_000) as blocker:
        win.batch.start()
    assert blocker.args == [1, 0]
    saved = np.asarray(Image.open(out / "hole.png"))
    assert saved.shape == (32, 40, 4) and (saved[..., 3] == 255).all()


def test_a_folder_dropped_says_what_it_skipped(qtbot, tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    write_png(folder / "a.png", smooth_image(24, 24))
    (folder / "b.gif").write_bytes(b"GIF89a")
    (folder / "old").mkdir()
    win = make_window(qtbot, tmp_path, engine=False)
    with qtbot.waitSignal(win.photo_opened, timeout=10_000):
        win.open_paths([folder])
    assert [i.source.name for i in win.batch.items] == ["a.png"]
    assert f"{folder}: skipped 2: 1 GIF, 1 folder" in win.message_bar.text


def test_a_mask_file_is_read_off_the_gui_thread(qtbot, tmp_path):
    from irsde_gui.core.imageio import read_photo

    win = make_window(qtbot, tmp_path, engine=False)
    assert open_photo(qtbot, win, write_png(tmp_path / "photo.png", smooth_image(24, 32)))
    hole = np.zeros((24, 32, 3))
    hole[4:10, 5:20] = 1
    win.dialogs.answers["open_mask"] = str(write_png(tmp_path / "mask.png", hole))
    ticks, seen = Ticks(), []

    def slow_read(path):
        wait_for_ticks(ticks, seen)
        return read_photo(path)

    win.photo_reader = slow_read
    with qtbot.waitSignal(win.mask_loaded, timeout=10_000) as loaded:
        win.load_mask()
    assert loaded.args == [True] and seen[0] >= 5, seen
    assert np.array_equal(win.mask_editor.to_array() > 0.5, hole[..., 0] > 0.5)
    win.photo_reader = read_photo
    win.dialogs.answers["open_mask"] = str(write_png(tmp_path / "small.png", np.ones((4, 4, 3))))
    with qtbot.waitSignal(win.mask_loaded, timeout=10_000) as loaded:
        win.load_mask()
    assert loaded.args == [False]
    assert (
        win.message_bar.text == "Could not use the mask “small.png”: the mask is 4x4 but the photo is 32x24"
    )


def test_a_blur_kernel_file_is_read_off_the_gui_thread_and_named(qtbot, tmp_path, installed_tiny_weights):
    """Blur ▸ Known blur from a file… read the kernel on the GUI thread, and its error did not
    name the file."""
    from irsde_gui.core.imageio import read_kernel

    np.save(tmp_path / "shake.npy", np.array([[0, 1, 0], [1, 2, 1]], np.float64))
    (tmp_path / "bad.npy").write_bytes(b"not an array")
    win = make_window(qtbot, tmp_path, open_kernel=str(tmp_path / "shake.npy"))
    assert win.panel.select_task("deblur")
    ticks, seen = Ticks(), []

    def slow_read(path):
        wait_for_ticks(ticks, seen)
        return read_kernel(path)

    win.kernel_reader = slow_read
    with qtbot.waitSignal(win.kernel_loaded, timeout=10_000) as loaded:
        win.load_kernel()
        assert win.panel.known_kernel is None, "nothing is set until the file is read"
    assert loaded.args == [True] and seen[0] >= 5, seen
    assert win.panel.blur_source.currentText() == "Known: shake.npy (3×2 px)"
    assert win.panel.known_kernel_source == str((tmp_path / "shake.npy").resolve())
    win.dialogs.answers["open_kernel"] = str(tmp_path / "bad.npy")
    with qtbot.waitSignal(win.kernel_loaded, timeout=10_000) as loaded:
        win.load_kernel()
    assert loaded.args == [False]
    assert win.message_bar.text == (
        "Could not use the blur kernel “bad.npy”: "
        "cannot be read as a blur kernel (it is not a NumPy array file)"
    )
    assert win.panel.blur_source.currentText() == "Known: shake.npy (3×2 px)", "the blur chosen stays"


def test_dropped_folders_are_listed_off_the_gui_thread_in_the_order_dropped(qtbot, tmp_path):
    """Listing a dropped folder (a slow network drive) froze the window: it is listed on a thread
    of its own, and drops are taken in the order they came, however long each takes to list."""
    from irsde_gui.app.ui.main_window import list_dropped

    first, second = tmp_path / "first", tmp_path / "second"
    for folder, n in ((first, 2), (second, 1)):
        folder.mkdir()
        for i in range(n):
            write_png(folder / f"{folder.name}-{i}.png", smooth_image(16, 16, seed=i))
    win = make_window(qtbot, tmp_path, engine=False)
    ticks, seen = Ticks(), []

    second_listed = threading.Event()
    listed_in: list[str] = []  # the order the listings end, on their threads

    def slow_list(paths):
        if paths == [first]:
            wait_for_ticks(ticks, seen)
            second_listed.wait(5)  # the second drop is listed sooner (5 s: only so it cannot hang)
        found = list_dropped(paths)
        listed_in.append(paths[0].name)
        second_listed.set()
        return found

    win.paths_lister = slow_list
    listed: list[int] = []
    win.paths_listed.connect(lambda: listed.append(len(win.batch.items)))
    win.open_paths([first])
    win.open_paths([second])
    qtbot.waitUntil(lambda: len(listed) == 2, timeout=10_000)
    assert seen[0] >= 5, f"the event loop stalled: {seen[0]} ticks"
    assert listed_in == ["second", "first"]
    assert listed == [2, 3], "the first drop is taken first, although the second was listed sooner"
    assert [i.source.name for i in win.batch.items] == ["first-0.png", "first-1.png", "second-0.png"]
    qtbot.waitUntil(lambda: win.photo is not None, timeout=10_000)
    assert "first-0.png" in win.windowTitle()
