"""Deblur: camera shake and focus blur. Its second route deconvolves with the denoise model as the
image prior: blind (the blur estimated from the photo) when no deblur model is installed, and
for every known blur."""

from __future__ import annotations

from ..sdeconfig import SDEConfig
from .base import Task

TASK = Task(
    "deblur",
    "Deblur",
    "Sharpen photos blurred by camera shake or focus",
    "mdi6.blur-off",
    SDEConfig(T=100, max_sigma=10.0),
    prior_task="denoise",
    fixes=("blur",),
)
