"""The ``irsde`` command line, end to end, with tiny weights."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import smooth_image
from PIL import Image

from irsde_gui.cli import main


def write_png(path, rgb):
    Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def test_the_engine_and_the_command_line_import_no_qt():
    """Every module of the engine (irsde_gui.core, its tasks and networks), the command line and
    the app's Qt-free session load without Qt."""
    code = (
        "import sys, importlib, pkgutil, irsde_gui.core, irsde_gui.cli, irsde_gui.app.session;"
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages("
        "irsde_gui.core.__path__, 'irsde_gui.core.')];"
        "irsde_gui.cli.build_parser();"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken', 'qtawesome'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_command_prints_its_help(capsys):
    """Each command's --help prints and exits 0: a bare '%' in a help string makes argparse raise
    instead (it broke `irsde train --help` once)."""
    import argparse

    from irsde_gui.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert {"restore", "train", "eval", "bench"} <= set(sub.choices)
    for name in sub.choices:
        with pytest.raises(SystemExit) as done:
            main([name, "--help"])
        assert done.value.code == 0, name
        assert "usage: irsde " + name in capsys.readouterr().out


def test_restore_single_file(tmp_path, installed_tiny_weights, capsys):
    src = write_png(tmp_path / "photo.png", smooth_image(40, 52))
    before = src.read_bytes()
    out = tmp_path / "clean.png"
    rc = main(
        [
            "restore",
            str(src),
            "-o",
            str(out),
            "--task",
            "denoise",
            "--steps",
            "3",
            "--trajectory",
            str(tmp_path / "traj.gif"),
        ]
    )
    assert rc == 0
    assert Image.open(out).size == (52, 40)
    assert src.read_bytes() == before
    gif = Image.open(tmp_path / "traj.gif")
    assert gif.n_frames == 3
    err = capsys.readouterr().err
    assert "step 3/3" in err and "s/step" in err and "left" in err


def test_restore_sr_is_four_times_larger(tmp_path, installed_tiny_weights):
    src = write_png(tmp_path / "small.png", smooth_image(12, 20))
    out = tmp_path / "big.png"
    assert main(["restore", str(src), "-o", str(out), "--task", "sr", "--steps", "2", "-q"]) == 0
    assert Image.open(out).size == (80, 48)


def test_restore_folder_goes_on_after_a_bad_file(tmp_path, installed_tiny_weights, capsys):
    inp = tmp_path / "in"
    inp.mkdir()
    write_png(inp / "a.png", smooth_image(seed=1))
    (inp / "broken.png").write_text("not an image")
    write_png(inp / "c.png", smooth_image(seed=2))
    out = tmp_path / "out"
    rc = main(["restore", str(inp), "-o", str(out), "--task", "dehaze", "--steps", "2", "-q"])
    assert rc == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.png"]
    err = capsys.readouterr().err
    assert "broken.png" in err and "not an image" in err


def test_restore_never_overwrites_input_without_flag(tmp_path, installed_tiny_weights):
    src = write_png(tmp_path / "p.png", smooth_image())
    before = src.read_bytes()
    assert main(["restore", str(src), "-o", str(src), "--task", "deblur", "--steps", "2", "-q"]) == 1
    assert src.read_bytes() == before
    assert (
        main(["restore", str(src), "-o", str(src), "--task", "deblur", "--steps", "2", "-q", "--overwrite"])
        == 0
    )


def test_inpaint_with_mask_keeps_known_pixels(tmp_path, installed_tiny_weights):
    img = smooth_image(32, 32)
    src = write_png(tmp_path / "p.png", img)
    mask = np.zeros((32, 32), np.uint8)
    mask[8:20, 10:22] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    out = tmp_path / "o.png"
    assert (
        main(
            [
                "restore",
                str(src),
                "-o",
                str(out),
                "--task",
                "inpaint",
                "--mask",
                str(tmp_path / "m.png"),
                "--steps",
                "3",
                "-q",
            ]
        )
        == 0
    )
    res = np.asarray(Image.open(out)).astype(int)
    orig = np.asarray(Image.open(src)).astype(int)
    keep = mask == 0
    assert np.array_equal(res[keep], orig[keep])


def test_inpaint_without_mask_is_a_clear_error(tmp_path, installed_tiny_weights, capsys):
    src = write_png(tmp_path / "p.png", smooth_image())
    assert main(["restore", str(src), "-o", str(tmp_path / "o.png"), "--task", "inpaint", "-q"]) == 1
    assert "mask" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_missing_weights_message(tmp_path, capsys, monkeypatch):
    import irsde_gui.core.paths as paths

    monkeypatch.setattr(paths, "bundled_weights_dir", lambda: tmp_path / "none")
    src = write_png(tmp_path / "p.png", smooth_image())
    assert main(["restore", str(src), "-o", str(tmp_path / "o.png"), "--task", "derain"]) == 1
    assert "no trained weights for task 'derain'" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_unavailable_device_is_an_error(tmp_path, installed_tiny_weights, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    src = write_png(tmp_path / "p.png", smooth_image())
    assert (
        main(["restore", str(src), "-o", str(tmp_path / "o.png"), "--task", "denoise", "--device", "cuda"])
        == 1
    )
    assert "CUDA" in capsys.readouterr().err


def test_tiled_restore_runs(tmp_path, installed_tiny_weights):
    src = write_png(tmp_path / "p.png", smooth_image(100, 140))
    out = tmp_path / "o.png"
    assert (
        main(["restore", str(src), "-o", str(out), "--task", "denoise", "--steps", "2", "--tile", "64", "-q"])
        == 0
    )
    assert Image.open(out).size == (140, 100)


def test_info_and_bench_json(installed_tiny_weights, capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert "denoise" in text and "cpu" in text
    assert main(["bench", "--json", "--sizes", "32", "--tasks", "denoise,sr", "--repeats", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = data["results"]
    assert [r["task"] for r in rows] == ["denoise", "sr"]
    assert all(r["ms_per_step"] > 0 and r["parameters"] > 0 for r in rows)


def test_changes_and_uncertainty_maps_beside_the_result(tmp_path, installed_tiny_weights, capsys):
    from irsde_gui.core.analysis import residual_image

    img = smooth_image(32, 32)
    src = write_png(tmp_path / "p.png", img)
    mask = np.zeros((32, 32), np.uint8)
    mask[8:20, 10:22] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    common = ["restore", str(src), "--task", "inpaint", "--mask", str(tmp_path / "m.png"), "--steps", "3"]
    plain = tmp_path / "plain.png"
    assert main([*common, "-o", str(plain), "-q"]) == 0
    out = tmp_path / "o.png"
    assert main([*common, "-o", str(out), "--changes", "--uncertainty", "3"]) == 0
    assert "seed 3/3" in capsys.readouterr().err
    # the result is the first seed's, as without the maps
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(plain)))
    restored = np.asarray(Image.open(out)).astype(np.float32) / 255
    original = np.asarray(Image.open(src)).astype(np.float32) / 255
    changes = np.asarray(Image.open(tmp_path / "o.changes.png")).astype(int)
    assert np.abs(changes - residual_image(original - restored).astype(int)).max() <= 1
    heat = np.asarray(Image.open(tmp_path / "o.uncertainty.png"))
    assert heat.shape == (32, 32, 3)
    hole = mask > 0
    assert heat[~hole].max() <= 4 and heat[hole].mean() > 20  # known pixels agree (inferno's black)
    assert main([*common, "-o", str(out), "--uncertainty", "1", "-q"]) == 2


def test_report_writes_the_run_report_beside_each_result(tmp_path, installed_tiny_weights, capsys):
    """``--report``: NAME.json beside each result, the report the app saves (what reproduces it)."""
    inp = tmp_path / "in"
    inp.mkdir()
    write_png(inp / "a.png", smooth_image(seed=1))
    write_png(inp / "b.png", smooth_image(seed=2))
    out = tmp_path / "out"
    rc = main(
        ["restore", str(inp), "-o", str(out), "--task", "denoise", "--steps", "3", "--seed", "7", "--report"]
    )
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "a.png", "b.json", "b.png"]
    report = json.loads((out / "b.json").read_text())
    assert report["task"] == "denoise" and report["method"] == "sde"
    assert report["steps"] == 3 and report["steps_done"] == 3 and len(report["step_seconds"]) == 3
    assert report["seed"] == 7 and report["sampler"] == "posterior"
    assert report["input"] == str((inp / "b.png").resolve())
    assert report["output"] == str((out / "b.png").resolve())
    assert len(report["model_sha256"]) == 64
    assert 0 < report["seconds_per_step"] <= report["elapsed_seconds"]
    assert (
        main(["restore", str(inp / "a.png"), "-o", str(tmp_path / "plain.png"), "--task", "denoise", "-q"])
        == 0
    )
    assert not (tmp_path / "plain.json").exists(), "only when asked"


def test_a_report_that_cannot_be_written_fails_the_photo_but_keeps_it(
    tmp_path, installed_tiny_weights, capsys
):
    src = write_png(tmp_path / "photo.png", smooth_image())
    (tmp_path / "clean.json").mkdir()  # where the report would go
    rc = main(["restore", str(src), "-o", str(tmp_path / "clean.png"), "--task", "denoise", "--steps", "1"])
    assert rc == 0, "without --report nothing is in the way"
    rc = main(["restore", str(src), "-o", str(tmp_path / "clean.png"), "--task", "denoise", "--report", "-q"])
    assert rc == 1
    assert (tmp_path / "clean.png").is_file()
    assert "clean.png was written, but not its run report" in capsys.readouterr().err
