"""The restoration engine, free of Qt: SDE, samplers, networks, tasks, weights, photo I/O.

Typical use::

    from irsde_gui.core import load_restorer, read_photo, write_photo, RestoreJob, get_task

    task = get_task("denoise")
    photo = read_photo("noisy.jpg")
    job = RestoreJob(task, load_restorer("denoise"), photo.rgb)
    write_photo("clean.png", job.run(), like=photo)
"""

from .imageio import Photo, read_photo, write_photo
from .model import Restorer, load_restorer
from .pipeline import JobSettings, RestoreJob
from .sampler import StepRecord, restore, sample
from .sde import MeanRevertingSDE, SDEConfig
from .tasks import TASKS, get_task

__all__ = [
    "TASKS",
    "JobSettings",
    "MeanRevertingSDE",
    "Photo",
    "RestoreJob",
    "Restorer",
    "SDEConfig",
    "StepRecord",
    "get_task",
    "load_restorer",
    "read_photo",
    "restore",
    "sample",
    "write_photo",
]
