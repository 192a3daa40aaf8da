"""The corrupt-input corpus through ``irsde restore`` (issue 24, "keep them found").

Each kind alone: a refused one gives one clean line naming the file, a non-zero exit, writes
nothing and leaves every input as it was (bytes and times); a photo the app can read restores.
Then all of them at once, mixed with good photos, as a list and as a folder: the good ones are
restored, each bad one has its line. The kinds are in ``corpus_support.py``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import make_tiny_weights
from corpus_support import KINDS, Kind, good_png
from PIL import Image

from irsde_gui.cli import main
from irsde_gui.cli.restore import OUTPUT_SUFFIXES
from irsde_gui.core.runs import printable

PHOTO_KINDS = [k for k in KINDS if k.photo]


def test_the_corpus_has_at_least_40_kinds_of_both_outcomes():
    names = [k.name for k in KINDS]
    assert len(set(names)) == len(names) >= 40
    assert sum(k.outcome == "refused" for k in KINDS) >= 40
    assert sum(k.outcome == "restored" for k in KINDS) >= 20
    assert all(k.outcome in ("refused", "restored") for k in KINDS)
    assert all(k.says for k in KINDS if k.outcome == "refused"), "every refusal says what to expect"


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    """Tiny weights for every task, made once for the module, given with --weights."""
    return make_tiny_weights(tmp_path_factory.mktemp("corpus-weights"))


def snapshot(root: Path) -> dict[str, tuple]:
    """Everything under ``root`` as it is: each entry's type, bytes (files) or target (links),
    and modification time, without opening anything but regular files or following links."""
    state: dict[str, tuple] = {}
    if not root.exists():
        return state
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = os.lstat(p)
            mode = stat.S_IFMT(st.st_mode)
            if stat.S_ISREG(st.st_mode):
                content: object = p.read_bytes()
            elif stat.S_ISLNK(st.st_mode):
                content = os.readlink(p)
            else:
                content = None
            state[os.fsencode(p.relative_to(root)).decode("latin-1")] = (mode, content, st.st_mtime_ns)
    return state


def skip_unless_possible(kind: Kind) -> None:
    reason = kind.needs()
    if reason:
        pytest.skip(reason)


def restore_argv(inputs, out: Path, task: str, options: list[str], weights: Path) -> list[str]:
    if "--weights" not in options:
        options = [*options, "--weights", str(weights)]
    # "--": a photo's name may start with a dash
    return [
        "restore",
        "-o",
        str(out),
        "--task",
        task,
        "--steps",
        "1",
        "-q",
        *options,
        "--",
        *map(str, inputs),
    ]


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_each_kind_alone(kind, tmp_path, weights, capfd):
    skip_unless_possible(kind)
    made = kind.make(tmp_path / "in", weights)
    before = snapshot(tmp_path)
    out = tmp_path / "out" / "result.png"
    capfd.readouterr()
    rc = main(restore_argv(made.inputs, out, made.task, made.options, weights))
    captured = capfd.readouterr()
    assert captured.out == ""
    if kind.outcome == "refused":
        lines = captured.err.splitlines()
        assert rc != 0
        assert len(lines) == 1, lines
        assert lines[0].startswith("irsde: error: ") and lines[0].isprintable(), lines
        assert printable(str(made.named)) in lines[0], "the line names the file"
        assert any(s in lines[0] for s in kind.says), lines[0]
        assert snapshot(tmp_path) == before, "nothing written, every input as it was"
    else:
        assert rc == 0, captured.err
        assert captured.err == "", "no library notes on the terminal"
        assert Image.open(out).size == kind.size
        after = snapshot(tmp_path)
        assert {k: v for k, v in after.items() if not k.startswith("out")} == before, "inputs as they were"
        assert sorted(k for k in after if k.startswith("out")) == ["out", "out/result.png"]


def build_all(folder: Path, weights: Path) -> tuple[list[Path], list[Kind], list[Kind]]:
    """Every photo kind's input in one folder (their names differ), and three good photos."""
    inputs, refused, restored = [], [], []
    for k in PHOTO_KINDS:
        if k.needs():
            continue
        made = k.make(folder, weights)
        assert not made.options and len(made.inputs) == 1, k
        assert made.inputs[0] not in inputs, f"{k}: a name another kind has"
        inputs.append(made.inputs[0])
        (refused if k.outcome == "refused" else restored).append((k, made.inputs[0]))
    for i in range(3):
        inputs.append(good_png(folder, f"good-{i}.png", seed=i))
        restored.append((None, inputs[-1]))
    return inputs, refused, restored


