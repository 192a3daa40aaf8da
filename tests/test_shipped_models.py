"""The weights shipped in ``weights/``: verified, small, documented, and actually restoring."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import smooth_image

from irsde_gui.core.model import load_restorer
from irsde_gui.core.paths import bundled_weights_dir
from irsde_gui.core.pipeline import JobSettings, RestoreJob
from irsde_gui.core.tasks import TASKS
from irsde_gui.core.weights import HELPERS

SHIPPED = sorted(p.stem for p in bundled_weights_dir().glob("*.pt"))


def test_only_known_tasks_and_helpers_are_shipped():
    assert set(SHIPPED) <= set(TASKS) | set(HELPERS)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_is_verified_small_and_documented(name):
    path = bundled_weights_dir() / f"{name}.pt"
    task = HELPERS.get(name, name)  # a helper's card names the task its network was trained for
    assert path.stat().st_size < 20 * 2**20
    restorer = load_restorer(task, path, "cpu")  # checks the sha256 and the architecture
    card = json.loads(path.with_suffix(".json").read_text())
    tr = card["training"]
    assert tr["iterations"] > 0 and tr["minutes"] > 0 and tr["patches_per_second"] > 0 and tr["data"]
    assert card["validation"].get("summary"), "the card must state its validation numbers"
    assert 1 <= card["default_steps"] <= 20
    evals = [v for v in card["validation"].values() if isinstance(v, dict) and "command" in v]
    assert evals and all(v["command"].startswith("irsde eval") for v in evals)
    img = smooth_image(40, 48)
    mask = None
    if TASKS[task].uses_mask:
        mask = np.zeros((40, 48), np.float32)
        mask[10:25, 12:30] = 1
    out = RestoreJob(TASKS[task], restorer, img, mask, JobSettings(steps=1)).run()
    assert np.isfinite(out).all() and out.shape == (40 * TASKS[task].scale, 48 * TASKS[task].scale, 3)
    if TASKS[task].scale == 1:
        assert np.abs(out - img).max() > 1e-3  # a trained model changes the photo


def test_readme_model_table_gives_minutes_per_device_and_every_stage():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "readme_models", Path(__file__).parents[1] / "tools" / "readme_models.py"
    )
    rm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rm)
    tr = {
        "minutes": 53.3,
        "hardware": ["CPU: AMD EPYC (1 threads)", "NVIDIA H200 (CUDA)"],
        "sessions": [
            {"device": "CPU: AMD EPYC (1 threads)", "seconds": 1800.0},
            {"device": "CPU: AMD EPYC (1 threads)", "seconds": 900.0},
            {"device": "NVIDIA H200 (CUDA)", "seconds": 498.0},
        ],
        "stages": [
            {"from_step": 0, "iterations": 9425, "batch": None, "patch": None},
            {"from_step": 9425, "iterations": 2506, "batch": 48, "patch": 128},
        ],
    }
    assert rm.compute_text(tr) == "45.0 min on CPU: AMD EPYC (1 thread) + 8.3 min on NVIDIA H200 (CUDA)"
    assert rm.stages_text(tr) == " (batch × patch: not recorded to step 9425, 48 × 128² to step 11931)"
    # A device spelt both ways (the old "1 threads" and the right "1 thread") is one device.
    tr["sessions"].append({"device": "CPU: AMD EPYC (1 thread)", "seconds": 600.0})
    tr["minutes"] = 63.3
    assert rm.compute_text(tr) == "55.0 min on CPU: AMD EPYC (1 thread) + 8.3 min on NVIDIA H200 (CUDA)"
    # Sessions that do not add up to the total (an older card): the total, on every device named.
    tr["minutes"] = 99.0
    assert rm.compute_text(tr) == "99.0 min on CPU: AMD EPYC (1 thread), NVIDIA H200 (CUDA)"
