"""Nothing lost (issue 24): a batch never writes over an input or over another result, a broken
result is never written or reported as restored, a filled hole is opaque, and a file that is not
a regular file is refused before it is opened."""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pytest
import torch
from conftest import smooth_image
from PIL import Image

from irsde_gui.cli import main

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")


def write_png(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def restore(*args: str) -> int:
    return main(["restore", *map(str, args), "--steps", "1", "-q"])


# ------------------------------------------------------------------ 1, 2: where results go
def test_a_batch_never_writes_over_another_input(tmp_path, installed_tiny_weights, capsys):
    """``a/photo.png b/photo.png -o b``: a's result must not land on b's photo (it used to, and
    only then was b refused)."""
    a = write_png(tmp_path / "a" / "photo.png", smooth_image(40, 52, seed=1))
    b = write_png(tmp_path / "b" / "photo.png", smooth_image(32, 48, seed=2))
    before = b.read_bytes()
    assert restore(a, b, "-o", b.parent, "--task", "denoise") == 1
    assert b.read_bytes() == before, "an input photo was overwritten"
    assert Image.open(b.parent / "photo-2.png").size == (52, 40), "a's result, under a name of its own"
    err = capsys.readouterr().err
    assert f"{b}: refusing to overwrite the input photo (use --overwrite)" in err
    assert len(err.strip().splitlines()) == 1, err


def test_overwrite_replaces_only_the_photo_s_own_input(tmp_path, installed_tiny_weights):
    a = write_png(tmp_path / "a" / "photo.png", smooth_image(40, 52, seed=1))
    b = write_png(tmp_path / "b" / "photo.png", smooth_image(32, 48, seed=2))
    a_bytes = a.read_bytes()
    assert restore(a, b, "-o", b.parent, "--task", "denoise", "--overwrite") == 0
    assert Image.open(b).size == (48, 32), "b was replaced by its own result"
    assert Image.open(b.parent / "photo-2.png").size == (52, 40)
    assert a.read_bytes() == a_bytes


def test_two_inputs_with_one_name_get_a_result_each(tmp_path, installed_tiny_weights, capsys):
    a = write_png(tmp_path / "a" / "photo.png", smooth_image(40, 52, seed=1))
    b = write_png(tmp_path / "b" / "photo.png", smooth_image(32, 48, seed=2))
    out = tmp_path / "out"
    assert main(["restore", str(a), str(b), "-o", str(out), "--task", "denoise", "--steps", "1"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["photo-2.png", "photo.png"]
    assert Image.open(out / "photo.png").size == (52, 40)
    assert Image.open(out / "photo-2.png").size == (48, 32)
    err = capsys.readouterr().err
    assert f"photo.png -> {out / 'photo-2.png'}" in err
    assert "2 restored, 0 failed" in err


def test_results_of_one_name_keep_their_reports_apart(tmp_path, installed_tiny_weights):
    """photo.png and photo.jpg write different results, but their reports would both be photo.json."""
    src = tmp_path / "in"
    write_png(src / "photo.png", smooth_image(40, 52, seed=1))
    Image.fromarray((smooth_image(32, 48, seed=2) * 255).astype(np.uint8)).save(src / "photo.jpg")
    out = tmp_path / "out"
    assert restore(src / "photo.jpg", src / "photo.png", "-o", out, "--task", "denoise", "--report") == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["photo-2.json", "photo-2.png", "photo.jpg", "photo.json"]
    assert json.loads((out / "photo-2.json").read_text())["output"] == str((out / "photo-2.png").resolve())


# ------------------------------------------------------------------ 3: numbers that are not numbers
def float_tiff(path, bad: float):
    grey = smooth_image(24, 32)[..., 0].copy()
    grey[5, 7] = bad
    Image.fromarray(grey.astype(np.float32), mode="F").save(path)
    return path


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_pixels_are_refused_naming_the_file(tmp_path, installed_tiny_weights, capsys, bad):
    from irsde_gui.core.imageio import ImageReadError, read_photo

    src = float_tiff(tmp_path / "float.tif", bad)
    with pytest.raises(ImageReadError, match="1 pixel is not a finite number"):
        read_photo(src)
    out = tmp_path / "out.png"
    assert restore(src, "-o", out, "--task", "denoise") == 1
    assert not out.exists()
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"irsde: error: {src}: ") and "NaN or infinite" in err and "\n" not in err


def test_a_good_float_tiff_still_restores(tmp_path, installed_tiny_weights):
    grey = smooth_image(24, 32)[..., 0].astype(np.float32)
    Image.fromarray(grey, mode="F").save(tmp_path / "float.tif")
    assert restore(tmp_path / "float.tif", "-o", tmp_path / "out.png", "--task", "denoise") == 0


def test_a_model_card_with_a_nan_sde_value_is_refused(tmp_path, installed_tiny_weights, capsys):
    card = installed_tiny_weights / "denoise.json"
    data = json.loads(card.read_text())
    data["sde"]["max_sigma"] = float("nan")
    card.write_text(json.dumps(data))
    src = write_png(tmp_path / "p.png", smooth_image())
    assert restore(src, "-o", tmp_path / "out.png", "--task", "denoise") == 1
    assert not (tmp_path / "out.png").exists()
    err = capsys.readouterr().err
    assert str(card) in err and "sde.max_sigma" in err and "nan" in err


def test_nan_weights_with_a_matching_hash_are_refused(tmp_path, installed_tiny_weights, capsys):
    from irsde_gui.core.weights import sha256_of

    pt = installed_tiny_weights / "denoise.pt"
    state = torch.load(pt, weights_only=True)
    first = next(k for k, v in state.items() if v.is_floating_point())
    state[first][...] = float("nan")
    torch.save(state, pt)
    card = pt.with_suffix(".json")
    data = json.loads(card.read_text())
    data["sha256"] = sha256_of(pt)
    card.write_text(json.dumps(data))
    src = write_png(tmp_path / "p.png", smooth_image())
    assert restore(src, "-o", tmp_path / "out.png", "--task", "denoise") == 1
    assert not (tmp_path / "out.png").exists()
    err = capsys.readouterr().err
    assert str(pt) in err and "not finite" in err and first in err


def test_a_non_finite_result_is_never_written(tmp_path, installed_tiny_weights, capsys, monkeypatch):
    """Whatever the cause, a result holding NaN is an error naming the model, not a black photo."""
    from irsde_gui.core.model import Restorer

    monkeypatch.setattr(Restorer, "__call__", lambda self, x_t, mu, t: torch.full_like(x_t, float("nan")))
    src = write_png(tmp_path / "in" / "p.png", smooth_image())
    write_png(tmp_path / "in" / "q.png", smooth_image(seed=3))
    out = tmp_path / "out"
    rc = main(["restore", str(src.parent), "-o", str(out), "--task", "denoise", "--steps", "2"])
    assert rc == 1
    assert not out.exists() or not any(out.iterdir())
    err = capsys.readouterr().err
    assert "denoise.pt gave a result that is not finite" in err
    assert "0 restored, 2 failed" in err


# ------------------------------------------------------------------ 4: a filled hole is opaque
def test_inpainting_a_transparent_hole_makes_the_filled_pixels_opaque(tmp_path, installed_tiny_weights):
    rgb = (smooth_image(32, 40) * 255 + 0.5).astype(np.uint8)
    alpha = np.full((32, 40), 255, np.uint8)
    alpha[8:20, 10:30] = 0  # the hole
    alpha[0:4, 0:4] = 200  # a soft edge, not a hole: it stays as it was
    Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA").save(tmp_path / "rgba_hole.png")
    out = tmp_path / "out.png"
    assert restore(tmp_path / "rgba_hole.png", "-o", out, "--task", "inpaint") == 0
    result = np.asarray(Image.open(out))
    assert result.shape == (32, 40, 4)
    assert (result[8:20, 10:30, 3] == 255).all(), "the filled pixels are opaque"
    assert (result[0:4, 0:4, 3] == 200).all()
    keep = alpha == 255
    assert np.array_equal(result[..., :3][keep], rgb[keep])


def test_filled_alpha_of_every_depth():
    from irsde_gui.core.runs import filled_alpha

    mask = np.zeros((2, 3), np.float32)
    mask[0, 1] = 1
    for alpha, full in ((np.zeros((2, 3), np.uint8), 255), (np.zeros((2, 3), np.uint16), 65535)):
        out = filled_alpha(alpha, mask)
        assert out.dtype == alpha.dtype and out[0, 1] == full and out.sum() == full
        assert alpha.sum() == 0, "the photo's own alpha is not changed"
    assert filled_alpha(None, mask) is None


# ------------------------------------------------------------------ 5: not a regular file
class Feeder(threading.Thread):
    """Feeds a reader blocked on ``fifo`` (if any) within ``seconds``, so a failing test cannot
    hang; ``fed`` tells whether anyone was waiting on the pipe (a reader that opened it)."""

    def __init__(self, fifo, seconds: float) -> None:
        super().__init__(daemon=True)
        self.fifo, self.seconds, self.fed = fifo, seconds, False

    def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        while not self.fed and time.monotonic() < deadline:
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # no reader: as it should be
                time.sleep(0.05)
                continue
            os.write(fd, b"not a photo")
            os.close(fd)
            self.fed = True


def release(fifo, seconds: float = 3.0) -> Feeder:
    feeder = Feeder(fifo, seconds)
    feeder.start()
    return feeder


@needs_fifo
def test_a_fifo_is_refused_before_it_is_opened(tmp_path):
    from irsde_gui.core.imageio import ImageReadError, read_photo

    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    feeder = release(fifo, seconds=1.0)
    with pytest.raises(ImageReadError) as info:
        read_photo(fifo)
    assert (
        str(info.value) == f"{fifo}: is a named pipe (FIFO), not a regular file; refused without reading it"
    )
    feeder.join()
    assert not feeder.fed, "read_photo opened the pipe"


@needs_fifo
def test_the_command_line_refuses_a_fifo_photo_and_a_fifo_mask(tmp_path, installed_tiny_weights, capsys):
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    good = write_png(tmp_path / "good.png", smooth_image())
    feeder = release(fifo, seconds=2.0)
    assert restore(fifo, good, "-o", tmp_path / "out", "--task", "denoise") == 1
    err = capsys.readouterr().err
    assert f"{fifo}: is a named pipe (FIFO), not a regular file" in err
    assert (tmp_path / "out" / "good.png").is_file()
    feeder.join()
    assert not feeder.fed, "the command line opened the pipe"
    feeder = release(fifo, seconds=2.0)
    assert restore(good, "-o", tmp_path / "o.png", "--task", "inpaint", "--mask", fifo) == 1
    assert f"{fifo}: is a named pipe (FIFO)" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()
    feeder.join()
    assert not feeder.fed, "the command line opened the pipe as a mask"


def test_a_symlink_loop_is_called_one(tmp_path):
    from irsde_gui.core.imageio import ImageReadError, read_photo

    loop = tmp_path / "loop.png"
    try:
        loop.symlink_to(loop)
    except OSError:
        pytest.skip("no symbolic links here")
    with pytest.raises(ImageReadError, match="symbolic link loop"):
        read_photo(loop)