def result_name(path: Path) -> str:
    return path.name if path.suffix.lower() in OUTPUT_SUFFIXES else path.with_suffix(".png").name


def test_a_list_of_every_kind_restores_the_good_ones(tmp_path, weights, capfd):
    folder, out = tmp_path / "in", tmp_path / "out"
    inputs, refused, restored = build_all(folder, weights)
    before = snapshot(folder)
    capfd.readouterr()
    rc = main(restore_argv(inputs, out, "denoise", [], weights))
    err = capfd.readouterr().err
    assert rc == 1
    assert snapshot(folder) == before, "every input as it was"
    assert sorted(p.name for p in out.iterdir()) == sorted(result_name(p) for _, p in restored)
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("irsde: error: ")]
    assert len(errors) == len(refused), errors
    for k, path in refused:
        mine = [line for line in errors if printable(str(path)) in line]
        assert len(mine) == 1 and any(s in mine[0] for s in k.says), (k.name, mine)
    assert all(line.isprintable() for line in lines)


def test_a_folder_of_every_kind_restores_the_good_ones_and_says_what_it_skipped(tmp_path, weights, capfd):
    from irsde_gui.core.imageio import is_image_path, not_a_file

    folder, out = tmp_path / "in", tmp_path / "out"
    _inputs, refused, restored = build_all(folder, weights)
    before = snapshot(folder)
    capfd.readouterr()
    assert main(["restore", str(folder), "-o", str(out), "--task", "denoise", "--steps", "1", "--weights",
                 str(weights)]) == 1  # fmt: skip
    err = capfd.readouterr().err
    assert snapshot(folder) == before
    assert sorted(p.name for p in out.iterdir()) == sorted(result_name(p) for _, p in restored)
    # what a folder's batch passes over without reading: other formats, folders, pipes, loops
    passed = [p for _, p in refused if not (is_image_path(p) and not_a_file(p) is None)]
    tried = [(k, p) for k, p in refused if p not in passed]
    errors = [line for line in err.split("\n") if "irsde: error: " in line]
    assert len(errors) == len(tried), errors
    for k, path in tried:
        assert sum(printable(str(path)) in line for line in errors) == 1, k.name
    skipped = [line for line in err.splitlines() if line.startswith(f"irsde: {folder}: skipped ")]
    assert len(skipped) == 1 and skipped[0].startswith(f"irsde: {folder}: skipped {len(passed)}: "), skipped
    assert f"{len(restored)} restored, {len(tried)} failed" in err
    assert all(line.isprintable() for line in err.replace("\r", "\n").split("\n"))


def test_a_photo_too_big_for_the_memory_is_one_line(tmp_path, weights, capfd, monkeypatch):
    """A photo that fits the pixel limit but not this computer's memory: its line, and the batch
    goes on (a MemoryError used to end the command in a traceback)."""
    import irsde_gui.core.imageio as imageio
    from irsde_gui.core.imageio import ImageReadError, read_photo

    big = good_png(tmp_path / "in", "big.png")
    small = good_png(tmp_path / "in", "small.png", 16, 16)
    real = imageio._pillow_pixels

    def pixels(im):
        if im.size == (32, 24):
            raise MemoryError
        return real(im)

    monkeypatch.setattr(imageio, "_pillow_pixels", pixels)
    with pytest.raises(ImageReadError, match="there is not enough memory to open it"):
        read_photo(big)
    capfd.readouterr()
    assert main(restore_argv([big, small], tmp_path / "out", "denoise", [], weights)) == 1
    err = capfd.readouterr().err
    assert f"irsde: error: {big}: there is not enough memory to open it\n" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["small.png"]


def test_a_folder_that_cannot_be_listed_is_one_line(tmp_path, weights, capfd, monkeypatch):
    """A folder this user may not list (or on a drive gone) ended in a PermissionError traceback;
    the other inputs are still restored."""
    locked = tmp_path / "locked"
    locked.mkdir()
    good = good_png(tmp_path / "in", "good.png")
    real = Path.iterdir

    def iterdir(self):
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    capfd.readouterr()
    assert main(restore_argv([locked, good], tmp_path / "out", "denoise", [], weights)) == 1
    err = capfd.readouterr().err
    assert f"irsde: error: {locked}: the folder cannot be read (Permission denied)\n" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.png"]
