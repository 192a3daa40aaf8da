"""The corrupt-input corpus in the window (issue 24): each photo kind opened, and all of them in
one batch with good photos. The kinds are in ``corpus_support.py``."""

from __future__ import annotations

import os

import pytest
from corpus_support import KINDS, H, W
from gui_support import make_window
from test_corrupt_corpus import build_all, snapshot

from irsde_gui.core.imageio import read_photo

pytest.importorskip("pytestqt")

PHOTO_KINDS = [k for k in KINDS if k.photo]


def shown(name: str) -> str:
    """A name as Qt shows it: bytes that are not UTF-8 cannot be told apart there."""
    return name.encode("utf-8", "ignore").decode("utf-8")


def test_every_photo_kind_opens_or_is_refused_naming_it(qtbot, tmp_path, tiny_weights):
    win = make_window(qtbot, tmp_path, engine=False)
    for k in PHOTO_KINDS:
        if k.needs():
            continue
        folder = tmp_path / f"kind-{PHOTO_KINDS.index(k)}"
        made = k.make(folder, tiny_weights)
        path = made.inputs[0]
        before = snapshot(folder)
        with qtbot.waitSignal(win.photo_opened, timeout=20_000) as opened:
            win.open_path(path)
        assert opened.args == [k.outcome == "restored"], (k.name, win.message_bar.text)
        if k.outcome == "refused":
            text = win.message_bar.text
            assert win.message_bar.kind == "error", text
            assert text.startswith(f"Could not open “{path.name}”: "), text
            assert any(s in text for s in k.says), (k.name, text)
        else:
            assert (win.photo.width, win.photo.height) == k.size, k.name
            assert shown(path.name) in win.windowTitle()
        assert snapshot(folder) == before, k.name


def test_a_batch_of_every_kind_restores_the_good_ones(qtbot, tmp_path, installed_tiny_weights):
    folder, out = tmp_path / "in", tmp_path / "out"
    inputs, refused, restored = build_all(folder, installed_tiny_weights)
    before = snapshot(folder)
    win = make_window(qtbot, tmp_path, choose_folder=str(out))
    win.settings.save_report = False
    win.panel.select_task("denoise")
    win.panel.set_steps(1)
    assert win.batch.add_paths(inputs) == len(inputs)
    win.choose_batch_folder()
    with qtbot.waitSignal(win.batch.queue_finished, timeout=300_000) as finished:
        win.batch.start()
    assert finished.args == [len(restored), len(refused)]
    assert snapshot(folder) == before, "every input as it was"
    items = {i.source: i for i in win.batch.items}
    for k, path in refused:
        item = items[path]
        assert item.status == "failed" and item.output is None, k.name
        assert str(path) in item.message and any(s in item.message for s in k.says), (
            k.name,
            item.message,
        )
    results = sorted(p.name for p in out.iterdir())
    assert results == sorted(items[p].output.name for _, p in restored)
    for k, path in restored:  # read as the app reads them: a HEIC's result is a HEIC
        result = read_photo(items[path].output)
        assert (result.width, result.height) == (k.size if k else (W, H)), path.name
    assert not [n for n in os.listdir(out) if n.startswith(".")], "no partial files left"


def test_the_queue_takes_a_link_loop_once_and_each_file_once(qtbot, tmp_path):
    """Adding a symbolic link loop to the queue raised RuntimeError (``Path.resolve``); a file
    given under two spellings is queued once, two files whose names differ in case twice."""
    from conftest import smooth_image
    from gui_support import write_png

    loop = tmp_path / "loop.png"
    try:
        loop.symlink_to(loop)
    except OSError:
        pytest.skip("no symbolic links here")
    photo = write_png(tmp_path / "photo.png", smooth_image(16, 16))
    other = write_png(tmp_path / "Photo.png", smooth_image(16, 16, seed=1))
    win = make_window(qtbot, tmp_path, engine=False)
    (tmp_path / "sub").mkdir()
    added = win.batch.add_paths([loop, photo, tmp_path / "sub" / ".." / "photo.png", loop])
    assert added == 2
    assert win.batch.add_paths([other]) == (0 if os.path.samefile(photo, other) else 1)
