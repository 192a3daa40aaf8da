"""Shared fixtures: tiny networks and weight files, generated images, isolated user folders."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
torch.set_num_threads(min(2, torch.get_num_threads()))

TINY_NET = {
    "name": "cnafnet",
    "width": 8,
    "enc_blocks": [1, 1],
    "mid_blocks": 1,
    "dec_blocks": [1, 1],
    "predict": "x0",
}


def smooth_image(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    """A float32 HxWx3 test photo: smooth gradients plus a few shapes (no external data)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack(
        [
            0.5 + 0.4 * np.sin(xx / (5 + 3 * rng.random()) + rng.random()),
            0.5 + 0.4 * np.cos(yy / (4 + 3 * rng.random())),
            (xx + yy) / (h + w),
        ],
        axis=2,
    )
    img[h // 4 : h // 2, w // 4 : w // 2] = rng.random(3)
    return np.clip(img, 0, 1).astype(np.float32)


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Every test gets its own empty user data dir, so installed weights never leak in."""
    d = tmp_path_factory.mktemp("userdata")
    monkeypatch.setenv("IRSDE_DATA_DIR", str(d))
    return d


@pytest.fixture
def tiny_weights(tmp_path):
    """Write tiny (untrained but non-trivial) weights for every task; returns the folder."""
    return make_tiny_weights(tmp_path / "weights")


def make_tiny_weights(folder):
    """Tiny weights and their model cards for every task, in ``folder`` (returned)."""
    from irsde_gui.core.nets import build_model
    from irsde_gui.core.tasks import TASKS
    from irsde_gui.core.weights import ModelCard, save_weights

    for name, task in TASKS.items():
        torch.manual_seed(0)
        net = build_model(TINY_NET)
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.01 * torch.randn_like(p))
        card = ModelCard(task=name, network=dict(TINY_NET), sde=task.sde, default_steps=4)
        save_weights(net, card, folder / f"{name}.pt")
    return folder


@pytest.fixture
def installed_tiny_weights(tiny_weights, isolated_user_dirs, monkeypatch, tmp_path_factory):
    """The tiny weights, installed in the (isolated) user data dir, and the only weights: the
    bundled ones are hidden (in this process). A user file that would be refused is passed over
    for the next location's, so a test that breaks one must not find the real models behind it."""
    import shutil

    import irsde_gui.core.paths as paths

    none = tmp_path_factory.mktemp("no-bundled-weights")
    monkeypatch.setattr(paths, "bundled_weights_dir", lambda: none)

    target = isolated_user_dirs / "weights"
    shutil.copytree(tiny_weights, target)
    return target
