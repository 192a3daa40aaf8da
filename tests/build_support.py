"""Helpers for the tests of the installed forms (wheel, bundle): a folder of tiny weights to ship."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_tiny_weights(folder: Path) -> Path:
    """Tiny untrained networks for every task, with model cards, as ``weights/`` would hold them."""
    import torch
    from conftest import TINY_NET

    from irsde_gui.core.nets import build_model
    from irsde_gui.core.tasks import TASKS
    from irsde_gui.core.weights import ModelCard, save_weights

    for name, task in TASKS.items():
        torch.manual_seed(0)
        net = build_model(TINY_NET)
        card = ModelCard(task=name, network=dict(TINY_NET), sde=task.sde, default_steps=4)
        save_weights(net, card, folder / f"{name}.pt")
    shutil.copy2(ROOT / "weights" / "README.md", folder / "README.md")
    return folder
