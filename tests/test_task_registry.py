"""Tasks are told apart by their definitions: a task registered at run time is trained,
evaluated, benched and offered by the command line with no other file knowing its name, and no
code outside ``irsde_gui/core/tasks/`` compares a task's name to a string."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import smooth_image

from irsde_gui.core.imageio import read_photo, write_photo
from irsde_gui.core.tasks import TASKS, Degraded, Task, get_task, register

ROOT = Path(__file__).resolve().parents[1] / "irsde_gui"
TASKS_PACKAGE = ROOT / "core" / "tasks"


class Brighten(Task):
    """A toy task: photos taken too dark. Its classic method doubles the brightness."""

    def training_mixes(self):
        return {"half": lambda x0, g: (x0, x0 * 0.5), "most": lambda x0, g: (x0, x0 * 0.8)}

    def eval_degradation(self, clean, g, case, given):
        factor = 0.8 if case.preset == "slight" else 0.5
        dark = (clean * factor).astype(np.float32)
        return Degraded(dark, dark, extra={"factor": factor})

    def describe_degradation(self, preset, quality, sigma):
        return "a little dark" if preset == "slight" else "half as bright"

    def classic(self, deg, clean=None):
        return np.clip(deg.shown / deg.extra["factor"], 0, 1).astype(np.float32)


@pytest.fixture
def toy():
    """The toy task, registered for the test only (before any fixture that lists the tasks)."""
    base = get_task("denoise")
    task = register(
        Brighten(
            "toy",
            "Brighten",
            "Lift a photo taken too dark",
            "mdi6.brightness-5",
            base.sde,
            default_steps=2,
            eval_presets=("slight",),
            classic_name="doubled",
        )
    )
    yield task
    del TASKS[task.name]


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    for i in range(2):
        write_photo(d / f"p{i}.png", smooth_image(32, 32, seed=i))
    return d


def test_a_registered_task_is_evaluated_by_its_own_definition(toy, folder):
    from irsde_gui.evaluation.evaluate import evaluate, format_table

    result = evaluate(toy, None, str(folder))
    assert result["task"] == "toy" and result["images"] == 2
    assert result["classic_method"] == "doubled" and result["degradation"] == "half as bright"
    assert result["mean"]["classic"]["psnr"] > result["mean"]["input"]["psnr"] + 3
    assert "toy: 2 images" in format_table(result, 2)
    slight = evaluate(toy, None, str(folder), preset="slight")
    assert slight["degradation"] == "a little dark"
    assert slight["mean"]["input"]["psnr"] > result["mean"]["input"]["psnr"]
    with pytest.raises(ValueError, match="no evaluation degradation 'heavy' for toy"):
        evaluate(toy, None, str(folder), preset="heavy")


def test_a_registered_task_trains_on_its_own_mixes_and_is_benched(toy, folder):
    from irsde_gui.core.device import pick_device
    from irsde_gui.evaluation.bench import _row
    from irsde_gui.training.train import TrainConfig

    cfg = TrainConfig(task="toy", data=[str(folder)]).resolved()
    assert cfg.degradation == "half" and cfg.network == toy.network
    x = torch.rand(2, 3, 8, 8)
    clean, dark = toy.training_pair(x, torch.Generator().manual_seed(0), cfg.degradation)
    assert torch.equal(clean, x) and torch.allclose(dark, x * 0.5)
    with pytest.raises(ValueError, match="unknown degradation 'camera' for toy"):
        TrainConfig(task="toy", data=[str(folder)], degradation="camera").resolved()
    row = _row("toy", 32, pick_device("cpu"), 1)
    assert row.task == "toy" and row.ms_per_step > 0


def test_the_command_line_offers_degrades_and_restores_a_registered_task(
    toy, installed_tiny_weights, folder, tmp_path, capsys
):
    from irsde_gui.cli import build_parser, main

    assert (installed_tiny_weights / "toy.pt").is_file()  # the fixture wrote weights for every task
    args = build_parser().parse_args(["eval", "--task", "toy", "--data", str(folder)])
    assert args.task == "toy"
    src = folder / "p0.png"
    assert main(["degrade", str(src), "-o", str(tmp_path / "dark.png"), "--task", "toy"]) == 0
    np.testing.assert_allclose(read_photo(tmp_path / "dark.png").rgb, read_photo(src).rgb * 0.5, atol=1 / 255)
    out = tmp_path / "restored.png"
    assert main(["restore", str(src), "--task", "toy", "--steps", "1", "-o", str(out), "--quiet"]) == 0
    assert read_photo(out).rgb.shape == (32, 32, 3)
    code = main(["eval", "--task", "toy", "--data", str(folder), "--degradation", "slight", "--quiet"])
    assert code == 0 and "toy: 2 images" in capsys.readouterr().out


# ---------------------------------------------------------------- no names compared outside tasks/
def _names_in(node: ast.AST) -> set[str]:
    """The task names a compared operand spells as string literals (alone or in a collection)."""
    items = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return {i.value for i in items if isinstance(i, ast.Constant) and i.value in TASKS}


def _comparisons_of_task_names(source: str, where: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            names = set().union(*(_names_in(n) for n in (node.left, *node.comparators)))
            if names:
                found.append(f"{where}:{node.lineno} compares with {sorted(names)}")
        if isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant) and k.value in TASKS}
            if len(keys) > 1:  # a table by task: the task's own module says it
                found.append(f"{where}:{node.lineno} is a table by task {sorted(keys)}")
    return found


def test_no_code_outside_the_tasks_package_compares_a_task_name():
    found = [
        line
        for path in sorted(ROOT.rglob("*.py"))
        if TASKS_PACKAGE not in path.parents
        for line in _comparisons_of_task_names(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    ]
    assert found == []


def test_the_check_finds_a_comparison():
    """The AST check above is not vacuous: it flags both spellings, and a table by task."""
    probe = (
        'def f(task, card):\n    return task.name == "deblur" or card.task in ("sr", "x")\n'
        'T = {"denoise": 1, "inpaint": 2}\n'
    )
    found = _comparisons_of_task_names(probe, "probe.py")
    assert sorted(found) == [
        "probe.py:2 compares with ['deblur']",
        "probe.py:2 compares with ['sr']",
        "probe.py:3 is a table by task ['denoise', 'inpaint']",
    ]
