"""Chaining tasks on the command line (issue 25): ``irsde restore --task denoise,sr``.

The stages run in order, each on the result of the one before; the run report lists every stage
(task, model hash, steps, seed); ``--trajectory`` shows them one after another; a stage that
fails leaves nothing written.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import smooth_image
from gui_support import write_png
from PIL import Image

from irsde_gui.cli import main
from irsde_gui.core.chain import parse_tasks
from irsde_gui.core.trajectory import Frame, Trajectory, concatenate
from irsde_gui.core.weights import read_card


def restore(*args) -> int:
    return main(["restore", *map(str, args), "-q"])


def test_denoise_then_upscale_runs_both_and_reports_every_stage(tmp_path, tiny_weights):
    src = write_png(tmp_path / "photo.png", smooth_image(24, 32))
    out = tmp_path / "photo-clean.png"
    rc = restore(src, "-o", out, "--task", "denoise,sr", "--steps", "2", "--seed", "7",
                 "--weights", tiny_weights, "--report", "--trajectory", tmp_path / "steps.gif")  # fmt: skip
    assert rc == 0
    assert Image.open(out).size == (128, 96), "the upscale ran on the denoised photo"
    report = json.loads(out.with_suffix(".json").read_text())
    assert [s["task"] for s in report["stages"]] == ["denoise", "sr"]
    for stage in report["stages"]:
        card = read_card(tiny_weights / f"{stage['task']}.pt")
        assert stage["model_sha256"] == card.sha256 and stage["model_file"].endswith(f"{stage['task']}.pt")
        assert stage["steps"] == 2 and stage["steps_done"] == 2 and stage["seed"] == 7
    assert report["stages"][0]["input_size"] == [32, 24] and report["stages"][0]["output_size"] == [32, 24]
    assert report["stages"][1]["input_size"] == [32, 24] and report["stages"][1]["output_size"] == [128, 96]
    assert report["input_size"] == [32, 24] and report["output_size"] == [128, 96]
    assert report["input"] == str(src.resolve()) and report["task"] == "sr"
    assert report["elapsed_seconds"] == pytest.approx(sum(s["elapsed_seconds"] for s in report["stages"]))
    with Image.open(tmp_path / "steps.gif") as gif:
        assert gif.n_frames == 4, "both stages' steps, one after another"
        assert gif.size == (128, 96), "the denoise frames enlarged to the upscaled ones"


def test_a_chain_stage_lists_what_its_own_first_stage_did(tmp_path, installed_tiny_weights):
    """Remove rain on a downpour lifts the veil first: the chain's report says so for that stage."""
    veiled = (0.55 * smooth_image(24, 32) + 0.45 * np.float32(0.85)).astype(np.float32)
    src = write_png(tmp_path / "downpour.png", veiled)
    out = tmp_path / "clear.png"
    assert restore(src, "-o", out, "--task", "derain,sr", "--steps", "1", "--report") == 0
    derain, sr = json.loads(out.with_suffix(".json").read_text())["stages"]
    assert derain["pre_stage"]["task"] == "dehaze" and derain["pre_stage"]["strength"] == 1.0
    assert sr["pre_stage"] is None and sr["ensemble_mix"] is None  # tiny weights: no ensembles


def test_a_single_task_report_has_no_stages(tmp_path, tiny_weights):
    src = write_png(tmp_path / "photo.png", smooth_image(24, 32))
    assert restore(src, "-o", tmp_path / "out.png", "--task", "denoise", "--steps", "1",
                   "--weights", tiny_weights, "--report") == 0  # fmt: skip
    assert json.loads((tmp_path / "out.json").read_text())["stages"] == []


def test_a_stage_that_fails_leaves_nothing_written(tmp_path, tiny_weights, capfd):
    """Upscaling first makes the photo 4x larger: the mask, made for the photo as it was, no
    longer fits the inpainting stage. One line says so, and no half-done result is written."""
    src = write_png(tmp_path / "photo.png", smooth_image(24, 32))
    mask = np.zeros((24, 32), np.uint8)
    mask[5:12, 8:20] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    capfd.readouterr()
    rc = restore(src, "-o", tmp_path / "out.png", "--task", "sr,inpaint", "--mask", tmp_path / "mask.png",
                 "--steps", "1", "--weights", tiny_weights, "--trajectory", tmp_path / "t.gif")  # fmt: skip
    err = capfd.readouterr().err.splitlines()
    assert rc == 1
    assert len(err) == 1 and "is 32x24 but the photo is 128x96" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mask.png", "photo.png", "weights"]


@pytest.mark.parametrize(
    ("tasks", "says"),
    [
        ("denoise,nope", "unknown task 'nope'"),
        ("denoise,,sr", "task names separated by commas"),
        (",".join(["denoise"] * 9), "at most 8 tasks"),
    ],
)
def test_a_bad_task_list_is_one_line(tmp_path, capfd, tasks, says):
    src = write_png(tmp_path / "photo.png", smooth_image(24, 32))
    assert restore(src, "-o", tmp_path / "out.png", "--task", tasks) == 2
    (line,) = capfd.readouterr().err.splitlines()
    assert line.startswith("irsde: error: ") and says in line
    assert not (tmp_path / "out.png").exists()


def test_a_known_blur_needs_a_deblur_stage(tmp_path, capfd):
    src = write_png(tmp_path / "photo.png", smooth_image(24, 32))
    assert restore(src, "-o", tmp_path / "out.png", "--task", "denoise,sr", "--blur", "motion:9:0") == 2
    assert "--blur is for --task deblur" in capfd.readouterr().err
    assert parse_tasks("deblur,sr")[0].name == "deblur"


def test_concatenated_frames_share_one_size_and_name_their_stage(tmp_path):
    small, big = Trajectory(), Trajectory()
    for i in (1, 2):
        small.add(Frame(i, 10 - i, np.full((6, 8, 3), 10 * i, np.uint8), np.zeros((6, 8, 3), np.uint8)))
    big.add(Frame(1, 5, np.full((24, 32, 3), 200, np.uint8), np.zeros((24, 32, 3), np.uint8)))
    whole = concatenate([("1 denoise", small), ("2 sr", big)])
    assert len(whole) == 3 and {f.state.shape for f in whole.frames} == {(24, 32, 3)}
    assert whole.labels() == ["1 denoise  step 1  t=9", "1 denoise  step 2  t=8", "2 sr  step 1  t=5"]
    assert whole.frames[1].state.mean() == 20, "enlarged, not changed"
    from irsde_gui.core.trajectory import export_trajectory

    folder = export_trajectory(tmp_path / "frames", whole)
    assert sorted(p.name for p in folder.iterdir()) == [
        "stage_1_denoise_step_001_t009.png",
        "stage_1_denoise_step_002_t008.png",
        "stage_2_sr_step_001_t005.png",
    ], "one file per frame: the stages' steps do not overwrite each other"
