"""The restoration tasks the product offers, one module each, behind one registry.

A task module defines its :class:`Task` (``TASK``): what the app shows, how the photo becomes
``mu`` and the result is finished, and its second route if it has one. Code elsewhere asks the
task (its flags and methods) rather than comparing its name. Adding a task is a new module here,
listed below, plus its weights.
"""

from __future__ import annotations

from . import deblur, dehaze, denoise, derain, inpaint, sr
from .base import (
    DEFAULT_GROW,
    MAX_GROW,
    Degraded,
    EvalCase,
    MaskError,
    Prepared,
    Task,
    default_network,
    grow_mask,
    mask_from_alpha,
    normalise_mask,
)
from .inpaint import INPAINT_FILL

TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Offer ``task`` everywhere tasks are listed (the app, the command line, training, eval)."""
    TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}") from None


for _module in (denoise, deblur, derain, sr, inpaint, dehaze):  # the order the app lists them in
    register(_module.TASK)

__all__ = [
    "DEFAULT_GROW",
    "INPAINT_FILL",
    "MAX_GROW",
    "TASKS",
    "Degraded",
    "EvalCase",
    "MaskError",
    "Prepared",
    "Task",
    "default_network",
    "get_task",
    "grow_mask",
    "mask_from_alpha",
    "normalise_mask",
    "register",
]
