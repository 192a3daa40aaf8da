"""The restoration tasks the product offers, one module each, behind one registry.

A task module defines its :class:`Task` (``TASK``), a subclass where it differs from the
plain one. Code elsewhere asks the task rather than comparing its name:

- the app and the command line: ``label``, ``description``, ``icon``, ``default_steps``, and
  what a run needs (``uses_mask``, ``scale``, ``takes_blur``);
- a run: :meth:`Task.prepare` (photo -> ``mu``) and :meth:`Task.finish`; ``prior_task``, the
  task whose model deconvolves this one's photos when it has no model of its own (deblur:
  denoise), which is its second route;
- training: :meth:`Task.training_mixes` (the first is the default);
- evaluation: :meth:`Task.degrade_for_eval` with its ``eval_presets``, :meth:`Task.classic`
  (``classic_name``) and :meth:`Task.rivals`, :meth:`Task.score` (``extra_metrics``);
- suggestions: ``fixes``, the findings of :mod:`..suggest` the task answers.

Adding a task is a new module here, listed below, plus its weights (``NAME.pt`` and its model
card); a test or a plug-in may also :func:`register` one at run time.
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
