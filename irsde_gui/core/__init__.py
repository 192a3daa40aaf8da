"""The restoration engine, free of Qt: SDE, samplers, networks, tasks, weights, photo I/O.

Typical use::

    from irsde_gui.core import load_restorer, read_photo, write_photo, RestoreJob, get_task

    task = get_task("denoise")
    photo = read_photo("noisy.jpg")
    job = RestoreJob(task, load_restorer("denoise"), photo.rgb)
    write_photo("clean.png", job.run(), like=photo)

``create_job(task, load_task_restorer(task.name), rgb)`` does what the app does for
every task, deblurring blind (:class:`BlindDeblurJob`) when no deblur model is installed.

The names below are imported on first use, so that importing a light module
(``irsde_gui.core.imageio``, ``paths``, ``trajectory``, ``runs``) does not
load PyTorch: the desktop app shows its window before PyTorch is loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .imageio import Photo, read_kernel, read_photo, write_photo
    from .model import Restorer, load_restorer, load_task_restorer
    from .pipeline import BlindDeblurJob, JobSettings, RestoreJob, create_job
    from .sampler import StepRecord, restore, sample
    from .sde import MeanRevertingSDE, SDEConfig
    from .tasks import TASKS, get_task

_EXPORTS = {
    "Photo": "imageio",
    "read_kernel": "imageio",
    "read_photo": "imageio",
    "write_photo": "imageio",
    "Restorer": "model",
    "load_restorer": "model",
    "load_task_restorer": "model",
    "BlindDeblurJob": "pipeline",
    "JobSettings": "pipeline",
    "RestoreJob": "pipeline",
    "create_job": "pipeline",
    "StepRecord": "sampler",
    "restore": "sampler",
    "sample": "sampler",
    "MeanRevertingSDE": "sde",
    "SDEConfig": "sde",
    "TASKS": "tasks",
    "get_task": "tasks",
}

__all__ = [
    "TASKS",
    "BlindDeblurJob",
    "JobSettings",
    "MeanRevertingSDE",
    "Photo",
    "RestoreJob",
    "Restorer",
    "SDEConfig",
    "StepRecord",
    "create_job",
    "get_task",
    "load_restorer",
    "load_task_restorer",
    "read_kernel",
    "read_photo",
    "restore",
    "sample",
    "write_photo",
]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
