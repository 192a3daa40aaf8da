"""A weight file in the user's folder that would be refused (issue 24, item 12) does not hide the
bundled model: it is passed over, said to be ("refused: why"), and the next location's is used,
by ``irsde info``, ``irsde restore``, the window and the self-test alike."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import pytest
from conftest import smooth_image
from PIL import Image

from irsde_gui.cli import main
from irsde_gui.core.weights import (
    WeightsError,
    check_weights,
    find_weights,
    load_weights,
    sha256_of,
)


@pytest.fixture
def bundled(tiny_weights, tmp_path, monkeypatch):
    """The tiny weights, as the weights bundled with the app."""
    import irsde_gui.core.paths as paths

    folder = shutil.copytree(tiny_weights, tmp_path / "bundled")
    monkeypatch.setattr(paths, "bundled_weights_dir", lambda: folder)
    return folder


@pytest.fixture
def user(tiny_weights, isolated_user_dirs):
    """The user's weights folder, holding the tiny denoise model."""
    folder = isolated_user_dirs / "weights"
    folder.mkdir()
    for ext in (".pt", ".json"):
        shutil.copy(tiny_weights / f"denoise{ext}", folder / f"denoise{ext}")
    return folder


def break_hash(pt):
    data = bytearray(pt.read_bytes())
    data[-20] ^= 0xFF
    pt.write_bytes(bytes(data))


def put_code(pt, marker):
    """A pickle that would run code, with the card's hash made to match (as an attacker would)."""

    class Code:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    pt.write_bytes(pickle.dumps({"w": Code()}, protocol=2))
    card = pt.with_suffix(".json")
    card.write_text(json.dumps({**json.loads(card.read_text()), "sha256": sha256_of(pt)}))


def test_a_user_file_with_a_bad_hash_is_passed_over_for_the_bundled_one(bundled, user):
    break_hash(user / "denoise.pt")
    refused = []
    assert find_weights("denoise", refused=refused) == bundled / "denoise.pt"
    assert [r.path for r in refused] == [user / "denoise.pt"]
    assert str(refused[0]).startswith(f"{user / 'denoise.pt'} is corrupt or was modified: its sha256")
    assert load_weights("denoise").path == bundled / "denoise.pt"


def test_a_user_file_with_code_is_passed_over_and_its_code_never_runs(bundled, user, tmp_path):
    marker = tmp_path / "ran"
    put_code(user / "denoise.pt", marker)
    refused = []
    assert find_weights("denoise", refused=refused) == bundled / "denoise.pt"
    assert "refusing to load it (it may contain code)" in str(refused[0])
    assert not marker.exists()


def test_a_good_user_file_is_used_and_nothing_is_said(bundled, user):
    refused = []
    assert find_weights("denoise", refused=refused) == user / "denoise.pt" and refused == []


def test_with_nothing_after_it_a_refused_file_is_still_the_one_and_its_load_says_why(
    user, monkeypatch, tmp_path
):
    import irsde_gui.core.paths as paths

    monkeypatch.setattr(paths, "bundled_weights_dir", lambda: tmp_path / "none")
    break_hash(user / "denoise.pt")
    refused = []
    assert find_weights("denoise", refused=refused) == user / "denoise.pt" and refused == []
    with pytest.raises(WeightsError, match="corrupt or was modified"):
        load_weights("denoise")


def test_a_file_given_is_never_swapped_and_a_quick_look_reads_nothing(bundled, user):
    break_hash(user / "denoise.pt")
    assert find_weights("denoise", user / "denoise.pt") == user / "denoise.pt"
    assert find_weights("denoise", vet=False) == user / "denoise.pt"


def test_a_check_is_kept_while_the_file_stays_as_it_is(bundled, user):
    pt = user / "denoise.pt"
    assert check_weights(pt, "denoise") is None
    good = pt.read_bytes()
    break_hash(pt)
    assert "corrupt" in check_weights(pt, "denoise"), "a changed file is checked again"
    pt.write_bytes(good)
    assert check_weights(pt, "denoise") is None
    assert "not for 'sr'" in check_weights(pt, "sr")


def test_info_lists_refused_files_and_the_one_used(bundled, user, capsys):
    break_hash(user / "denoise.pt")
    shutil.copy(bundled / "sr.json", user / "sr.json")
    (user / "sr.pt").write_bytes(b"")  # refused, and nothing after it: sr cannot run
    (bundled / "sr.pt").unlink()
    assert main(["info"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("denoise "))
    assert (
        lines[at].split(None, 2)[2].startswith(f"refused: {user / 'denoise.pt'} is corrupt or was modified")
    )
    assert lines[at + 1].split()[0] == str(bundled / "denoise.pt") and "M parameters" in lines[at + 1]
    assert lines[at + 1].startswith(" " * 20), "the one used, under the task"
    sr = next(line for line in lines if line.lstrip().startswith("sr "))
    assert f"refused: {user / 'sr.pt'}" in sr and "sha256" in sr


def test_restore_says_what_it_refused_and_uses_the_next(bundled, user, tmp_path, capsys):
    break_hash(user / "denoise.pt")
    src = tmp_path / "p.png"
    Image.fromarray((smooth_image() * 255).astype("uint8")).save(src)
    out = tmp_path / "o.png"
    assert (
        main(["restore", str(src), "-o", str(out), "--task", "denoise", "--steps", "1", "-q", "--report"])
        == 0
    )
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"irsde: warning: refused: {user / 'denoise.pt'} is corrupt")
    assert err[0].endswith(f"; using {bundled / 'denoise.pt'} instead")
    assert json.loads(out.with_suffix(".json").read_text())["model_file"] == str(bundled / "denoise.pt")


def test_the_window_runs_the_next_model_and_says_what_it_refused(qtbot, bundled, user, tmp_path):
    pytest.importorskip("pytestqt")
    from gui_support import make_window

    from irsde_gui.app.worker import scan_tasks

    marker = tmp_path / "ran"
    put_code(user / "denoise.pt", marker)
    info = scan_tasks()["denoise"]
    assert info.weights == bundled / "denoise.pt" and info.available
    assert len(info.refused) == 1 and info.refused[0].startswith(f"{user / 'denoise.pt'} is not a plain")
    assert scan_tasks(vet=False)["denoise"].weights == user / "denoise.pt", "a first look reads no weights"
    win = make_window(qtbot, tmp_path)
    assert win.message_bar.kind == "warning"
    assert win.message_bar.text.startswith(
        f"Refused 1 weight file, so the next one found is used: {user / 'denoise.pt'} is not a plain"
    )
    assert not marker.exists()


def test_a_helper_in_the_user_folder_is_used_before_the_bundled_one(bundled, user):
    """A helper (the deblur route's start network) holds weights for the task it helps: installed
    in the user's folder, it was refused as 'not deblur_start' and the bundled one used."""
    for d in (bundled, user):
        for ext in (".pt", ".json"):
            shutil.copy(bundled / f"deblur{ext}", d / f"deblur_start{ext}")
    refused = []
    assert find_weights("deblur_start", refused=refused) == user / "deblur_start.pt"
    assert not refused
    break_hash(user / "deblur_start.pt")  # a broken one is still passed over, and said to be
    assert find_weights("deblur_start", refused=refused) == bundled / "deblur_start.pt"
    assert len(refused) == 1 and "deblur_start.pt" in str(refused[0])
